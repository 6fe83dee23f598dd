import { type AddressObject, type Attachment, MailParser, type MailParserOptions, type MessageText } from 'mailparser';
import type { MessageStore, SandboxApi, StoredMessage } from '../store.js';
import { decodeEncodedWords, type MessageOutline, outlineMessage } from './inbox-scan.js';

export { decodeEncodedWords } from './inbox-scan.js';

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
  /** Parts a reader would download: attachments, not the images the HTML shows inline (those are {@link inlineCount}). */
  readonly attachmentCount: number;
  /** Parts the HTML shows inline through `cid:`. */
  readonly inlineCount: number;
  readonly hasHtml: boolean;
  /** The first words of the text body. */
  readonly preview: string;
  /** Whether a reader opened it (or marked it read). */
  readonly read: boolean;
  /** Why the message could not be read in full (too many parts, nested too deep, a parse that failed or took too long); undefined when it could. */
  readonly warning: string | undefined;
  /** The counts stop at a limit: the message has more parts than {@link attachmentCount} says. */
  readonly truncated: boolean;
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
  /** `/sandbox/messages/{id}/html/source`: the HTML as sent, as text; undefined without an HTML body. */
  readonly htmlSourceUrl: string | undefined;
  readonly rawUrl: string;
  /** Every header in order, encoded words decoded, folding undone. */
  readonly headers: readonly { readonly name: string; readonly value: string }[];
  /** Every part that is not the text or HTML body, in the order of the message; `inline` marks the ones the HTML shows. */
  readonly attachments: readonly InboxAttachment[];
  readonly providerMessageId: string | undefined;
  readonly metadata: Readonly<Record<string, unknown>>;
  /** `complete`; `partial` when a limit stopped the parse (what was read is shown); `failed` when nothing but the raw source can be shown. */
  readonly parse: 'complete' | 'partial' | 'failed';
}

/** A parsed message with the parts the HTML and download routes serve. */
export interface ParsedEntry {
  /** What the list shows for it. */
  readonly summary: InboxSummary;
  readonly message: InboxMessage;
  readonly html: string | undefined;
  readonly parts: readonly { readonly content: Buffer; readonly contentType: string; readonly filename: string }[];
}

/** Bounds of parsing; every message is parsed within them, or shown with a warning. */
export interface ParseLimits {
  /** Most MIME nodes read (the message, its multiparts and parts). Default 500. */
  readonly maxParts: number;
  /** Deepest nesting. Default 20. */
  readonly maxDepth: number;
  /** Longest a full parse may take, in ms; past it the message is shown as raw source with a warning. Default 5,000. */
  readonly timeoutMs: number;
  /** Largest HTML body converted to text for the Text tab when there is no text part. Default 1 MB. */
  readonly maxHtmlToText: number;
  /** Parsed messages kept in memory (the most recently opened). Default 32. */
  readonly cacheEntries: number;
  /** Bytes of parsed messages kept in memory. Default 64 MB. */
  readonly cacheBytes: number;
}

export const defaultParseLimits: ParseLimits = Object.freeze({
  maxParts: 500,
  maxDepth: 20,
  timeoutMs: 5_000,
  maxHtmlToText: 1024 * 1024,
  cacheEntries: 32,
  cacheBytes: 64 * 1024 * 1024,
});

/**
 * The inbox's view of the store. Summaries come from a cheap outline of each message (headers and
 * MIME structure, no decoding), so the list and the live feed never wait for a parse; only an
 * opened message is parsed in full, with limits on parts, nesting and time, and the result
 * (a failure too) is kept in a small LRU cache.
 */
export interface ParsedMessages {
  /** The parsed message, or undefined when the store does not hold `id`. Always settles within the time limit. */
  get(id: string): Promise<ParsedEntry | undefined>;
  /** The summary of a stored message (cheap; cached while the store holds it). */
  summary(message: StoredMessage): InboxSummary;
  /** Summaries of every stored message, newest first. */
  summaries(): InboxSummary[];
  /** Parsed messages cached now: how many, and their estimated bytes. */
  cacheUsage(): { entries: number; bytes: number };
  /** Stops following the store. */
  close(): void;
}

type Outline = MessageOutline & { readonly bcc: readonly string[] };

/** The inbox's summaries and parse cache over `store`, following its deletions, evictions and clears. */
export function createParsedMessages(store: MessageStore, limits: Partial<ParseLimits> = {}): ParsedMessages {
  const bounds: ParseLimits = { ...defaultParseLimits, ...limits };
  // Outlines are small (a few hundred bytes), one per stored message, dropped with it.
  const outlines = new Map<string, Outline>();
  // Full parses: a bounded LRU (Map order is recency), and the parses under way (each settles within timeoutMs).
  const cache = new Map<string, { entry: ParsedEntry; bytes: number }>();
  let cacheBytes = 0;
  const pending = new Map<string, Promise<ParsedEntry>>();
  const drop = (id: string): void => {
    outlines.delete(id);
    const cached = cache.get(id);
    if (cached !== undefined) {
      cacheBytes -= cached.bytes;
      cache.delete(id);
    }
    pending.delete(id);
  };
  const unsubscribe = store.watch((change) => {
    // Outlined on arrival (tens of microseconds for a typical message), so a list or snapshot of
    // thousands only assembles what is already there.
    if (change.type === 'message') outline(change.message);
    else if (change.type === 'remove') for (const id of change.ids) drop(id);
    else if (change.type === 'clear') {
      outlines.clear();
      cache.clear();
      cacheBytes = 0;
      pending.clear();
    }
  });
  const outline = (message: StoredMessage): Outline => {
    let found = outlines.get(message.id);
    if (found === undefined) {
      const scanned = outlineMessage(message.raw, bounds);
      const named = new Set([...scanned.to, ...scanned.cc].map((address) => bareAddress(address).toLowerCase()));
      found = { ...scanned, bcc: message.envelope.to.filter((address) => !named.has(address.toLowerCase())) };
      // Only while the store holds it: a summary asked for after a removal is not kept.
      if (store.get(message.id) === message) outlines.set(message.id, found);
    }
    return found;
  };
  const summary = (message: StoredMessage): InboxSummary => summaryOf(message, outline(message), store.isRead(message.id));
  const remember = (id: string, entry: ParsedEntry, message: StoredMessage): void => {
    if (store.get(id) !== message) return;
    const bytes = entryBytes(entry, message);
    if (bytes > bounds.cacheBytes) return;
    cache.set(id, { entry, bytes });
    cacheBytes += bytes;
    for (const [oldest, cached] of cache) {
      if (cache.size <= bounds.cacheEntries && cacheBytes <= bounds.cacheBytes) break;
      cache.delete(oldest);
      cacheBytes -= cached.bytes;
    }
  };
  return {
    async get(id) {
      const message = store.get(id);
      if (message === undefined) return undefined;
      const cached = cache.get(id);
      if (cached !== undefined) {
        cache.delete(id);
        cache.set(id, cached);
        return withReadState(cached.entry, store.isRead(id));
      }
      let parsing = pending.get(id);
      if (parsing === undefined) {
        parsing = parseStoredMessage(message, summary(message), bounds).catch((error: unknown) =>
          unparsable(message, summary(message), `mailparser could not read it: ${(error as Error)?.message ?? String(error)}`),
        );
        pending.set(id, parsing);
        const settled = parsing;
        settled.then((entry) => {
          if (pending.get(id) === settled) pending.delete(id);
          remember(id, entry, message);
        });
      }
      return withReadState(await parsing, store.isRead(id));
    },
    summary,
    summaries: () => [...store.list()].reverse().map(summary),
    cacheUsage: () => ({ entries: cache.size, bytes: cacheBytes }),
    close: unsubscribe,
  };
}

function withReadState(entry: ParsedEntry, read: boolean): ParsedEntry {
  return entry.message.read === read ? entry : { ...entry, summary: { ...entry.summary, read }, message: { ...entry.message, read } };
}

function entryBytes(entry: ParsedEntry, message: StoredMessage): number {
  const parts = entry.parts.reduce((total, part) => total + part.content.length, 0);
  return 1024 + parts + 2 * ((entry.html?.length ?? 0) + (entry.message.text?.length ?? 0)) + Math.min(message.size, 64 * 1024);
}

function summaryOf(stored: StoredMessage, outline: Outline, read: boolean): InboxSummary {
  return {
    id: stored.id,
    api: stored.api,
    operation: stored.operation,
    receivedAt: stored.receivedAt,
    size: stored.size,
    subject: outline.subject,
    from: outline.from,
    to: outline.to,
    cc: outline.cc,
    bcc: outline.bcc,
    envelope: stored.envelope,
    date: outline.date,
    messageId: outline.messageId,
    attachmentCount: outline.attachmentCount,
    inlineCount: outline.inlineCount,
    hasHtml: outline.hasHtml,
    preview: outline.preview,
    read,
    warning: outline.truncated === undefined ? undefined : `This message is shown in part: ${outline.truncated}.`,
    truncated: outline.truncated !== undefined,
  };
}

interface RawParse {
  headerLines: { key: string; line: string }[];
  replyTo: AddressObject | AddressObject[] | undefined;
  text: string | undefined;
  html: string | undefined;
  attachments: Attachment[];
  /** What stopped the parse early, if anything. */
  stopped: string | undefined;
}

/**
 * mailparser's simpleParser, bounded: it stops at `maxParts` MIME nodes (simpleParser never settles
 * then), gives up after `timeoutMs`, and reports what stopped it along with what it read.
 */
function boundedParse(raw: Buffer, bounds: ParseLimits, maxAttachments: number): Promise<RawParse> {
  return new Promise((resolve, reject) => {
    const options = {
      keepCidLinks: true,
      skipImageLinks: true,
      skipTextToHtml: true,
      skipTextLinks: true,
      maxHtmlLengthToParse: bounds.maxHtmlToText,
      // mailsplit's own limit (1,000 by default): past it the splitter fails and simpleParser never
      // settles. This stops reading at the outline's count first (so the list and the message agree);
      // the splitter's limit is the backstop.
      maxChildNodes: bounds.maxParts * 2,
    } as MailParserOptions;
    const parser = new MailParser(options);
    const result: RawParse = { headerLines: [], replyTo: undefined, text: undefined, html: undefined, attachments: [], stopped: undefined };
    const complete: Attachment[] = [];
    let notes: string[] = [];
    let done = false;
    const finish = (stopped: string | undefined): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      result.stopped = stopped;
      result.attachments = [...complete];
      if (stopped !== undefined && result.text === undefined && result.html === undefined) {
        // The text parts usually come first: what was read of them is still worth showing.
        try {
          const text = (parser as unknown as { getTextContent(): MessageText }).getTextContent();
          result.text = typeof text.text === 'string' ? text.text : undefined;
          result.html = typeof text.html === 'string' ? text.html : undefined;
        } catch {
          // Nothing readable: the raw source is still there.
        }
      }
      parser.removeAllListeners('readable');
      parser.destroy();
      resolve(result);
    };
    const timer = setTimeout(() => finish(`reading it took longer than ${bounds.timeoutMs} ms`), bounds.timeoutMs);
    parser.on('headers', (headers: Map<string, unknown>) => {
      result.replyTo = headers.get('reply-to') as AddressObject | undefined;
      result.headerLines = [...((parser as unknown as { headerLines: { key: string; line: string }[] }).headerLines ?? [])];
    });
    const splitter = (parser as unknown as { splitter: NodeJS.EventEmitter }).splitter;
    splitter.on('error', (error: Error & { code?: string }) => {
      finish(
        error.code === 'EMAXLEN'
          ? `it has more than ${bounds.maxParts} MIME parts; the first ones are shown`
          : `its MIME structure is broken (${error.message}); what could be read is shown`,
      );
    });
    parser.on('error', (error: Error) => {
      // An HTML body too long to turn into text is a note, not a failure: the parse goes on.
      if (/HTML too long/i.test(error.message)) {
        notes = [...notes, `its HTML body is over ${bounds.maxHtmlToText} characters, so it has no text version here`];
        return;
      }
      if (done) return;
      done = true;
      clearTimeout(timer);
      parser.destroy();
      reject(error);
    });
    let reading = false;
    const read = (): void => {
      reading = true;
      for (;;) {
        if (done) return;
        const data = parser.read() as (MessageText & { type: 'text' }) | (Attachment & { type: 'attachment' }) | null;
        if (data === null) {
          reading = false;
          return;
        }
        if (data.type === 'text') {
          if (typeof data.text === 'string') result.text = data.text;
          if (typeof data.html === 'string') result.html = data.html;
          continue;
        }
        const attachment = data as Attachment & { content: NodeJS.ReadableStream; release: () => void };
        const stream = attachment.content;
        const chunks: Buffer[] = [];
        let length = 0;
        stream.on('readable', () => {
          for (let chunk = stream.read() as Buffer | null; chunk !== null; chunk = stream.read() as Buffer | null) {
            chunks.push(chunk);
            length += chunk.length;
          }
        });
        stream.on('end', () => {
          (attachment as { content: Buffer }).content = Buffer.concat(chunks, length);
          complete.push(attachment);
          attachment.release();
          if (complete.length >= maxAttachments) {
            finish(`it has more than ${bounds.maxParts} MIME parts; the first ${complete.length} attachments are shown`);
            return;
          }
          read();
        });
        return;
      }
    };
    parser.on('readable', () => {
      if (!reading) read();
    });
    parser.on('end', () => finish(notes.length === 0 ? undefined : notes.join('; ')));
    parser.end(raw);
  });
}

async function parseStoredMessage(stored: StoredMessage, summary: InboxSummary, bounds: ParseLimits): Promise<ParsedEntry> {
  const base = `/sandbox/messages/${encodeURIComponent(stored.id)}`;
  // An outline cut short by a limit counted the parts it saw: the parse reads as many, and no more.
  const parts = summary.truncated ? summary.attachmentCount + summary.inlineCount : Number.POSITIVE_INFINITY;
  const parsed = await boundedParse(stored.raw, bounds, Math.max(1, parts));
  const attachments = parsed.attachments.map((attachment, index) => describeAttachment(attachment, index, base));
  const html = parsed.html;
  const partial = parsed.stopped !== undefined && /MIME parts|took longer|broken/.test(parsed.stopped);
  const warning =
    parsed.stopped === undefined
      ? summary.warning
      : partial
        ? `This message is shown in part: ${parsed.stopped}. The Raw tab has all of it.`
        : `Note: ${parsed.stopped}.`;
  const downloads = attachments.filter((attachment) => !attachment.inline).length;
  return {
    summary,
    html,
    message: {
      ...summary,
      // What the message view lists is what it counts; for a complete parse this is what the list said.
      attachmentCount: partial ? Math.max(summary.attachmentCount, downloads) : downloads,
      truncated: partial || summary.truncated,
      inlineCount: attachments.length - downloads,
      hasHtml: html !== undefined,
      warning,
      replyTo: addresses(parsed.replyTo),
      text: parsed.text,
      htmlUrl: html === undefined ? undefined : `${base}/html`,
      htmlSourceUrl: html === undefined ? undefined : `${base}/html/source`,
      rawUrl: `${base}/raw`,
      headers: parsed.headerLines.map((line) => headerOf(line.line)),
      attachments,
      providerMessageId: stored.providerMessageId,
      metadata: stored.metadata,
      parse: partial ? 'partial' : 'complete',
    },
    parts: parsed.attachments.map((attachment, index) => ({
      content: attachment.content,
      contentType: attachment.contentType,
      filename: (attachments[index] as InboxAttachment).filename,
    })),
  };
}

/** A message mailparser could not read is still listed and opened, with its raw source and the reason. */
function unparsable(stored: StoredMessage, summary: InboxSummary, reason: string): ParsedEntry {
  const base = `/sandbox/messages/${encodeURIComponent(stored.id)}`;
  return {
    summary,
    html: undefined,
    parts: [],
    message: {
      ...summary,
      hasHtml: false,
      warning: `This message could not be parsed: ${reason}. The Raw tab shows it as it arrived.`,
      replyTo: [],
      text: undefined,
      htmlUrl: undefined,
      htmlSourceUrl: undefined,
      rawUrl: `${base}/raw`,
      headers: [],
      attachments: [],
      providerMessageId: stored.providerMessageId,
      metadata: stored.metadata,
      parse: 'failed',
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
    // A related part with a Content-ID is what the HTML shows; anything else is offered for download (inbox-scan.ts counts the same way).
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
