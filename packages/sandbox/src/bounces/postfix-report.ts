// The reports a Postfix MTA mails back to the envelope sender after accepting a message it then
// cannot deliver (bounce(8): "Undelivered Mail Returned to Sender", "Delayed Mail (still being
// retried)"), and the recipient's RFC 3834 out-of-office reply. Built by hand, line by line as
// Postfix's bounce_notify_util.c writes them, so the receiver's parser meets the real shape.
import { randomBytes } from 'node:crypto';
import MimeNode from 'nodemailer/lib/mime-node';
import { decodeWords, fieldsNamed, fieldValue, splitMessage } from '../raw-message.js';
import type { MailboxScenario } from './mailbox-reports.js';

/** The message a report is about, as the SMTP emulator accepted it. */
export interface PostfixReportInput {
  /** The bytes as accepted. */
  readonly raw: Buffer;
  /** MAIL FROM: where the report goes, and what `X-Postfix-Sender` names. */
  readonly envelopeFrom: string;
  /** The scenario recipient (RCPT TO). */
  readonly recipient: string;
  /** RFC 3461 ENVID, decoded from its xtext (smtp-server decodes it), written into Original-Envelope-Id as RFC 3461 §6.3 and Postfix do. */
  readonly envid?: string | undefined;
  /** RFC 3461 RET: `HDRS` returns the headers only; default (and `FULL`) the whole message, for a bounce. */
  readonly ret?: 'HDRS' | 'FULL' | undefined;
  /** When it was accepted. */
  readonly arrivedAt: Date;
  /** The report's own time. */
  readonly now: Date;
}

/** A report, ready to be mailed from `<>` to the envelope sender. */
export interface BuiltSmtpReport {
  readonly raw: Buffer;
  /** mailport's event type it stands for. */
  readonly type: 'bounced' | 'deferred' | 'auto-replied';
  readonly subject: string;
  /** The report's own Message-ID. */
  readonly messageId: string;
  /** The status it reports (`5.1.1`, `4.4.7`), for the event log. */
  readonly status: string | undefined;
}

/** The Postfix host the sandbox plays. */
export const reportingMta = 'sandbox.mailport.test';
const remoteMta = 'inbound-smtp.simulator.amazonses.com';

/** Builds the report for `scenario` about `input`. */
export async function buildSmtpReport(scenario: MailboxScenario, input: PostfixReportInput): Promise<BuiltSmtpReport> {
  return scenario === 'ooto' ? autoReply(input) : postfixReport(scenario, input);
}

/**
 * A Postfix delivery status notification: multipart/report; report-type=delivery-status with the
 * human part ("This is the mail system at host ..."), message/delivery-status (Reporting-MTA,
 * Original-Envelope-Id when the sender gave ENVID, X-Postfix-Queue-ID, X-Postfix-Sender,
 * Arrival-Date; Final-Recipient, Original-Recipient, Action, Status, Remote-MTA, Diagnostic-Code,
 * and Will-Retry-Until for a delay), and the original's headers (text/rfc822-headers) or, for a
 * bounce without RET=HDRS, the whole message (message/rfc822).
 */
export function postfixReport(scenario: 'bounce' | 'delay', input: PostfixReportInput): BuiltSmtpReport {
  const failed = scenario === 'bounce';
  // Postfix queue ids are hexadecimal; the boundary is "<queue id>.<epoch seconds>/<host>".
  const queueId = randomBytes(5).toString('hex').toUpperCase().slice(0, 10);
  const epoch = Math.floor(input.now.getTime() / 1000);
  const boundary = `${queueId}.${epoch}/${reportingMta}`;
  const messageId = `<${stamp(input.now)}.${randomBytes(4).toString('hex').toUpperCase()}@${reportingMta}>`;
  const subject = failed ? 'Undelivered Mail Returned to Sender' : 'Delayed Mail (still being retried)';
  const recipient = input.recipient;
  const status = failed ? '5.1.1' : '4.4.7';
  const smtpReply = failed
    ? `550 5.1.1 <${recipient}>: Recipient address rejected: User unknown in virtual mailbox table`
    : `450 4.4.7 <${recipient}>: Recipient address rejected: mailbox temporarily unavailable, try again later`;
  const headersOnly = !failed || input.ret === 'HDRS';
  const original = splitMessage(input.raw);

  const lines: string[] = [
    `Date: ${mailDate(input.now)}`,
    `From: MAILER-DAEMON@${reportingMta} (Mail Delivery System)`,
    `Subject: ${subject}`,
    `To: ${input.envelopeFrom}`,
    'Auto-Submitted: auto-replied',
    'MIME-Version: 1.0',
    'Content-Type: multipart/report; report-type=delivery-status;',
    `\tboundary="${boundary}"`,
    'Content-Transfer-Encoding: 8bit',
    `Message-Id: ${messageId}`,
    '',
    'This is a MIME-encapsulated message.',
    '',
    `--${boundary}`,
    'Content-Description: Notification',
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: 8bit',
    '',
    ...(failed
      ? []
      : [
          '####################################################################',
          '# THIS IS A WARNING ONLY.  YOU DO NOT NEED TO RESEND YOUR MESSAGE. #',
          '####################################################################',
          '',
        ]),
    `This is the mail system at host ${reportingMta}.`,
    '',
    ...(failed
      ? [
          "I'm sorry to have to inform you that your message could not",
          "be delivered to one or more recipients. It's attached below.",
          '',
          'For further assistance, please send mail to postmaster.',
          '',
          'If you do so, please include this problem report. You can',
          'delete your own text from the attached returned message.',
        ]
      : [
          'Your message could not be delivered for more than 0 hour(s).',
          'It will be retried until it is 5 day(s) old.',
          '',
          'For further assistance, please send mail to postmaster.',
          '',
          'If you do so, please include this problem report. You can',
          'delete your own text from the attached returned message.',
        ]),
    '',
    '                   The mail system',
    '',
    ...wrap(`<${recipient}>: host ${remoteMta}[127.0.0.1] said: ${smtpReply} (in reply to RCPT TO command)`),
    '',
    `--${boundary}`,
    'Content-Description: Delivery report',
    'Content-Type: message/delivery-status',
    '',
    `Reporting-MTA: dns; ${reportingMta}`,
    ...(input.envid === undefined || input.envid === '' ? [] : [`Original-Envelope-Id: ${input.envid}`]),
    `X-Postfix-Queue-ID: ${queueId}`,
    `X-Postfix-Sender: rfc822; ${input.envelopeFrom}`,
    `Arrival-Date: ${mailDate(input.arrivedAt)}`,
    '',
    `Final-Recipient: rfc822; ${recipient}`,
    `Original-Recipient: rfc822;${recipient}`,
    `Action: ${failed ? 'failed' : 'delayed'}`,
    `Status: ${status}`,
    `Remote-MTA: dns; ${remoteMta}`,
    ...wrap(`Diagnostic-Code: smtp; ${smtpReply}`),
    ...(failed ? [] : [`Will-Retry-Until: ${mailDate(new Date(input.arrivedAt.getTime() + 5 * 86_400_000))}`]),
    '',
    `--${boundary}`,
    `Content-Description: ${failed ? 'Undelivered ' : ''}${headersOnly ? 'Message Headers' : 'Message'}`,
    `Content-Type: ${headersOnly ? 'text/rfc822-headers' : 'message/rfc822'}`,
    'Content-Transfer-Encoding: 8bit',
    '',
  ];
  const head = Buffer.from(`${lines.join('\r\n')}\r\n`, 'utf8');
  const returned = headersOnly ? Buffer.from(`${original.fields.map((field) => field.raw).join('\r\n')}\r\n`, 'latin1') : input.raw;
  const endsWithBreak = returned.subarray(-2).toString('latin1') === '\r\n';
  const tail = Buffer.from(`${endsWithBreak ? '' : '\r\n'}\r\n--${boundary}--\r\n`, 'latin1');
  return { raw: Buffer.concat([head, returned, tail]), type: failed ? 'bounced' : 'deferred', subject, messageId, status };
}

/**
 * The recipient's out-of-office reply, as a vacation program writes it (RFC 3834): from the
 * recipient, `Auto-Submitted: auto-replied`, `In-Reply-To` and `References` naming the original.
 */
export async function autoReply(input: PostfixReportInput): Promise<BuiltSmtpReport> {
  const original = splitMessage(input.raw);
  const originalId = fieldsNamed(original, 'Message-ID').map(fieldValue)[0];
  const originalSubject = decodeWords(fieldsNamed(original, 'Subject').map(fieldValue)[0] ?? '')
    .replace(/[\r\n\t]+/g, ' ')
    .slice(0, 900);
  const subject = `Out of Office: ${originalSubject}`.trim();
  const messageId = `<${randomBytes(12).toString('hex')}@simulator.amazonses.com>`;
  const root = new MimeNode('text/plain; charset=utf-8');
  root.setHeader('From', input.recipient);
  root.setHeader('To', input.envelopeFrom);
  root.setHeader('Subject', subject);
  root.setHeader('Date', mailDate(input.now));
  root.setHeader('Message-ID', messageId);
  if (originalId !== undefined && originalId !== '') {
    root.setHeader('In-Reply-To', originalId);
    root.setHeader('References', originalId);
  }
  root.setHeader('Auto-Submitted', 'auto-replied');
  root.setHeader('Precedence', 'bulk');
  root.setContent('I am out of the office until Monday, with no access to email. I will answer your message when I am back.\r\n');
  return { raw: await root.build(), type: 'auto-replied', subject, messageId, status: undefined };
}

/** Postfix's mail_date(): `Sun,  6 Dec 2026 23:40:01 +0000 (UTC)`. */
function mailDate(date: Date): string {
  const day = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'][date.getUTCDay()];
  const month = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'][date.getUTCMonth()];
  const time = date.toISOString().slice(11, 19);
  return `${day}, ${String(date.getUTCDate()).padStart(2, ' ')} ${month} ${date.getUTCFullYear()} ${time} +0000 (UTC)`;
}

/** `20261206234001`, as Postfix's own Message-Ids begin. */
function stamp(date: Date): string {
  return date.toISOString().replace(/\D/g, '').slice(0, 14);
}

/** Long lines folded at a space before column 76, continuations indented by four, as bounce_print_wrap does. */
function wrap(line: string): string[] {
  const out: string[] = [];
  let rest = line;
  while (rest.length > 76) {
    const cut = rest.lastIndexOf(' ', 76);
    if (cut <= 4) break;
    out.push(rest.slice(0, cut));
    rest = `    ${rest.slice(cut + 1)}`;
  }
  out.push(rest);
  return out;
}
