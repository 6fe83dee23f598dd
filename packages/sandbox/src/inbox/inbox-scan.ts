import addressparser from 'nodemailer/lib/addressparser';

/**
 * A cheap, bounded look at a raw message: its header fields and the outline of its MIME tree,
 * without decoding any part but the first few kilobytes of the text body. The inbox's message list
 * is built from this, so listing never waits for a full parse; it classifies parts with the same
 * rules as mailparser (which the opened message uses), so the attachment counts agree.
 */
export interface MessageOutline {
  readonly subject: string;
  readonly from: string;
  readonly to: readonly string[];
  readonly cc: readonly string[];
  readonly date: string | undefined;
  readonly messageId: string | undefined;
  /** Parts offered for download: every non-text part, and text parts marked as attachments, except inline related images. */
  readonly attachmentCount: number;
  /** Parts the HTML shows through `cid:` (a Content-ID in multipart/related, or inline with a Content-ID). */
  readonly inlineCount: number;
  readonly hasHtml: boolean;
  /** The first words of the text body (or of the HTML's text when there is no text part). */
  readonly preview: string;
  /** MIME nodes seen (the message itself, containers and leaves). */
  readonly parts: number;
  /** Set when the outline stopped early: more MIME parts than the limit, or nesting deeper than it. */
  readonly truncated: string | undefined;
}

/** Limits of {@link outlineMessage}. */
export interface OutlineLimits {
  /** Most MIME nodes to look at (mailparser's `maxChildNodes` uses the same count). */
  readonly maxParts: number;
  /** Deepest nesting of multiparts and attached messages. */
  readonly maxDepth: number;
}

const maxHeadBytes = 1024 * 1024;
const previewLength = 160;
const previewBytes = 8 * 1024;
const textTypes = new Set(['text/plain', 'text/html', 'message/delivery-status']);

interface Head {
  readonly fields: ReadonlyMap<string, string>;
  readonly body: Buffer;
}

interface Walk {
  parts: number;
  attachments: number;
  inline: number;
  hasHtml: boolean;
  text: string | undefined;
  html: string | undefined;
  truncated: string | undefined;
}

/** Outlines `raw`; linear in its size, and never throws. */
export function outlineMessage(raw: Buffer, limits: OutlineLimits): MessageOutline {
  const head = splitHead(raw);
  const walk: Walk = { parts: 0, attachments: 0, inline: 0, hasHtml: false, text: undefined, html: undefined, truncated: undefined };
  try {
    walkNode(head, false, 0, walk, limits);
  } catch (error) {
    walk.truncated ??= `the MIME structure could not be read (${(error as Error).message})`;
  }
  const field = (name: string): string | undefined => head.fields.get(name);
  const date = field('date') === undefined ? undefined : new Date(field('date') as string);
  const preview = walk.text ?? (walk.html === undefined ? '' : htmlText(walk.html));
  const messageId = field('message-id')?.trim();
  // The outline is kept as long as the message: its strings are copied out of the header and body
  // text they were cut from (V8 keeps a slice's whole parent string alive otherwise: kilobytes each).
  return {
    subject: own(decodeEncodedWords(field('subject') ?? '')),
    from: own(formatAddresses(field('from'))[0] ?? ''),
    to: formatAddresses(field('to')).map(own),
    cc: formatAddresses(field('cc')).map(own),
    date: date === undefined || Number.isNaN(date.getTime()) ? undefined : date.toISOString(),
    messageId: messageId ? own(messageId) : undefined,
    attachmentCount: walk.attachments,
    inlineCount: walk.inline,
    hasHtml: walk.hasHtml,
    preview: own(preview.replace(/\s+/g, ' ').trim().slice(0, previewLength)),
    parts: walk.parts,
    truncated: walk.truncated === undefined ? undefined : own(walk.truncated),
  };
}

function walkNode(node: Head, related: boolean, depth: number, walk: Walk, limits: OutlineLimits): void {
  if (walk.truncated !== undefined) return;
  if (walk.parts >= limits.maxParts) {
    walk.truncated = `it has more than ${limits.maxParts} MIME parts`;
    return;
  }
  walk.parts++;
  const contentType = parameters(node.fields.get('content-type'));
  // mailparser reads a part without Content-Type as text/plain (RFC 2045's default).
  const type = contentType.value || 'text/plain';
  const disposition = parameters(node.fields.get('content-disposition')).value;
  const encoding = (node.fields.get('content-transfer-encoding') ?? '').trim().toLowerCase();
  if (type.startsWith('multipart/')) {
    const boundary = contentType.params.boundary;
    if (boundary === undefined || boundary === '') return;
    if (depth >= limits.maxDepth) {
      walk.truncated = `its MIME parts nest deeper than ${limits.maxDepth} levels`;
      return;
    }
    for (const child of splitMultipart(node.body, boundary)) {
      walkNode(splitHead(child), related || type === 'multipart/related', depth + 1, walk, limits);
      if (walk.truncated !== undefined) return;
    }
    return;
  }
  // mailparser (mailsplit) opens an attached message only when it is marked inline and not encoded.
  if (type === 'message/rfc822' && disposition === 'inline' && ['', '7bit', '8bit', 'binary'].includes(encoding)) {
    if (depth >= limits.maxDepth) {
      walk.truncated = `its MIME parts nest deeper than ${limits.maxDepth} levels`;
      return;
    }
    walkNode(splitHead(node.body), false, depth + 1, walk, limits);
    return;
  }
  const normalized =
    disposition === '' ? (textTypes.has(type) ? 'inline' : 'attachment') : disposition === 'inline' ? 'inline' : 'attachment';
  const isAttachment = !textTypes.has(type) || normalized !== 'inline';
  if (isAttachment) {
    const hasContentId = (node.fields.get('content-id') ?? '').replace(/[<>\s]/g, '') !== '';
    if (hasContentId && (related || normalized === 'inline')) walk.inline++;
    else walk.attachments++;
    return;
  }
  if (type === 'text/html') {
    walk.hasHtml = true;
    walk.html ??= decodeStart(node, contentType.params.charset);
  } else if (type === 'text/plain') {
    walk.text ??= decodeStart(node, contentType.params.charset);
  }
}

/** Header fields (lowercase names, unfolded, UTF-8; the first of repeated fields wins) and the body. */
function splitHead(bytes: Buffer): Head {
  const window = bytes.subarray(0, Math.min(bytes.length, maxHeadBytes));
  let headerEnd = -1;
  let bodyStart = bytes.length;
  // The blank line: CRLF CRLF, LF LF, or the body starting at once (a part with no header fields).
  if (window[0] === 0x0a || (window[0] === 0x0d && window[1] === 0x0a)) {
    headerEnd = 0;
    bodyStart = window[0] === 0x0a ? 1 : 2;
  } else {
    const lf = window.indexOf('\n\n');
    const crlf = window.indexOf('\r\n\r\n');
    if (crlf !== -1 && (lf === -1 || crlf < lf)) {
      headerEnd = crlf;
      bodyStart = crlf + 4;
    } else if (lf !== -1) {
      headerEnd = lf;
      bodyStart = lf + 2;
    } else headerEnd = window.length;
  }
  const fields = new Map<string, string>();
  let name: string | undefined;
  let value = '';
  const flush = (): void => {
    if (name !== undefined && !fields.has(name)) fields.set(name, Buffer.from(value, 'latin1').toString('utf8').trim());
  };
  for (const line of window.subarray(0, headerEnd).toString('latin1').split(/\r?\n/)) {
    if (/^[ \t]/.test(line) && name !== undefined) {
      value += line;
      continue;
    }
    flush();
    const colon = line.indexOf(':');
    name = colon <= 0 ? undefined : line.slice(0, colon).trim().toLowerCase();
    value = colon <= 0 ? '' : line.slice(colon + 1);
  }
  flush();
  return { fields, body: bytes.subarray(bodyStart) };
}

/** The parts between `--boundary` lines, up to the closing `--boundary--` (or the end). */
function* splitMultipart(body: Buffer, boundary: string): Generator<Buffer> {
  const delimiter = Buffer.from(`--${boundary}`, 'latin1');
  let start = -1;
  let position = 0;
  while (position <= body.length) {
    const at = body.indexOf(delimiter, position);
    if (at === -1) break;
    const lineStart = at === 0 || body[at - 1] === 0x0a;
    const after = at + delimiter.length;
    const next = body[after];
    // `--abc` is not a delimiter line of `--abc-1`'s: only `--`, white space or the line end may follow.
    const whole = next === undefined || next === 0x0d || next === 0x0a || next === 0x20 || next === 0x09 || next === 0x2d;
    if (!lineStart || !whole || (next === 0x2d && body[after + 1] !== 0x2d)) {
      position = after;
      continue;
    }
    if (start !== -1) {
      // The line break before the delimiter belongs to it.
      let end = at;
      if (body[end - 1] === 0x0a) end--;
      if (body[end - 1] === 0x0d) end--;
      yield body.subarray(start, Math.max(start, end));
    }
    if (body[after] === 0x2d && body[after + 1] === 0x2d) return;
    const lineEnd = body.indexOf(0x0a, after);
    if (lineEnd === -1) return;
    start = lineEnd + 1;
    position = start;
  }
  if (start !== -1 && start < body.length) yield body.subarray(start);
}

/** `text/plain; charset="utf-8"` -> `{ value: 'text/plain', params: { charset: 'utf-8' } }`. */
function parameters(header: string | undefined): { value: string; params: Record<string, string> } {
  if (header === undefined) return { value: '', params: {} };
  const [value = '', ...rest] = header.split(';');
  const params: Record<string, string> = {};
  const text = rest.join(';');
  for (const match of text.matchAll(/([^\s=;]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;]*)/g)) {
    const key = (match[1] ?? '').toLowerCase();
    const raw = (match[2] ?? '').trim();
    params[key] = raw.startsWith('"') ? raw.slice(1, -1).replace(/\\(.)/g, '$1') : raw;
  }
  return { value: value.trim().toLowerCase(), params };
}

/** A copy of `text` that shares no memory with the string it was cut from. */
function own(text: string): string {
  return text.length === 0 ? '' : (structuredClone(text) as string);
}

/** The first few kilobytes of a text part, transfer-decoded and charset-decoded. */
function decodeStart(node: Head, charset: string | undefined): string {
  const encoding = (node.fields.get('content-transfer-encoding') ?? '').trim().toLowerCase();
  let bytes: Buffer;
  if (encoding === 'base64') {
    const text = node.body
      .subarray(0, (previewBytes * 4) / 3 + 512)
      .toString('latin1')
      .replace(/[^A-Za-z0-9+/]/g, '');
    bytes = Buffer.from(text.slice(0, text.length - (text.length % 4)), 'base64');
  } else if (encoding === 'quoted-printable') {
    const text = node.body
      .subarray(0, previewBytes * 3)
      .toString('latin1')
      .replace(/=\r?\n/g, '')
      .replace(/=([0-9A-Fa-f]{2})/g, (_match, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));
    bytes = Buffer.from(text, 'latin1');
  } else bytes = node.body.subarray(0, previewBytes);
  try {
    return new TextDecoder(charset || 'utf-8').decode(bytes);
  } catch {
    return bytes.toString('utf8');
  }
}

function htmlText(html: string): string {
  return html
    .replace(/<(style|script|head|title)\b[\s\S]*?<\/\1\s*>/gi, ' ')
    .replace(/<[^>]*>/g, ' ')
    .replace(/&nbsp;/g, ' ')
    .replace(/&amp;/g, '&')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'");
}

/** `"Ana" <ana@example.org>, team@example.org` -> `['Ana <ana@example.org>', 'team@example.org']`, groups flattened. */
function formatAddresses(value: string | undefined): string[] {
  if (value === undefined || value.trim() === '') return [];
  try {
    return addressparser(value, { flatten: true }).map((entry) => {
      const name = decodeEncodedWords(entry.name ?? '').trim();
      const address = (entry.address ?? '').trim();
      if (address === '') return name;
      return name === '' ? address : `${name} <${address}>`;
    });
  } catch {
    return [decodeEncodedWords(value)];
  }
}

const encodedWord = /=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=/g;

/** Decodes RFC 2047 encoded words; whitespace between two adjacent encoded words is dropped, as the RFC says. */
export function decodeEncodedWords(value: string): string {
  return value.replace(/(\?=)\s+(?==\?)/g, '$1').replace(encodedWord, (word, charset: string, encoding: string, text: string) => {
    const bytes =
      encoding.toUpperCase() === 'B'
        ? Buffer.from(text, 'base64')
        : Buffer.from(
            text.replace(/_/g, ' ').replace(/=([0-9a-fA-F]{2})/g, (_match, hex: string) => String.fromCharCode(Number.parseInt(hex, 16))),
            'latin1',
          );
    try {
      // RFC 2231 allows a language after the charset: UTF-8*en.
      return new TextDecoder(charset.split('*')[0]).decode(bytes);
    } catch {
      return word;
    }
  });
}
