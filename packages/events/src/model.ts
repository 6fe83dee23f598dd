import { createHash } from 'node:crypto';
import type { SendLogRecord } from '@mailport/core';

/**
 * What happened to a message after the send, one recipient per event (django-anymail's model,
 * made stricter). A provider's type that mailport does not know yet becomes `unknown`, never an
 * exception: the provider's own name stays in `providerEventType` and the whole payload in `raw`.
 */
export type MailEventType =
  | 'sent'
  | 'delivered'
  | 'deferred'
  | 'bounced'
  | 'complained'
  | 'rejected'
  | 'failed'
  | 'opened'
  | 'clicked'
  | 'unsubscribed'
  | 'auto-replied'
  | 'unknown';

/** Every {@link MailEventType}, in a stable order. */
export const mailEventTypes: readonly MailEventType[] = Object.freeze([
  'sent',
  'delivered',
  'deferred',
  'bounced',
  'complained',
  'rejected',
  'failed',
  'opened',
  'clicked',
  'unsubscribed',
  'auto-replied',
  'unknown',
]);

/** Where an event came from. */
export type EventSource = 'ses' | 'smtp' | 'gmail' | 'graph' | 'unsubscribe' | (string & {});

/** How a mail-borne report was matched to the message it is about, strongest first. */
export type JoinMethod = 'provider' | 'verp' | 'envid' | 'message-id' | 'in-reply-to';

/** A bounce's details. `kind` says whether sending again can ever work. */
export interface BounceDetails {
  /** `hard`: the address does not work (5.x.x, or the provider says permanent); `soft`: it may later; `undetermined`: nobody said. */
  readonly kind: 'hard' | 'soft' | 'undetermined';
  /** RFC 3463 enhanced status, `5.1.1`. */
  readonly status?: string | undefined;
  /** The remote server's words (`Diagnostic-Code`, SES's `diagnosticCode`). */
  readonly diagnostic?: string | undefined;
  /** The MTA that reported it (`Reporting-MTA`, SES's `reportingMTA`). */
  readonly reportingMta?: string | undefined;
  /** The provider's own classification, such as SES's `Permanent/Suppressed`. */
  readonly providerKind?: string | undefined;
}

/** A delay: the message is still queued and will be retried by the provider. */
export interface DelayDetails {
  readonly status?: string | undefined;
  readonly diagnostic?: string | undefined;
  readonly reportingMta?: string | undefined;
  /** When the provider gives up (`Will-Retry-Until`, SES's `expirationTime`), ISO 8601. */
  readonly retryUntil?: string | undefined;
  /** The provider's own classification, such as SES's `MailboxFull`. */
  readonly providerKind?: string | undefined;
}

/** A complaint (RFC 5965 feedback report, SES complaint). */
export interface ComplaintDetails {
  /** `abuse`, `fraud`, `virus`, `not-spam`, `other` (RFC 5965 Feedback-Type, SES's `complaintFeedbackType`). */
  readonly feedbackType?: string | undefined;
  /** Who reported it (`User-Agent` of the report, SES's `userAgent`). */
  readonly userAgent?: string | undefined;
  /** When the recipient's provider received the message, ISO 8601. */
  readonly arrivalDate?: string | undefined;
}

/** One event about one recipient of one message. */
export interface MailEvent {
  /**
   * Stable across deliveries of the same report (SNS retries, a mailbox read twice): derived from
   * the provider's own ids, never from the time it was received. Deduplicate on it.
   */
  readonly id: string;
  readonly type: MailEventType;
  /** When it happened, by the provider's clock, ISO 8601. */
  readonly timestamp: string;
  /** The RFC 5322 Message-ID the message was sent with, `<...>`, when known. */
  readonly messageId: string | undefined;
  /** The provider's id of the message (the receipt's `providerMessageId`), when known. */
  readonly providerMessageId: string | undefined;
  readonly source: EventSource;
  /** The recipient the event is about, lower-cased domain; `undefined` when the report redacts it. */
  readonly recipient: string | undefined;
  readonly bounce?: BounceDetails | undefined;
  readonly delay?: DelayDetails | undefined;
  readonly complaint?: ComplaintDetails | undefined;
  /** For `clicked`: the link. */
  readonly url?: string | undefined;
  /** The sent message's tags and metadata, from the send log (or the provider's event). */
  readonly tags: readonly string[];
  readonly metadata: Readonly<Record<string, string>>;
  /** The provider's own name for the type (`Bounce`, `DeliveryDelay`, `multipart/report; report-type=delivery-status`). */
  readonly providerEventType?: string | undefined;
  /** How a mail-borne report was matched to its message. */
  readonly joinedBy?: JoinMethod | undefined;
  /** The provider's event or the report's raw source, as received. */
  readonly raw: unknown;
}

/**
 * A stable event id: a SHA-256 over the parts that identify the event at its source (the provider,
 * its event or message id, the type and the recipient), base64url, 32 characters.
 */
export function eventId(parts: readonly (string | undefined)[]): string {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(`${part ?? ''}\u0000`);
  return hash.digest('base64url').slice(0, 32);
}

/** What each source can report: `yes`, `no`, or `optional` (needs a setting, named in the docs). */
export type Support = 'yes' | 'no' | 'optional';

/** Which source can report which event type. docs/after-the-send.md explains each cell. */
export const providerMatrix: Readonly<Record<'ses' | 'smtp' | 'gmail' | 'graph', Readonly<Record<MailEventType, Support>>>> = Object.freeze(
  {
    ses: Object.freeze({
      sent: 'yes',
      delivered: 'yes',
      deferred: 'yes',
      bounced: 'yes',
      complained: 'yes',
      rejected: 'yes',
      failed: 'yes',
      opened: 'optional',
      clicked: 'optional',
      unsubscribed: 'optional',
      'auto-replied': 'no',
      unknown: 'yes',
    }),
    smtp: Object.freeze({
      sent: 'no',
      delivered: 'no',
      deferred: 'yes',
      bounced: 'yes',
      complained: 'optional',
      rejected: 'no',
      failed: 'no',
      opened: 'no',
      clicked: 'no',
      unsubscribed: 'optional',
      'auto-replied': 'yes',
      unknown: 'yes',
    }),
    gmail: Object.freeze({
      sent: 'no',
      delivered: 'no',
      deferred: 'yes',
      bounced: 'yes',
      complained: 'no',
      rejected: 'no',
      failed: 'no',
      opened: 'no',
      clicked: 'no',
      unsubscribed: 'optional',
      'auto-replied': 'yes',
      unknown: 'yes',
    }),
    graph: Object.freeze({
      sent: 'no',
      delivered: 'no',
      deferred: 'yes',
      bounced: 'yes',
      complained: 'no',
      rejected: 'no',
      failed: 'no',
      opened: 'no',
      clicked: 'no',
      unsubscribed: 'optional',
      'auto-replied': 'yes',
      unknown: 'yes',
    }),
  },
);

/**
 * What the mailer writes for each sent message, so events can be joined back to it: core's
 * `SendLogRecord` (`createMailer({ sendLog })` writes it), under the name the send logs use.
 */
export type SendLogEntry = SendLogRecord;

/** The send log: by Message-ID, and by the provider's id. */
export interface SendLog {
  record(entry: SendLogEntry): void | Promise<void>;
  get(messageId: string): SendLogEntry | undefined | Promise<SendLogEntry | undefined>;
  getByProviderId(providerMessageId: string): SendLogEntry | undefined | Promise<SendLogEntry | undefined>;
  /** By the VERP token of the envelope sender (`verpToken(messageId)` of `@mailport/core/verp`). */
  getByVerpToken(token: string): SendLogEntry | undefined | Promise<SendLogEntry | undefined>;
}

/** Why an address is suppressed. */
export type SuppressionReason = 'hard-bounce' | 'soft-bounces' | 'complaint' | 'unsubscribe' | 'manual';

/** One suppressed address. */
export interface Suppression {
  /** The address, lower-cased ({@link suppressionKey}). */
  readonly address: string;
  /** `*` for every stream, else the stream name (a complaint or an unsubscribe suppresses only its stream). */
  readonly scope: string;
  readonly reason: SuppressionReason;
  /** ISO 8601. */
  readonly createdAt: string;
  /** ISO 8601; none means for ever. */
  readonly expiresAt?: string | undefined;
  /** The event id that caused it. */
  readonly eventId?: string | undefined;
  /** Free text: a diagnostic, who added it. */
  readonly detail?: string | undefined;
}

/** Where suppressions are kept. Memory and file implementations ship; a database can implement it. */
export interface SuppressionStore {
  /** Adds or replaces the entry for (address, scope). */
  add(entry: Suppression): Promise<void>;
  /** Removes the entry for (address, scope), or every scope when none is given; true when something was removed. */
  remove(address: string, scope?: string): Promise<boolean>;
  /** The entries, unexpired, that stop mail to these addresses on this stream (scope `*` or the stream). */
  check(addresses: readonly string[], stream: string | undefined): Promise<ReadonlyMap<string, Suppression>>;
  /** Every unexpired entry. */
  list(): AsyncIterable<Suppression>;
}

/**
 * The address as suppression compares it: all lower-case. RFC 5321 lets a local part be
 * case-sensitive, but no large provider treats it so, and a bounce for `Ana@shop.example` must stop
 * mail to `ana@shop.example`. Only the comparison key: the address sent to is never changed.
 */
export function suppressionKey(address: string): string {
  return address.trim().toLowerCase();
}
