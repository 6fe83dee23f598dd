import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { copyMessage, createMessage, type EmailMessage, isEmailMessage } from './message.js';
import { renderMime } from './mime.js';

// Every field of MessageInput set, so that every field of EmailMessage has something to lose.
const everything = (): EmailMessage =>
  createMessage({
    from: 'Zoë Shop <orders@shop.example>',
    sender: 'Agent <agent@shop.example>',
    to: ['Ana <ana@example.org>', 'bo@example.net'],
    cc: 'copy@example.net',
    bcc: 'audit@shop.example',
    replyTo: 'support@shop.example',
    subject: 'Your order',
    text: 'Shipped.',
    html: '<p>Shipped.</p>',
    attachments: [
      { filename: 'invoice.pdf', content: Buffer.from('%PDF-1.7'), contentType: 'application/pdf' },
      { filename: 'logo.png', content: Buffer.from([137, 80]), contentType: 'image/png', contentId: 'logo@shop.example' },
    ],
    headers: { 'X-Order': ['1', '2'], 'X-Campaign': 'spring' },
    inReplyTo: '<question@example.org>',
    references: ['<first@example.org>', '<question@example.org>'],
    priority: 'high',
    tags: ['orders'],
    metadata: { order: '42' },
    listUnsubscribe: { url: 'https://shop.example/unsubscribe', mailto: 'unsubscribe@shop.example', oneClick: true },
    envelope: { from: 'bounces@shop.example', to: ['ana@example.org'] },
    messageId: '<order-42@shop.example>',
    date: new Date('2026-01-02T03:04:05Z'),
  });

describe('copyMessage', () => {
  it('keeps every field of the message', () => {
    const message = everything();
    const copy = copyMessage(message);
    expect(isEmailMessage(copy)).toBe(true);
    expect(copy).not.toBe(message);
    expect(Object.keys(copy).sort()).toEqual(Object.keys(message).sort());
    // Field by field, so that a lost one is named.
    for (const key of Object.keys(message) as (keyof EmailMessage)[]) expect(copy[key], key).toEqual(message[key]);
    expect(copy.hasCustomEnvelope).toBe(true);
  });

  it('changes what it is told to, and works out what follows from it again', () => {
    const message = everything();
    const copy = copyMessage(message, { attachments: message.attachments.slice(1), bcc: undefined, envelope: undefined });
    expect(copy.attachments.map((attachment) => attachment.filename)).toEqual(['logo.png']);
    expect(copy.attachments[0]).toBe(message.attachments[1]);
    expect(copy.envelope.to).toEqual(['ana@example.org', 'bo@example.net', 'copy@example.net']);
    expect(copy.hasCustomEnvelope).toBe(false);
    expect(copy.messageId).toBe(message.messageId);
    expect(() => copyMessage(message, { to: 'not an address' })).toThrow(/to/);
  });

  it('renders the same headers, and reads a stream attachment only once', async () => {
    const message = createMessage({
      from: 'orders@shop.example',
      to: 'ana@example.org',
      subject: 'Stream',
      text: 'See attached.',
      attachments: [{ filename: 'data.txt', content: Readable.from([Buffer.from('once')]) }],
      date: new Date('2026-01-02T03:04:05Z'),
    });
    const [original, copy] = [await renderMime(message), await renderMime(copyMessage(message))];
    const headers = (raw: Buffer): string[] =>
      raw
        .toString()
        .split('\r\n\r\n')[0]
        ?.split('\r\n')
        .filter((line) => !/^Content-Type|^\s/.test(line)) ?? [];
    expect(headers(copy)).toEqual(headers(original));
    expect(copy.toString()).toContain(Buffer.from('once').toString('base64'));
  });
});
