import { randomUUID } from 'node:crypto';
import { basename } from 'node:path';
import { Readable } from 'node:stream';
import { type Address, type AddressInput, findControlCharacter, parseAddress, parseAddressList, requiresSmtpUtf8 } from './address.js';
import { invalidMessage } from './errors.js';

/** Attachment bytes: a string (UTF-8 unless `encoding` says otherwise), bytes, or a Node or web stream. */
export type AttachmentContent = string | Uint8Array | ArrayBuffer | NodeJS.ReadableStream | ReadableStream<Uint8Array>;

/** One attachment or inline part, as callers give it. Exactly one of `content`, `path` and `url` is required. */
export interface AttachmentInput {
  /** The file name shown to the recipient. Defaults to the base name of `path`. */
  filename?: string | undefined;
  /** The bytes. Streams are read once, when the message is first rendered. */
  content?: AttachmentContent | undefined;
  /** How a string `content` is encoded. Default `'utf8'`. */
  encoding?: 'utf8' | 'base64' | 'hex' | 'latin1' | undefined;
  /** A file to read. Refused unless the message was created with `allowFileAccess: true`. */
  path?: string | undefined;
  /** An http(s) URL to fetch. Refused unless the message was created with `allowUrlAccess: true`. */
  url?: string | undefined;
  /** The MIME type. Default: guessed from the file name, else `application/octet-stream`. */
  contentType?: string | undefined;
  /** Makes this an inline part referenced from the HTML as `cid:<contentId>`. */
  contentId?: string | undefined;
  /** Default `'inline'` when `contentId` is set, else `'attachment'`. */
  disposition?: 'attachment' | 'inline' | undefined;
}

/** List-Unsubscribe (RFC 2369) with optional one-click (RFC 8058). */
export interface ListUnsubscribeInput {
  /** An https (or http) URL that unsubscribes. Required for `oneClick`. */
  url?: string | undefined;
  /** A `mailto:` URL or a plain address that unsubscribes. */
  mailto?: string | undefined;
  /** Adds `List-Unsubscribe-Post: List-Unsubscribe=One-Click` (RFC 8058); needs an https `url`. Default false. */
  oneClick?: boolean | undefined;
}

/** Everything a caller can put in a message. Only `from` and one recipient are required. */
export interface MessageInput {
  from: AddressInput;
  /** The Sender header, when someone sends on behalf of `from`. */
  sender?: AddressInput | undefined;
  to?: AddressInput | readonly AddressInput[] | undefined;
  cc?: AddressInput | readonly AddressInput[] | undefined;
  /** Blind copies: in the envelope, never in the headers SMTP sends. */
  bcc?: AddressInput | readonly AddressInput[] | undefined;
  replyTo?: AddressInput | readonly AddressInput[] | undefined;
  subject?: string | undefined;
  text?: string | undefined;
  html?: string | undefined;
  /** Attachments to add; an `Attachment` of an existing message is taken as it is (see {@link copyMessage}). */
  attachments?: readonly (AttachmentInput | Attachment)[] | undefined;
  /** Custom headers. An array value repeats the header. Structural headers (From, To, Content-Type, ...) are refused. */
  headers?: Readonly<Record<string, string | readonly string[]>> | undefined;
  /** The Message-ID this one replies to. */
  inReplyTo?: string | undefined;
  /** Message-IDs of the thread, oldest first. */
  references?: string | readonly string[] | undefined;
  priority?: 'high' | 'normal' | 'low' | undefined;
  /** Provider-neutral labels (SES EmailTags, for example). Not sent as headers over SMTP. */
  tags?: readonly string[] | undefined;
  /** Provider-neutral key/value data. Not sent as headers over SMTP. */
  metadata?: Readonly<Record<string, string>> | undefined;
  /** A URL (string) or URL and/or mailto with one-click. */
  listUnsubscribe?: string | ListUnsubscribeInput | undefined;
  /** SMTP MAIL FROM / RCPT TO, when they must differ from the headers. */
  envelope?: { from?: AddressInput | undefined; to?: AddressInput | readonly AddressInput[] | undefined } | undefined;
  /** An RFC 5322 Message-ID; assigned when absent. */
  messageId?: string | undefined;
  /** The Date header. Default: when the message is created. */
  date?: Date | undefined;
}

/** Options of {@link createMessage}. */
export interface CreateMessageOptions {
  /** Allow attachments from file paths. Default false. */
  allowFileAccess?: boolean | undefined;
  /** Allow attachments fetched from http(s) URLs. Default false. */
  allowUrlAccess?: boolean | undefined;
}

/** Where an attachment's bytes come from. */
export type AttachmentSource =
  | { readonly kind: 'bytes'; readonly bytes: Buffer }
  | { readonly kind: 'stream'; readonly stream: NodeJS.ReadableStream | ReadableStream<Uint8Array> }
  | { readonly kind: 'path'; readonly path: string }
  | { readonly kind: 'url'; readonly url: string };

/** A validated attachment. Read its bytes with {@link readAttachment}. */
export interface Attachment {
  readonly filename: string | undefined;
  readonly contentType: string | undefined;
  readonly contentId: string | undefined;
  readonly disposition: 'attachment' | 'inline';
  readonly source: AttachmentSource;
}

/** A custom header, name as given, value validated. */
export interface Header {
  readonly name: string;
  readonly value: string;
}

/** List-Unsubscribe after validation. */
export interface ListUnsubscribe {
  readonly url: string | undefined;
  readonly mailto: string | undefined;
  readonly oneClick: boolean;
}

/** The SMTP envelope: MAIL FROM and the RCPT TO list, plain addresses. */
export interface Envelope {
  readonly from: string;
  readonly to: readonly string[];
}

/**
 * An immutable, validated message. Build one with {@link createMessage}; every transport takes it.
 */
export interface EmailMessage {
  /** `<id@domain>`, with angle brackets. */
  readonly messageId: string;
  readonly from: Address;
  readonly sender: Address | undefined;
  readonly to: readonly Address[];
  readonly cc: readonly Address[];
  readonly bcc: readonly Address[];
  readonly replyTo: readonly Address[];
  readonly subject: string;
  /** Text body with CRLF line breaks. */
  readonly text: string | undefined;
  /** HTML body with CRLF line breaks. */
  readonly html: string | undefined;
  readonly attachments: readonly Attachment[];
  readonly headers: readonly Header[];
  readonly inReplyTo: string | undefined;
  readonly references: readonly string[];
  readonly priority: 'high' | 'normal' | 'low' | undefined;
  readonly tags: readonly string[];
  readonly metadata: Readonly<Record<string, string>>;
  readonly listUnsubscribe: ListUnsubscribe | undefined;
  /** MAIL FROM / RCPT TO: from `envelope` when given, else the sender (or From) and every To, Cc and Bcc. */
  readonly envelope: Envelope;
  /** True when `envelope` was given and differs from what the headers imply. */
  readonly hasCustomEnvelope: boolean;
  /** True when some address has a non-ASCII local part: only an SMTPUTF8 path can carry it. */
  readonly requiresSmtpUtf8: boolean;
  readonly date: Date;
}

const messageBrand: symbol = Symbol.for('mailport.EmailMessage');
const attachmentBrand: symbol = Symbol.for('mailport.Attachment');

/** True for a message built by {@link createMessage} (from any copy of `@mailport/core`). */
export function isEmailMessage(value: unknown): value is EmailMessage {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[messageBrand] === true;
}

// Headers mailport writes itself, each with the field to use instead.
const structuralHeaders: ReadonlyMap<string, string> = new Map([
  ['from', 'from'],
  ['sender', 'sender'],
  ['to', 'to'],
  ['cc', 'cc'],
  ['bcc', 'bcc'],
  ['reply-to', 'replyTo'],
  ['subject', 'subject'],
  ['date', 'date'],
  ['message-id', 'messageId'],
  ['in-reply-to', 'inReplyTo'],
  ['references', 'references'],
  ['mime-version', ''],
  ['content-type', ''],
  ['content-transfer-encoding', ''],
  ['content-disposition', ''],
  ['content-id', ''],
  ['return-path', 'envelope.from'],
  ['list-unsubscribe', 'listUnsubscribe'],
  ['list-unsubscribe-post', 'listUnsubscribe.oneClick'],
  ['x-priority', 'priority'],
  ['x-msmail-priority', 'priority'],
  ['importance', 'priority'],
]);

// RFC 5322 ftext: printable US-ASCII except ":".
const headerName = /^[\x21-\x39\x3b-\x7e]+$/;
// In header values TAB is folding whitespace and allowed; every other control character is not.
const headerValueControl = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f]/;
const atomText = "A-Za-z0-9!#$%&'*+\\-/=?^_`{|}~";
const messageIdPattern = new RegExp(
  `^<?([${atomText}]+(?:\\.[${atomText}]+)*)@([${atomText}]+(?:\\.[${atomText}]+)*|\\[[\\x21-\\x5a\\x5e-\\x7e]*\\])>?$`,
);

/**
 * Validates and normalises a message. Throws `MailError` (`invalid-message`) naming the field
 * and the reason; never repairs an address into a different one.
 *
 * @example
 * ```ts
 * const message = createMessage({
 *   from: 'Shop <orders@shop.example>',
 *   to: ['ana@example.com'],
 *   subject: 'Your order',
 *   text: 'Thanks!',
 * });
 * message.messageId; // '<8f0c...@shop.example>'
 * ```
 */
export function createMessage(input: MessageInput | EmailMessage, options: CreateMessageOptions = {}): EmailMessage {
  if (isEmailMessage(input)) return input;
  if (typeof input !== 'object' || input === null) throw invalidMessage('message', 'must be an object');
  if (input.from === undefined || input.from === null || (input.from as unknown) === '') {
    throw invalidMessage('from', 'is required');
  }
  const from = parseAddress(input.from, 'from');
  const sender = input.sender === undefined ? undefined : parseAddress(input.sender, 'sender');
  const to = parseAddressList(input.to, 'to');
  const cc = parseAddressList(input.cc, 'cc');
  const bcc = parseAddressList(input.bcc, 'bcc');
  const replyTo = parseAddressList(input.replyTo, 'replyTo');
  if (to.length + cc.length + bcc.length === 0) {
    throw invalidMessage('to', 'is empty: a message needs at least one recipient in to, cc or bcc');
  }

  const subject = checkHeaderText(input.subject ?? '', 'subject');
  const text = optionalBody(input.text, 'text');
  const html = optionalBody(input.html, 'html');
  const headers = parseHeaders(input.headers);
  const messageId = input.messageId === undefined ? generateMessageId(from) : parseMessageId(input.messageId, 'messageId');
  const inReplyTo = input.inReplyTo === undefined ? undefined : parseMessageId(input.inReplyTo, 'inReplyTo');
  const references = parseReferences(input.references);
  const priority = parsePriority(input.priority);
  const tags = parseTags(input.tags);
  const metadata = parseMetadata(input.metadata);
  const listUnsubscribe = parseListUnsubscribe(input.listUnsubscribe);
  const attachments = Object.freeze(
    (input.attachments ?? []).map((attachment, index) => parseAttachment(attachment, `attachments[${index}]`, options)),
  );
  const date = parseDate(input.date);

  const implied: Envelope = { from: (sender ?? from).address, to: unique([...to, ...cc, ...bcc].map((a) => a.address)) };
  let envelope = implied;
  if (input.envelope !== undefined) {
    const envelopeFrom = input.envelope.from === undefined ? implied.from : parseAddress(input.envelope.from, 'envelope.from').address;
    const envelopeTo =
      input.envelope.to === undefined ? implied.to : unique(parseAddressList(input.envelope.to, 'envelope.to').map((a) => a.address));
    if (envelopeTo.length === 0) throw invalidMessage('envelope.to', 'is empty');
    envelope = { from: envelopeFrom, to: envelopeTo };
  }
  const hasCustomEnvelope =
    envelope.from !== implied.from ||
    envelope.to.length !== implied.to.length ||
    envelope.to.some((address, index) => address !== implied.to[index]);

  const everyAddress = [from, ...(sender ? [sender] : []), ...to, ...cc, ...bcc, ...replyTo];
  const smtpUtf8 = everyAddress.some(requiresSmtpUtf8) || [envelope.from, ...envelope.to].some((address) => /[^\x00-\x7f]/.test(address));

  const message: EmailMessage = {
    messageId,
    from,
    sender,
    to,
    cc,
    bcc,
    replyTo,
    subject,
    text,
    html,
    attachments,
    headers,
    inReplyTo,
    references,
    priority,
    tags,
    metadata,
    listUnsubscribe,
    envelope: Object.freeze({ from: envelope.from, to: Object.freeze([...envelope.to]) }),
    hasCustomEnvelope,
    requiresSmtpUtf8: smtpUtf8,
    date,
  };
  Object.defineProperty(message, messageBrand, { value: true });
  return Object.freeze(message);
}

// How each field of an EmailMessage goes back into a MessageInput. The type lists every key, so a
// field added to EmailMessage is a compile error here until it is given its way back.
const asInput: { readonly [Key in keyof EmailMessage]: (message: EmailMessage) => Partial<MessageInput> } = {
  messageId: (message) => ({ messageId: message.messageId }),
  from: (message) => ({ from: message.from }),
  sender: (message) => ({ sender: message.sender }),
  to: (message) => ({ to: message.to }),
  cc: (message) => ({ cc: message.cc }),
  bcc: (message) => ({ bcc: message.bcc }),
  replyTo: (message) => ({ replyTo: message.replyTo }),
  subject: (message) => ({ subject: message.subject }),
  text: (message) => ({ text: message.text }),
  html: (message) => ({ html: message.html }),
  // The same attachments: already validated, and read only once.
  attachments: (message) => ({ attachments: message.attachments }),
  headers: (message) => {
    const headers: Record<string, string[]> = {};
    for (const header of message.headers) headers[header.name] = [...(headers[header.name] ?? []), header.value];
    return { headers };
  },
  inReplyTo: (message) => ({ inReplyTo: message.inReplyTo }),
  references: (message) => ({ references: message.references }),
  priority: (message) => ({ priority: message.priority }),
  tags: (message) => ({ tags: message.tags }),
  metadata: (message) => ({ metadata: message.metadata }),
  listUnsubscribe: (message) => ({ listUnsubscribe: message.listUnsubscribe === undefined ? undefined : { ...message.listUnsubscribe } }),
  // Given only when it differs from what the headers imply; otherwise worked out again from the (changed) recipients.
  envelope: (message) => (message.hasCustomEnvelope ? { envelope: { from: message.envelope.from, to: message.envelope.to } } : {}),
  hasCustomEnvelope: () => ({}),
  requiresSmtpUtf8: () => ({}),
  date: (message) => ({ date: message.date }),
};

/**
 * A copy of `message` with `changes` applied, validated again like any new message. Everything
 * not changed stays, the Message-ID and Date included; attachments are the same objects, so
 * their bytes are read once. For a transport that sends one message in parts (a Graph draft that
 * carries only the small attachments), or a `beforeSend` hook that edits a field.
 *
 * @example
 * ```ts
 * const draft = copyMessage(message, { attachments: message.attachments.filter((attachment) => attachment.filename !== 'big.zip') });
 * draft.messageId === message.messageId; // true
 * ```
 */
export function copyMessage(message: EmailMessage, changes: Partial<MessageInput> = {}, options: CreateMessageOptions = {}): EmailMessage {
  const input: Partial<MessageInput> = {};
  for (const key of Object.keys(message) as (keyof EmailMessage)[]) Object.assign(input, asInput[key](message));
  return createMessage({ ...input, ...changes } as MessageInput, options);
}

function unique(addresses: readonly string[]): readonly string[] {
  // The same mailbox twice would get the message twice; domains are case-insensitive, local parts are not.
  const seen = new Set<string>();
  const result: string[] = [];
  for (const address of addresses) {
    const at = address.lastIndexOf('@');
    const key = `${address.slice(0, at)}@${address.slice(at + 1).toLowerCase()}`;
    if (!seen.has(key)) {
      seen.add(key);
      result.push(address);
    }
  }
  return result;
}

function checkHeaderText(value: unknown, field: string): string {
  if (typeof value !== 'string') throw invalidMessage(field, 'must be a string');
  const control = findControlCharacter(value, headerValueControl);
  if (control !== undefined) {
    throw invalidMessage(
      field,
      `contains the control character ${control}`,
      'Header values cannot contain line breaks or control characters.',
    );
  }
  return value;
}

function optionalBody(value: unknown, field: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw invalidMessage(field, 'must be a string');
  // One line-break form on the wire: a bare CR or LF next to a dot is how SMTP smuggling starts.
  return value.replace(/\r\n|\r|\n/g, '\r\n');
}

function parseHeaders(input: MessageInput['headers']): readonly Header[] {
  if (input === undefined || input === null) return Object.freeze([]);
  if (typeof input !== 'object' || Array.isArray(input)) throw invalidMessage('headers', 'must be an object of name: value');
  const headers: Header[] = [];
  for (const [name, raw] of Object.entries(input)) {
    const field = `headers.${name}`;
    const control = findControlCharacter(name);
    if (control !== undefined) throw invalidMessage(field, `has the control character ${control} in its name`);
    if (!headerName.test(name)) {
      throw invalidMessage(field, 'is not a valid header name (RFC 5322 allows printable ASCII except ":" and space)');
    }
    const use = structuralHeaders.get(name.toLowerCase());
    if (use !== undefined) {
      throw invalidMessage(
        field,
        'would duplicate a header mailport writes itself',
        use === '' ? 'MIME structure headers are generated; remove it.' : `Use the message's "${use}" field instead.`,
      );
    }
    for (const value of Array.isArray(raw) ? raw : [raw]) {
      headers.push(Object.freeze({ name, value: checkHeaderText(value, field) }));
    }
  }
  return Object.freeze(headers);
}

/** Parses a Message-ID and returns it as `<left@right>`. */
export function parseMessageId(value: unknown, field: string): string {
  if (typeof value !== 'string') throw invalidMessage(field, 'must be a string');
  const control = findControlCharacter(value);
  if (control !== undefined) throw invalidMessage(field, `contains the control character ${control}`);
  const trimmed = value.trim();
  const match = messageIdPattern.exec(trimmed);
  if (match === null || trimmed.startsWith('<') !== trimmed.endsWith('>')) {
    throw invalidMessage(field, `is not a Message-ID of the form <left@right>: ${JSON.stringify(value)}`);
  }
  return `<${match[1]}@${match[2]}>`;
}

function generateMessageId(from: Address): string {
  return `<${randomUUID()}@${from.address.slice(from.address.lastIndexOf('@') + 1)}>`;
}

function parseReferences(input: MessageInput['references']): readonly string[] {
  if (input === undefined || input === null) return Object.freeze([]);
  const list = typeof input === 'string' ? input.split(/[\s,]+/).filter((id) => id !== '') : input;
  if (!Array.isArray(list)) throw invalidMessage('references', 'must be a string or an array of Message-IDs');
  return Object.freeze(list.map((id, index) => parseMessageId(id, `references[${index}]`)));
}

function parsePriority(input: unknown): EmailMessage['priority'] {
  if (input === undefined || input === null) return undefined;
  if (input === 'high' || input === 'normal' || input === 'low') return input;
  throw invalidMessage('priority', `must be "high", "normal" or "low", not ${JSON.stringify(input)}`);
}

function parseTags(input: unknown): readonly string[] {
  if (input === undefined || input === null) return Object.freeze([]);
  if (!Array.isArray(input)) throw invalidMessage('tags', 'must be an array of strings');
  return Object.freeze(
    input.map((tag, index) => {
      if (typeof tag !== 'string' || tag === '') throw invalidMessage(`tags[${index}]`, 'must be a non-empty string');
      const control = findControlCharacter(tag);
      if (control !== undefined) throw invalidMessage(`tags[${index}]`, `contains the control character ${control}`);
      return tag;
    }),
  );
}

function parseMetadata(input: unknown): Readonly<Record<string, string>> {
  if (input === undefined || input === null) return Object.freeze({});
  if (typeof input !== 'object' || Array.isArray(input)) throw invalidMessage('metadata', 'must be an object of string values');
  const result: Record<string, string> = {};
  for (const [key, value] of Object.entries(input)) {
    if (!/^[A-Za-z0-9_.:-]{1,128}$/.test(key)) {
      throw invalidMessage(`metadata.${key}`, 'has a key outside [A-Za-z0-9_.:-] or longer than 128 characters');
    }
    if (typeof value !== 'string') throw invalidMessage(`metadata.${key}`, 'must be a string');
    const control = findControlCharacter(value);
    if (control !== undefined) throw invalidMessage(`metadata.${key}`, `contains the control character ${control}`);
    result[key] = value;
  }
  return Object.freeze(result);
}

function parseListUnsubscribe(input: MessageInput['listUnsubscribe']): ListUnsubscribe | undefined {
  if (input === undefined || input === null) return undefined;
  const spec = typeof input === 'string' ? { url: input } : input;
  if (typeof spec !== 'object') throw invalidMessage('listUnsubscribe', 'must be a URL or { url, mailto, oneClick }');
  const url = spec.url === undefined ? undefined : parseUnsubscribeUrl(spec.url);
  let mailto: string | undefined;
  if (spec.mailto !== undefined) {
    const raw = String(spec.mailto);
    const target = raw.toLowerCase().startsWith('mailto:') ? (raw.slice(7).split('?')[0] ?? '') : raw;
    parseAddress(target, 'listUnsubscribe.mailto');
    mailto = raw.toLowerCase().startsWith('mailto:') ? raw : `mailto:${raw}`;
    checkUriForHeader(mailto, 'listUnsubscribe.mailto');
  }
  if (url === undefined && mailto === undefined) throw invalidMessage('listUnsubscribe', 'needs a url or a mailto');
  const oneClick = spec.oneClick === true;
  if (oneClick && (url === undefined || !url.startsWith('https:'))) {
    throw invalidMessage('listUnsubscribe.oneClick', 'needs an https url (RFC 8058)');
  }
  return Object.freeze({ url, mailto, oneClick });
}

function parseUnsubscribeUrl(value: unknown): string {
  if (typeof value !== 'string') throw invalidMessage('listUnsubscribe.url', 'must be a string');
  checkUriForHeader(value, 'listUnsubscribe.url');
  let parsed: URL;
  try {
    parsed = new URL(value);
  } catch {
    throw invalidMessage('listUnsubscribe.url', `is not a URL: ${JSON.stringify(value)}`);
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
    throw invalidMessage('listUnsubscribe.url', 'must be an http or https URL');
  }
  return value;
}

function checkUriForHeader(value: string, field: string): void {
  const control = findControlCharacter(value);
  if (control !== undefined) throw invalidMessage(field, `contains the control character ${control}`);
  // RFC 2369: the URL sits inside <...> in a comma-separated list, so these would break the header apart.
  if (/[\s<>,"]/.test(value)) throw invalidMessage(field, 'contains whitespace, "<", ">", "," or a quote; percent-encode them');
  // The header is written as is (never encoded-words), so raw UTF-8 would make an 8-bit header line.
  if (/[^\x00-\x7f]/.test(value)) {
    throw invalidMessage(
      field,
      'contains a non-ASCII character',
      'Percent-encode the path and query, and write the domain in A-labels (xn--...), as new URL(url).href does.',
    );
  }
  if (value.length > 900) throw invalidMessage(field, 'is longer than 900 characters, which no header line can hold');
}

const contentTypePattern =
  /^[A-Za-z0-9!#$&^_.+-]+\/[A-Za-z0-9!#$&^_.+-]+(\s*;\s*[A-Za-z0-9!#$&^_.+-]+=("[^"\\]*"|[A-Za-z0-9!#$&^_.+-]+))*$/;

function parseAttachment(input: AttachmentInput | Attachment, field: string, options: CreateMessageOptions): Attachment {
  if (typeof input !== 'object' || input === null) throw invalidMessage(field, 'must be an object');
  // Validated already, and maybe read already: its bytes are cached with it, and a stream is read once.
  if ((input as unknown as Record<symbol, unknown>)[attachmentBrand] === true) return input as Attachment;
  return parseAttachmentInput(input as AttachmentInput, field, options);
}

function parseAttachmentInput(input: AttachmentInput, field: string, options: CreateMessageOptions): Attachment {
  const given = (['content', 'path', 'url'] as const).filter((key) => input[key] !== undefined && input[key] !== null);
  if (given.length !== 1) throw invalidMessage(field, 'needs exactly one of content, path or url');

  let source: AttachmentSource;
  let filename = input.filename;
  // Branch on what was given: a null path or url next to content means absent, as in `given`.
  if (given[0] === 'path') {
    if (options.allowFileAccess !== true) {
      throw invalidMessage(
        `${field}.path`,
        'reads a file, which is disabled',
        'Pass the bytes as content, or create the message with allowFileAccess: true.',
      );
    }
    if (typeof input.path !== 'string' || input.path === '') throw invalidMessage(`${field}.path`, 'must be a non-empty string');
    source = { kind: 'path', path: input.path };
    filename ??= basename(input.path);
  } else if (given[0] === 'url') {
    if (options.allowUrlAccess !== true) {
      throw invalidMessage(
        `${field}.url`,
        'fetches a URL, which is disabled',
        'Pass the bytes as content, or create the message with allowUrlAccess: true.',
      );
    }
    let url: URL;
    try {
      url = new URL(String(input.url));
    } catch {
      throw invalidMessage(`${field}.url`, 'is not a URL');
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw invalidMessage(`${field}.url`, 'must be http or https');
    source = { kind: 'url', url: url.href };
  } else {
    source = contentSource(input.content as AttachmentContent, input.encoding, field);
  }

  if (filename !== undefined) {
    if (typeof filename !== 'string' || filename === '') throw invalidMessage(`${field}.filename`, 'must be a non-empty string');
    const control = findControlCharacter(filename, /[\u0000-\u001f\u007f-\u009f]/);
    if (control !== undefined) throw invalidMessage(`${field}.filename`, `contains the control character ${control}`);
  }
  let contentType: string | undefined;
  if (input.contentType !== undefined) {
    contentType = String(input.contentType).trim();
    if (!contentTypePattern.test(contentType)) {
      throw invalidMessage(`${field}.contentType`, `is not a MIME type: ${JSON.stringify(input.contentType)}`);
    }
  }
  let contentId: string | undefined;
  if (input.contentId !== undefined) {
    contentId = parseMessageId(input.contentId, `${field}.contentId`).slice(1, -1);
  }
  const disposition = input.disposition ?? (contentId === undefined ? 'attachment' : 'inline');
  if (disposition !== 'attachment' && disposition !== 'inline') {
    throw invalidMessage(`${field}.disposition`, 'must be "attachment" or "inline"');
  }
  const attachment: Attachment = { filename, contentType, contentId, disposition, source: Object.freeze(source) };
  Object.defineProperty(attachment, attachmentBrand, { value: true });
  return Object.freeze(attachment);
}

function contentSource(content: AttachmentContent, encoding: AttachmentInput['encoding'], field: string): AttachmentSource {
  if (typeof content === 'string') {
    const chosen = encoding ?? 'utf8';
    if (!['utf8', 'base64', 'hex', 'latin1'].includes(chosen)) throw invalidMessage(`${field}.encoding`, `is not supported: ${chosen}`);
    if (chosen === 'base64' && !/^[A-Za-z0-9+/\s]*={0,2}\s*$/.test(content))
      throw invalidMessage(`${field}.content`, 'is not valid base64');
    return { kind: 'bytes', bytes: Buffer.from(content, chosen) };
  }
  if (content instanceof Uint8Array) return { kind: 'bytes', bytes: Buffer.from(content.buffer, content.byteOffset, content.byteLength) };
  if (content instanceof ArrayBuffer) return { kind: 'bytes', bytes: Buffer.from(content) };
  if (content instanceof ReadableStream || content instanceof Readable || isNodeStream(content)) {
    return { kind: 'stream', stream: content };
  }
  throw invalidMessage(`${field}.content`, 'must be a string, bytes, or a Node or web stream');
}

function isNodeStream(value: unknown): value is NodeJS.ReadableStream {
  return typeof value === 'object' && value !== null && typeof (value as NodeJS.ReadableStream).pipe === 'function';
}

function parseDate(input: unknown): Date {
  if (input === undefined || input === null) return new Date();
  if (!(input instanceof Date) || Number.isNaN(input.getTime())) throw invalidMessage('date', 'must be a valid Date');
  return new Date(input.getTime());
}
