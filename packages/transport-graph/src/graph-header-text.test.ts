import { createMailer } from '@mailport/core';
import { type Sandbox, startSandbox } from '@mailport/sandbox';
import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

let sandbox: Sandbox;
beforeAll(async () => {
  sandbox = await startSandbox();
});
afterAll(() => sandbox.close());

describe('graph (MIME mode): text that looks like an RFC 2047 encoded-word', () => {
  it.each([
    ['Re: =?ISO-8859-1?Q?Caf=E9?= menu', 'Re: Café menu'],
    ['a =?UTF-8?B?4pyT?= b', 'a ✓ b'],
  ])('the Subject %s reads back literally, not as "%s"', async (subject) => {
    await createMailer({ transport: sandbox.urls.graph }).send({
      from: 'sender@contoso.example',
      to: 'ana@example.org',
      subject,
      text: 'Hi',
    });
    const stored = sandbox.store.last();
    expect(stored?.metadata).toMatchObject({ mode: 'mime' });
    const parsed = await simpleParser(stored?.raw ?? Buffer.alloc(0));
    expect(parsed.subject).toBe(subject);
  });
});
