import { MailError, type RecipientError } from './errors.js';
import type { EmailMessage } from './message.js';
import { renderMimeParts } from './mime.js';

/** What a transport can carry. Composition uses it to skip transports that cannot take a message. */
export interface TransportCapabilities {
  /** Largest rendered message in bytes; undefined when the transport sets no limit of its own. */
  readonly maxMessageSize: number | undefined;
  /** Most envelope recipients in one message; undefined for no limit. */
  readonly maxRecipients: number | undefined;
  /** Whether arbitrary custom headers reach the recipient unchanged. */
  readonly customHeaders: boolean;
  /** Whether MAIL FROM / RCPT TO may differ from the headers. */
  readonly envelope: boolean;
  /** Whether non-ASCII local parts can be sent: `'negotiated'` means it depends on the server (SMTPUTF8). */
  readonly smtpUtf8: boolean | 'negotiated';
  /** How many sends this transport handles well in parallel; `sendMany` uses it as its default concurrency. */
  readonly concurrency: number;
}

/** Options of {@link Transport.send}. */
export interface SendOptions {
  /** Aborts the send. The rejection is the signal's reason, unwrapped. */
  readonly signal?: AbortSignal | undefined;
}

/** One step of a composite transport's route for a message. */
export interface RouteStep {
  readonly transport: string;
  readonly outcome: 'sent' | 'skipped' | 'failed' | 'resting';
  /** Why it was skipped or failed. */
  readonly reason?: string | undefined;
}

/** Proof of a sent message. */
export interface SendReceipt {
  /** The RFC 5322 Message-ID the recipients see, `<...>`. */
  readonly messageId: string;
  /** The id of the transport that sent it. */
  readonly transport: string;
  /** The provider's own id (SES MessageId, Gmail id, the SMTP server's queue id), when it gave one. */
  readonly providerMessageId: string | undefined;
  /** Envelope recipients the provider accepted. */
  readonly accepted: readonly string[];
  /** Envelope recipients the provider refused, each with its error; the message went to the rest. */
  readonly rejected: readonly RecipientError[];
  /** Attempts it took, counting retries. */
  readonly attempts: number;
  /** Time from the first attempt to the receipt, in milliseconds. */
  readonly elapsedMs: number;
  /** The provider's final answer, such as an SMTP `250` line. */
  readonly response?: string | undefined;
  /** For failover and round robin: which transports were tried or skipped, in order. */
  readonly route?: readonly RouteStep[] | undefined;
  /** Provider-specific extras (Gmail `threadId`, for example). */
  readonly details?: Readonly<Record<string, unknown>> | undefined;
}

/** One line of a {@link VerifyReport}. */
export interface VerifyCheck {
  /** `connect`, `tls`, `auth`, `quota`, ... */
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
}

/** What {@link Transport.verify} found. `verify()` rejects with a `MailError` when a required check fails. */
export interface VerifyReport {
  readonly transport: string;
  readonly checks: readonly VerifyCheck[];
  /** Provider facts: server extensions, quotas, send-as addresses, ... */
  readonly details: Readonly<Record<string, unknown>>;
}

/**
 * The contract every transport implements. `send` takes a message built by `createMessage` and
 * either resolves to a receipt or rejects with a `MailError` (or the caller's abort reason).
 */
export interface Transport {
  /** A stable id such as `smtp://mail.example:587`; never contains credentials. */
  readonly id: string;
  readonly capabilities: TransportCapabilities;
  send(message: EmailMessage, options?: SendOptions): Promise<SendReceipt>;
  /** Connects, authenticates and reports what the provider offers, without sending. */
  verify?(options?: SendOptions): Promise<VerifyReport>;
  /** Releases connections. Safe to call more than once. */
  close?(): Promise<void>;
}

/** A short-lived OAuth access token. */
export interface AccessToken {
  readonly token: string;
  /** When it expires, in epoch milliseconds; undefined when unknown. */
  readonly expiresAt?: number | undefined;
}

/** Options of {@link TokenProvider.getAccessToken}. */
export interface GetAccessTokenOptions {
  /** Ignore any cached token: the last one was refused. */
  readonly forceRefresh?: boolean | undefined;
  /** The token the provider refused, so that a refresh another send already made is reused. */
  readonly refusedToken?: string | undefined;
  readonly signal?: AbortSignal | undefined;
}

/**
 * Supplies OAuth access tokens to a transport (SMTP XOAUTH2 and the HTTPS APIs). Implementations
 * cache, refresh ahead of expiry and keep one refresh in flight; see {@link createTokenCache}.
 */
export interface TokenProvider {
  getAccessToken(options?: GetAccessTokenOptions): Promise<AccessToken>;
}

/**
 * Why `transport` cannot carry `message`, or undefined when it can. Renders the message to learn
 * its size only when the transport has a size limit.
 */
export async function capabilityMismatch(message: EmailMessage, transport: Transport): Promise<string | undefined> {
  const capabilities = transport.capabilities;
  if (capabilities.maxRecipients !== undefined && message.envelope.to.length > capabilities.maxRecipients) {
    return `${message.envelope.to.length} recipients, more than the ${capabilities.maxRecipients} ${transport.id} accepts`;
  }
  if (message.requiresSmtpUtf8 && capabilities.smtpUtf8 === false) {
    return `a non-ASCII address needs SMTPUTF8, which ${transport.id} does not support`;
  }
  if (message.headers.length > 0 && !capabilities.customHeaders) {
    return `custom headers, which ${transport.id} does not pass through`;
  }
  if (message.hasCustomEnvelope && !capabilities.envelope) {
    return `a separate envelope, which ${transport.id} cannot set`;
  }
  if (capabilities.maxMessageSize !== undefined) {
    // Rendering only to learn the size costs more than some transports' whole send: skip it when
    // even a generous upper bound fits.
    const bound = mimeSizeBound(message);
    if (bound !== undefined && bound <= capabilities.maxMessageSize) return undefined;
    const size = (await renderMimeParts(message)).size;
    if (size > capabilities.maxMessageSize) {
      return `${formatBytes(size)}, more than the ${formatBytes(capabilities.maxMessageSize)} ${transport.id} accepts`;
    }
  }
  return undefined;
}

/**
 * An upper bound of the rendered size of `message`, without rendering it; undefined when an
 * attachment's length is not known before it is read (a stream, a file, a URL). Text is counted
 * at four times its UTF-8 length (quoted-printable or encoded-words at worst triple it, folding
 * adds a little), attachments at their base64 size with line breaks, plus room for the headers,
 * boundaries and part headers mailport writes.
 */
export function mimeSizeBound(message: EmailMessage): number | undefined {
  let attachments = 0;
  for (const attachment of message.attachments) {
    if (attachment.source.kind !== 'bytes') return undefined;
    // base64: 4 bytes per 3, and CRLF after every 76 characters; plus the part's own headers.
    attachments += Math.ceil(attachment.source.bytes.length / 3) * 4 * (78 / 76) + 1024 + 4 * Buffer.byteLength(attachment.filename ?? '');
  }
  const addresses = [
    message.from,
    ...(message.sender === undefined ? [] : [message.sender]),
    ...message.to,
    ...message.cc,
    ...message.bcc,
    ...message.replyTo,
  ];
  const text = [
    message.subject,
    message.text ?? '',
    message.html ?? '',
    ...message.headers.flatMap((header) => [header.name, header.value]),
    ...addresses.flatMap((address) => [address.name ?? '', address.address]),
    message.inReplyTo ?? '',
    ...message.references,
    message.listUnsubscribe?.url ?? '',
    message.listUnsubscribe?.mailto ?? '',
  ].reduce((sum, part) => sum + Buffer.byteLength(part) + 8, 0);
  return Math.ceil(4 * text + attachments + 64 * 1024);
}

/**
 * Throws before any network traffic when `transport` cannot carry `message`: `invalid-message`
 * for size and recipient limits, `unsupported` for a feature the transport lacks.
 */
export async function assertCapabilities(message: EmailMessage, transport: Transport): Promise<void> {
  const reason = await capabilityMismatch(message, transport);
  if (reason === undefined) return;
  const overLimit = /more than the/.test(reason);
  throw new MailError(overLimit ? 'invalid-message' : 'unsupported', `${transport.id} cannot send this message: ${reason}`, {
    transport: transport.id,
    field: overLimit ? (reason.includes('recipients') ? 'to' : 'body') : undefined,
    remediation: overLimit
      ? 'Make the message smaller or split the recipients, or route it to a transport with higher limits.'
      : 'Route this message to a transport that supports it, for example with failover().',
  });
}

/** `12.3 MB`, `512 KB`, `900 B`: decimal units, as providers state their limits. */
export function formatBytes(bytes: number): string {
  if (bytes >= 1_000_000) return `${Number((bytes / 1_000_000).toFixed(1))} MB`;
  if (bytes >= 1_000) return `${Number((bytes / 1_000).toFixed(1))} KB`;
  return `${bytes} B`;
}
