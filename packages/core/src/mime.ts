import { readFile } from 'node:fs/promises';
import { Readable, Writable } from 'node:stream';
import type MailComposer from 'nodemailer/lib/mail-composer';
import type { Address } from './address.js';
import { withDkim } from './dkim/dkim-plan.js';
import { MailError } from './errors.js';
import type { Attachment, EmailMessage } from './message.js';
import { assertWireSafeChunks } from './wire.js';

/** Options of {@link renderMime}. */
export interface RenderMimeOptions {
  /** Keep the Bcc header in the output (the Gmail API reads recipients from it). Default false. */
  keepBcc?: boolean | undefined;
}

/**
 * A rendered message, held as the chunks MailComposer produced: a 40 MB message is never
 * copied into one buffer unless someone asks for one.
 */
export interface RenderedMime {
  /** Size in bytes. */
  readonly size: number;
  readonly chunks: readonly Buffer[];
  /** A new stream over the chunks, for a transport to send. */
  stream(): Readable;
  /** The bytes in one buffer; joined on the first call and kept. */
  toBuffer(): Buffer;
}

// Attachment bytes reach MailComposer in slices so its base64 encoder works chunk by chunk
// instead of building a string and two copies the size of the whole attachment.
const attachmentSlice = 256 * 1024;

const rendered = new WeakMap<EmailMessage, Map<boolean, Promise<RenderedMime>>>();
const joinedBuffers = new WeakMap<Promise<RenderedMime>, Promise<Buffer>>();
const attachmentBytes = new WeakMap<Attachment, Promise<Buffer>>();

// Loaded on the first render, not with the package: nodemailer's MIME modules pull in its HTTP,
// TLS and DNS code, several times the cost of importing the rest of core, which a program
// (the CLI's `--help`, say) pays even when it never renders a message.
let composerClass: typeof MailComposer | undefined;
let composerLoading: Promise<typeof MailComposer> | undefined;
function loadComposer(): Promise<typeof MailComposer> {
  composerLoading ??= import('nodemailer/lib/mail-composer').then((module) => {
    composerClass = module.default;
    return module.default;
  });
  return composerLoading;
}

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
  const parts = renderMimeParts(message, options);
  let joined = joinedBuffers.get(parts);
  if (joined === undefined) {
    joined = parts.then((rendered) => rendered.toBuffer());
    joinedBuffers.set(parts, joined);
  }
  return joined;
}

/**
 * {@link renderMime} without joining the output into one buffer: what transports use, so that
 * a large message is held once. Cached per message and Bcc variant, like `renderMime`.
 */
export function renderMimeParts(message: EmailMessage, options: RenderMimeOptions = {}): Promise<RenderedMime> {
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
  // Inside a transport's send of a message a mailer DKIM-signs: the same chunks behind the signature.
  return withDkim(message, keepBcc, pending);
}

async function build(message: EmailMessage, keepBcc: boolean): Promise<RenderedMime> {
  const attachments = await Promise.all(
    message.attachments.map(async (attachment, index) => ({
      filename: attachment.filename ?? (false as const),
      content: slices(await readAttachmentAt(attachment, index)),
      contentType: attachment.contentType,
      contentDisposition: attachment.disposition,
      cid: attachment.contentId,
    })),
  );
  const headers: { key: string; value: string | PreparedValue }[] = message.headers.map((header) => ({
    key: header.name,
    value: literalText(header.value),
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
  const Composer = composerClass ?? (await loadComposer());
  const composer = new Composer({
    from: mailbox(message.from),
    sender: message.sender === undefined ? undefined : mailbox(message.sender),
    to: message.to.map(mailbox),
    cc: message.cc.map(mailbox),
    bcc: keepBcc ? message.bcc.map(mailbox) : undefined,
    replyTo: message.replyTo.map(mailbox),
    // MailComposer takes a prepared value here too: Subject is set on the root node like a header.
    subject: literalText(message.subject) as string,
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
  const chunks: Buffer[] = [];
  let size = 0;
  // stream() into a plain collector rather than createReadStream(): no pipeline of transforms to
  // set up and tear down per message, which costs more than the rendering for a small message.
  const collector = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk);
      size += chunk.length;
      done();
    },
  });
  await new Promise<void>((resolve, reject) => root.stream(collector, {}, (error) => (error ? reject(error) : resolve())));
  // As nodemailer's LastNewline does: a message ends with a line break.
  if (!endsWithLineBreak(chunks)) {
    const lineBreak = Buffer.from('\r\n');
    chunks.push(lineBreak);
    size += lineBreak.length;
  }
  assertWireSafeChunks(chunks);
  return renderedFrom(chunks, size);
}

/** A header value MailComposer writes as given (folded at spaces when `foldLines`), without encoding it. */
interface PreparedValue {
  readonly prepared: true;
  readonly foldLines?: boolean | undefined;
  readonly value: string;
}

// What a decoder takes for an RFC 2047 encoded-word, `=?charset?B|Q?text?=`, matched as leniently
// as lenient decoders do (inside a word, with spaces in it): text like this is decoded on display.
const encodedWordLookalike = /=\?[^?]*\?[bBqQ]\?[^?]*\?=/;

/**
 * An unstructured header value (Subject, a custom header) that reads back as written. Text that
 * looks like an encoded-word is decoded by mail clients, so `Re: =?ISO-8859-1?Q?Caf=E9?= menu`
 * would display as "Re: Café menu"; RFC 2047 (section 5) has such text encoded itself. nodemailer
 * passes a well-formed encoded-word through untouched (taking it for pre-encoded text), so the
 * whole value is encoded here, and the decoder shows the literal text. Values without one go to
 * MailComposer as they are, which encodes non-ASCII text itself.
 */
function literalText(value: string): string | PreparedValue {
  if (!encodedWordLookalike.test(value)) return value;
  return { prepared: true, foldLines: true, value: encodedWords(value) };
}

/**
 * `text` as UTF-8 "B" encoded-words separated by spaces, which decoders drop between adjacent
 * encoded-words (RFC 2047 6.2), so the text comes back whole. Each word carries whole characters
 * (6.3) and 36 bytes at most, 60 characters encoded, so a line with a short header name stays
 * within the 76 characters RFC 2047 allows a line holding encoded-words.
 */
function encodedWords(text: string): string {
  const words: string[] = [];
  let word = '';
  for (const character of text) {
    if (word !== '' && Buffer.byteLength(word + character) > 36) {
      words.push(word);
      word = '';
    }
    word += character;
  }
  if (word !== '') words.push(word);
  return words.map((part) => `=?UTF-8?B?${Buffer.from(part).toString('base64')}?=`).join(' ');
}

function endsWithLineBreak(chunks: readonly Buffer[]): boolean {
  // The last two bytes, which may straddle chunks (empty ones too), read in place rather than joined.
  let last: number | undefined;
  for (let index = chunks.length - 1; index >= 0; index--) {
    const chunk = chunks[index] as Buffer;
    for (let at = chunk.length - 1; at >= 0; at--) {
      if (last === undefined) last = chunk[at];
      else return last === 10 && chunk[at] === 13;
    }
  }
  return false;
}

/** A {@link RenderedMime} over `chunks`, which are kept as they are (the DKIM signer prepends its fields this way). */
export function renderedFrom(chunks: Buffer[], size: number): RenderedMime {
  let joined: Buffer | undefined = chunks.length === 1 ? chunks[0] : undefined;
  return Object.freeze({
    size,
    chunks: Object.freeze(chunks),
    stream: () => streamOf(chunks),
    toBuffer(): Buffer {
      joined ??= Buffer.concat(chunks, size);
      return joined;
    },
  });
}

/**
 * A stream over the chunks, pushed as fast as the consumer reads: no copy, and no promise per
 * chunk as with `Readable.from`, whose async iteration cost more than the rest of handing a small
 * message to a transport.
 */
function streamOf(chunks: readonly Buffer[]): Readable {
  let next = 0;
  return new Readable({
    read() {
      while (next < chunks.length) {
        if (!this.push(chunks[next++])) return;
      }
      this.push(null);
    },
  });
}

function slices(bytes: Buffer): Readable | Buffer {
  if (bytes.length <= attachmentSlice) return bytes;
  return Readable.from(
    (function* () {
      for (let start = 0; start < bytes.length; start += attachmentSlice) yield bytes.subarray(start, start + attachmentSlice);
    })(),
    { objectMode: false },
  );
}

function mailbox(address: Address): { name: string; address: string } {
  return { name: address.name ?? '', address: address.address };
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
