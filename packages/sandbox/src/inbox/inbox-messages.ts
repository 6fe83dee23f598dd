import { type AddressObject, type Attachment, type ParsedMail, simpleParser } from 'mailparser';
import type { MessageStore, SandboxApi, StoredMessage } from '../store.js';

/** One stored message as the inbox lists it: what a mail client shows in its message list. */
export interface InboxSummary {
  readonly id: string;
  readonly api: SandboxApi;
  /** The call that carried it: `SMTP DATA`, `SendEmail (Raw)`, `messages.send (upload)`, `sendMail (MIME)`, ... */
  readonly operation: string;
  /** When the sandbox accepted it, ISO 8601. */
  readonly receivedAt: string;
  /** Bytes of the RFC 5322 message. */
  readonly size: number;
  readonly subject: string;
  /** The From header, as written (`Name <address>`). */
  readonly from: string;
  readonly to: readonly string[];
  readonly cc: readonly string[];
  /** Envelope recipients that no To or Cc header names: the Bcc recipients. */
  readonly bcc: readonly string[];
  /** What the sandbox delivered to: the SMTP envelope, or the recipients the API call named. */
  readonly envelope: { readonly from: string; readonly to: readonly string[] };
  /** The Date header, ISO 8601. */
  readonly date: string | undefined;
  readonly messageId: string | undefined;
  /** Parts a reader would download: attachments, not the images the HTML shows inline. */
  readonly attachmentCount: number;
  readonly hasHtml: boolean;
  /** The first words of the text body. */
  readonly preview: string;
}

/** One attachment or inline part of a message. */
export interface InboxAttachment {
  /** Position among the message's parts; the download URL uses it. */
  readonly index: number;
  readonly filename: string;
  readonly contentType: string;
  readonly size: number;
  /** Without angle brackets; the HTML refers to the part as `cid:<contentId>`. */
  readonly contentId: string | undefined;
  /** Shown inside the HTML rather than offered as a download. */
  readonly inline: boolean;
  /** `/sandbox/messages/{id}/attachments/{index}`. */
  readonly url: string;
}

/** One message in full, as the inbox's message view shows it. */
export interface InboxMessage extends InboxSummary {
  readonly replyTo: readonly string[];
  readonly text: string | undefined;
  /** `/sandbox/messages/{id}/html`, served under a sandboxing Content-Security-Policy; undefined without an HTML body. */
  readonly htmlUrl: string | undefined;
  readonly rawUrl: string;
  /** Every header in order, encoded words decoded, folding undone. */
  readonly headers: readonly { readonly name: string; readonly value: string }[];
  readonly attachments: readonly InboxAttachment[];
  readonly providerMessageId: string | undefined;
  readonly metadata: Readonly<Record<string, unknown>>;
}

/** A parsed message with the parts the HTML and download routes serve. */
export interface ParsedEntry {
  readonly summary: InboxSummary;
  readonly message: InboxMessage;
  readonly html: string | undefined;
  readonly parts: readonly { readonly content: Buffer; readonly contentType: string; readonly filename: string }[];
}

/** Parses every stored message once, on first use, and keeps the result until the store is cleared. */
export interface ParsedMessages {
  /** The parsed message, or undefined when the store does not hold `id`. */
  get(id: string): Promise<ParsedEntry | undefined>;
  /** Parses `message` (from the cache when it is there). */
  parse(message: StoredMessage): Promise<ParsedEntry>;
  /** Summaries of every stored message, newest first. */
  summaries(): Promise<InboxSummary[]>;
  /** Stops following the store. */
  close(): void;
}

/** A cache of parsed messages over `store`; cleared with it. */
export function createParsedMessages(store: MessageStore): ParsedMessages {
  const cache = new Map<string, Promise<ParsedEntry>>();
  const unsubscribe = store.subscribe(
    () => {},
    () => cache.clear(),
  );
  const parse = (message: StoredMessage): Promise<ParsedEntry> => {
    let entry = cache.get(message.id);
    if (entry === undefined) {
      // Ids are never reused, so an entry cached just after a clear is never served wrongly (`get` asks the store first).
      entry = parseStoredMessage(message).catch((error: unknown) => unparsable(message, error));
      cache.set(message.id, entry);
    }
    return entry;
  };
  return {
    async get(id) {
      const message = store.get(id);
      return message === undefined ? undefined : parse(message);
    },
    parse,
    async summaries() {
      const entries = await Promise.all(store.list().map(parse));
      return entries.map((entry) => entry.summary).reverse();
    },
    close: unsubscribe,
  };
}

const previewLength = 160;

async function parseStoredMessage(stored: StoredMessage): Promise<ParsedEntry> {
  // keepCidLinks: the HTML route points cid: references at the download URLs instead of inlining data: URIs.
  const parsed: ParsedMail = await simpleParser(stored.raw, { keepCidLinks: true });
  const base = `/sandbox/messages/${encodeURIComponent(stored.id)}`;
  const to = addresses(parsed.to);
  const cc = addresses(parsed.cc);
  const named = new Set([...to, ...cc].map((address) => bareAddress(address).toLowerCase()));
  const bcc = stored.envelope.to.filter((address) => !named.has(address.toLowerCase()));
  const attachments = parsed.attachments.map((attachment, index) => describeAttachment(attachment, index, base));
  const text = parsed.text;
  const html = parsed.html === false ? undefined : parsed.html;
  const summary: InboxSummary = {
    id: stored.id,
    api: stored.api,
    operation: stored.operation,
    receivedAt: stored.receivedAt,
    size: stored.size,
    subject: parsed.subject ?? '',
    from: addresses(parsed.from)[0] ?? '',
    to,
    cc,
    bcc,
    envelope: { from: stored.envelope.from, to: [...stored.envelope.to] },
    date: parsed.date === undefined || Number.isNaN(parsed.date.getTime()) ? undefined : parsed.date.toISOString(),
    messageId: parsed.messageId,
    attachmentCount: attachments.filter((attachment) => !attachment.inline).length,
    hasHtml: html !== undefined,
    preview: (text ?? '').replace(/\s+/g, ' ').trim().slice(0, previewLength),
  };
  return {
    summary,
    html,
    message: {
      ...summary,
      replyTo: addresses(parsed.replyTo),
      text,
      htmlUrl: html === undefined ? undefined : `${base}/html`,
      rawUrl: `${base}/raw`,
      headers: parsed.headerLines.map((line) => headerOf(line.line)),
      attachments,
      providerMessageId: stored.providerMessageId,
      metadata: stored.metadata,
    },
    parts: parsed.attachments.map((attachment, index) => ({
      content: attachment.content,
      contentType: attachment.contentType,
      filename: describeAttachment(attachment, index, base).filename,
    })),
  };
}

/** A message mailparser could not read is still listed, with its raw source and the reason. */
function unparsable(stored: StoredMessage, error: unknown): ParsedEntry {
  const base = `/sandbox/messages/${encodeURIComponent(stored.id)}`;
  const summary: InboxSummary = {
    id: stored.id,
    api: stored.api,
    operation: stored.operation,
    receivedAt: stored.receivedAt,
    size: stored.size,
    subject: `(could not be parsed: ${(error as Error)?.message ?? String(error)})`,
    from: stored.envelope.from,
    to: [...stored.envelope.to],
    cc: [],
    bcc: [],
    envelope: { from: stored.envelope.from, to: [...stored.envelope.to] },
    date: undefined,
    messageId: undefined,
    attachmentCount: 0,
    hasHtml: false,
    preview: '',
  };
  return {
    summary,
    html: undefined,
    parts: [],
    message: {
      ...summary,
      replyTo: [],
      text: undefined,
      htmlUrl: undefined,
      rawUrl: `${base}/raw`,
      headers: [],
      attachments: [],
      providerMessageId: stored.providerMessageId,
      metadata: stored.metadata,
    },
  };
}

function describeAttachment(attachment: Attachment, index: number, base: string): InboxAttachment {
  const contentId = attachment.contentId?.replace(/^<|>$/g, '') || undefined;
  return {
    index,
    filename: attachment.filename ?? `part-${index + 1}${extensionFor(attachment.contentType)}`,
    contentType: attachment.contentType,
    size: attachment.size,
    contentId,
    // A related part with a Content-ID is what the HTML shows; anything else is offered for download.
    inline: contentId !== undefined && (attachment.related === true || attachment.contentDisposition === 'inline'),
    url: `${base}/attachments/${index}`,
  };
}

function extensionFor(contentType: string): string {
  const [type, subtype] = contentType.split('/');
  if (type === 'image' && subtype !== undefined && /^[a-z0-9]+$/.test(subtype)) return `.${subtype}`;
  return { 'text/plain': '.txt', 'text/calendar': '.ics', 'message/rfc822': '.eml', 'application/pdf': '.pdf' }[contentType] ?? '';
}

function addresses(field: AddressObject | AddressObject[] | undefined): string[] {
  if (field === undefined) return [];
  const objects = Array.isArray(field) ? field : [field];
  return objects.flatMap((object) =>
    object.value.flatMap((address) => (address.group ?? [address]).map((member) => formatAddress(member.name, member.address))),
  );
}

function formatAddress(name: string, address: string | undefined): string {
  if (address === undefined || address === '') return name;
  return name === '' ? address : `${name} <${address}>`;
}

function bareAddress(formatted: string): string {
  return /<([^<>]*)>$/.exec(formatted)?.[1] ?? formatted;
}

/** `Subject: =?UTF-8?Q?Caf=C3=A9?=\r\n folded` -> `{ name: 'Subject', value: 'Café folded' }`. */
function headerOf(line: string): { name: string; value: string } {
  const colon = line.indexOf(':');
  const name = colon === -1 ? line : line.slice(0, colon);
  const value = colon === -1 ? '' : line.slice(colon + 1).replace(/\r?\n[ \t]/g, ' ');
  return { name: name.trim(), value: decodeEncodedWords(value.trim()) };
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
