/**
 * `@mailport/events/mailbox`: polling readers of the bounce reports, delay notices and
 * auto-replies that Gmail and Exchange Online put into the sending mailbox. Each takes the
 * transport URL the mailer sends with, joins every report to the sent message through the send
 * log, and marks what it processed (a Gmail label, Graph's `isRead`) only after `onEvents` took
 * the events. The provider's OAuth layer (`@mailport/transport-gmail-api`, `@mailport/transport-graph`,
 * optional peers) loads on the first poll.
 *
 * @module
 */
export { createGmailReportReader, type GmailReportReaderOptions } from './gmail-reader.js';
export { createGraphReportReader, type GraphReportReaderOptions } from './graph-reader.js';
export type { MailboxPollResult, MailboxReportReader, MailboxReportReaderOptions } from './mailbox-reader.js';
