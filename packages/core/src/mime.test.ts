import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { type AddressObject, simpleParser } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MailError } from './errors.js';
import { createMessage, type MessageInput } from './message.js';
import { readAttachment, renderMime } from './mime.js';
import { assertWireSafe, maxLineLength } from './wire.js';

const base = { from: 'Shop <orders@shop.example>', to: 'ana@example.com' } as const;
const png = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==', 'base64');

async function rejection(promise: Promise<unknown>): Promise<MailError> {
  try {
    await promise;
  } catch (error) {
    if (MailError.isInstance(error)) return error;
    throw error;
  }
  throw new Error('expected a MailError, but the promise resolved');
}

function mailErrorFrom(run: () => unknown): MailError {
  try {
    run();
  } catch (error) {
    if (MailError.isInstance(error)) return error;
    throw error;
  }
  throw new Error('expected a MailError, but nothing was thrown');
}

/** Every line of `bytes` must end in CRLF (or be the last), with no CR or LF on its own anywhere. */
function expectCrlfOnly(bytes: Buffer): void {
  const text = bytes.toString('latin1');
  expect(text).not.toMatch(/\r(?!\n)/);
  expect(text).not.toMatch(/(?<!\r)\n/);
}

function longestLine(bytes: Buffer): number {
  return Math.max(
    ...bytes
      .toString('latin1')
      .split('\r\n')
      .map((line) => line.length),
  );
}

function headerSection(bytes: Buffer): string {
  const text = bytes.toString('latin1');
  return text.slice(0, text.indexOf('\r\n\r\n'));
}

function addresses(field: AddressObject | AddressObject[] | undefined): { name: string; address: string | undefined }[] {
  const list = field === undefined ? [] : Array.isArray(field) ? field : [field];
  return list.flatMap((object) => object.value.map((entry) => ({ name: entry.name, address: entry.address })));
}

/** Decodes a header value made of RFC 2047 UTF-8 encoded-words (Q or B); adjacent words join without the space between. */
function decodeWords(value: string): string {
  const bytes: number[] = [];
  for (const [, encoding, text] of value.matchAll(/=\?UTF-8\?([QB])\?([^?]*)\?=/gi)) {
    if (encoding?.toUpperCase() === 'B') bytes.push(...Buffer.from(text ?? '', 'base64'));
    else {
      const word = text ?? '';
      for (let index = 0; index < word.length; index++) {
        const char = word[index];
        if (char === '_') bytes.push(0x20);
        else if (char === '=') {
          bytes.push(Number.parseInt(word.slice(index + 1, index + 3), 16));
          index += 2;
        } else bytes.push(word.charCodeAt(index));
      }
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

function counted(bytes: Buffer): { stream: ReadableStream<Uint8Array>; pulls: () => number } {
  let pulls = 0;
  let sent = false;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      pulls++;
      if (sent) controller.close();
      else {
        sent = true;
        controller.enqueue(new Uint8Array(bytes));
      }
    },
  });
  return { stream, pulls: () => pulls };
}

describe('renderMime: line breaks and line length', () => {
  it('writes CRLF only, even when bodies hold bare CR, bare LF and dot lines', async () => {
    const message = createMessage({
      ...base,
      subject: 'Line breaks',
      text: 'one\rtwo\nthree\r\n.\nfour\r.\rfive\n.\r\nsix\n\n',
      html: '<p>a</p>\r<p>b</p>\n.\n<p>c</p>\r.\r',
    });
    const bytes = await renderMime(message);
    expectCrlfOnly(bytes);
    const parsed = await simpleParser(bytes);
    expect(parsed.text).toBe('one\ntwo\nthree\n.\nfour\n.\nfive\n.\nsix\n\n');
    expect(parsed.html).toBe('<p>a</p>\n<p>b</p>\n.\n<p>c</p>\n.\n');
  });

  it('keeps every line within 998 characters, however long the body lines are', async () => {
    const message = createMessage({
      ...base,
      subject: `A long subject ${'word '.repeat(80)}`,
      text: `${'y'.repeat(5000)}\n${'short line\n'.repeat(3)}`,
      html: `<p>${'z'.repeat(3000)}</p>`,
      headers: { 'X-Spaced': 'token '.repeat(400).trim() },
    });
    const bytes = await renderMime(message);
    expect(maxLineLength).toBe(998);
    expect(longestLine(bytes)).toBeLessThanOrEqual(998);
    expectCrlfOnly(bytes);
    const parsed = await simpleParser(bytes);
    expect(parsed.text).toBe(`${'y'.repeat(5000)}\n${'short line\n'.repeat(3)}`);
    expect(parsed.headers.get('x-spaced')).toBe('token '.repeat(400).trim());
  });

  it('refuses a custom header whose value is a long unbreakable run, naming the header', async () => {
    const message = createMessage({ ...base, headers: { 'X-Long': 'z'.repeat(1100) } });
    const error = await rejection(renderMime(message));
    expect(error.code).toBe('invalid-message');
    expect(error.field).toBe('headers.X-Long');
    expect(error.message).toContain('X-Long');
  });

  it('keeps the whole output 7-bit for ASCII addresses, whatever the text', async () => {
    const bytes = await renderMime(
      createMessage({
        from: { name: 'Zoë Łukasiewicz', address: 'zoe@shop.example' },
        to: 'Ana Núñez <ana@bücher.example>',
        subject: 'Ваш заказ №42 ✓',
        text: 'Grüße 👋',
        html: '<p>Grüße 👋</p>',
        headers: { 'X-Note': 'naïve' },
        attachments: [{ filename: 'facture-été.txt', content: 'été' }],
      }),
    );
    expect(bytes.toString('latin1')).not.toMatch(/[^\x00-\x7f]/);
  });
});

describe('renderMime: headers survive an independent parser', () => {
  it.each([
    ['a quoted-printable encoded-word', 'Re: =?ISO-8859-1?Q?Caf=E9?= menu'],
    ['a base64 encoded-word', 'a =?UTF-8?B?4pyT?= b'],
    ['a malformed one and non-ASCII text', 'Café =?x?q?y?= '.repeat(8).trim()],
    ['one without spaces around it', 'price=?EUR?Q?10?=net'],
  ])('writes a Subject holding %s so that it reads back literally', async (_name, subject) => {
    const bytes = await renderMime(
      createMessage({ from: 'a@shop.example', to: 'b@example.org', subject, text: 'x', headers: { 'X-Note': subject } }),
    );
    expect((await simpleParser(bytes)).subject).toBe(subject);
    const head = bytes.toString('latin1').split('\r\n\r\n')[0] ?? '';
    // The custom header is encoded the same way: read it as mailparser reads a Subject.
    const note = /^X-Note: .*(?:\r\n[ \t].*)*/m.exec(head)?.[0] ?? '';
    expect((await simpleParser(Buffer.from(`${note.replace(/^X-Note:/, 'Subject:')}\r\n\r\n`, 'latin1'))).subject).toBe(subject);
    for (const line of head.split('\r\n')) expect(line.length).toBeLessThanOrEqual(78);
  });

  it('leaves a Subject without an encoded-word look-alike as MailComposer writes it', async () => {
    const bytes = await renderMime(createMessage({ from: 'a@shop.example', to: 'b@example.org', subject: 'Order =? 42 ?=', text: 'x' }));
    expect(bytes.toString('latin1')).toMatch(/^Subject: Order =\? 42 \?=\r$/m);
  });

  it('round-trips UTF-8 subject and display names', async () => {
    const message = createMessage({
      from: { name: 'Zoë Łukasiewicz', address: 'zoe@shop.example' },
      to: ['"Doe, John \\"JD\\"" <john@example.com>', 'Ana Núñez <ana@bücher.example>'],
      cc: { name: '山田 太郎', address: 'taro@example.jp' },
      replyTo: 'Support <support@shop.example>',
      subject: 'Ваш заказ №42 ✓ — déjà vu',
      text: 'Привет',
    });
    const bytes = await renderMime(message);
    const parsed = await simpleParser(bytes);
    expect(parsed.subject).toBe('Ваш заказ №42 ✓ — déjà vu');
    expect(addresses(parsed.from)).toEqual([{ name: 'Zoë Łukasiewicz', address: 'zoe@shop.example' }]);
    expect(addresses(parsed.to)).toEqual([
      { name: 'Doe, John "JD"', address: 'john@example.com' },
      // mailparser shows the A-label domain decoded; the wire carries the A-labels.
      { name: 'Ana Núñez', address: 'ana@bücher.example' },
    ]);
    expect(bytes.toString('latin1')).toContain('<ana@xn--bcher-kva.example>');
    expect(addresses(parsed.cc)).toEqual([{ name: '山田 太郎', address: 'taro@example.jp' }]);
    expect(addresses(parsed.replyTo)).toEqual([{ name: 'Support', address: 'support@shop.example' }]);
    expect(parsed.messageId).toBe(message.messageId);
    expect(parsed.text).toBe('Привет');
  });

  it('writes the structural headers it owns', async () => {
    const message = createMessage({
      ...base,
      messageId: '<fixed-id@shop.example>',
      date: new Date('2024-05-06T07:08:09Z'),
      cc: 'Carol <carol@example.org>',
      replyTo: 'support@shop.example',
      subject: 'Order 42',
      text: 'Thanks',
      inReplyTo: '<parent@shop.example>',
      references: ['<root@shop.example>', '<parent@shop.example>'],
      priority: 'high',
      headers: { 'X-Order-Id': '42', 'X-Tag': ['a', 'b'] },
      listUnsubscribe: { url: 'https://shop.example/u?id=42', mailto: 'unsubscribe@shop.example', oneClick: true },
    });
    expect(headerSection(await renderMime(message))).toMatchInlineSnapshot(`
      "X-Order-ID: 42
      X-Tag: a
      X-Tag: b
      List-Unsubscribe: <https://shop.example/u?id=42>,
       <mailto:unsubscribe@shop.example>
      List-Unsubscribe-Post: List-Unsubscribe=One-Click
      X-Priority: 1 (Highest)
      X-Msmail-Priority: High
      Importance: High
      From: Shop <orders@shop.example>
      To: ana@example.com
      Cc: Carol <carol@example.org>
      Reply-To: support@shop.example
      In-Reply-To: <parent@shop.example>
      References: <root@shop.example> <parent@shop.example>
      Subject: Order 42
      Message-ID: <fixed-id@shop.example>
      Date: Mon, 06 May 2024 07:08:09 +0000
      Content-Transfer-Encoding: 7bit
      MIME-Version: 1.0
      Content-Type: text/plain; charset=utf-8"
    `);
  });

  it.each([
    ['high', 'high', 'X-Priority: 1 (Highest)'],
    ['low', 'low', 'X-Priority: 5 (Lowest)'],
    ['normal', undefined, undefined],
    [undefined, undefined, undefined],
  ] as const)('renders priority %s so a reader sees %s', async (priority, seen, line) => {
    const parsed = await simpleParser(await renderMime(createMessage({ ...base, priority, text: 'x' })));
    expect(parsed.headers.get('priority')).toBe(seen);
    expect(parsed.headerLines.find((header) => header.key === 'x-priority')?.line).toBe(line);
  });

  it('encodes a non-ASCII custom header value and decodes back to it', async () => {
    const parsed = await simpleParser(await renderMime(createMessage({ ...base, headers: { 'X-Note': 'naïve café ✓' } })));
    // mailparser leaves unknown headers encoded, so decode the RFC 2047 words here.
    const value = String(parsed.headers.get('x-note'));
    expect(value).toMatch(/^=\?UTF-8\?[QB]\?/i);
    expect(decodeWords(value)).toBe('naïve café ✓');
  });
});

describe('renderMime: Bcc', () => {
  const message = createMessage({ ...base, bcc: ['Audit <audit@shop.example>', 'legal@shop.example'], text: 'hi' });

  it('leaves Bcc out by default', async () => {
    const bytes = await renderMime(message);
    expect(headerSection(bytes)).not.toMatch(/^bcc:/im);
    expect(bytes.toString('latin1')).not.toContain('audit@shop.example');
    expect((await simpleParser(bytes)).bcc).toBeUndefined();
  });

  it('keeps Bcc with keepBcc', async () => {
    const parsed = await simpleParser(await renderMime(message, { keepBcc: true }));
    expect(addresses(parsed.bcc)).toEqual([
      { name: 'Audit', address: 'audit@shop.example' },
      { name: '', address: 'legal@shop.example' },
    ]);
  });
});

describe('renderMime: attachments', () => {
  it('carries attachment bytes byte for byte', async () => {
    const binary = Buffer.from(Array.from({ length: 70_000 }, (_, index) => (index * 7 + (index >> 8)) % 256));
    const message = createMessage({
      ...base,
      text: 'see attached',
      attachments: [
        { filename: 'data.bin', content: binary, contentType: 'application/octet-stream' },
        { filename: 'facture-été.txt', content: 'Grüße\r\nzeile 2\n' },
        { filename: 'empty.bin', content: new Uint8Array(0) },
        { filename: 'from-base64.png', content: png.toString('base64'), encoding: 'base64', contentType: 'image/png' },
      ],
    });
    const bytes = await renderMime(message);
    expect(longestLine(bytes)).toBeLessThanOrEqual(998);
    const parsed = await simpleParser(bytes);
    const byName = new Map(parsed.attachments.map((attachment) => [attachment.filename, attachment]));
    expect(byName.get('data.bin')?.content.equals(binary)).toBe(true);
    expect(byName.get('facture-été.txt')?.content.toString('utf8')).toBe('Grüße\r\nzeile 2\n');
    expect(byName.get('empty.bin')?.content.length).toBe(0);
    expect(byName.get('from-base64.png')?.content.equals(png)).toBe(true);
    expect(byName.get('from-base64.png')?.contentType).toBe('image/png');
  });

  it('puts an inline image with a contentId in multipart/related', async () => {
    const message = createMessage({
      ...base,
      html: '<p>Hi</p><img src="cid:logo@shop.example">',
      text: 'Hi',
      attachments: [
        { filename: 'logo.png', content: png, contentType: 'image/png', contentId: 'logo@shop.example' },
        { filename: 'terms.txt', content: 'terms' },
      ],
    });
    const bytes = await renderMime(message);
    expect(bytes.toString('latin1')).toMatch(/Content-Type: multipart\/related/i);
    const parsed = await simpleParser(bytes);
    const logo = parsed.attachments.find((attachment) => attachment.filename === 'logo.png');
    expect(logo).toMatchObject({ cid: 'logo@shop.example', related: true, contentDisposition: 'inline' });
    expect(logo?.content.equals(png)).toBe(true);
    const terms = parsed.attachments.find((attachment) => attachment.filename === 'terms.txt');
    expect(terms?.contentDisposition).toBe('attachment');
    expect(terms?.related).not.toBe(true);
  });

  it('reads a web stream once and reuses its bytes for another variant', async () => {
    const content = Buffer.from('streamed bytes ✓');
    const { stream, pulls } = counted(content);
    const message = createMessage({ ...base, bcc: 'audit@shop.example', attachments: [{ filename: 's.txt', content: stream }] });
    const plain = await simpleParser(await renderMime(message));
    const pullsAfterFirst = pulls();
    const withBcc = await simpleParser(await renderMime(message, { keepBcc: true }));
    expect(pulls()).toBe(pullsAfterFirst);
    expect(plain.attachments[0]?.content.equals(content)).toBe(true);
    expect(withBcc.attachments[0]?.content.equals(content)).toBe(true);
    const [attachment] = message.attachments;
    expect(attachment && (await readAttachment(attachment)).equals(content)).toBe(true);
  });

  it('reads a Node stream once and reuses its bytes for another variant', async () => {
    const chunks = [Buffer.from('part one, '), Buffer.from('part two')];
    const message = createMessage({
      ...base,
      bcc: 'audit@shop.example',
      attachments: [{ filename: 'n.txt', content: Readable.from(chunks) }],
    });
    const first = await simpleParser(await renderMime(message));
    const second = await simpleParser(await renderMime(message, { keepBcc: true }));
    expect(first.attachments[0]?.content.toString()).toBe('part one, part two');
    expect(second.attachments[0]?.content.toString()).toBe('part one, part two');
  });

  it('reports a failing stream as invalid-message naming the attachment, and keeps that failure', async () => {
    const failing = new Readable({
      read() {
        this.destroy(new Error('disk on fire'));
      },
    });
    const message = createMessage({
      ...base,
      attachments: [
        { filename: 'ok.txt', content: 'x' },
        { filename: 'f.txt', content: failing },
      ],
    });
    const error = await rejection(renderMime(message));
    expect(error).toMatchObject({ code: 'invalid-message', field: 'attachments[1]' });
    expect(error.message).toContain('disk on fire');
    // A stream cannot be read again, so the second render fails the same way instead of sending an empty file.
    expect((await rejection(renderMime(message))).field).toBe('attachments[1]');
  });

  describe('from a file', () => {
    let directory: string;
    beforeAll(async () => {
      directory = await mkdtemp(join(tmpdir(), 'mailport-mime-'));
    });
    afterAll(async () => {
      await rm(directory, { recursive: true, force: true });
    });

    it('reads the file, and tries again after a failure', async () => {
      const path = join(directory, 'later.bin');
      const message = createMessage({ ...base, attachments: [{ path }] }, { allowFileAccess: true });
      const error = await rejection(renderMime(message));
      expect(error).toMatchObject({ code: 'invalid-message', field: 'attachments[0]' });
      await writeFile(path, png);
      const parsed = await simpleParser(await renderMime(message));
      expect(parsed.attachments[0]?.filename).toBe('later.bin');
      expect(parsed.attachments[0]?.content.equals(png)).toBe(true);
    });
  });

  describe('from a URL on loopback', () => {
    let server: Server;
    let origin: string;
    beforeAll(async () => {
      server = createServer((request, response) => {
        if (request.url === '/logo.png') {
          response.writeHead(200, { 'content-type': 'image/png' }).end(png);
        } else response.writeHead(404).end();
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    afterAll(async () => {
      await new Promise((resolve) => server.close(resolve));
    });

    it('fetches the bytes', async () => {
      const message = createMessage(
        { ...base, attachments: [{ url: `${origin}/logo.png`, filename: 'logo.png' }] },
        { allowUrlAccess: true },
      );
      const parsed = await simpleParser(await renderMime(message));
      expect(parsed.attachments[0]?.content.equals(png)).toBe(true);
    });

    it('reports an HTTP error as invalid-message', async () => {
      const message = createMessage({ ...base, attachments: [{ url: `${origin}/missing`, filename: 'x' }] }, { allowUrlAccess: true });
      const error = await rejection(renderMime(message));
      expect(error).toMatchObject({ code: 'invalid-message', field: 'attachments[0]' });
      expect(error.message).toContain('404');
    });
  });
});

describe('renderMime: caching', () => {
  it('returns the same promise and buffer for the same message and variant', async () => {
    const message = createMessage({ ...base, bcc: 'audit@shop.example', text: 'hi' });
    const first = renderMime(message);
    expect(renderMime(message)).toBe(first);
    expect(renderMime(message, { keepBcc: false })).toBe(first);
    const withBcc = renderMime(message, { keepBcc: true });
    expect(withBcc).not.toBe(first);
    expect(renderMime(message, { keepBcc: true })).toBe(withBcc);
    expect(await renderMime(message)).toBe(await first);
  });

  it('treats keepBcc as the default variant when there is no Bcc', () => {
    const message = createMessage({ ...base, text: 'hi' });
    expect(renderMime(message, { keepBcc: true })).toBe(renderMime(message));
  });

  it('renders each message separately', async () => {
    const one = createMessage({ ...base, text: 'one' });
    const two = createMessage({ ...base, text: 'two' });
    expect((await renderMime(one)).equals(await renderMime(two))).toBe(false);
  });

  it('does not cache a failed render', async () => {
    const message = createMessage({ ...base, headers: { 'X-Long': 'z'.repeat(1100) } });
    const first = renderMime(message);
    await rejection(first);
    const second = renderMime(message);
    expect(second).not.toBe(first);
    await rejection(second);
  });
});

describe('assertWireSafe', () => {
  const ok = (body: string): Buffer => Buffer.from(`Subject: test\r\nX-Other: value\r\n\r\n${body}`);

  it.each([
    ['a simple message', ok('hello\r\n')],
    ['a body without a final CRLF', ok('hello')],
    ['a line of exactly 998 characters', ok(`${'a'.repeat(998)}\r\n`)],
    ['a final line of exactly 998 characters', ok('a'.repeat(998))],
    ['an empty buffer', Buffer.alloc(0)],
    ['a Uint8Array', new Uint8Array(ok('hello\r\n'))],
  ])('accepts %s', (_label, bytes) => {
    expect(() => assertWireSafe(bytes)).not.toThrow();
  });

  it.each([
    ['a bare LF in the body', ok('one\ntwo\r\n'), 'body', /bare LF \(line 4\)/],
    ['a bare CR in the body', ok('one\r\ntw\ro\r\nthree\r\nfour\r\n'), 'body', /bare CR \(line 5\)/],
    ['a NUL in the body', ok('one\r\ntwo\u0000\r\nthree\r\n'), 'body', /NUL byte \(line 5\)/],
    ['a 999-character body line', ok(`short\r\n${'a'.repeat(999)}\r\nend\r\n`), 'body', /999 characters.*\(line 5\)/],
    ['a 999-character final line', ok(`short\r\n${'a'.repeat(999)}`), 'body', /999 characters/],
    ['a bare LF in a header', Buffer.from('Subject: a\nb\r\n\r\nbody'), 'headers.Subject', /bare LF/],
    ['a bare CR in a header', Buffer.from('X-Other: ok\r\nSubject: a\rb\r\n\r\nbody'), 'headers.Subject', /bare CR/],
    ['a long header line', Buffer.from(`Subject: ok\r\nX-Long: ${'z'.repeat(1000)}\r\n\r\nbody`), 'headers.X-Long', /1008 characters/],
    [
      'a long folded continuation line',
      Buffer.from(`X-Folded: start\r\n ${'z'.repeat(1000)}\r\nSubject: ok\r\n\r\nbody`),
      'headers.X-Folded',
      /1001 characters/,
    ],
  ])('refuses %s', (_label, bytes, field, message) => {
    const error = mailErrorFrom(() => assertWireSafe(bytes));
    expect(error.code).toBe('invalid-message');
    expect(error.field).toBe(field);
    expect(error.message).toMatch(message);
  });
});

describe('renderMime: whole messages', () => {
  it('renders everything a message can hold and parses back', async () => {
    const input: MessageInput = {
      from: 'orders@shop.example',
      sender: 'bounces@shop.example',
      to: 'ana@example.com',
      subject: 'All parts',
      text: 'text part',
      html: '<b>html part</b>',
      attachments: [{ filename: 'a.txt', content: 'a' }],
    };
    const parsed = await simpleParser(await renderMime(createMessage(input)));
    expect(parsed.text).toBe('text part');
    expect(parsed.html).toBe('<b>html part</b>');
    expect(parsed.headers.get('sender')).toMatchObject({ value: [{ address: 'bounces@shop.example' }] });
    expect(parsed.attachments.map((attachment) => attachment.filename)).toEqual(['a.txt']);
  });
});
