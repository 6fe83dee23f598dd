/**
 * `joinReport`: a parsed report becomes events only once the send log knows the message it is
 * about. A report that joins to nothing gives no events and a reason: a mail-borne report about a
 * message we never sent counts for nothing.
 */
import { parseVerpAddress, type VerpOptions } from '@mailport/core/verp';
import {
  type BounceDetails,
  type EventSource,
  eventId,
  type JoinMethod,
  type MailEvent,
  type MailEventType,
  type SendLog,
  type SendLogEntry,
  suppressionKey,
} from '../model.js';
import { decodeXtext, isoDate, messageIdOf, replyClassIn } from './report-fields.js';
import { parseReport } from './report-parse.js';
import type { DeliveryStatusRecipient, MailReport, ParseReportOptions } from './report-types.js';

/** Where a report came from and how to find its message. */
export interface JoinContext {
  /** The send log the mailer writes (`createMemorySendLog()` of `@mailport/events`, or your own). */
  readonly sendLog: SendLog;
  /** The events' `source`: `smtp` (a bounce receiver), `gmail`, `graph` (a mailbox reader). */
  readonly source: EventSource;
  /** The VERP settings the SMTP transport signs envelope senders with; without them VERP is not tried. */
  readonly verp?: VerpOptions | undefined;
  /** The address the report was delivered to (the SMTP `RCPT TO`, or the mailbox's `Delivered-To`). */
  readonly envelopeTo?: string | undefined;
}

/** What {@link joinReport} made of a report. */
export interface JoinResult {
  /** One per recipient; empty when the report is not joined or reports nothing. */
  readonly events: MailEvent[];
  /** How the message was found; undefined when it was not. */
  readonly joinedBy: JoinMethod | undefined;
  /** Why there are no events, or why some recipients were left out. */
  readonly reason?: string;
}

/**
 * The send log entry for an id: as a Message-ID `<...>`, then (an ENVID may be any string the
 * sender chose) as written.
 */
async function lookUp(sendLog: SendLog, id: string | undefined): Promise<SendLogEntry | undefined> {
  if (id === undefined || id.trim() === '' || id.length > 998) return undefined;
  const candidates = new Set<string>();
  const bracketed = messageIdOf(id);
  if (bracketed !== undefined) candidates.add(bracketed);
  candidates.add(id.trim());
  for (const candidate of candidates) {
    const entry = await sendLog.get(candidate);
    if (entry !== undefined) return entry;
  }
  return undefined;
}

/** Whether `address` is at the VERP domain with the VERP local part, whatever its MAC. */
function looksLikeVerp(address: string, verp: VerpOptions): boolean {
  const at = address.lastIndexOf('@');
  if (at < 0 || address.slice(at + 1).toLowerCase() !== verp.domain.toLowerCase()) return false;
  return address
    .slice(0, at)
    .toLowerCase()
    .startsWith(`${(verp.local ?? 'bounces').toLowerCase()}+`);
}

/**
 * Finds the sent message a report is about and turns the report into events: by the VERP token of
 * `context.envelopeTo` (its HMAC checked), then the DSN's `Original-Envelope-Id`, the returned
 * copy's Message-ID, and the report's `In-Reply-To`, in that order (a feedback report's
 * `Original-Mail-From` counts as a VERP address too, after the envelope recipient). An envelope
 * recipient that is VERP-shaped with a MAC that does not verify refuses the report outright.
 * Rejects only when the send log does, or when `context.verp.secret` is shorter than 16 bytes.
 *
 * Events about a recipient the send log does not list for that message are dropped (a recipient of
 * a message knows its Message-ID and could otherwise forge a bounce for someone else). A complaint
 * whose recipient the feedback loop redacted gives `recipient: undefined`: it cannot suppress an
 * address, and the reason says so.
 *
 * @example
 * ```ts
 * const report = await parseReport(raw);
 * const { events, reason } = await joinReport(report, { sendLog, source: 'smtp', verp, envelopeTo: rcptTo });
 * if (events.length === 0) console.warn('report ignored:', reason);
 * ```
 */
export async function joinReport(report: MailReport, context: JoinContext): Promise<JoinResult> {
  if (report.kind === 'unrecognised')
    return { events: [], joinedBy: undefined, reason: 'not a report: no bounce, delay, complaint or auto-reply was recognised' };
  let entry: SendLogEntry | undefined;
  let joinedBy: JoinMethod | undefined;
  if (context.verp !== undefined) {
    // The envelope recipient first; then a feedback report's Original-Mail-From, which is the VERP
    // address when the complaint reaches a feedback-loop mailbox rather than the bounce domain.
    const candidates: [string, boolean][] = [];
    if (context.envelopeTo !== undefined) candidates.push([context.envelopeTo, true]);
    if (report.feedback?.originalMailFrom !== undefined) candidates.push([report.feedback.originalMailFrom, false]);
    for (const [candidate, envelope] of candidates) {
      const address = candidate.trim().replace(/^<|>$/g, '');
      // Throws only for a VERP secret under 16 bytes: the caller's configuration, not the report.
      const token = parseVerpAddress(address, context.verp);
      if (token === undefined) {
        if (envelope && looksLikeVerp(address, context.verp)) {
          return { events: [], joinedBy: undefined, reason: 'the VERP address it was sent to does not verify (forged or damaged MAC)' };
        }
        continue;
      }
      entry = await context.sendLog.getByVerpToken(token);
      if (entry !== undefined) {
        joinedBy = 'verp';
        break;
      }
    }
  }
  // An ENVID as written, then xtext-decoded: a Message-ID with "+2B" in it must not be decoded twice.
  const envelopeId = report.original.envelopeId;
  const decodedEnvelopeId = envelopeId === undefined ? undefined : decodeXtext(envelopeId);
  const tries: [JoinMethod, string | undefined][] = [
    ['envid', envelopeId],
    ['envid', decodedEnvelopeId === envelopeId ? undefined : decodedEnvelopeId],
    ['message-id', report.original.messageId],
    ['in-reply-to', report.inReplyTo],
  ];
  for (const [method, id] of tries) {
    if (entry !== undefined) break;
    entry = await lookUp(context.sendLog, id);
    if (entry !== undefined) joinedBy = method;
  }
  if (entry === undefined || joinedBy === undefined) {
    return {
      events: [],
      joinedBy: undefined,
      reason: 'not in the send log: no VERP token, Original-Envelope-Id, returned Message-ID or In-Reply-To names a message that was sent',
    };
  }
  return eventsFor(report, entry, joinedBy, context.source);
}

/**
 * Parses and joins: {@link parseReport} then {@link joinReport} (`maxBytes` and `timeoutMs` as in
 * `parseReport`). Never rejects for a bad report; a send log that throws rejects.
 *
 * @example
 * ```ts
 * const { events } = await reportEvents(rawMessage, { sendLog, source: 'gmail' });
 * await pipeline.handle(events);
 * ```
 */
export async function reportEvents(raw: Uint8Array | string, context: JoinContext & ParseReportOptions): Promise<JoinResult> {
  const report = await parseReport(raw, { maxBytes: context.maxBytes, timeoutMs: context.timeoutMs });
  return joinReport(report, context);
}

interface Draft {
  type: MailEventType;
  recipient: string | undefined;
  timestamp: string | undefined;
  bounce?: BounceDetails;
  delay?: MailEvent['delay'];
  complaint?: MailEvent['complaint'];
  providerEventType: string;
}

function eventsFor(report: MailReport, entry: SendLogEntry, joinedBy: JoinMethod, source: EventSource): JoinResult {
  const sent = new Set(entry.recipients.map((recipient) => suppressionKey(recipient)));
  const known = (address: string | undefined): boolean => address !== undefined && sent.has(suppressionKey(address));
  const drafts: Draft[] = [];
  const reasons: string[] = [];
  let dropped = 0;

  if (report.kind === 'delivery-status') {
    for (const recipient of report.recipients) {
      const address = pickRecipient(recipient, known);
      if (sent.size > 0 && !known(address)) {
        dropped++;
        continue;
      }
      drafts.push(deliveryDraft(report, recipient, address));
    }
  } else if (report.kind === 'feedback' && report.feedback !== undefined) {
    const feedback = report.feedback;
    const notSpam = feedback.feedbackType === 'not-spam' || feedback.feedbackType === 'auth-failure';
    const complaint = {
      feedbackType: feedback.feedbackType,
      userAgent: feedback.userAgent,
      arrivalDate: isoDate(feedback.arrivalDate),
    };
    const providerEventType = `multipart/report; report-type=feedback-report; feedback-type=${feedback.feedbackType ?? 'unknown'}`;
    const type: MailEventType = notSpam ? 'unknown' : 'complained';
    for (const address of feedback.originalRcptTo) {
      if (sent.size > 0 && !known(address)) {
        dropped++;
        continue;
      }
      drafts.push({ type, recipient: address, timestamp: complaint.arrivalDate, complaint, providerEventType });
    }
    if (feedback.originalRcptTo.length === 0) {
      drafts.push({ type, recipient: undefined, timestamp: complaint.arrivalDate, complaint, providerEventType });
      reasons.push('the feedback report redacts or leaves out its recipient: the complaint cannot suppress an address');
    }
  } else if (report.kind === 'auto-reply') {
    // Who replied; an alias or a forwarded mailbox may answer for a recipient, so it is not filtered.
    drafts.push({
      type: 'auto-replied',
      recipient: report.autoReply?.from ?? report.from,
      timestamp: undefined,
      providerEventType: `auto-reply; ${report.format ?? ''}`,
    });
  }
  if (dropped > 0) reasons.push(`${dropped} recipient(s) not among the message's recipients in the send log were left out`);
  if (drafts.length === 0 && reasons.length === 0) reasons.push('the report names no recipient');

  const raw = typeof report.raw === 'string' ? report.raw.slice(0, 65_536) : '';
  // The report's own Message-ID identifies it across re-deliveries; without one, its bytes do.
  const reportKey =
    report.messageId ??
    (typeof report.sourceHash === 'string' && report.sourceHash !== ''
      ? `sha256:${report.sourceHash}`
      : `fields:${report.date ?? ''}:${report.from ?? ''}:${report.subject ?? ''}`);
  const fallbackTime = report.date ?? new Date().toISOString();
  const seen = new Set<string>();
  const events: MailEvent[] = [];
  for (const draft of drafts) {
    const id = eventId([source, reportKey, draft.type, draft.recipient]);
    if (seen.has(id)) continue;
    seen.add(id);
    const event: MailEvent = {
      id,
      type: draft.type,
      timestamp: draft.timestamp ?? fallbackTime,
      messageId: entry.messageId,
      providerMessageId: entry.providerMessageId,
      source,
      recipient: draft.recipient,
      ...(draft.bounce !== undefined ? { bounce: Object.freeze(draft.bounce) } : {}),
      ...(draft.delay !== undefined ? { delay: Object.freeze(draft.delay) } : {}),
      ...(draft.complaint !== undefined ? { complaint: Object.freeze(draft.complaint) } : {}),
      tags: Object.freeze([...entry.tags]),
      metadata: Object.freeze({ ...entry.metadata }),
      providerEventType: draft.providerEventType,
      joinedBy,
      raw,
    };
    events.push(Object.freeze(event));
  }
  return reasons.length > 0 ? { events, joinedBy, reason: reasons.join('; ') } : { events, joinedBy };
}

/** The address the message was sent to: the one the send log knows, else `Original-Recipient`, else `Final-Recipient`. */
function pickRecipient(recipient: DeliveryStatusRecipient, known: (address: string | undefined) => boolean): string | undefined {
  if (known(recipient.originalRecipient)) return recipient.originalRecipient;
  if (known(recipient.finalRecipient)) return recipient.finalRecipient;
  return recipient.originalRecipient ?? recipient.finalRecipient;
}

/**
 * RFC 3464 `Action` to an event: `failed` is a bounce (5.x.x hard; 4.x.x soft; otherwise the SMTP
 * reply code in the diagnostic, else undetermined), `delayed` is `deferred` (never a bounce),
 * `delivered`, `relayed` and `expanded` are `delivered` (the reporting MTA took responsibility).
 */
function deliveryDraft(report: MailReport, recipient: DeliveryStatusRecipient, address: string | undefined): Draft {
  const providerEventType =
    report.format === 'rfc3464'
      ? `multipart/report; report-type=delivery-status; action=${recipient.action ?? 'unknown'}`
      : `${report.format ?? 'delivery-status'}; action=${recipient.action ?? 'unknown'}`;
  const timestamp = isoDate(recipient.lastAttemptDate) ?? report.date ?? isoDate(report.arrivalDate);
  // No readable Action: a 2.x.x status is a delivery, a delay notice's subject a delay.
  const action =
    recipient.action ??
    (recipient.status?.startsWith('2.')
      ? 'delivered'
      : /\(Delay\)|\bDelayed Mail\b|\bdelayed\b/i.test(report.subject ?? '')
        ? 'delayed'
        : undefined);
  switch (action) {
    case 'delayed':
      return {
        type: 'deferred',
        recipient: address,
        timestamp,
        delay: {
          status: recipient.status,
          diagnostic: recipient.diagnosticCode,
          reportingMta: report.reportingMta,
          retryUntil: recipient.willRetryUntil,
        },
        providerEventType,
      };
    case 'delivered':
    case 'relayed':
    case 'expanded':
      return { type: 'delivered', recipient: address, timestamp, providerEventType };
    default: {
      // `failed`, or no readable action in a report that is a failure notice.
      const statusClass = recipient.status?.[0];
      const replyClass = replyClassIn(recipient.diagnosticCode);
      const kind =
        statusClass === '5'
          ? 'hard'
          : statusClass === '4'
            ? 'soft'
            : replyClass === '5'
              ? 'hard'
              : replyClass === '4'
                ? 'soft'
                : 'undetermined';
      return {
        type: 'bounced',
        recipient: address,
        timestamp,
        bounce: { kind, status: recipient.status, diagnostic: recipient.diagnosticCode, reportingMta: report.reportingMta },
        providerEventType,
      };
    }
  }
}
