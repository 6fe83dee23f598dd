import { createMessage, type EmailMessage } from '@mailport/core';
import { describe, expect, it } from 'vitest';
import { jsonModeProblem, planSend, type ReadAttachment, toGraphJsonMessage, uploadSessionRequest } from './graph-request.js';

const message = createMessage({
  from: 'Shop <orders@shop.example>',
  sender: 'robot@shop.example',
  to: ['Ana <ana@example.org>', 'bo@example.org'],
  cc: 'cc@example.net',
  bcc: 'audit@example.net',
  replyTo: 'help@shop.example',
  subject: 'Your order',
  text: 'Thanks!',
  html: '<p>Thanks!</p>',
  headers: { 'X-Order': '42' },
  priority: 'high',
  messageId: '<order-42@shop.example>',
  attachments: [
    { filename: 'invoice.pdf', content: 'PDF', contentType: 'application/pdf' },
    { filename: 'logo.png', content: 'PNG', contentType: 'image/png', contentId: 'logo@shop.example' },
  ],
});
const read = (input: EmailMessage): ReadAttachment[] =>
  input.attachments.map((attachment) => ({ attachment, bytes: Buffer.from((attachment.source as { bytes: Buffer }).bytes) }));

describe('toGraphJsonMessage', () => {
  it('maps a message to Graph JSON: HTML body, recipients, reply-to, x- headers, importance, file attachments', () => {
    expect(toGraphJsonMessage(message, read(message))).toMatchInlineSnapshot(`
      {
        "attachments": [
          {
            "@odata.type": "#microsoft.graph.fileAttachment",
            "contentBytes": "UERG",
            "contentType": "application/pdf",
            "name": "invoice.pdf",
          },
          {
            "@odata.type": "#microsoft.graph.fileAttachment",
            "contentBytes": "UE5H",
            "contentId": "logo@shop.example",
            "contentType": "image/png",
            "isInline": true,
            "name": "logo.png",
          },
        ],
        "bccRecipients": [
          {
            "emailAddress": {
              "address": "audit@example.net",
            },
          },
        ],
        "body": {
          "content": "<p>Thanks!</p>",
          "contentType": "HTML",
        },
        "ccRecipients": [
          {
            "emailAddress": {
              "address": "cc@example.net",
            },
          },
        ],
        "from": {
          "emailAddress": {
            "address": "orders@shop.example",
            "name": "Shop",
          },
        },
        "importance": "high",
        "internetMessageHeaders": [
          {
            "name": "X-Order",
            "value": "42",
          },
        ],
        "internetMessageId": "<order-42@shop.example>",
        "replyTo": [
          {
            "emailAddress": {
              "address": "help@shop.example",
            },
          },
        ],
        "sender": {
          "emailAddress": {
            "address": "robot@shop.example",
          },
        },
        "subject": "Your order",
        "toRecipients": [
          {
            "emailAddress": {
              "address": "ana@example.org",
              "name": "Ana",
            },
          },
          {
            "emailAddress": {
              "address": "bo@example.org",
            },
          },
        ],
      }
    `);
  });

  it('sends text when there is no HTML, and leaves out an empty header list (Graph refuses one)', () => {
    const plain = toGraphJsonMessage(createMessage({ from: 'a@b.example', to: 'c@d.example', text: 'hi' }), []);
    expect(plain.body).toEqual({ contentType: 'Text', content: 'hi' });
    expect('internetMessageHeaders' in plain).toBe(false);
    expect('attachments' in plain).toBe(false);
  });
});

describe('jsonModeProblem', () => {
  it.each([
    [{ headers: { 'X-One': '1' } }, undefined],
    [{ headers: Object.fromEntries(Array.from({ length: 6 }, (_, index) => [`X-H${index}`, 'v'])) }, /6 custom headers/],
    [{ headers: { 'Auto-Submitted': 'auto-replied' } }, /Auto-Submitted/],
    [{ inReplyTo: '<a@b.example>' }, /In-Reply-To/],
    [{ listUnsubscribe: 'https://shop.example/u' }, /List-Unsubscribe/],
  ])('%o', (input, expected) => {
    const problem = jsonModeProblem(createMessage({ from: 'a@b.example', to: 'c@d.example', text: 'x', ...input }));
    if (expected === undefined) expect(problem).toBeUndefined();
    else expect(problem).toMatch(expected);
  });
});

describe('uploads', () => {
  it('asks for an upload session with the attachment item', () => {
    expect(uploadSessionRequest(read(message)[1] as ReadAttachment)).toMatchInlineSnapshot(`
      {
        "AttachmentItem": {
          "attachmentType": "file",
          "contentId": "logo@shop.example",
          "contentType": "image/png",
          "isInline": true,
          "name": "logo.png",
          "size": 3,
        },
      }
    `);
  });
});

describe('planSend', () => {
  const attachment = (size: number): ReadAttachment => ({ attachment: message.attachments[0] as never, bytes: Buffer.alloc(size) });
  const limits = { requestBytes: 1000, uploadSessionBytes: 300 };
  const size = async (kept: readonly ReadAttachment[]): Promise<number> => 100 + kept.reduce((sum, entry) => sum + entry.bytes.length, 0);

  it('sends what fits in one request', async () => {
    expect(await planSend(900, [attachment(100)], size, limits)).toEqual({ kind: 'single' });
  });

  it('uploads the large attachments and keeps, then posts, the small ones', async () => {
    const small = [attachment(250), attachment(280), attachment(260), attachment(270)];
    const large = attachment(5000);
    const plan = await planSend(99_999, [...small, large], size, limits);
    expect(plan.kind).toBe('draft');
    if (plan.kind !== 'draft') return;
    expect(plan.uploaded).toEqual([large]);
    expect(plan.inDraft.map((entry) => entry.bytes.length)).toEqual([250, 260, 270]);
    expect(plan.posted.map((entry) => entry.bytes.length)).toEqual([280]);
  });

  it('refuses a body that alone is over one request', async () => {
    await expect(planSend(99_999, [], async () => 5000, limits)).rejects.toMatchObject({ code: 'invalid-message' });
  });
});
