import { createMailer } from '@mailport/core';
import { type Sandbox, startSandbox } from '@mailport/sandbox';
import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

// Gmail features the other tests send with transport.send, sent here through createMailer and a
// gmail:// URL, so that the mailer's capability check lets each of them through.

let sandbox: Sandbox;
beforeAll(async () => {
  sandbox = await startSandbox();
});
afterAll(() => sandbox.close());
beforeEach(() => sandbox.store.clear());

const base = { from: 'user@example.com', to: 'ana@example.org', subject: 'Plans', text: 'Hi' };

describe('gmail through createMailer', () => {
  it('keeps Bcc recipients, delivered without a Bcc header', async () => {
    await createMailer({ transport: sandbox.urls.gmail }).send({ ...base, bcc: 'audit@example.net' });
    const stored = sandbox.store.last();
    expect(stored?.envelope.to).toEqual(['ana@example.org', 'audit@example.net']);
    expect((await simpleParser(stored?.raw ?? Buffer.alloc(0))).bcc).toBeUndefined();
  });

  it("puts a reply in the thread named by metadata['gmail.threadId'], on the JSON and the upload endpoint", async () => {
    const mailer = createMailer({ transport: sandbox.urls.gmail });
    const first = await mailer.send(base);
    const threadId = String(first.details?.threadId);
    const reply = { ...base, subject: 'Re: Plans', inReplyTo: first.messageId, metadata: { 'gmail.threadId': threadId } };
    expect((await mailer.send(reply)).details).toMatchObject({ threadId, uploadType: 'json' });
    const uploaded = await createMailer({ transport: `${sandbox.urls.gmail}&upload_threshold=100` }).send(reply);
    expect(uploaded.details).toMatchObject({ threadId, uploadType: 'multipart' });
  });

  it('sends to a non-ASCII address (Gmail takes SMTPUTF8 addresses)', async () => {
    await createMailer({ transport: sandbox.urls.gmail }).send({ ...base, to: 'josé@bücher.example' });
    const parsed = await simpleParser(sandbox.store.last()?.raw ?? Buffer.alloc(0));
    const to = Array.isArray(parsed.to) ? parsed.to[0] : parsed.to;
    expect(to?.value[0]?.address).toMatch(/^josé@(bücher|xn--bcher-kva)\.example$/);
  });
});
