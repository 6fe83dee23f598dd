import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { MailError } from './errors.js';
import { type AttachmentInput, createMessage, isEmailMessage, type MessageInput, parseMessageId } from './message.js';

const base = { from: 'Shop <orders@shop.example>', to: 'ana@example.com' } as const;

function mailErrorFrom(run: () => unknown): MailError {
  try {
    run();
  } catch (error) {
    if (MailError.isInstance(error)) return error;
    throw error;
  }
  throw new Error('expected a MailError, but nothing was thrown');
}

/** Asserts that `input` is refused as `invalid-message` naming `field`, and returns the error. */
function expectInvalid(input: unknown, field: string, options?: Parameters<typeof createMessage>[1]): MailError {
  const error = mailErrorFrom(() => createMessage(input as MessageInput, options));
  expect(error.code).toBe('invalid-message');
  expect(error.field).toBe(field);
  return error;
}

describe('createMessage: required fields', () => {
  it.each([
    ['missing', undefined],
    ['empty', ''],
    ['null', null],
  ])('requires from (%s)', (_label, from) => {
    expectInvalid({ to: 'ana@example.com', from }, 'from');
  });

  it('needs at least one recipient in to, cc or bcc', () => {
    expectInvalid({ from: 'a@example.com' }, 'to');
    expectInvalid({ from: 'a@example.com', to: [], cc: [], bcc: [] }, 'to');
  });

  it.each([
    ['to', { to: 'b@example.com' }],
    ['cc', { cc: 'b@example.com' }],
    ['bcc', { bcc: 'b@example.com' }],
  ])('accepts a single recipient in %s', (_label, recipients) => {
    expect(createMessage({ from: 'a@example.com', ...recipients }).envelope.to).toEqual(['b@example.com']);
  });

  it('refuses a non-object input', () => {
    expectInvalid('hello', 'message');
    expectInvalid(null, 'message');
  });
});

describe('createMessage: headers', () => {
  it.each([
    ['From', 'from'],
    ['from', 'from'],
    ['TO', 'to'],
    ['Cc', 'cc'],
    ['Bcc', 'bcc'],
    ['Sender', 'sender'],
    ['Reply-To', 'replyTo'],
    ['Subject', 'subject'],
    ['Date', 'date'],
    ['Message-ID', 'messageId'],
    ['message-id', 'messageId'],
    ['In-Reply-To', 'inReplyTo'],
    ['References', 'references'],
    ['Return-Path', 'envelope.from'],
    ['List-Unsubscribe', 'listUnsubscribe'],
    ['list-unsubscribe-post', 'listUnsubscribe.oneClick'],
    ['X-Priority', 'priority'],
    ['Importance', 'priority'],
  ])('refuses the structural header %s and names the field %s instead', (name, use) => {
    const error = expectInvalid({ ...base, headers: { [name]: 'x' } }, `headers.${name}`);
    expect(error.remediation).toContain(`"${use}"`);
  });

  it.each(['Content-Type', 'content-type', 'MIME-Version', 'Content-Transfer-Encoding', 'Content-Disposition', 'Content-ID'])(
    'refuses the MIME header %s as generated',
    (name) => {
      const error = expectInvalid({ ...base, headers: { [name]: 'x' } }, `headers.${name}`);
      expect(error.remediation).toMatch(/generated/);
    },
  );

  it.each([
    ['a colon', 'X:Tag'],
    ['a space', 'X Tag'],
    ['an empty name', ''],
    ['a non-ASCII letter', 'X-Tög'],
    ['DEL', 'X-Tag\u007f'],
    ['CR', 'X-Tag\r'],
    ['LF', 'X-\nTag'],
    ['NUL', 'X-Tag\u0000'],
    ['a C1 control', 'X-Tag\u0085'],
  ])('refuses a header name with %s', (_label, name) => {
    expectInvalid({ ...base, headers: { [name]: 'x' } }, `headers.${name}`);
  });

  it('accepts every ftext character in a header name', () => {
    const name = 'X-!#$%&\'*+-.^_`|~0123456789"(),/;<=>?@[\\]{}';
    expect(createMessage({ ...base, headers: { [name]: 'v' } }).headers).toEqual([{ name, value: 'v' }]);
  });

  it.each([
    ['CR', 'a\rb'],
    ['LF', 'a\nb'],
    ['CRLF injection', 'a\r\nBcc: victim@example.com'],
    ['NUL', 'a\u0000b'],
    ['ESC', 'a\u001bb'],
    ['DEL', 'a\u007fb'],
    ['a C1 control', 'a\u009bb'],
  ])('refuses a header value with %s', (_label, value) => {
    expectInvalid({ ...base, headers: { 'X-Tag': value } }, 'headers.X-Tag');
    expectInvalid({ ...base, headers: { 'X-Tag': ['fine', value] } }, 'headers.X-Tag');
  });

  it('allows TAB in a header value (folding whitespace)', () => {
    expect(createMessage({ ...base, headers: { 'X-Tag': 'a\tb' } }).headers[0]?.value).toBe('a\tb');
  });

  it('repeats a header given an array of values, in order', () => {
    expect(createMessage({ ...base, headers: { 'X-Tag': ['one', 'two'], 'X-Other': 'three' } }).headers).toEqual([
      { name: 'X-Tag', value: 'one' },
      { name: 'X-Tag', value: 'two' },
      { name: 'X-Other', value: 'three' },
    ]);
  });

  it('refuses a non-string header value and a non-object headers field', () => {
    expectInvalid({ ...base, headers: { 'X-Count': 3 } }, 'headers.X-Count');
    expectInvalid({ ...base, headers: ['X-Tag: a'] }, 'headers');
  });
});

describe('createMessage: subject and bodies', () => {
  it.each([
    ['CR', 'Hi\rthere'],
    ['LF', 'Hi\nthere'],
    ['NUL', 'Hi\u0000'],
    ['BEL', 'Hi\u0007'],
    ['a C1 control', 'Hi\u0090'],
  ])('refuses a subject with %s', (_label, subject) => {
    expectInvalid({ ...base, subject }, 'subject');
  });

  it('defaults the subject to an empty string and keeps Unicode', () => {
    expect(createMessage(base).subject).toBe('');
    expect(createMessage({ ...base, subject: 'Ваш заказ ✓' }).subject).toBe('Ваш заказ ✓');
  });

  it('normalises every line break in text and html to CRLF', () => {
    const message = createMessage({ ...base, text: 'a\nb\rc\r\nd\n.\ne', html: '<p>a</p>\r<p>b</p>\n' });
    expect(message.text).toBe('a\r\nb\r\nc\r\nd\r\n.\r\ne');
    expect(message.html).toBe('<p>a</p>\r\n<p>b</p>\r\n');
  });

  it('refuses non-string bodies', () => {
    expectInvalid({ ...base, text: 42 }, 'text');
    expectInvalid({ ...base, html: {} }, 'html');
  });
});

describe('createMessage: Message-ID', () => {
  it('assigns <uuid@from-domain> when absent', () => {
    const message = createMessage({ from: 'orders@bücher.example', to: 'ana@example.com' });
    expect(message.messageId).toMatch(/^<[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}@xn--bcher-kva\.example>$/);
  });

  it('assigns a different Message-ID to each message', () => {
    expect(createMessage(base).messageId).not.toBe(createMessage(base).messageId);
  });

  it.each([
    ['abc@shop.example', '<abc@shop.example>'],
    ['<abc@shop.example>', '<abc@shop.example>'],
    ['  <abc.def+1@shop.example>  ', '<abc.def+1@shop.example>'],
    ['<abc@[192.0.2.1]>', '<abc@[192.0.2.1]>'],
  ])('normalises the given Message-ID %j to %s', (given, expected) => {
    expect(createMessage({ ...base, messageId: given }).messageId).toBe(expected);
  });

  it.each([
    ['no @', '<abc>'],
    ['an unclosed bracket', '<abc@shop.example'],
    ['a closing bracket only', 'abc@shop.example>'],
    ['a space', '<a b@shop.example>'],
    ['two @', '<a@b@shop.example>'],
    ['a CRLF injection', '<a@shop.example>\r\nBcc: victim@example.com'],
    ['an empty left part', '<@shop.example>'],
    ['a doubled dot', '<a..b@shop.example>'],
    ['an empty string', ''],
  ])('refuses a Message-ID with %s', (_label, messageId) => {
    expectInvalid({ ...base, messageId }, 'messageId');
  });

  it('refuses a non-string Message-ID', () => {
    expect(mailErrorFrom(() => parseMessageId(42, 'messageId')).field).toBe('messageId');
  });
});

describe('createMessage: threading, priority, tags and metadata', () => {
  it('validates and normalises inReplyTo', () => {
    expect(createMessage({ ...base, inReplyTo: 'parent@shop.example' }).inReplyTo).toBe('<parent@shop.example>');
    expectInvalid({ ...base, inReplyTo: 'parent' }, 'inReplyTo');
  });

  it('splits a references string on spaces and commas and keeps the order', () => {
    expect(createMessage({ ...base, references: '<a@x.example> b@x.example,<c@x.example>' }).references).toEqual([
      '<a@x.example>',
      '<b@x.example>',
      '<c@x.example>',
    ]);
    expect(createMessage({ ...base, references: ['<a@x.example>', 'b@x.example'] }).references).toEqual(['<a@x.example>', '<b@x.example>']);
    expect(createMessage(base).references).toEqual([]);
  });

  it('names the reference at fault', () => {
    expectInvalid({ ...base, references: ['<a@x.example>', 'nope'] }, 'references[1]');
    expectInvalid({ ...base, references: '<a@x.example> nope' }, 'references[1]');
    expectInvalid({ ...base, references: 42 }, 'references');
  });

  it.each(['high', 'normal', 'low'] as const)('accepts priority %s', (priority) => {
    expect(createMessage({ ...base, priority }).priority).toBe(priority);
  });

  it.each(['urgent', 'HIGH', 1])('refuses priority %j', (priority) => {
    expectInvalid({ ...base, priority }, 'priority');
  });

  it('validates tags', () => {
    expect(createMessage({ ...base, tags: ['welcome', 'campaign:spring'] }).tags).toEqual(['welcome', 'campaign:spring']);
    expectInvalid({ ...base, tags: 'welcome' }, 'tags');
    expectInvalid({ ...base, tags: ['ok', ''] }, 'tags[1]');
    expectInvalid({ ...base, tags: ['ok', 7] }, 'tags[1]');
    expectInvalid({ ...base, tags: ['a\nb'] }, 'tags[0]');
  });

  it('validates metadata keys and values', () => {
    expect(createMessage({ ...base, metadata: { 'order.id': '42', 'user_id:x-y': 'z' } }).metadata).toEqual({
      'order.id': '42',
      'user_id:x-y': 'z',
    });
    expectInvalid({ ...base, metadata: { 'bad key': 'x' } }, 'metadata.bad key');
    expectInvalid({ ...base, metadata: { ['k'.repeat(129)]: 'x' } }, `metadata.${'k'.repeat(129)}`);
    expectInvalid({ ...base, metadata: { count: 3 } }, 'metadata.count');
    expectInvalid({ ...base, metadata: { note: 'a\r\nb' } }, 'metadata.note');
    expectInvalid({ ...base, metadata: ['x'] }, 'metadata');
  });
});

describe('createMessage: listUnsubscribe', () => {
  it('accepts a URL string', () => {
    expect(createMessage({ ...base, listUnsubscribe: 'https://shop.example/u?id=1' }).listUnsubscribe).toEqual({
      url: 'https://shop.example/u?id=1',
      mailto: undefined,
      oneClick: false,
    });
  });

  it('accepts one-click with an https URL', () => {
    expect(createMessage({ ...base, listUnsubscribe: { url: 'https://shop.example/u', oneClick: true } }).listUnsubscribe?.oneClick).toBe(
      true,
    );
  });

  it.each([
    ['without a url', { mailto: 'unsubscribe@shop.example', oneClick: true }],
    ['with an http url', { url: 'http://shop.example/u', oneClick: true }],
  ])('refuses one-click %s', (_label, listUnsubscribe) => {
    expectInvalid({ ...base, listUnsubscribe }, 'listUnsubscribe.oneClick');
  });

  it.each([
    ['unsubscribe@shop.example', 'mailto:unsubscribe@shop.example'],
    ['mailto:unsubscribe@shop.example', 'mailto:unsubscribe@shop.example'],
    ['mailto:unsubscribe@shop.example?subject=unsubscribe', 'mailto:unsubscribe@shop.example?subject=unsubscribe'],
  ])('accepts mailto %s', (mailto, expected) => {
    expect(createMessage({ ...base, listUnsubscribe: { mailto } }).listUnsubscribe?.mailto).toBe(expected);
  });

  it.each([
    ['a comma in the url', { url: 'https://shop.example/u?a=1,2' }, 'listUnsubscribe.url'],
    ['a space in the url', { url: 'https://shop.example/u nsubscribe' }, 'listUnsubscribe.url'],
    ['angle brackets in the url', { url: 'https://shop.example/<u>' }, 'listUnsubscribe.url'],
    ['a CRLF in the url', { url: 'https://shop.example/u\r\nBcc: x@example.com' }, 'listUnsubscribe.url'],
    ['a non-http url', { url: 'ftp://shop.example/u' }, 'listUnsubscribe.url'],
    ['a javascript: url', { url: 'javascript:alert(1)' }, 'listUnsubscribe.url'],
    ['a url that does not parse', { url: 'not a url' }, 'listUnsubscribe.url'],
    ['a url over 900 characters', { url: `https://shop.example/${'u'.repeat(900)}` }, 'listUnsubscribe.url'],
    ['a non-ASCII url', { url: 'https://bücher.example/abmelden' }, 'listUnsubscribe.url'],
    ['an invalid mailto address', { mailto: 'unsubscribe' }, 'listUnsubscribe.mailto'],
    ['two mailto addresses', { mailto: 'a@shop.example,b@shop.example' }, 'listUnsubscribe.mailto'],
    ['a space in the mailto', { mailto: 'mailto:u@shop.example?subject=un subscribe' }, 'listUnsubscribe.mailto'],
    ['a comma in the mailto query', { mailto: 'mailto:u@shop.example?subject=a,b' }, 'listUnsubscribe.mailto'],
    ['a non-ASCII mailto', { mailto: 'abmelden@bücher.example' }, 'listUnsubscribe.mailto'],
    ['neither url nor mailto', {}, 'listUnsubscribe'],
  ])('refuses %s', (_label, listUnsubscribe, field) => {
    expectInvalid({ ...base, listUnsubscribe }, field);
  });
});

describe('createMessage: envelope', () => {
  it('uses From and every To, Cc and Bcc by default', () => {
    const message = createMessage({
      from: 'orders@shop.example',
      to: ['a@example.com', 'b@example.com'],
      cc: 'c@example.com',
      bcc: 'd@example.com',
    });
    expect(message.envelope).toEqual({
      from: 'orders@shop.example',
      to: ['a@example.com', 'b@example.com', 'c@example.com', 'd@example.com'],
    });
    expect(message.hasCustomEnvelope).toBe(false);
  });

  it('uses Sender for MAIL FROM when given', () => {
    expect(createMessage({ ...base, sender: 'bounces@shop.example' }).envelope.from).toBe('bounces@shop.example');
  });

  it('deduplicates recipients with a case-insensitive domain and a case-sensitive local part', () => {
    const message = createMessage({
      from: 'orders@shop.example',
      to: ['ana@example.com', 'Ana <ana@EXAMPLE.com>'],
      cc: 'ana@Example.Com',
      bcc: ['Ana@example.com', 'ana@example.com'],
    });
    expect(message.envelope.to).toEqual(['ana@example.com', 'Ana@example.com']);
    expect(message.hasCustomEnvelope).toBe(false);
  });

  it('uses a custom envelope and flags it', () => {
    const message = createMessage({ ...base, envelope: { from: 'bounces@shop.example', to: ['x@example.com', 'x@example.com'] } });
    expect(message.envelope).toEqual({ from: 'bounces@shop.example', to: ['x@example.com'] });
    expect(message.hasCustomEnvelope).toBe(true);
  });

  it('fills the missing half of a custom envelope from the headers', () => {
    const onlyFrom = createMessage({ ...base, envelope: { from: 'bounces@shop.example' } });
    expect(onlyFrom.envelope).toEqual({ from: 'bounces@shop.example', to: ['ana@example.com'] });
    expect(onlyFrom.hasCustomEnvelope).toBe(true);
    const onlyTo = createMessage({ ...base, envelope: { to: 'other@example.com' } });
    expect(onlyTo.envelope).toEqual({ from: 'orders@shop.example', to: ['other@example.com'] });
    expect(onlyTo.hasCustomEnvelope).toBe(true);
  });

  it('does not flag an envelope equal to the implied one', () => {
    expect(createMessage({ ...base, envelope: { from: 'orders@shop.example', to: 'ana@example.com' } }).hasCustomEnvelope).toBe(false);
  });

  it('refuses an empty envelope recipient list', () => {
    expectInvalid({ ...base, envelope: { to: [] } }, 'envelope.to');
  });
});

describe('createMessage: attachments', () => {
  const bytes = Uint8Array.from([0, 1, 2, 255]);

  it.each<[string, AttachmentInput['content'], AttachmentInput['encoding'], number[]]>([
    ['Uint8Array', bytes, undefined, [0, 1, 2, 255]],
    ['Buffer', Buffer.from([9, 8]), undefined, [9, 8]],
    ['ArrayBuffer', bytes.buffer, undefined, [0, 1, 2, 255]],
    ['a Uint8Array view into a larger buffer', new Uint8Array(bytes.buffer, 1, 2), undefined, [1, 2]],
    ['a UTF-8 string', 'é', undefined, [0xc3, 0xa9]],
    ['a base64 string', 'AAEC/w==', 'base64', [0, 1, 2, 255]],
    ['a hex string', '0001', 'hex', [0, 1]],
    ['a latin1 string', 'é', 'latin1', [0xe9]],
  ])('accepts %s as bytes', (_label, content, encoding, expected) => {
    const [attachment] = createMessage({ ...base, attachments: [{ filename: 'a.bin', content, encoding }] }).attachments;
    expect(attachment?.source.kind).toBe('bytes');
    expect(attachment?.source.kind === 'bytes' ? [...attachment.source.bytes] : undefined).toEqual(expected);
  });

  it.each([
    ['a Node Readable', () => Readable.from([Buffer.from('x')])],
    ['a web ReadableStream', () => new ReadableStream<Uint8Array>({ start: (controller) => controller.close() })],
  ])('accepts %s as a stream', (_label, make) => {
    const stream = make();
    const [attachment] = createMessage({ ...base, attachments: [{ filename: 's.txt', content: stream }] }).attachments;
    expect(attachment?.source).toEqual({ kind: 'stream', stream });
  });

  it('refuses invalid base64 and an unknown encoding', () => {
    expectInvalid({ ...base, attachments: [{ content: 'not base64!', encoding: 'base64' }] }, 'attachments[0].content');
    expectInvalid({ ...base, attachments: [{ content: 'x', encoding: 'utf16le' }] }, 'attachments[0].encoding');
  });

  it('refuses content of another type', () => {
    expectInvalid({ ...base, attachments: [{ content: 42 }] }, 'attachments[0].content');
    expectInvalid({ ...base, attachments: [{ content: { bytes: [1] } }] }, 'attachments[0].content');
  });

  it('refuses a path unless allowFileAccess', () => {
    const error = expectInvalid({ ...base, attachments: [{ path: '/etc/passwd' }] }, 'attachments[0].path');
    expect(error.remediation).toMatch(/allowFileAccess/);
    const [attachment] = createMessage({ ...base, attachments: [{ path: '/tmp/report.pdf' }] }, { allowFileAccess: true }).attachments;
    expect(attachment).toMatchObject({ filename: 'report.pdf', source: { kind: 'path', path: '/tmp/report.pdf' } });
  });

  it('refuses a url unless allowUrlAccess', () => {
    const error = expectInvalid({ ...base, attachments: [{ url: 'https://files.example/a.pdf' }] }, 'attachments[0].url');
    expect(error.remediation).toMatch(/allowUrlAccess/);
    const [attachment] = createMessage(
      { ...base, attachments: [{ url: 'https://files.example/a.pdf' }] },
      { allowUrlAccess: true },
    ).attachments;
    expect(attachment?.source).toEqual({ kind: 'url', url: 'https://files.example/a.pdf' });
    expectInvalid({ ...base, attachments: [{ url: 'file:///etc/passwd' }] }, 'attachments[0].url', { allowUrlAccess: true });
    expectInvalid({ ...base, attachments: [{ url: 'nope' }] }, 'attachments[0].url', { allowUrlAccess: true });
  });

  it.each([
    ['none', {}],
    ['content and path', { content: 'x', path: '/tmp/x' }],
    ['content and url', { content: 'x', url: 'https://files.example/x' }],
    ['path and url', { path: '/tmp/x', url: 'https://files.example/x' }],
  ])('needs exactly one of content, path and url (%s)', (_label, attachment) => {
    expectInvalid({ ...base, attachments: [attachment] }, 'attachments[0]', { allowFileAccess: true, allowUrlAccess: true });
  });

  it('treats a null path or url as absent', () => {
    const input = { ...base, attachments: [{ filename: 'a.txt', content: 'x', path: null, url: null }] } as unknown as MessageInput;
    expect(createMessage(input).attachments[0]?.source.kind).toBe('bytes');
  });

  it('makes an attachment with a contentId inline, unless told otherwise', () => {
    const message = createMessage({
      ...base,
      attachments: [
        { filename: 'logo.png', content: bytes, contentId: '<logo@shop.example>' },
        { filename: 'plain.png', content: bytes },
        { filename: 'both.png', content: bytes, contentId: 'both@shop.example', disposition: 'attachment' },
      ],
    });
    expect(message.attachments.map((a) => [a.contentId, a.disposition])).toEqual([
      ['logo@shop.example', 'inline'],
      [undefined, 'attachment'],
      ['both@shop.example', 'attachment'],
    ]);
  });

  it.each([
    ['a CR in the filename', { filename: 'a\r.txt', content: 'x' }, 'attachments[0].filename'],
    ['a LF in the filename', { filename: 'a\n.txt', content: 'x' }, 'attachments[0].filename'],
    ['a TAB in the filename', { filename: 'a\t.txt', content: 'x' }, 'attachments[0].filename'],
    ['a NUL in the filename', { filename: 'a\u0000.txt', content: 'x' }, 'attachments[0].filename'],
    ['a C1 control in the filename', { filename: 'a\u0085.txt', content: 'x' }, 'attachments[0].filename'],
    ['an empty filename', { filename: '', content: 'x' }, 'attachments[0].filename'],
    ['a bad content type', { content: 'x', contentType: 'text' }, 'attachments[0].contentType'],
    ['a content type with a CRLF', { content: 'x', contentType: 'text/plain\r\nX: y' }, 'attachments[0].contentType'],
    ['a contentId without @', { content: 'x', contentId: 'logo' }, 'attachments[0].contentId'],
    ['a contentId with a CRLF', { content: 'x', contentId: 'a@b\r\nX: y' }, 'attachments[0].contentId'],
    ['an unknown disposition', { content: 'x', disposition: 'attached' }, 'attachments[0].disposition'],
    ['a non-object', 'x', 'attachments[0]'],
  ])('refuses %s', (_label, attachment, field) => {
    expectInvalid({ ...base, attachments: [attachment] }, field);
  });

  it('accepts a content type with parameters and a Unicode filename', () => {
    const [attachment] = createMessage({
      ...base,
      attachments: [{ filename: 'facture-été.txt', content: 'x', contentType: 'text/plain; charset="utf-8"' }],
    }).attachments;
    expect(attachment).toMatchObject({ filename: 'facture-été.txt', contentType: 'text/plain; charset="utf-8"' });
  });
});

describe('createMessage: the result', () => {
  const full = (): MessageInput => ({
    ...base,
    cc: 'c@example.com',
    headers: { 'X-Tag': ['a', 'b'] },
    tags: ['t'],
    metadata: { k: 'v' },
    references: ['<r@x.example>'],
    attachments: [{ filename: 'a.txt', content: 'x' }],
    listUnsubscribe: 'https://shop.example/u',
  });

  it('is frozen, down to its lists and parts', () => {
    const message = createMessage(full());
    for (const part of [
      message,
      message.from,
      message.to,
      message.to[0],
      message.cc,
      message.headers,
      message.headers[0],
      message.tags,
      message.metadata,
      message.references,
      message.attachments,
      message.attachments[0],
      message.attachments[0]?.source,
      message.envelope,
      message.envelope.to,
      message.listUnsubscribe,
    ]) {
      expect(Object.isFrozen(part)).toBe(true);
    }
  });

  it('is recognised by isEmailMessage, and plain objects are not', () => {
    const message = createMessage(full());
    expect(isEmailMessage(message)).toBe(true);
    expect(isEmailMessage({ ...message })).toBe(false);
    expect(isEmailMessage(full())).toBe(false);
    expect(isEmailMessage(null)).toBe(false);
    expect(isEmailMessage('message')).toBe(false);
  });

  it('returns an existing message unchanged', () => {
    const message = createMessage(full());
    // The signature takes MessageInput only; the runtime check is what makes this safe.
    expect(createMessage(message as unknown as MessageInput)).toBe(message);
  });

  it('does not share the caller date object', () => {
    const date = new Date('2024-01-02T03:04:05Z');
    const message = createMessage({ ...base, date });
    date.setFullYear(1999);
    expect(message.date.toISOString()).toBe('2024-01-02T03:04:05.000Z');
    expectInvalid({ ...base, date: new Date(Number.NaN) }, 'date');
    expectInvalid({ ...base, date: '2024-01-01' }, 'date');
  });
});
