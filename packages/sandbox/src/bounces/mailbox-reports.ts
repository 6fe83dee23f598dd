// Reports the Gmail and Exchange Online mailboxes receive after a send fails or waits, shaped as
// those providers write them (Gmail DSNs from mailer-daemon@googlemail.com, Exchange Online NDRs
// from the tenant's MicrosoftExchange... system mailbox), and RFC 3834 auto-replies.
import { randomBytes } from 'node:crypto';
import MimeNode from 'nodemailer/lib/mime-node';
import type { SandboxEventLog } from '../events/event-log.js';
import { escapeMarkup } from '../http.js';
import { decodeWords, fieldsNamed, fieldValue, joinMessage, splitMessage } from '../raw-message.js';
import { simulatorMailbox } from '../simulator.js';
import type { StoredMessage } from '../store.js';

/** What a scenario recipient makes the provider report. */
export type MailboxScenario = 'bounce' | 'delay' | 'ooto';

/**
 * The scenario of a recipient: SES's mailbox simulator addresses `bounce@` and `ooto@`, and
 * mailport's own `delay@` (SES's simulator has no delay address), at `simulator.amazonses.com`.
 */
export function mailboxScenarioOf(address: string): MailboxScenario | undefined {
  const mailbox = simulatorMailbox(address);
  return mailbox === 'bounce' || mailbox === 'delay' || mailbox === 'ooto' ? mailbox : undefined;
}

/** The sent message a report is about. */
export interface ReportedMessage {
  /** The bytes as delivered. */
  readonly raw: Buffer;
  /** The mailbox that sent it, which receives the report. */
  readonly sender: string;
  /** The scenario recipient. */
  readonly recipient: string;
  /** When it was accepted. */
  readonly sentAt: Date;
}

/** What a builder needs besides the message: the clock. */
export interface ReportOptions {
  readonly now: Date;
}

/** What a report says, for the sandbox's event log. */
export interface BuiltReport {
  readonly raw: Buffer;
  /** mailport's event type: `bounced`, `deferred`, `auto-replied`. */
  readonly type: 'bounced' | 'deferred' | 'auto-replied';
  readonly subject: string;
}

const gmailStatus = {
  bounce: {
    status: '5.1.1',
    diagnostic:
      "smtp; 550-5.1.1 The email account that you tried to reach does not exist. Please try\r\n 550-5.1.1 double-checking the recipient's email address for typos or\r\n 550-5.1.1 unnecessary spaces. For more information, go to\r\n 550 5.1.1  https://support.google.com/mail/?p=NoSuchUser - gsmtp",
  },
  delay: {
    status: '4.4.7',
    diagnostic: 'smtp; 450 4.4.7 The recipient server did not accept our requests to connect. - gsmtp',
  },
} as const;

const exchangeStatus = {
  bounce: {
    status: '5.1.10',
    diagnostic: 'smtp;550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup',
  },
  delay: { status: '4.4.7', diagnostic: 'smtp;400 4.4.7 Message delayed' },
} as const;

/**
 * A Gmail delivery status notification about `message` (bounce or delay), or the recipient's
 * auto-reply (ooto): multipart/report with a text part, message/delivery-status and the original's
 * headers as text/rfc822-headers, as Gmail sends them from `mailer-daemon@googlemail.com`.
 */
export async function gmailReport(scenario: MailboxScenario, message: ReportedMessage, options: ReportOptions): Promise<BuiltReport> {
  if (scenario === 'ooto') return autoReply(message, options, `<${randomBytes(16).toString('hex')}@mail.gmail.com>`);
  const original = describe(message);
  const failed = scenario === 'bounce';
  const subject = `Delivery Status Notification (${failed ? 'Failure' : 'Delay'})`;
  const root = new MimeNode('multipart/report; report-type=delivery-status');
  root.setHeader('From', 'Mail Delivery Subsystem <mailer-daemon@googlemail.com>');
  root.setHeader('To', message.sender);
  root.setHeader('Subject', subject);
  root.setHeader('Date', rfc5322(options.now));
  root.setHeader('Message-ID', `<${randomBytes(6).toString('hex')}.${randomBytes(4).toString('hex')}.GMR@mx.google.com>`);
  root.setHeader('Auto-Submitted', 'auto-replied');
  root.setHeader('Return-Path', '<>');
  if (original.messageId !== undefined) {
    root.setHeader('References', original.messageId);
    root.setHeader('In-Reply-To', original.messageId);
  }
  if (failed) root.setHeader('X-Failed-Recipients', message.recipient);
  const { status, diagnostic } = gmailStatus[scenario];
  const human = failed
    ? `\r\n** Address not found **\r\n\r\nYour message wasn't delivered to ${message.recipient} because the address couldn't be found, or is unable to receive mail.\r\n\r\nLearn more here: https://support.google.com/mail/?p=NoSuchUser\r\n\r\nThe response from the remote server was:\r\n550 5.1.1 The email account that you tried to reach does not exist.\r\n`
    : `\r\n** Delivery incomplete **\r\n\r\nThere was a temporary problem delivering your message to ${message.recipient}. Gmail will retry for 47 more hours. You'll be notified if the delivery fails permanently.\r\n\r\nThe response was:\r\nThe recipient server did not accept our requests to connect.\r\n`;
  root.createChild('text/plain; charset=UTF-8').setContent(human);
  const perMessage = [
    'Reporting-MTA: dns; googlemail.com',
    `Received-From-MTA: dns; ${message.sender}`,
    `Arrival-Date: ${rfc5322(message.sentAt)}`,
    ...(original.messageId === undefined ? [] : [`X-Original-Message-ID: ${original.messageId}`]),
  ];
  const perRecipient = [
    `Final-Recipient: rfc822; ${message.recipient}`,
    `Action: ${failed ? 'failed' : 'delayed'}`,
    `Status: ${status}`,
    'Remote-MTA: dns; inbound-smtp.simulator.amazonses.com. (127.0.0.1, the server for the domain simulator.amazonses.com.)',
    `Diagnostic-Code: ${diagnostic}`,
    `Last-Attempt-Date: ${rfc5322(options.now)}`,
    ...(failed ? [] : [`Will-Retry-Until: ${rfc5322(new Date(message.sentAt.getTime() + 48 * 3600_000))}`]),
  ];
  root.createChild('message/delivery-status').setContent(`${perMessage.join('\r\n')}\r\n\r\n${perRecipient.join('\r\n')}\r\n`);
  root.createChild('text/rfc822-headers').setContent(original.headers);
  return { raw: await root.build(), type: failed ? 'bounced' : 'deferred', subject };
}

/**
 * An Exchange Online non-delivery report (bounce) or delay notice about `message`, or the
 * recipient's auto-reply (ooto): multipart/report with the HTML and text human part,
 * message/delivery-status, and the original as message/rfc822, from the tenant's
 * `MicrosoftExchange329e71ec88ae4615bbc36ab6ce41109e@` system mailbox.
 */
export async function exchangeReport(scenario: MailboxScenario, message: ReportedMessage, options: ReportOptions): Promise<BuiltReport> {
  const domain = message.sender.slice(message.sender.lastIndexOf('@') + 1) || 'contoso.example';
  const server = 'SA1PR12MB6680.namprd12.prod.outlook.com';
  if (scenario === 'ooto') return autoReply(message, options, `<${randomBytes(16).toString('hex').toUpperCase()}@${server}>`);
  const original = describe(message);
  const failed = scenario === 'bounce';
  const subject = `${failed ? 'Undeliverable' : 'Delivery delayed'}: ${original.subject}`;
  const root = new MimeNode('multipart/report; report-type=delivery-status');
  root.setHeader('From', `Microsoft Outlook <MicrosoftExchange329e71ec88ae4615bbc36ab6ce41109e@${domain}>`);
  root.setHeader('To', `<${message.sender}>`);
  root.setHeader('Date', rfc5322(options.now));
  root.setHeader('Content-Language', 'en-US');
  root.setHeader('Message-ID', `<${randomBytes(16).toString('hex')}@${server}>`);
  if (original.messageId !== undefined) {
    root.setHeader('In-Reply-To', original.messageId);
    root.setHeader('References', original.messageId);
  }
  root.setHeader('Thread-Topic', original.subject);
  root.setHeader('Subject', subject);
  root.setHeader('Auto-Submitted', 'auto-replied');
  const { status, diagnostic } = exchangeStatus[scenario];
  const words = failed
    ? `Your message to ${message.recipient} couldn't be delivered.\r\n${message.recipient} wasn't found at simulator.amazonses.com.`
    : `Delivery is delayed to these recipients or groups:\r\n${message.recipient}\r\nThis message hasn't been delivered yet. Delivery will continue to be attempted.`;
  const alternative = root.createChild('multipart/alternative');
  alternative
    .createChild('text/plain; charset=us-ascii')
    .setContent(
      `${words}\r\n\r\nDiagnostic information for administrators:\r\n\r\nGenerating server: ${server}\r\n\r\n${message.recipient}\r\nRemote server returned '${diagnostic.replace(/^smtp;/, '')}'\r\n`,
    );
  alternative
    .createChild('text/html; charset=us-ascii')
    .setContent(
      `<html><head><meta http-equiv="Content-Type" content="text/html; charset=us-ascii"></head><body><p>${escapeMarkup(words).replace(/\r\n/g, '<br>')}</p><p><b>Diagnostic information for administrators:</b></p><p>Generating server: ${server}<br><br>${escapeMarkup(message.recipient)}<br>Remote server returned '${escapeMarkup(diagnostic.replace(/^smtp;/, ''))}'</p></body></html>\r\n`,
    );
  const perMessage = [`Reporting-MTA: dns;${server}`, `Received-From-MTA: dns;${server}`, `Arrival-Date: ${rfc5322(message.sentAt)}`];
  const perRecipient = [
    `Original-Recipient: rfc822;${message.recipient}`,
    `Final-Recipient: rfc822;${message.recipient}`,
    `Action: ${failed ? 'failed' : 'delayed'}`,
    `Status: ${status}`,
    `Diagnostic-Code: ${diagnostic}`,
    ...(failed ? [] : [`Will-Retry-Until: ${rfc5322(new Date(message.sentAt.getTime() + 48 * 3600_000))}`]),
  ];
  root.createChild('message/delivery-status').setContent(`${perMessage.join('\r\n')}\r\n\r\n${perRecipient.join('\r\n')}\r\n`);
  root.createChild('message/rfc822').setContent(message.raw);
  return { raw: await root.build(), type: failed ? 'bounced' : 'deferred', subject };
}

/** An out-of-office reply from the recipient (RFC 3834: Auto-Submitted, In-Reply-To, never to a null sender). */
async function autoReply(message: ReportedMessage, options: ReportOptions, messageId: string): Promise<BuiltReport> {
  const original = describe(message);
  const subject = `Automatic reply: ${original.subject}`;
  const root = new MimeNode('text/plain; charset=utf-8');
  root.setHeader('From', `Out Of Office <${message.recipient}>`);
  root.setHeader('To', message.sender);
  root.setHeader('Subject', subject);
  root.setHeader('Date', rfc5322(options.now));
  root.setHeader('Message-ID', messageId);
  if (original.messageId !== undefined) {
    root.setHeader('In-Reply-To', original.messageId);
    root.setHeader('References', original.messageId);
  }
  root.setHeader('Auto-Submitted', 'auto-replied');
  root.setHeader('X-Auto-Response-Suppress', 'All');
  root.setContent("I'm out of the office until Monday, with no access to email. I'll answer your message when I'm back.\r\n");
  return { raw: await root.build(), type: 'auto-replied', subject };
}

/** The original's Message-ID, decoded Subject and header section (for text/rfc822-headers). */
function describe(message: ReportedMessage): { messageId: string | undefined; subject: string; headers: string } {
  const split = splitMessage(message.raw);
  const messageId = fieldsNamed(split, 'Message-ID').map(fieldValue)[0];
  const subject = decodeWords(fieldsNamed(split, 'Subject').map(fieldValue)[0] ?? '').replace(/[\r\n]+/g, ' ');
  const headers = joinMessage({ fields: split.fields, body: Buffer.alloc(0) }).toString('latin1');
  return { messageId: messageId === '' ? undefined : messageId, subject, headers: `${headers.replace(/(\r?\n)+$/, '')}\r\n` };
}

function rfc5322(date: Date): string {
  return date.toUTCString().replace('GMT', '+0000');
}

/**
 * Makes the report of a scenario in the background, as the provider mails it: a failure is
 * recorded in the event log, never thrown at the sender.
 */
export function reportInBackground(
  events: SandboxEventLog,
  stored: StoredMessage,
  recipient: string,
  channel: string,
  report: () => Promise<unknown>,
): void {
  report().catch((error: unknown) => {
    events.record({
      storeId: stored.id,
      messageId: undefined,
      type: 'failed',
      recipient,
      channel,
      detail: `no report: ${error instanceof Error ? error.message : String(error)}`.slice(0, 300),
    });
  });
}
