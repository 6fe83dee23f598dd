/**
 * What {@link parseReport} makes of a message that came back: a delivery status notification
 * (RFC 3464 and the plain-text variants of Exim and Gmail), a feedback report (RFC 5965 ARF), an
 * auto-reply (RFC 3834) or nothing it recognises. Every value was read from untrusted mail: it is
 * bounded in length, never evaluated, and a report is only believed once `joinReport` finds the
 * message it is about in the send log.
 */

/** Which kind of report a message is. An auto-reply is never a bounce. */
export type MailReportKind = 'delivery-status' | 'feedback' | 'auto-reply' | 'unrecognised';

/**
 * Which shape it had: `rfc3464` (a `message/delivery-status` part), `rfc3464-text` (the same
 * fields in a plain-text body), `exim` (Exim's plain-text bounce or delay warning), `gmail-text`
 * (Gmail's plain-text notices before 2011), `x-failed-recipients` (only that header said who
 * failed), `arf` (RFC 5965), `rfc3834` (`Auto-Submitted`), `auto-reply-header` (a non-standard
 * marker such as `X-Autoreply`, `Precedence: auto_reply`, Exchange's or Apple's),
 * `auto-reply-subject` (Exchange's `X-Auto-Response-Suppress` or `X-MS-Exchange-Inbox-Rules-Loop`
 * together with an "Automatic reply:" subject).
 */
export type MailReportFormat =
  | 'rfc3464'
  | 'rfc3464-text'
  | 'exim'
  | 'gmail-text'
  | 'postfix-text'
  | 'qmail'
  | 'exchange-text'
  | 'x-failed-recipients'
  | 'arf'
  | 'rfc3834'
  | 'auto-reply-header'
  | 'auto-reply-subject';

/** Who produced the report, when it is recognisably one of the large ones. */
export type MailReportOrigin = 'postfix' | 'exim' | 'qmail' | 'exchange' | 'gmail' | 'ses' | 'sendmail' | 'yahoo' | 'other';

/** What a DSN says happened to one recipient (RFC 3464 §2.3 `Action`). */
export type DeliveryAction = 'failed' | 'delayed' | 'delivered' | 'relayed' | 'expanded';

/** One recipient's block of a delivery status notification (RFC 3464 §2.3). */
export interface DeliveryStatusRecipient {
  /** `Final-Recipient`, the address only (`rfc822;` dropped), or `undefined` when it is not an address. */
  readonly finalRecipient: string | undefined;
  /** `Original-Recipient` (the ORCPT the sender gave), the address only. */
  readonly originalRecipient: string | undefined;
  /** `Action`; `undefined` when missing or not one of RFC 3464's five. */
  readonly action: DeliveryAction | undefined;
  /** RFC 3463 enhanced status (`5.1.1`, `4.4.7`), from `Status` or, when that is missing, the diagnostic. */
  readonly status: string | undefined;
  /** `Diagnostic-Code` as written (`smtp; 550 5.1.1 ...`), unfolded. */
  readonly diagnosticCode: string | undefined;
  /** `Remote-MTA`, the name only (`dns;` dropped). */
  readonly remoteMta: string | undefined;
  /** `Will-Retry-Until`, ISO 8601 when it parses, else as written. */
  readonly willRetryUntil: string | undefined;
  /** `Last-Attempt-Date`, ISO 8601 when it parses, else as written. */
  readonly lastAttemptDate: string | undefined;
}

/** The per-message fields of a feedback report (RFC 5965 §3.1 and §3.2). */
export interface FeedbackReportFields {
  /** `abuse`, `fraud`, `virus`, `other`, `not-spam`, `auth-failure`, ... lower-cased. */
  readonly feedbackType: string | undefined;
  readonly userAgent: string | undefined;
  readonly version: string | undefined;
  /** `Original-Mail-From`, the address only. */
  readonly originalMailFrom: string | undefined;
  /**
   * `Original-Rcpt-To`, addresses only; those that look redacted (RFC 6590: `redacted@`, `xxxx@`,
   * no `@`) are left out and counted in `redactedRecipients`.
   */
  readonly originalRcptTo: readonly string[];
  /** How many recipients the report hides (redacted values, or no `Original-Rcpt-To` at all). */
  readonly redactedRecipients: number;
  /** `Arrival-Date` (or the older `Received-Date`), ISO 8601 when it parses. */
  readonly arrivalDate: string | undefined;
  readonly reportedDomain: string | undefined;
  readonly sourceIp: string | undefined;
}

/** The identifiers of the message a report is about, from its returned copy or its own headers. */
export interface ReportedOriginal {
  /** The returned copy's `Message-ID` (`message/rfc822`, `message/global`, `text/rfc822-headers`, or a DSN's `X-Original-Message-ID`). */
  readonly messageId: string | undefined;
  /**
   * The DSN's `Original-Envelope-Id` (RFC 3461 ENVID) as the report writes it: decoded, as RFC 3461
   * §6.3 and Postfix do, or still in xtext, as some MTAs leave it. `joinReport` tries both readings.
   */
  readonly envelopeId: string | undefined;
  /** The returned copy's `From`, address only. */
  readonly from: string | undefined;
  /** The returned copy's `Subject` as written (encoded words are not decoded), at most 998 characters. */
  readonly subject: string | undefined;
}

/** A message that came back, as {@link parseReport} read it. Frozen. */
export interface MailReport {
  readonly kind: MailReportKind;
  /** The shape that was recognised; `undefined` for `unrecognised`. */
  readonly format: MailReportFormat | undefined;
  /** Who wrote it, guessed from `From`, `Reporting-MTA` and headers; `undefined` when unknown. */
  readonly origin: MailReportOrigin | undefined;
  /** The report's own `Message-ID`, `<...>` (event ids derive from it). */
  readonly messageId: string | undefined;
  /** The report's `Date`, ISO 8601. */
  readonly date: string | undefined;
  /** The report's `From`, address only. */
  readonly from: string | undefined;
  readonly subject: string | undefined;
  /** The report's `In-Reply-To`, `<...>` (auto-replies and Gmail's DSNs carry the original's id here). */
  readonly inReplyTo: string | undefined;
  /** The report's `References`, at most 50. */
  readonly references: readonly string[];
  /** What it says about the message it reports on. */
  readonly original: ReportedOriginal;
  /** `Reporting-MTA`, the name only. */
  readonly reportingMta: string | undefined;
  /** The DSN's `Arrival-Date`, ISO 8601 when it parses. */
  readonly arrivalDate: string | undefined;
  /** For `delivery-status`: one entry per recipient block (at most 1,000). Empty otherwise. */
  readonly recipients: readonly DeliveryStatusRecipient[];
  /** For `feedback`. */
  readonly feedback: FeedbackReportFields | undefined;
  /** For `auto-reply`: who replied (the report's `From`) and which marker said it was automatic. */
  readonly autoReply: { readonly from: string | undefined; readonly marker: string } | undefined;
  /** Anything odd on the way: a part that did not parse, a limit reached, a time bound hit. */
  readonly warnings: readonly string[];
  /** The first 64 KB of the report's source, as UTF-8 text (events carry it as `raw`). */
  readonly raw: string;
  /** SHA-256 of the whole source, base64url: the event id's part when the report has no Message-ID. */
  readonly sourceHash: string;
}

/** Options of {@link parseReport}. */
export interface ParseReportOptions {
  /** A larger message is not parsed (`unrecognised` with a warning). Default 10 MB. */
  readonly maxBytes?: number | undefined;
  /** The MIME parse gives up after this long (`unrecognised` with a warning). Default 5,000 ms. */
  readonly timeoutMs?: number | undefined;
}
