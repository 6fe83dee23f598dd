import { createMailer } from '@mailport/core';
import { type Sandbox, startSandbox } from '@mailport/sandbox';
import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

let sandbox: Sandbox;
beforeAll(async () => {
  sandbox = await startSandbox();
});
afterAll(() => sandbox.close());

describe('gmail: text that looks like an RFC 2047 encoded-word', () => {
  it.each([
    ['Re: =?ISO-8859-1?Q?Caf=E9?= menu', 'Re: Café menu'],
    ['a =?UTF-8?B?4pyT?= b', 'a ✓ b'],
  ])('the Subject %s reads back literally, not as "%s"', async (subject) => {
    await createMailer({ transport: sandbox.urls.gmail }).send({ from: 'user@example.com', to: 'ana@example.org', subject, text: 'Hi' });
    const parsed = await simpleParser(sandbox.store.last()?.raw ?? Buffer.alloc(0));
    expect(parsed.subject).toBe(subject);
  });
});
