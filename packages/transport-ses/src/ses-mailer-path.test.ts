import { createMailer } from '@mailport/core';
import { type Sandbox, startSandbox } from '@mailport/sandbox';
import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

// SES features the other tests send with transport.send, sent here through createMailer and a
// ses:// URL, so that the mailer's capability check lets each of them through.

let sandbox: Sandbox;
beforeAll(async () => {
  sandbox = await startSandbox();
});
afterAll(() => sandbox.close());
beforeEach(() => sandbox.store.clear());

const base = { from: 'app@shop.example', to: 'ana@example.org', subject: 'Order', text: 'Shipped.' };

describe('ses through createMailer', () => {
  it('carries a separate envelope in Raw content', async () => {
    const receipt = await createMailer({ transport: sandbox.urls.ses }).send({
      ...base,
      envelope: { from: 'bounces@shop.example', to: ['other@example.net'] },
    });
    expect(receipt.details).toMatchObject({ content: 'raw' });
    expect(sandbox.store.last()?.envelope).toEqual({ from: 'bounces@shop.example', to: ['other@example.net'] });
  });

  it('sends custom headers and attachments as Raw, and Bcc only in the envelope', async () => {
    await createMailer({ transport: sandbox.urls.ses }).send({
      ...base,
      bcc: 'audit@example.net',
      headers: { 'X-Order': '42' },
      attachments: [{ filename: 'invoice.txt', content: 'total 42' }],
    });
    const stored = sandbox.store.last();
    expect(stored?.operation).toBe('SendEmail (Raw)');
    expect(stored?.envelope.to).toEqual(['ana@example.org', 'audit@example.net']);
    const parsed = await simpleParser(stored?.raw ?? Buffer.alloc(0));
    expect(parsed.headers.get('x-order')).toBe('42');
    expect(parsed.attachments[0]?.content.toString()).toBe('total 42');
    expect(parsed.bcc).toBeUndefined();
  });

  it('sends tags and metadata as EmailTags, with the configuration set of the URL', async () => {
    await createMailer({ transport: `${sandbox.urls.ses}&configuration_set=default` }).send({
      ...base,
      tags: ['welcome'],
      metadata: { plan: 'pro' },
    });
    expect(sandbox.store.last()?.metadata).toMatchObject({
      emailTags: [
        { Name: 'welcome', Value: 'true' },
        { Name: 'plan', Value: 'pro' },
      ],
      configurationSet: 'default',
    });
  });
});
