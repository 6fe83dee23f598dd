/**
 * `@mailport/events/reports`: bounces, delay notices, complaints and auto-replies that come back
 * as mail. {@link parseReport} reads one message (RFC 3464 delivery status notifications and the
 * variants of Postfix, Exim, Exchange Online, Gmail and SES; RFC 5965 feedback reports; RFC 3834
 * auto-replies); {@link joinReport} finds the sent message in the send log and makes events;
 * {@link reportEvents} does both.
 */
export { type JoinContext, type JoinResult, joinReport, reportEvents } from './report-join.js';
export { parseReport } from './report-parse.js';
export type {
  DeliveryAction,
  DeliveryStatusRecipient,
  FeedbackReportFields,
  MailReport,
  MailReportFormat,
  MailReportKind,
  MailReportOrigin,
  ParseReportOptions,
  ReportedOriginal,
} from './report-types.js';
