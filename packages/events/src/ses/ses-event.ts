import { eventId, type MailEvent, type MailEventType } from '../model.js';
import { mtaOf } from '../reports/report-fields.js';

// SES's record formats, from AWS's documentation:
// https://docs.aws.amazon.com/ses/latest/dg/event-publishing-retrieving-sns-contents.html (event publishing)
// https://docs.aws.amazon.com/ses/latest/dg/notification-contents.html (identity notifications)

/** SES's `eventType` (or `notificationType`) -> mailport's type. `Subscription` is decided per record. */
const typeByProvider: Readonly<Record<string, MailEventType>> = {
  Send: 'sent',
  Reject: 'rejected',
  Bounce: 'bounced',
  Complaint: 'complained',
  Delivery: 'delivered',
  DeliveryDelay: 'deferred',
  Open: 'opened',
  Click: 'clicked',
  'Rendering Failure': 'failed',
  Subscription: 'unsubscribed',
};

/** A message has at most 50 recipients on SES; a record naming more is hostile, not a reason to emit thousands. */
const maxRecipients = 100;
/** Longest text kept from one field (a diagnostic, a user agent): the record is in `raw` anyway. */
const maxText = 2000;

type Json = Record<string, unknown>;

/** A JSON object (not null, not an array), or undefined. */
export function object(value: unknown): Json | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Json) : undefined;
}

function text(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const trimmed = value.trim();
  if (trimmed === '') return undefined;
  return trimmed.length > maxText ? trimmed.slice(0, maxText) : trimmed;
}

function list(value: unknown): readonly unknown[] {
  return Array.isArray(value) ? value.slice(0, maxRecipients) : [];
}

/** ISO 8601 in UTC, or undefined for anything `Date` cannot read. */
function isoTime(value: unknown): string | undefined {
  if (typeof value !== 'string' || value.length > 64) return undefined;
  const time = Date.parse(value);
  return Number.isNaN(time) ? undefined : new Date(time).toISOString();
}

/** `Ana@Shop.Example` -> `Ana@shop.example`; angle brackets and spaces dropped; undefined when empty. */
function recipient(value: unknown): string | undefined {
  let address = text(value);
  if (address === undefined) return undefined;
  const angle = /<([^<>]*)>\s*$/.exec(address);
  if (angle?.[1] !== undefined) address = angle[1].trim();
  if (address === '' || address.length > 320) return undefined;
  const at = address.lastIndexOf('@');
  return at < 0 ? address : `${address.slice(0, at)}@${address.slice(at + 1).toLowerCase()}`;
}

/** The Message-ID core assigned: `mail.commonHeaders.messageId`, else a `Message-ID` in `mail.headers`. */
function messageIdOf(mail: Json): string | undefined {
  let value = text(object(mail.commonHeaders)?.messageId);
  if (value === undefined) {
    for (const header of list(mail.headers)) {
      const entry = object(header);
      if (typeof entry?.name === 'string' && entry.name.toLowerCase() === 'message-id') {
        value = text(entry.value);
        break;
      }
    }
  }
  if (value === undefined || value.length > 998) return undefined;
  return value.startsWith('<') ? value : `<${value}>`;
}

/**
 * SES tags back to the message's own tags and metadata, the inverse of the SES transport's
 * `sesEmailTags`: a tag `x` was sent as `x: true` and a metadata entry `k: v` as `k: v`. SES's own
 * tags (`ses:configuration-set`, `ses:source-ip`, ...) are left out: they stay in `raw`. A metadata
 * entry whose value was the text `true` comes back as a tag; the send log, when there is one,
 * gives the exact tags and metadata.
 */
function tagsOf(mail: Json): { tags: string[]; metadata: Record<string, string> } {
  const tags: string[] = [];
  const entries: [string, string][] = [];
  const given = object(mail.tags);
  if (given !== undefined) {
    for (const [name, values] of Object.entries(given).slice(0, 100)) {
      if (name.startsWith('ses:') || name.length > 256) continue;
      const value = Array.isArray(values) ? values.find((item) => typeof item === 'string') : values;
      if (typeof value !== 'string' || value.length > 256) continue;
      if (value === 'true') tags.push(name);
      else entries.push([name, value]);
    }
  }
  // fromEntries defines own properties, so a tag named `__proto__` stays data.
  return { tags, metadata: Object.fromEntries(entries) };
}

interface Detail {
  readonly recipient: string | undefined;
  readonly timestamp: string;
  /** The last part of the event id: the feedback id, or the event's own time. */
  readonly key: string | undefined;
  readonly bounce?: MailEvent['bounce'];
  readonly delay?: MailEvent['delay'];
  readonly complaint?: MailEvent['complaint'];
  readonly url?: string | undefined;
}

function bounceKind(type: string | undefined): 'hard' | 'soft' | 'undetermined' {
  if (type === 'Permanent') return 'hard';
  if (type === 'Transient') return 'soft';
  return 'undetermined';
}

/** The distinct readable recipients of `mail.destination`. */
function destinations(mail: Json): string[] {
  return [
    ...new Set(
      list(mail.destination)
        .map(recipient)
        .filter((item) => item !== undefined),
    ),
  ];
}

/** Recipients of `mail.destination`, one detail each; one without a recipient when there are none. */
function perDestination(mail: Json, timestamp: string, key: string | undefined): Detail[] {
  const recipients = destinations(mail);
  if (recipients.length === 0) return [{ recipient: undefined, timestamp, key }];
  return recipients.map((address) => ({ recipient: address, timestamp, key }));
}

/**
 * Opens, clicks and subscription changes come from one reader, and SES does not say which when the
 * message had several recipients: the recipient is the only destination, or undefined.
 */
function soleDestination(mail: Json): string | undefined {
  const recipients = destinations(mail);
  return recipients.length === 1 ? recipients[0] : undefined;
}

function details(providerType: string, record: Json, mail: Json, mailTime: string): { type: MailEventType; details: Detail[] } {
  const type = typeByProvider[providerType] ?? 'unknown';
  switch (providerType) {
    case 'Bounce': {
      const bounce = object(record.bounce) ?? {};
      const timestamp = isoTime(bounce.timestamp) ?? mailTime;
      const bounceType = text(bounce.bounceType);
      const subType = text(bounce.bounceSubType);
      const providerKind = bounceType === undefined ? undefined : subType === undefined ? bounceType : `${bounceType}/${subType}`;
      const key = text(bounce.feedbackId) ?? timestamp;
      const reportingMta = mtaOf(text(bounce.reportingMTA));
      const recipients = list(bounce.bouncedRecipients).map(object);
      const base = { kind: bounceKind(bounceType), providerKind, reportingMta };
      if (recipients.length === 0) return { type, details: [{ recipient: undefined, timestamp, key, bounce: base }] };
      return {
        type,
        details: recipients.map((entry) => ({
          recipient: recipient(entry?.emailAddress),
          timestamp,
          key,
          bounce: { ...base, status: text(entry?.status), diagnostic: text(entry?.diagnosticCode) },
        })),
      };
    }
    case 'Complaint': {
      const complaint = object(record.complaint) ?? {};
      const timestamp = isoTime(complaint.timestamp) ?? mailTime;
      const key = text(complaint.feedbackId) ?? timestamp;
      const detail = {
        feedbackType: text(complaint.complaintFeedbackType),
        userAgent: text(complaint.userAgent),
        arrivalDate: isoTime(complaint.arrivalDate),
      };
      const recipients = list(complaint.complainedRecipients).map((entry) => recipient(object(entry)?.emailAddress));
      if (recipients.length === 0) return { type, details: [{ recipient: undefined, timestamp, key, complaint: detail }] };
      return { type, details: recipients.map((address) => ({ recipient: address, timestamp, key, complaint: detail })) };
    }
    case 'Delivery': {
      const delivery = object(record.delivery) ?? {};
      const timestamp = isoTime(delivery.timestamp) ?? mailTime;
      const recipients = list(delivery.recipients).map(recipient);
      if (recipients.length === 0) return { type, details: perDestination(mail, timestamp, timestamp) };
      return { type, details: recipients.map((address) => ({ recipient: address, timestamp, key: timestamp })) };
    }
    case 'DeliveryDelay': {
      const delay = object(record.deliveryDelay) ?? {};
      const timestamp = isoTime(delay.timestamp) ?? mailTime;
      const base = {
        providerKind: text(delay.delayType),
        retryUntil: isoTime(delay.expirationTime),
        reportingMta: mtaOf(text(delay.reportingMTA)),
      };
      const recipients = list(delay.delayedRecipients).map(object);
      if (recipients.length === 0)
        return { type, details: perDestination(mail, timestamp, timestamp).map((item) => ({ ...item, delay: base })) };
      return {
        type,
        details: recipients.map((entry) => ({
          recipient: recipient(entry?.emailAddress),
          timestamp,
          key: timestamp,
          delay: { ...base, status: text(entry?.status), diagnostic: text(entry?.diagnosticCode) },
        })),
      };
    }
    case 'Open':
    case 'Click': {
      const action = object(providerType === 'Open' ? record.open : record.click) ?? {};
      const timestamp = isoTime(action.timestamp) ?? mailTime;
      const url = providerType === 'Click' ? text(action.link) : undefined;
      return { type, details: [{ recipient: soleDestination(mail), timestamp, key: timestamp, ...(url === undefined ? {} : { url }) }] };
    }
    case 'Subscription': {
      const subscription = object(record.subscription) ?? {};
      const timestamp = isoTime(subscription.timestamp) ?? mailTime;
      const preferences = object(subscription.newTopicPreferences) ?? {};
      const optedOut =
        preferences.unsubscribeAll === true ||
        list(preferences.topicSubscriptionStatus).some((topic) => object(topic)?.subscriptionStatus === 'OptOut');
      // Only an opt-out is an unsubscribe; an opt-in is kept, as `unknown`.
      return { type: optedOut ? 'unsubscribed' : 'unknown', details: [{ recipient: soleDestination(mail), timestamp, key: timestamp }] };
    }
    case 'Send':
    case 'Reject':
    case 'Rendering Failure':
      return { type, details: perDestination(mail, mailTime, mailTime) };
    default:
      return { type: 'unknown', details: [{ recipient: undefined, timestamp: mailTime, key: mailTime }] };
  }
}

/**
 * One SES record (configuration-set event publishing, `eventType`, or the older identity
 * notifications, `notificationType`) as mailport events, one per recipient. Never throws.
 *
 * - `Send` -> `sent`, `Reject` -> `rejected`, `Rendering Failure` -> `failed`: one event per
 *   `mail.destination`.
 * - `Bounce` -> `bounced`, one per `bounce.bouncedRecipients`: `bounceType` `Permanent` is `hard`,
 *   `Transient` `soft`, anything else `undetermined`; `providerKind` is `Permanent/General`; status,
 *   diagnostic (`diagnosticCode`) and reporting MTA (`reportingMTA` without its `dsn;` type).
 * - `Complaint` -> `complained`, one per `complaint.complainedRecipients`, with
 *   `complaintFeedbackType`, `userAgent` and `arrivalDate`.
 * - `Delivery` -> `delivered`, one per `delivery.recipients`.
 * - `DeliveryDelay` -> `deferred`, one per `deliveryDelay.delayedRecipients`: `delayType` as
 *   `providerKind`, `expirationTime` as `retryUntil`, status and diagnostic.
 * - `Open` -> `opened`, `Click` -> `clicked` (with `url`), `Subscription` -> `unsubscribed` (only
 *   when it opts out; an opt-in is `unknown`): one event, for the only destination, else with no
 *   recipient (SES does not say which recipient opened).
 * - Any other type -> one `unknown` event with no recipient, the provider's name in
 *   `providerEventType`.
 * - A record without a `mail.messageId` or any readable time (not an SES message event at all:
 *   `AmazonSnsSubscriptionSucceeded`, garbage) -> `[]`.
 *
 * `messageId` is `mail.commonHeaders.messageId` (the Message-ID core assigned, `<...>`),
 * `providerMessageId` is `mail.messageId` (the receipt's). Tags and metadata come from `mail.tags`,
 * the inverse of what the SES transport sends: `x: ['true']` is the tag `x`, `k: ['v']` the metadata
 * `k: v`, and SES's own `ses:*` tags are left out. The id is
 * `eventId(['ses', mail.messageId, type, recipient, feedbackId or the event's own time])`, so a
 * record delivered twice gives the same ids.
 *
 * @example
 * ```ts
 * const events = parseSesEvent(JSON.parse(snsEnvelope.Message));
 * ```
 */
export function parseSesEvent(record: unknown): MailEvent[] {
  try {
    return parse(record);
  } catch {
    // Nothing above throws on any JSON value; this is for a hostile object (a getter, a Proxy).
    return [];
  }
}

function parse(record: unknown): MailEvent[] {
  const top = object(record);
  if (top === undefined) return [];
  const mail = object(top.mail);
  const providerMessageId = text(mail?.messageId);
  if (mail === undefined || providerMessageId === undefined) return [];
  const providerType = text(top.eventType) ?? text(top.notificationType) ?? 'unknown';
  const firstTime = isoTime(mail.timestamp) ?? firstEventTime(top);
  if (firstTime === undefined) return [];
  const messageId = messageIdOf(mail);
  const { tags, metadata } = tagsOf(mail);
  const { type, details: items } = details(providerType, top, mail, firstTime);
  return items.map((item) =>
    Object.freeze({
      id: eventId(['ses', providerMessageId, providerType, item.recipient, item.key]),
      type,
      timestamp: item.timestamp,
      messageId,
      providerMessageId,
      source: 'ses',
      recipient: item.recipient,
      ...(item.bounce === undefined ? {} : { bounce: Object.freeze(item.bounce) }),
      ...(item.delay === undefined ? {} : { delay: Object.freeze(item.delay) }),
      ...(item.complaint === undefined ? {} : { complaint: Object.freeze(item.complaint) }),
      ...(item.url === undefined ? {} : { url: item.url }),
      tags: Object.freeze([...tags]),
      metadata: Object.freeze({ ...metadata }),
      providerEventType: providerType,
      raw: record,
    } satisfies MailEvent),
  );
}

/** A record whose `mail.timestamp` is missing still has the event's own time. */
function firstEventTime(top: Json): string | undefined {
  for (const key of ['bounce', 'complaint', 'delivery', 'deliveryDelay', 'open', 'click', 'subscription']) {
    const time = isoTime(object(top[key])?.timestamp);
    if (time !== undefined) return time;
  }
  return undefined;
}
