import { createMessage, MailError, type MessageInput } from '@mailport/core';
import { describe, expect, it } from 'vitest';
import { contentKind, rawReason, sesAddress, sesEmailTags, sesRawRequest, sesSimpleRequest } from './ses-request.js';

const base: MessageInput = {
  from: 'Shop <orders@shop.example>',
  to: ['Ana <ana@example.org>', 'bo@example.org'],
  subject: 'Your order',
  text: 'Shipped.',
  messageId: '<order-42@shop.example>',
  date: new Date('2026-03-01T10:00:00Z'),
};

describe('Simple or Raw', () => {
  const rows: [string, Partial<MessageInput>, string | undefined][] = [
    ['text only', {}, undefined],
    [
      'text and html, cc, bcc, reply-to',
      { html: '<p>x</p>', cc: 'c@example.org', bcc: 'b@example.org', replyTo: 'r@shop.example' },
      undefined,
    ],
    ['html only', { text: undefined, html: '<p>x</p>' }, undefined],
    ['a quoted ASCII name', { from: '"Shop, Inc." <orders@shop.example>' }, undefined],
    ['UTF-8 subject and body', { subject: 'Grüße', text: 'Schöne Grüße' }, undefined],
    ['attachments', { attachments: [{ filename: 'a.txt', content: 'a' }] }, 'attachments'],
    ['an inline image', { html: '<img src="cid:x@y">', attachments: [{ content: 'a', contentId: 'x@y' }] }, 'attachments'],
    ['custom headers', { headers: { 'X-Order': '42' } }, 'custom headers'],
    ['a Sender', { sender: 'robot@shop.example' }, 'a Sender'],
    ['In-Reply-To', { inReplyTo: '<earlier@shop.example>' }, 'In-Reply-To or References'],
    ['References', { references: ['<a@shop.example>'] }, 'In-Reply-To or References'],
    ['high priority', { priority: 'high' }, 'a priority'],
    ['normal priority', { priority: 'normal' }, undefined],
    ['List-Unsubscribe', { listUnsubscribe: 'https://shop.example/u' }, 'List-Unsubscribe'],
    ['a separate envelope', { envelope: { from: 'bounce@shop.example' } }, 'a separate envelope'],
    ['no body', { text: undefined }, 'no body'],
    ['an empty subject', { subject: '' }, 'an empty subject'],
    [
      'a subject with an encoded-word look-alike',
      { subject: 'Re: =?ISO-8859-1?Q?Caf=E9?= menu' },
      'a subject that looks like an RFC 2047 encoded-word',
    ],
    ['a non-ASCII display name', { to: 'Zoë <zoe@example.org>' }, 'a non-ASCII display name'],
    ['a recipient in To and Cc', { cc: 'bo@example.org' }, 'a repeated recipient'],
  ];
  it.each(rows)('%s', (_name, extra, reason) => {
    const message = createMessage({ ...base, ...extra } as MessageInput);
    expect(rawReason(message)).toBe(reason);
    expect(contentKind(message)).toBe(reason === undefined ? 'simple' : 'raw');
    expect(contentKind(message, 'raw')).toBe('raw');
  });
});

describe('requests', () => {
  it('Simple content', () => {
    const message = createMessage({
      ...base,
      html: '<p>Shipped.</p>',
      cc: 'c@example.org',
      bcc: 'audit@shop.example',
      replyTo: 'help@shop.example',
      tags: ['order'],
    });
    expect(sesSimpleRequest(message, { configurationSet: 'transactional' })).toMatchInlineSnapshot(`
      {
        "ConfigurationSetName": "transactional",
        "Content": {
          "Simple": {
            "Body": {
              "Html": {
                "Charset": "UTF-8",
                "Data": "<p>Shipped.</p>",
              },
              "Text": {
                "Charset": "UTF-8",
                "Data": "Shipped.",
              },
            },
            "Subject": {
              "Charset": "UTF-8",
              "Data": "Your order",
            },
          },
        },
        "Destination": {
          "BccAddresses": [
            "audit@shop.example",
          ],
          "CcAddresses": [
            "c@example.org",
          ],
          "ToAddresses": [
            "Ana <ana@example.org>",
            "bo@example.org",
          ],
        },
        "EmailTags": [
          {
            "Name": "order",
            "Value": "true",
          },
        ],
        "FromEmailAddress": "Shop <orders@shop.example>",
        "ReplyToAddresses": [
          "help@shop.example",
        ],
      }
    `);
  });

  it('Raw content: the MIME as it is, the envelope in Destination and FromEmailAddress', () => {
    const message = createMessage({
      ...base,
      bcc: 'audit@shop.example',
      envelope: { from: 'bounces@shop.example' },
      metadata: { order: 'A-42' },
    });
    const request = sesRawRequest(message, Buffer.from('MIME'));
    expect({ ...request, Content: { Raw: { Data: Buffer.from(request.Content?.Raw?.Data ?? []).toString() } } }).toMatchInlineSnapshot(`
      {
        "ConfigurationSetName": undefined,
        "Content": {
          "Raw": {
            "Data": "MIME",
          },
        },
        "Destination": {
          "ToAddresses": [
            "ana@example.org",
            "bo@example.org",
            "audit@shop.example",
          ],
        },
        "EmailTags": [
          {
            "Name": "order",
            "Value": "A-42",
          },
        ],
        "FromEmailAddress": "bounces@shop.example",
      }
    `);
  });

  it('quotes display names SES would misread', () => {
    expect(sesAddress({ name: 'Shop, Inc.', address: 'a@b.example' })).toBe('"Shop, Inc." <a@b.example>');
    expect(sesAddress({ name: 'Say "hi"', address: 'a@b.example' })).toBe('"Say \\"hi\\"" <a@b.example>');
    expect(sesAddress({ name: 'Plain Name', address: 'a@b.example' })).toBe('Plain Name <a@b.example>');
    expect(sesAddress({ name: undefined, address: 'a@b.example' })).toBe('a@b.example');
  });
});

describe('EmailTags', () => {
  it('maps tags to Name=true and metadata to Name=Value', () => {
    const message = createMessage({ ...base, tags: ['welcome', 'tier_1'], metadata: { campaign: 'spring-2026', user: 'u-1' } });
    expect(sesEmailTags(message)).toEqual([
      { Name: 'welcome', Value: 'true' },
      { Name: 'tier_1', Value: 'true' },
      { Name: 'campaign', Value: 'spring-2026' },
      { Name: 'user', Value: 'u-1' },
    ]);
  });

  const refused: [string, Partial<MessageInput>, string][] = [
    ['a tag with a space', { tags: ['big spender'] }, 'tags[0]'],
    ['a tag with a dot', { tags: ['v1.2'] }, 'tags[0]'],
    ['a tag over 256 characters', { tags: ['x'.repeat(257)] }, 'tags[0]'],
    ['a metadata key with a colon', { metadata: { 'app:id': '1' } }, 'metadata.app:id'],
    ['a metadata value with an @', { metadata: { user: 'ana@example.org' } }, 'metadata.user'],
    ['an empty metadata value', { metadata: { user: '' } }, 'metadata.user'],
    ['a tag that is also a metadata key', { tags: ['campaign'], metadata: { campaign: 'x' } }, 'metadata.campaign'],
  ];
  it.each(refused)('refuses %s', (_name, extra, field) => {
    const message = createMessage({ ...base, ...extra } as MessageInput);
    let caught: unknown;
    try {
      sesEmailTags(message);
    } catch (error) {
      caught = error;
    }
    expect(MailError.isInstance(caught) && caught.code).toBe('invalid-message');
    expect((caught as MailError).field).toBe(field);
    expect((caught as MailError).remediation).toMatch(/ASCII letters|once/);
  });
});
