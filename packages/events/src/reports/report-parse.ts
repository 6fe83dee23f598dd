/**
 * `parseReport`: a message that came back, read as a delivery status notification, a feedback
 * report, an auto-reply or nothing recognised. mailparser does the MIME; the report fields are read
 * by report-fields.ts; prose bounces by report-text.ts. Never throws.
 */
import { createHash } from 'node:crypto';
import type { AddressObject, HeaderValue } from 'mailparser';
import { readDeliveryStatus } from './report-dsn.js';
import {
  addressOf,
  dateOf,
  type Field,
  fieldValue,
  isoDate,
  messageIdOf,
  messageIdsOf,
  normaliseAddress,
  readFields,
  readHeaderBlock,
} from './report-fields.js';
import { type ParsedMime, parseMime } from './report-mime.js';
import {
  readAngleList,
  readDsnText,
  readExchangeText,
  readExim,
  readFailedRecipientsHeader,
  readGmailText,
  type TextBounce,
} from './report-text.js';
import type {
  FeedbackReportFields,
  MailReport,
  MailReportFormat,
  MailReportOrigin,
  ParseReportOptions,
  ReportedOriginal,
} from './report-types.js';

/** Default {@link ParseReportOptions.maxBytes}: 10 MB. */
export const defaultMaxReportBytes: number = 10 * 1024 * 1024;
/** Default {@link ParseReportOptions.timeoutMs}. */
export const defaultReportTimeoutMs = 5_000;
/** How much of a report's source events carry as `raw`. */
export const maxRawChars = 65_536;

/**
 * Reads a message that came back to the sender. Returns `unrecognised` (with `warnings`) for
 * anything it cannot read, a message over `maxBytes`, or a parse past `timeoutMs`; never throws.
 *
 * @example
 * ```ts
 * const report = await parseReport(rawBytes);
 * if (report.kind === 'delivery-status') for (const r of report.recipients) console.log(r.action, r.status);
 * ```
 */
export async function parseReport(raw: Uint8Array | string, options: ParseReportOptions = {}): Promise<MailReport> {
  let bytes: Buffer;
  try {
    bytes = typeof raw === 'string' ? Buffer.from(raw, 'utf8') : Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
  } catch {
    return freeze({ ...empty(), raw: '', sourceHash: '', warnings: ['the input is neither a string nor bytes'] });
  }
  const sourceHash = createHash('sha256').update(bytes).digest('base64url');
  const rawText = bytes
    .subarray(0, maxRawChars * 4)
    .toString('utf8')
    .slice(0, maxRawChars);
  const maxBytes = positive(options.maxBytes, defaultMaxReportBytes);
  if (bytes.length > maxBytes) {
    return freeze({
      ...empty(),
      raw: rawText,
      sourceHash,
      warnings: [`the message is ${bytes.length} bytes, over maxBytes (${maxBytes})`],
    });
  }
  try {
    const mime = await parseMime(bytes, positive(options.timeoutMs, defaultReportTimeoutMs));
    return freeze({ ...classify(mime), raw: rawText, sourceHash });
  } catch (error) {
    // Not expected: classify() reads untrusted values defensively. Kept so parseReport never throws.
    const message = error instanceof Error ? error.message.slice(0, 200) : 'unknown error';
    return freeze({ ...empty(), raw: rawText, sourceHash, warnings: [`the report could not be read: ${message}`] });
  }
}

function positive(value: number | undefined, fallback: number): number {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : fallback;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

function empty(): Omit<Mutable<MailReport>, 'raw' | 'sourceHash'> {
  return {
    kind: 'unrecognised',
    format: undefined,
    origin: undefined,
    messageId: undefined,
    date: undefined,
    from: undefined,
    subject: undefined,
    inReplyTo: undefined,
    references: [],
    original: { messageId: undefined, envelopeId: undefined, from: undefined, subject: undefined },
    reportingMta: undefined,
    arrivalDate: undefined,
    recipients: [],
    feedback: undefined,
    autoReply: undefined,
    warnings: [],
  };
}

function freeze<T extends MailReport>(report: T): T {
  for (const recipient of report.recipients) Object.freeze(recipient);
  Object.freeze(report.recipients);
  Object.freeze(report.references);
  Object.freeze(report.warnings);
  Object.freeze(report.original);
  if (report.feedback !== undefined) {
    Object.freeze(report.feedback.originalRcptTo);
    Object.freeze(report.feedback);
  }
  if (report.autoReply !== undefined) Object.freeze(report.autoReply);
  return Object.freeze(report);
}

/** The report's own header lines as fields (raw values, unfolded). */
function topFields(mime: ParsedMime): Field[] {
  const out: Field[] = [];
  for (const { line } of mime.headerLines.slice(0, 2_000)) {
    for (const token of readFields(line, 65_536)) if (token !== 'blank') out.push(token);
  }
  return out;
}

function firstAddress(value: HeaderValue | undefined): string | undefined {
  if (value === undefined || typeof value !== 'object' || value instanceof Date || Array.isArray(value)) return undefined;
  const list = (value as AddressObject).value;
  if (!Array.isArray(list)) return undefined;
  for (const entry of list) if (typeof entry.address === 'string') return normaliseAddress(entry.address);
  return undefined;
}

const mailerDaemon = /^(?:mailer-daemon|mailer_daemon|mailerdaemon|postmaster|mail-daemon|mdaemon|mmdf|mail\.delivery|bounce|bounces)$/i;

function classify(mime: ParsedMime): Omit<Mutable<MailReport>, 'raw' | 'sourceHash'> {
  const report = empty();
  const warnings: string[] = [];
  if (mime.failure !== undefined) warnings.push(mime.failure);
  const fields = topFields(mime);
  report.messageId = messageIdOf(fieldValue(fields, 'message-id'));
  // Read from the raw field: mailparser gives the current time for a Date it cannot parse.
  report.date = isoDate(fieldValue(fields, 'date'));
  report.from = firstAddress(mime.headers.get('from'));
  const subject = mime.headers.get('subject');
  report.subject = typeof subject === 'string' ? subject.slice(0, 998) : undefined;
  report.inReplyTo = messageIdOf(fieldValue(fields, 'in-reply-to'));
  report.references = messageIdsOf(
    fields
      .filter((field) => field.name === 'references')
      .map((field) => field.value)
      .join(' '),
  );
  report.warnings = warnings;
  // A parse that did not finish is not believed: its parts may be cut short.
  if (mime.failure !== undefined) return report;

  const dsnParts = mime.parts.filter(
    (part) => part.contentType === 'message/delivery-status' || part.contentType === 'message/global-delivery-status',
  );
  const feedbackParts = mime.parts.filter((part) => part.contentType === 'message/feedback-report');
  const originalPart = mime.parts.find((part) =>
    ['message/rfc822', 'message/global', 'text/rfc822-headers', 'message/rfc822-headers', 'message/global-headers'].includes(
      part.contentType,
    ),
  );
  const originalHeaders = originalPart === undefined ? [] : readHeaderBlock(originalPart.text);
  const original: Mutable<ReportedOriginal> = {
    messageId: messageIdOf(fieldValue(originalHeaders, 'message-id')),
    envelopeId: undefined,
    from: addressOf(fieldValue(originalHeaders, 'from')),
    subject: fieldValue(originalHeaders, 'subject')?.slice(0, 998),
  };
  report.original = original;
  const fromLocal = report.from?.slice(0, report.from.lastIndexOf('@')) ?? '';
  const fromName = (() => {
    const value = mime.headers.get('from');
    return typeof value === 'object' && value !== null && 'text' in value ? String((value as AddressObject).text) : '';
  })();
  const looksLikeMailSystem =
    mailerDaemon.test(fromLocal) ||
    /mail delivery (?:system|subsystem)/i.test(fromName) ||
    fieldValue(fields, 'x-failed-recipients') !== undefined;

  if (feedbackParts.length > 0) {
    const feedbackFields: Field[] = [];
    for (const token of readFields(feedbackParts.map((part) => part.text).join('\n'))) if (token !== 'blank') feedbackFields.push(token);
    report.kind = 'feedback';
    report.format = 'arf';
    report.feedback = readFeedback(feedbackFields);
    report.origin = originOf(report, fields, undefined);
    return report;
  }

  if (dsnParts.length > 0) {
    const tokens = dsnParts.flatMap((part) => [...readFields(part.text), 'blank' as const]);
    const dsn = readDeliveryStatus(tokens);
    if (dsnParts.some((part) => part.truncated)) warnings.push('a delivery-status part was longer than 256 KB and was cut');
    report.kind = 'delivery-status';
    report.format = 'rfc3464';
    report.recipients = dsn.recipients;
    report.reportingMta = dsn.message.reportingMta;
    report.arrivalDate = dsn.message.arrivalDate;
    original.envelopeId = dsn.message.originalEnvelopeId;
    original.messageId ??= dsn.message.originalMessageId;
    if (dsn.recipients.length === 0) warnings.push('the delivery-status part names no recipient');
    report.origin = originOf(report, fields, dsnParts.map((part) => part.text.slice(0, 4_096)).join('\n'));
    return report;
  }

  if (looksLikeMailSystem) {
    // The first reader that finds a recipient wins; structured fields before prose.
    const readers: (() => TextBounce | undefined)[] = [
      () => readExim(mime.text, report.subject),
      () => readGmailText(mime.text, report.from),
      () => {
        const dsnText = readDsnText(mime.text);
        if (dsnText === undefined) return undefined;
        const dsn = readDeliveryStatus(dsnText.tokens);
        if (dsn.recipients.length > 0) {
          report.arrivalDate = dsn.message.arrivalDate;
          original.envelopeId = dsn.message.originalEnvelopeId;
        }
        return {
          format: 'rfc3464-text',
          recipients: dsn.recipients,
          originalMessageId: dsnText.originalMessageId,
          reportingMta: dsn.message.reportingMta,
        };
      },
      () => readAngleList(mime.text, report.subject),
      () => readExchangeText(mime.text),
      () => readFailedRecipientsHeader(fieldValue(fields, 'x-failed-recipients'), mime.text),
    ];
    let text: TextBounce | undefined;
    for (const reader of readers) {
      const found = reader();
      if (found !== undefined && found.recipients.length > 0) {
        text = found;
        break;
      }
    }
    if (text !== undefined && text.recipients.length > 0) {
      report.kind = 'delivery-status';
      report.format = text.format;
      report.recipients = [...text.recipients];
      report.reportingMta ??= text.reportingMta;
      original.messageId ??= text.originalMessageId;
      report.origin = originOf(report, fields, undefined);
      return report;
    }
    // A mailer daemon's message that says nothing readable is not an auto-reply either.
    warnings.push('the message comes from a mail system but names no recipient that failed');
    return report;
  }

  const marker = autoReplyMarker(fields, report.subject);
  if (marker !== undefined) {
    report.kind = 'auto-reply';
    report.format = marker.format;
    report.autoReply = { from: report.from, marker: marker.marker };
    report.origin = originOf(report, fields, undefined);
    return report;
  }
  return report;
}

function readFeedback(fields: readonly Field[]): FeedbackReportFields {
  const rcptTo: string[] = [];
  let redacted = 0;
  let seen = 0;
  for (const field of fields) {
    if (field.name !== 'original-rcpt-to' || seen >= 1_000) continue;
    seen++;
    const address = addressOf(field.value);
    if (address === undefined || looksRedacted(address)) redacted++;
    else rcptTo.push(address);
  }
  if (seen === 0) redacted = 1;
  const value = (name: string): string | undefined => fieldValue(fields, name)?.slice(0, 998) || undefined;
  return {
    feedbackType: value('feedback-type')?.toLowerCase(),
    userAgent: value('user-agent'),
    version: value('version'),
    originalMailFrom: addressOf(fieldValue(fields, 'original-mail-from')),
    originalRcptTo: rcptTo,
    redactedRecipients: redacted,
    arrivalDate: dateOf(fieldValue(fields, 'arrival-date') ?? fieldValue(fields, 'received-date')),
    reportedDomain: value('reported-domain'),
    sourceIp: value('source-ip'),
  };
}

/** RFC 6590 redaction as feedback loops do it: `redacted@`, a run of `x` or `*`, a hash marker. */
function looksRedacted(address: string): boolean {
  const local = address.slice(0, address.lastIndexOf('@')).toLowerCase();
  return local === 'redacted' || local === 'hashed' || /^[x*#]+$/.test(local) || local.includes('[redacted]');
}

const autoSubjects =
  /^\s*(?:automatic reply|auto(?:matic)?[ -]?reply|auto[ -]?response|auto[ -]?respond(?:er)?|out of (?:the )?office|abwesenheitsnotiz|r[ée]ponse automatique|respuesta autom[áa]tica|risposta automatica|automatisch antwoord|away from (?:my|the) (?:mail|office))\b/i;

/**
 * RFC 3834 first; then markers that are on their own proof (`X-Autoreply`, `X-Autorespond`,
 * `Precedence: auto_reply`, Apple's `X-Apple-Action: VACATION`); then Exchange's hints
 * (`X-Auto-Response-Suppress`, `X-MS-Exchange-Inbox-Rules-Loop`) or `Precedence: bulk|junk`, which
 * only count with an auto-reply subject: bulk senders set them on ordinary mail too.
 */
function autoReplyMarker(fields: readonly Field[], subject: string | undefined): { format: MailReportFormat; marker: string } | undefined {
  const value = (name: string): string | undefined => fieldValue(fields, name)?.trim().slice(0, 200);
  const submitted = value('auto-submitted');
  if (submitted !== undefined) {
    const keyword = submitted.split(/[;\s(]/, 1)[0]?.toLowerCase() ?? '';
    if (keyword !== '' && keyword !== 'no') return { format: 'rfc3834', marker: `Auto-Submitted: ${keyword}` };
    // `Auto-Submitted: no` says a person wrote it: believed over every hint below.
    if (keyword === 'no') return undefined;
  }
  for (const name of ['x-autoreply', 'x-autorespond', 'x-autoresponder', 'x-autogenerated']) {
    const found = value(name);
    if (found !== undefined && !/^(?:no|false|0)$/i.test(found)) return { format: 'auto-reply-header', marker: `${name}: ${found}` };
  }
  const precedence = value('precedence')?.toLowerCase();
  if (precedence === 'auto_reply' || value('x-precedence')?.toLowerCase() === 'auto_reply')
    return { format: 'auto-reply-header', marker: 'Precedence: auto_reply' };
  if (value('x-apple-action')?.toUpperCase() === 'VACATION') return { format: 'auto-reply-header', marker: 'X-Apple-Action: VACATION' };
  const hint =
    (value('x-auto-response-suppress') !== undefined && 'X-Auto-Response-Suppress') ||
    (value('x-ms-exchange-inbox-rules-loop') !== undefined && 'X-MS-Exchange-Inbox-Rules-Loop') ||
    ((precedence === 'bulk' || precedence === 'junk') && `Precedence: ${precedence}`) ||
    undefined;
  if (hint !== undefined && autoSubjects.test((subject ?? '').slice(0, 200)))
    return { format: 'auto-reply-subject', marker: `${hint} and the subject` };
  return undefined;
}

function originOf(
  report: Omit<MailReport, 'raw' | 'sourceHash'>,
  fields: readonly Field[],
  dsnText: string | undefined,
): MailReportOrigin | undefined {
  const from = report.from ?? '';
  const mta = (report.reportingMta ?? '').toLowerCase();
  if (/amazonses\.com$/i.test(from) || mta.includes('amazonses.com')) return 'ses';
  if (/@(?:googlemail|gmail)\.com$/i.test(from) || mta === 'googlemail.com' || mta.endsWith('.google.com')) return 'gmail';
  if (
    fieldValue(fields, 'x-ms-exchange-message-is-ndr') !== undefined ||
    /(?:outlook\.com|exchangelabs\.com|protection\.outlook\.com)$/.test(mta) ||
    fieldValue(fields, 'x-ms-exchange-inbox-rules-loop') !== undefined
  )
    return 'exchange';
  if (/@(?:[a-z0-9-]+\.)*yahoo(?:inc)?\.com$/i.test(from)) return 'yahoo';
  if (report.format === 'postfix-text') return 'postfix';
  if (report.format === 'qmail') return 'qmail';
  if (report.format === 'exim' || /eximdsn/i.test(String(fieldValue(fields, 'content-type') ?? ''))) return 'exim';
  if (dsnText !== undefined && /^X-Postfix-/im.test(dsnText)) return 'postfix';
  if (/^Returned mail:/i.test(report.subject ?? '')) return 'sendmail';
  return report.kind === 'unrecognised' ? undefined : 'other';
}
