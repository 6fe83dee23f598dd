import { simpleParser } from 'mailparser';
import nodemailer, { type SendMailOptions } from 'nodemailer';
import { describe, expect, it } from 'vitest';
import { startSandbox } from '../sandbox.js';
import { createMessageStore, type StoreChange } from '../store.js';
import { createParsedMessages } from './inbox-messages.js';
import { outlineMessage } from './inbox-scan.js';

const build = nodemailer.createTransport({ streamTransport: true, buffer: true });

async function mime(options: SendMailOptions): Promise<Buffer> {
  return (await build.sendMail(options)).message as Buffer;
}

function manyParts(count: number): Buffer {
  const lines = [
    'From: a@example.com',
    'To: b@example.org',
    'Subject: many',
    'MIME-Version: 1.0',
    'Content-Type: multipart/mixed; boundary="b"',
    '',
  ];
  lines.push('--b', 'Content-Type: text/plain', '', 'first words');
  for (let index = 0; index < count; index++) {
    lines.push('--b', 'Content-Type: text/plain', `Content-Disposition: attachment; filename="a${index}.txt"`, '', `x${index}`);
  }
  lines.push('--b--', '');
  return Buffer.from(lines.join('\r\n'));
}

const add = (store: ReturnType<typeof createMessageStore>, raw: Buffer) =>
  store.add({ api: 'smtp', operation: 'SMTP DATA', envelope: { from: 'a@example.com', to: ['b@example.org'] }, raw, metadata: {} });

describe('the store cap', () => {
  it('evicts the oldest past maxMessages or maxBytes, in order, and counts them', () => {
    const store = createMessageStore({ maxMessages: 3, maxBytes: 1000 });
    const changes: StoreChange[] = [];
    store.watch((change) => changes.push(change));
    for (let index = 0; index < 5; index++) add(store, Buffer.alloc(100, 'a'));
    expect(store.list().map((message) => message.id)).toEqual(['m-000003', 'm-000004', 'm-000005']);
    expect(store.evicted).toBe(2);
    expect(store.bytes).toBe(300);
    expect(changes.filter((change) => change.type === 'remove')).toEqual([
      { type: 'remove', ids: ['m-000001'], reason: 'evicted' },
      { type: 'remove', ids: ['m-000002'], reason: 'evicted' },
    ]);
    // 100 + 100 + 450 + 450 > 1000: the bytes limit evicts too.
    add(store, Buffer.alloc(450, 'b'));
    add(store, Buffer.alloc(450, 'b'));
    expect(store.list().map((message) => message.size)).toEqual([100, 450, 450]);
    expect(store.bytes).toBe(1000);
    // One message larger than the cap is kept, alone.
    add(store, Buffer.alloc(5000, 'c'));
    expect(store.list().map((message) => message.size)).toEqual([5000]);
    expect(store.get('m-000001')).toBeUndefined();
    store.clear();
    expect([store.size, store.bytes, store.evicted]).toEqual([0, 0, 0]);
    expect(() => createMessageStore({ maxMessages: 0 })).toThrow(RangeError);
  });

  it('deletes one message and keeps read state', () => {
    const store = createMessageStore();
    const first = add(store, Buffer.from('Subject: a\r\n\r\nx'));
    const second = add(store, Buffer.from('Subject: b\r\n\r\ny'));
    expect(store.isRead(first.id)).toBe(false);
    expect(store.markRead([first.id, 'm-999999'], true)).toEqual([first.id]);
    expect(store.markRead([first.id], true)).toEqual([]);
    expect(store.isRead(first.id)).toBe(true);
    expect(store.delete(first.id)).toBe(true);
    expect(store.delete(first.id)).toBe(false);
    expect(store.isRead(first.id)).toBe(false);
    expect(store.list()).toEqual([second]);
    expect(store.bytes).toBe(second.size);
  });

  it('stays within the cap when more than it arrives over SMTP', async () => {
    await using sandbox = await startSandbox({ maxMessages: 200, maxStoreBytes: 2 * 1024 * 1024 });
    const smtp = nodemailer.createTransport({
      host: '127.0.0.1',
      port: sandbox.smtpPort,
      pool: true,
      maxConnections: 4,
      auth: { user: 'sandbox', pass: 'sandbox-password' },
      tls: { ca: sandbox.ca },
    });
    // 600 messages of about 20 kB: three times the message cap and six times the bytes cap.
    await Promise.all(
      Array.from({ length: 600 }, (_, index) =>
        smtp.sendMail({ from: 'a@example.com', to: 'b@example.org', subject: `n${index}`, text: 'z'.repeat(20_000) }),
      ),
    );
    smtp.close();
    expect(sandbox.store.size).toBeLessThanOrEqual(200);
    expect(sandbox.store.bytes).toBeLessThanOrEqual(2 * 1024 * 1024);
    expect(sandbox.store.evicted + sandbox.store.size).toBe(600);
  });
});

describe('bounded parsing', () => {
  it('lists a 1,000-part message from its outline and opens it in part, with a warning, quickly', async () => {
    const store = createMessageStore();
    const parsed = createParsedMessages(store);
    const heavy = add(store, manyParts(1000));
    const light = add(store, Buffer.from('From: a@example.com\r\nSubject: light\r\n\r\nhello\r\n'));
    const started = performance.now();
    const summaries = parsed.summaries();
    expect(performance.now() - started).toBeLessThan(500);
    expect(summaries.map((summary) => summary.subject)).toEqual(['light', 'many']);
    expect(summaries[1]?.warning).toBe('This message is shown in part: it has more than 500 MIME parts.');
    expect(summaries[1]?.preview).toBe('first words');
    // Listing parsed nothing.
    expect(parsed.cacheUsage().entries).toBe(0);

    const entry = await parsed.get(heavy.id);
    expect(performance.now() - started).toBeLessThan(3_000);
    expect(entry?.message.parse).toBe('partial');
    expect(entry?.message.warning).toMatch(/more than 500 MIME parts; the first \d+ attachments are shown/);
    expect(entry?.message.text).toBe('first words');
    // The message lists as many attachments as the list counted, both marked as cut short.
    expect(summaries[1]?.attachmentCount).toBeGreaterThan(400);
    expect(entry?.message.attachments.length).toBe(summaries[1]?.attachmentCount);
    expect(entry?.message.attachmentCount).toBe(summaries[1]?.attachmentCount);
    expect([summaries[1]?.truncated, entry?.message.truncated]).toEqual([true, true]);
    expect((await parsed.get(light.id))?.message.text).toBe('hello\n');
    // Cached as what it is: the same result, not a new parse.
    expect(await parsed.get(heavy.id)).toBe(entry);
    parsed.close();
  });

  it('gives up after the time limit and remembers the failure', async () => {
    const store = createMessageStore();
    const parsed = createParsedMessages(store, { timeoutMs: 1 });
    const big = add(store, await mime({ from: 'a@example.com', to: 'b@example.org', subject: 'slow', text: 'word '.repeat(400_000) }));
    const entry = await parsed.get(big.id);
    expect(entry?.message.parse).toBe('partial');
    expect(entry?.message.warning).toMatch(/took longer than 1 ms/);
    expect(await parsed.get(big.id)).toBe(entry);
    parsed.close();
  });

  it('shows a message mailparser cannot read with its raw source and the reason', async () => {
    const store = createMessageStore();
    const parsed = createParsedMessages(store);
    const broken = add(
      store,
      Buffer.from(
        'Subject: broken\r\nContent-Type: multipart/mixed; boundary="x"\r\n\r\n--x\r\nContent-Type: text/plain\r\n\r\nunfinished',
      ),
    );
    const entry = await parsed.get(broken.id);
    expect(entry?.message.subject).toBe('broken');
    expect(entry?.message.rawUrl).toBe(`/sandbox/messages/${broken.id}/raw`);
    parsed.close();
  });

  it('keeps at most cacheEntries parsed messages, and forgets deleted and evicted ones', async () => {
    const store = createMessageStore({ maxMessages: 30 });
    const parsed = createParsedMessages(store, { cacheEntries: 8 });
    const ids = [];
    for (let index = 0; index < 20; index++) ids.push(add(store, Buffer.from(`Subject: n${index}\r\n\r\nbody ${index}\r\n`)).id);
    for (const id of ids) await parsed.get(id);
    expect(parsed.cacheUsage().entries).toBe(8);
    store.delete(ids[19] as string);
    expect(parsed.cacheUsage().entries).toBe(7);
    for (let index = 0; index < 40; index++) add(store, Buffer.from('Subject: more\r\n\r\nx\r\n'));
    expect(parsed.cacheUsage().entries).toBe(0);
    expect(await parsed.get(ids[0] as string)).toBeUndefined();
    parsed.close();
  });
});

describe('one attachment count', () => {
  const pixel = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==', 'base64');
  const cases: [string, SendMailOptions][] = [
    ['text only', { text: 'hi' }],
    ['html and text', { text: 'hi', html: '<p>hi</p>' }],
    [
      'two attachments and an inline image',
      {
        text: 'hi',
        html: '<img src="cid:logo">',
        attachments: [
          { filename: 'a.pdf', content: Buffer.alloc(10), contentType: 'application/pdf' },
          { filename: 'b.txt', content: 'text attachment' },
          { filename: 'logo.png', content: pixel, contentType: 'image/png', cid: 'logo' },
        ],
      },
    ],
    ['a calendar invitation', { text: 'meet', icalEvent: { method: 'REQUEST', content: 'BEGIN:VCALENDAR\r\nEND:VCALENDAR' } }],
    [
      'an attached message',
      { text: 'fwd', attachments: [{ filename: 'fwd.eml', content: 'Subject: inner\r\n\r\nbody', contentType: 'message/rfc822' }] },
    ],
    ['an image with a Content-ID but no HTML', { text: 'x', attachments: [{ filename: 'p.png', content: pixel, cid: 'p' }] }],
    ['base64 text', { text: 'ça va', textEncoding: 'base64' }],
  ];

  it.each(cases)('%s: the list counts what mailparser lists', async (_name, options) => {
    const raw = await mime({ from: 'Ana <a@example.com>', to: 'b@example.org', subject: 'count', ...options });
    const independent = await simpleParser(raw);
    const inline = independent.attachments.filter(
      (part) => part.contentId !== undefined && (part.related || part.contentDisposition === 'inline'),
    );
    const outline = outlineMessage(raw, { maxParts: 500, maxDepth: 20 });
    expect(outline.attachmentCount).toBe(independent.attachments.length - inline.length);
    expect(outline.inlineCount).toBe(inline.length);
    expect(outline.hasHtml).toBe(independent.html !== false);
    // The first words of the first text part (mailparser's text adds an attached message's after it).
    expect((independent.text ?? '').replace(/\s+/g, ' ').trim().startsWith(outline.preview)).toBe(true);
    expect(outline.preview).not.toBe('');

    const store = createMessageStore();
    const parsed = createParsedMessages(store);
    const entry = await parsed.get(add(store, raw).id);
    expect(entry?.message.attachmentCount).toBe(outline.attachmentCount);
    expect(entry?.message.inlineCount).toBe(outline.inlineCount);
    parsed.close();
  });

  it('reads hostile structures without throwing', () => {
    const hostile = [
      Buffer.alloc(0),
      Buffer.from('no header at all'),
      Buffer.from('Content-Type: multipart/mixed\r\n\r\n--\r\n'),
      Buffer.from('Content-Type: multipart/mixed; boundary=""\r\n\r\nx'),
      Buffer.from('Content-Type: multipart/mixed; boundary="a"\r\n\r\n--a\r\nContent-Type: multipart/mixed; boundary="a"\r\n\r\n--a\r\n'),
      Buffer.from(
        Array.from({ length: 200 }, (_, level) => `Content-Type: multipart/mixed; boundary="n${level}"\r\n\r\n--n${level}\r\n`).join(''),
      ),
      Buffer.from('Subject: =?utf-8?B?####?= =?x?Q?=ZZ?=\r\nFrom: "unterminated <a@\r\nDate: not a date\r\n\r\n'),
    ];
    for (const raw of hostile) expect(() => outlineMessage(raw, { maxParts: 500, maxDepth: 20 })).not.toThrow();
    expect(outlineMessage(hostile[5] as Buffer, { maxParts: 500, maxDepth: 20 }).truncated).toMatch(/nest deeper than 20 levels/);
  });
});
