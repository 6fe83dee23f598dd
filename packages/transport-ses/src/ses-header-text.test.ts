import { createMailer } from '@mailport/core';
import { type Sandbox, startSandbox } from '@mailport/sandbox';
import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

let sandbox: Sandbox;
beforeAll(async () => {
  sandbox = await startSandbox();
});
afterAll(() => sandbox.close());
beforeEach(() => sandbox.store.clear());

const base = { from: 'app@shop.example', to: 'ana@example.org', text: 'Hi' };

describe('ses: text that looks like an RFC 2047 encoded-word', () => {
  it.each([
    ['Re: =?ISO-8859-1?Q?Caf=E9?= menu', 'Re: Café menu'],
    ['a =?UTF-8?B?4pyT?= b', 'a ✓ b'],
  ])('the Subject %s reads back literally, not as "%s": Simple content falls back to Raw', async (subject) => {
    const receipt = await createMailer({ transport: sandbox.urls.ses }).send({ ...base, subject });
    // Nothing says SES would encode an ASCII Simple Subject (the sandbox writes it as given), where a client would decode it.
    expect(receipt.details).toMatchObject({ content: 'raw' });
    expect(sandbox.store.last()?.operation).toBe('SendEmail (Raw)');
    expect((await simpleParser(sandbox.store.last()?.raw ?? Buffer.alloc(0))).subject).toBe(subject);
  });

  it('in Raw content, with a custom header, the Subject reads back literally too', async () => {
    const subject = 'Re: =?ISO-8859-1?Q?Caf=E9?= menu';
    await createMailer({ transport: sandbox.urls.ses }).send({ ...base, subject, headers: { 'X-Order': '42' } });
    expect(sandbox.store.last()?.operation).toBe('SendEmail (Raw)');
    expect((await simpleParser(sandbox.store.last()?.raw ?? Buffer.alloc(0))).subject).toBe(subject);
  });

  it('an ordinary Subject still goes as Simple content', async () => {
    const receipt = await createMailer({ transport: sandbox.urls.ses }).send({ ...base, subject: 'Order =? 42 ?=' });
    expect(receipt.details).toMatchObject({ content: 'simple' });
    expect((await simpleParser(sandbox.store.last()?.raw ?? Buffer.alloc(0))).subject).toBe('Order =? 42 ?=');
  });
});
