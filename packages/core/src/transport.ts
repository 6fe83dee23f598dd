import type { RecipientError } from './errors.js';
import type { EmailMessage } from './message.js';

/** What a transport can carry. Composition uses it to skip transports that cannot take a message. */
export interface TransportCapabilities {
  /** Largest rendered message in bytes; undefined when the transport sets no limit of its own. */
  readonly maxMessageSize: number | undefined;
  /** Most envelope recipients in one message; undefined for no limit. */
  readonly maxRecipients: number | undefined;
  /**
   * Which custom headers reach the recipient unchanged: `true` any, `false` none, or a
   * {@link HeaderRule} for a transport that carries some (Graph's JSON mode: at most 5, named `x-...`).
   */
  readonly customHeaders: boolean | HeaderRule;
  /** Whether MAIL FROM / RCPT TO may differ from the headers. */
  readonly envelope: boolean;
  /** Whether non-ASCII local parts can be sent: `'negotiated'` means it depends on the server (SMTPUTF8). */
  readonly smtpUtf8: boolean | 'negotiated';
  /** How many sends this transport handles well in parallel; `sendMany` uses it as its default concurrency. */
  readonly concurrency: number;
  /**
   * Whether a DKIM signature mailport adds reaches the recipient: `'any'` (the bytes arrive as sent:
   * SMTP, file, memory), `'one-key-no-id-date'` (one signature, without Message-ID and Date, which
   * the provider rewrites: SES), or `false` / a {@link DkimRefusal} (the provider rebuilds the
   * message and signs it itself: the Gmail API, Graph). Default `false`.
   */
  readonly dkim?: DkimCapability | undefined;
}

/** What a transport does with a DKIM signature by mailport; see {@link TransportCapabilities.dkim}. */
export type DkimCapability = 'any' | 'one-key-no-id-date' | false | DkimRefusal;

/** A transport whose provider signs for the domain itself, and where to set that up. */
export interface DkimRefusal {
  /** One sentence: where the provider's own DKIM is turned on, for the `unsupported` error. */
  readonly remediation: string;
}

/** The custom headers a transport carries when it carries some but not any: how many, and which names. */
export interface HeaderRule {
  /** Most custom headers in one message; undefined for no limit. */
  readonly max?: number | undefined;
  /** The names it carries (tested on each header's name); undefined for any name. */
  readonly names?: RegExp | undefined;
  /** The rule in words, for error messages and reports: `at most 5, each named x-...`. */
  readonly description: string;
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
  /**
   * Asks the provider whether a message with this Message-ID went out from this transport's
   * account, for a queue settling a send whose outcome was lost (the Gmail API and Graph have it;
   * it needs read scopes the send does not). Never throws: a failure answers `unknown`.
   */
  lookup?(messageId: string, options?: SendOptions): Promise<SentLookup>;
}

/**
 * What {@link Transport.lookup} found: `sent` (the provider lists it as sent), `not-found` (it does
 * not, which soon after a send is no proof: a provider may list a message late), or `unknown`
 * (the lookup failed or was refused).
 */
export type SentLookup = 'sent' | 'not-found' | 'unknown';

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
