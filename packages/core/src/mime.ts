import { readFile } from 'node:fs/promises';
import MailComposer from 'nodemailer/lib/mail-composer';
import type { Address } from './address.js';
import { MailError } from './errors.js';
import type { Attachment, EmailMessage } from './message.js';

/** Options of {@link renderMime}. */
export interface RenderMimeOptions {
  /** Keep the Bcc header in the output (the Gmail API reads recipients from it). Default false. */
  keepBcc?: boolean | undefined;
}

/** RFC 5322 allows 998 characters per line, without the CRLF. */
export const maxLineLength = 998;

const rendered = new WeakMap<EmailMessage, Map<boolean, Promise<Buffer>>>();
const attachmentBytes = new WeakMap<Attachment, Promise<Buffer>>();

/**
 * Renders the message as RFC 5322 bytes with nodemailer's MailComposer: CRLF line breaks only,
 * no line over 998 characters, non-ASCII content transfer-encoded, Bcc left out unless
 * `keepBcc`. The result is cached per message, so retries and failover render once.
 *
 * Throws `invalid-message` when the output would break those rules (a custom header value too
 * long to fold, for example) or when an attachment cannot be read.
 *
 * @example
 * ```ts
 * const bytes = await renderMime(createMessage({ from: 'a@x.example', to: 'b@y.example', text: 'hi' }));
 * ```
 */
export function renderMime(message: EmailMessage, options: RenderMimeOptions = {}): Promise<Buffer> {
  const keepBcc = options.keepBcc === true && message.bcc.length > 0;
  let byVariant = rendered.get(message);
  if (byVariant === undefined) {
    byVariant = new Map();
    rendered.set(message, byVariant);
  }
  let pending = byVariant.get(keepBcc);
  if (pending === undefined) {
    pending = build(message, keepBcc);
    byVariant.set(keepBcc, pending);
    const variants = byVariant;
    // A failed render is not cached: the next attempt reports its own error.
    pending.catch(() => variants.delete(keepBcc));
  }
  return pending;
}

async function build(message: EmailMessage, keepBcc: boolean): Promise<Buffer> {
  const attachments = await Promise.all(
    message.attachments.map(async (attachment, index) => ({
      filename: attachment.filename ?? (false as const),
      content: await readAttachmentAt(attachment, index),
      contentType: attachment.contentType,
      contentDisposition: attachment.disposition,
      cid: attachment.contentId,
    })),
  );
  const headers: { key: string; value: string | { prepared: true; value: string } }[] = message.headers.map((header) => ({
    key: header.name,
    value: header.value,
  }));
  const unsubscribe = message.listUnsubscribe;
  if (unsubscribe !== undefined) {
    const targets = [unsubscribe.url, unsubscribe.mailto].filter((target) => target !== undefined).map((target) => `<${target}>`);
    // Prepared: these are URIs, never encoded-words; each fits a line (checked in createMessage), so fold between them.
    headers.push({ key: 'List-Unsubscribe', value: { prepared: true, value: targets.join(',\r\n ') } });
    if (unsubscribe.oneClick) {
      headers.push({ key: 'List-Unsubscribe-Post', value: { prepared: true, value: 'List-Unsubscribe=One-Click' } });
    }
  }
  if (message.priority === 'high' || message.priority === 'low') {
    // MailComposer ignores `priority` (nodemailer's Mailer adds these headers), so write the same ones here.
    const high = message.priority === 'high';
    headers.push(
      { key: 'X-Priority', value: high ? '1 (Highest)' : '5 (Lowest)' },
      { key: 'X-MSMail-Priority', value: high ? 'High' : 'Low' },
      { key: 'Importance', value: high ? 'High' : 'Low' },
    );
  }
  const composer = new MailComposer({
    from: mailbox(message.from),
    sender: message.sender === undefined ? undefined : mailbox(message.sender),
    to: message.to.map(mailbox),
    cc: message.cc.map(mailbox),
    bcc: keepBcc ? message.bcc.map(mailbox) : undefined,
    replyTo: message.replyTo.map(mailbox),
    subject: message.subject,
    text: message.text,
    html: message.html,
    attachments,
    headers,
    messageId: message.messageId,
    date: message.date,
    inReplyTo: message.inReplyTo,
    references: message.references.length > 0 ? message.references.join(' ') : undefined,
    disableFileAccess: true,
    disableUrlAccess: true,
  });
  const root = composer.compile();
  // MailComposer has no option for it: the root node's flag is how nodemailer keeps Bcc.
  root.keepBcc = keepBcc;
  const bytes = await root.build();
  assertWireSafe(bytes);
  return bytes;
}

function mailbox(address: Address): { name: string; address: string } {
  return { name: address.name ?? '', address: address.address };
}

/**
 * Checks rendered bytes for what SMTP and the HTTP APIs refuse or misread: a CR or LF that is
 * not part of CRLF, NUL, and lines over 998 characters. Throws `invalid-message` naming the
 * header or body line at fault.
 */
export function assertWireSafe(bytes: Uint8Array): void {
  const buffer = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerEnd = buffer.indexOf('\r\n\r\n');
  let lineStart = 0;
  let lineNumber = 1;
  let carriageReturns = 0;
  for (let cr = buffer.indexOf(13); cr !== -1; cr = buffer.indexOf(13, cr + 1)) carriageReturns++;
  let lineFeeds = 0;
  for (let lf = buffer.indexOf(10); lf !== -1; lf = buffer.indexOf(10, lf + 1)) {
    lineFeeds++;
    if (lf === 0 || buffer[lf - 1] !== 13) throw wireError(buffer, lf, headerEnd, lineNumber, 'has a bare LF');
    if (lf - 1 - lineStart > maxLineLength) {
      throw wireError(
        buffer,
        lineStart,
        headerEnd,
        lineNumber,
        `has a line of ${lf - 1 - lineStart} characters (at most ${maxLineLength})`,
      );
    }
    lineStart = lf + 1;
    lineNumber++;
  }
  if (buffer.length - lineStart > maxLineLength) {
    throw wireError(
      buffer,
      lineStart,
      headerEnd,
      lineNumber,
      `has a line of ${buffer.length - lineStart} characters (at most ${maxLineLength})`,
    );
  }
  if (carriageReturns !== lineFeeds) {
    const cr = findBareCarriageReturn(buffer);
    throw wireError(buffer, cr, headerEnd, lineOf(buffer, cr), 'has a bare CR');
  }
  const nul = buffer.indexOf(0);
  if (nul !== -1) throw wireError(buffer, nul, headerEnd, lineOf(buffer, nul), 'contains a NUL byte');
}

/** The 1-based line number of `offset`. A second scan, but only on the way to an error. */
function lineOf(buffer: Buffer, offset: number): number {
  let line = 1;
  for (let lf = buffer.indexOf(10); lf !== -1 && lf < offset; lf = buffer.indexOf(10, lf + 1)) line++;
  return line;
}

function findBareCarriageReturn(buffer: Buffer): number {
  for (let cr = buffer.indexOf(13); cr !== -1; cr = buffer.indexOf(13, cr + 1)) {
    if (buffer[cr + 1] !== 10) return cr;
  }
  return 0;
}

function wireError(buffer: Buffer, offset: number, headerEnd: number, lineNumber: number, problem: string): MailError {
  if (headerEnd === -1 || offset < headerEnd) {
    // Name the header the line belongs to: walk back over folded continuation lines.
    let start = buffer.lastIndexOf('\n', offset - 1) + 1;
    while (start > 0 && (buffer[start] === 32 || buffer[start] === 9)) start = buffer.lastIndexOf('\n', start - 2) + 1;
    const name = buffer.toString('latin1', start, Math.min(start + 80, buffer.length)).split(':')[0] ?? '';
    return new MailError('invalid-message', `Invalid message: the ${name} header ${problem} when rendered`, {
      field: `headers.${name}`,
      remediation: 'Shorten the value or add spaces where it may be folded; a header line holds at most 998 characters.',
    });
  }
  return new MailError('invalid-message', `Invalid message: the rendered body ${problem} (line ${lineNumber})`, {
    field: 'body',
  });
}

/**
 * The bytes of an attachment. Streams are read once and kept, so a retry or a second
 * transport sees the same bytes.
 */
export function readAttachment(attachment: Attachment): Promise<Buffer> {
  return readAttachmentAt(attachment, undefined);
}

function readAttachmentAt(attachment: Attachment, index: number | undefined): Promise<Buffer> {
  const source = attachment.source;
  if (source.kind === 'bytes') return Promise.resolve(source.bytes);
  let pending = attachmentBytes.get(attachment);
  if (pending === undefined) {
    const field = index === undefined ? 'attachment' : `attachments[${index}]`;
    pending = load(attachment, field);
    attachmentBytes.set(attachment, pending);
    // A stream cannot be read twice, so its failure stays; a file or URL may be read again.
    if (source.kind !== 'stream') pending.catch(() => attachmentBytes.delete(attachment));
  }
  return pending;
}

async function load(attachment: Attachment, field: string): Promise<Buffer> {
  const source = attachment.source;
  try {
    switch (source.kind) {
      case 'bytes':
        return source.bytes;
      case 'path':
        return await readFile(source.path);
      case 'url': {
        const response = await fetch(source.url);
        if (!response.ok) throw new Error(`HTTP ${response.status}`);
        return Buffer.from(await response.arrayBuffer());
      }
      case 'stream': {
        const chunks: Buffer[] = [];
        for await (const chunk of source.stream as AsyncIterable<Uint8Array | string>) {
          chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
        }
        return Buffer.concat(chunks);
      }
    }
  } catch (error) {
    const what = source.kind === 'path' ? `the file ${source.path}` : source.kind === 'url' ? source.url : 'the stream';
    throw new MailError('invalid-message', `Invalid message: ${field} could not be read from ${what}: ${(error as Error).message}`, {
      field,
      cause: error,
    });
  }
}
