/**
 * What went wrong, as a small closed set. Every failure mailport reports carries one of these.
 *
 * | code | meaning | retryable by default |
 * | --- | --- | --- |
 * | `invalid-message` | the message itself is malformed or over a limit; fix the input | no |
 * | `configuration` | the transport is misconfigured (host, TLS, permissions, missing package) | no |
 * | `auth` | credentials were refused or could not be obtained | no |
 * | `sender-rejected` | the provider refused the From / envelope sender | no |
 * | `recipient-rejected` | every recipient was refused | no |
 * | `message-rejected` | the provider refused the message (content, size, policy) | no |
 * | `rate-limited` | too many requests right now; see `retryAfterMs` | yes |
 * | `quota-exceeded` | a daily or account quota is used up | no |
 * | `transient` | a temporary failure before the message was accepted | yes |
 * | `timeout` | the provider did not answer in time, before the message was handed over | yes |
 * | `unknown-outcome` | the message was handed over but no answer came; it may have been sent | no |
 * | `unsupported` | this transport cannot carry this message (e.g. SMTPUTF8 missing) | no |
 */
export type MailErrorCode =
  | 'invalid-message'
  | 'configuration'
  | 'auth'
  | 'sender-rejected'
  | 'recipient-rejected'
  | 'message-rejected'
  | 'rate-limited'
  | 'quota-exceeded'
  | 'transient'
  | 'timeout'
  | 'unknown-outcome'
  | 'unsupported';

/** Every {@link MailErrorCode}, in a stable order. */
export const mailErrorCodes: readonly MailErrorCode[] = Object.freeze([
  'invalid-message',
  'configuration',
  'auth',
  'sender-rejected',
  'recipient-rejected',
  'message-rejected',
  'rate-limited',
  'quota-exceeded',
  'transient',
  'timeout',
  'unknown-outcome',
  'unsupported',
]);

const retryableByDefault: ReadonlySet<MailErrorCode> = new Set<MailErrorCode>(['rate-limited', 'transient', 'timeout']);

/** One refused recipient, as reported in {@link MailError.recipients} and receipts. */
export interface RecipientError {
  /** The address that was refused, as it went into the envelope. */
  readonly address: string;
  /** Why, in the provider's words where it gave any. */
  readonly message: string;
  /** The provider's status for this recipient (an SMTP reply code, for example). */
  readonly statusCode?: number | undefined;
  /** The provider's own code (for example an enhanced status code `5.1.1`). */
  readonly providerCode?: string | undefined;
  /** Whether a later attempt for this recipient could succeed. */
  readonly retryable: boolean;
  /**
   * Set when mailport itself left the recipient out: `suppressed` means the mailer's suppression
   * check (`createMailer({ suppression })`) blocked it and no request named it.
   */
  readonly code?: 'suppressed' | undefined;
}

/** Options of the {@link MailError} constructor. */
export interface MailErrorOptions {
  /** Whether retrying the same message can help. Defaults by code: yes for `rate-limited`, `transient` and `timeout`. */
  retryable?: boolean | undefined;
  /** How long to wait before retrying, when the provider said so. */
  retryAfterMs?: number | undefined;
  /** The id of the transport that raised it. */
  transport?: string | undefined;
  /** The provider's own error code or name (`ThrottlingException`, `5.7.139`, `ErrorSendAsDenied`, ...). */
  providerCode?: string | undefined;
  /** The provider's status: an SMTP reply code or an HTTP status. */
  statusCode?: number | undefined;
  /** Refused recipients, each with its reason. */
  recipients?: readonly RecipientError[] | undefined;
  /** One sentence telling the user what to do. */
  remediation?: string | undefined;
  /** For `invalid-message`: the input field at fault, such as `to[1]` or `headers.X-Tag`. */
  field?: string | undefined;
  /** The underlying error, with any credentials removed. */
  cause?: unknown;
}

const brand: symbol = Symbol.for('mailport.MailError');

/**
 * The one error class mailport throws. Check with {@link MailError.isInstance} rather than
 * `instanceof`: it also recognises errors from another copy of `@mailport/core`.
 *
 * A caller's own abort is never wrapped: `send()` rejects with the signal's reason as it is.
 *
 * @example
 * ```ts
 * try {
 *   await mailer.send(message);
 * } catch (error) {
 *   if (MailError.isInstance(error) && error.code === 'rate-limited') {
 *     queue.later(message, error.retryAfterMs);
 *   } else throw error;
 * }
 * ```
 */
export class MailError extends Error {
  /** What went wrong. */
  readonly code: MailErrorCode;
  /** Whether retrying the same message can help. */
  readonly retryable: boolean;
  /** How long to wait before retrying, when the provider said so. */
  readonly retryAfterMs: number | undefined;
  /** The id of the transport that raised it (never contains credentials). */
  readonly transport: string | undefined;
  /** The provider's own error code or name. */
  readonly providerCode: string | undefined;
  /** An SMTP reply code or an HTTP status. */
  readonly statusCode: number | undefined;
  /** Refused recipients, each with its reason. */
  readonly recipients: readonly RecipientError[];
  /** One sentence telling the user what to do. */
  readonly remediation: string | undefined;
  /** For `invalid-message`: the input field at fault. */
  readonly field: string | undefined;

  constructor(code: MailErrorCode, message: string, options: MailErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    Object.defineProperty(this, brand, { value: true });
    this.name = 'MailError';
    this.code = code;
    this.retryable = options.retryable ?? retryableByDefault.has(code);
    this.retryAfterMs = options.retryAfterMs;
    this.transport = options.transport;
    this.providerCode = options.providerCode;
    this.statusCode = options.statusCode;
    this.recipients = Object.freeze([...(options.recipients ?? [])]);
    this.remediation = options.remediation;
    this.field = options.field;
  }

  /** True for a `MailError` from any copy of `@mailport/core`. */
  static isInstance(value: unknown): value is MailError {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[brand] === true;
  }

  /** A JSON form without the stack, for logs and `--json` output. */
  toJSON(): Record<string, unknown> {
    return {
      name: this.name,
      code: this.code,
      message: this.message,
      retryable: this.retryable,
      retryAfterMs: this.retryAfterMs,
      transport: this.transport,
      providerCode: this.providerCode,
      statusCode: this.statusCode,
      recipients: this.recipients.length > 0 ? this.recipients : undefined,
      remediation: this.remediation,
      field: this.field,
    };
  }
}

/** Returns a copy of `error` with `transport` set, when it has none yet. */
export function withTransport(error: MailError, transport: string): MailError {
  if (error.transport !== undefined) return error;
  return new MailError(error.code, error.message, { ...pick(error), transport });
}

/** The options a `MailError` was built from, to derive a changed copy. */
export function mailErrorOptions(error: MailError): MailErrorOptions {
  return pick(error);
}

function pick(error: MailError): MailErrorOptions {
  return {
    retryable: error.retryable,
    retryAfterMs: error.retryAfterMs,
    transport: error.transport,
    providerCode: error.providerCode,
    statusCode: error.statusCode,
    recipients: error.recipients,
    remediation: error.remediation,
    field: error.field,
    cause: error.cause,
  };
}

/** Shorthand for an `invalid-message` error about one input field. */
export function invalidMessage(field: string, reason: string, remediation?: string): MailError {
  return new MailError('invalid-message', `Invalid message: ${field} ${reason}`, { field, remediation });
}

/** True when `error` is the rejection an aborted `signal` produced (its reason, or an AbortError). */
export function isAbortFrom(signal: AbortSignal | undefined, error: unknown): boolean {
  if (signal?.aborted !== true) return false;
  return error === signal.reason || (error instanceof Error && error.name === 'AbortError');
}
