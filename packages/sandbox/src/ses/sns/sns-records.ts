import { randomUUID } from 'node:crypto';
import addressparser from 'nodemailer/lib/addressparser';
import { simulatorMailbox } from '../../simulator.js';
import { headerValues, splitRaw } from '../ses-mime.js';

/** The account id the sandbox's ARNs carry (AWS's documentation account). */
export const sandboxAccountId = '123456789012';

/** One message the SES emulator accepted, as the SNS publisher needs it. */
export interface AcceptedSesMessage {
  /** The sandbox store's id (`m-000001`); undefined when nothing was stored (a template that failed to render). */
  readonly storeId: string | undefined;
  /** The MessageId SES answered with. */
  readonly sesMessageId: string;
  /** `SendEmail (Raw)`, `SendEmail (Simple)`, `SendEmail (Template)`, `SendBulkEmail`. */
  readonly operation: string;
  /** The message as SES delivered it (its own Message-ID and Date); empty when it was not rendered. */
  readonly raw: Buffer;
  /** The sender address (FromEmailAddress, or the From header of a raw message). */
  readonly source: string;
  readonly recipients: readonly string[];
  /** The request's EmailTags (SendBulkEmail: the default tags merged with the entry's). */
  readonly tags: readonly { readonly Name: string; readonly Value: string }[];
  readonly configurationSet: string | undefined;
  readonly region: string;
  /** Epoch ms at which SES accepted it. */
  readonly acceptedAt: number;
  /** False when a template failed to render: SES publishes a Rendering Failure and sends nothing. */
  readonly rendered: boolean;
}

/** One SES event-publishing record to post, with what the sandbox's event log says about it. */
export interface SesEventRecord {
  /** The record, as SES publishes it (the SNS `Message`, JSON-encoded). */
  readonly record: Readonly<Record<string, unknown>>;
  /** mailport's event type: `sent`, `delivered`, `bounced`, `complained`, `failed`. */
  readonly type: string;
  /** The recipient it is about; a Send record lists every destination, comma-separated. */
  readonly recipient: string | undefined;
}

/** What SES's mailbox simulator does with an address (SES developer guide, "Using the mailbox simulator"). */
export type SimulatorScenario = 'success' | 'bounce' | 'complaint' | 'ooto' | 'suppressionlist' | 'none';

const simulatorScenarios: ReadonlySet<string> = new Set(['success', 'bounce', 'complaint', 'ooto', 'suppressionlist']);
// What SES's MTAs call themselves in event records (the documented examples' shape).
const reportingMta = 'a8-70.smtp-out.amazonses.com';
// SES caps the headers an event carries and says so with headersTruncated.
const maxHeaderBytes = 10 * 1024;

/** The simulator scenario of a recipient; `success+label@` counts as `success@` (SES allows labels). */
export function simulatorScenario(recipient: string): SimulatorScenario {
  const mailbox = simulatorMailbox(recipient);
  return mailbox !== undefined && simulatorScenarios.has(mailbox) ? (mailbox as SimulatorScenario) : 'none';
}

/** A feedback id in SES's shape: `0100` and the time in hex, a uuid, `-000000`. */
function feedbackId(at: number): string {
  return `0100${at.toString(16).padStart(12, '0')}-${randomUUID()}-000000`;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** A header value split as latin1 (one character per byte), read as the UTF-8 it is (RFC 6532). */
function utf8(value: string): string {
  return Buffer.from(value, 'latin1').toString('utf8');
}

/** Address header values as SES lists them in commonHeaders: one string per address, with its display name. */
function addressList(values: readonly string[]): string[] {
  // SES allows 50 recipients: a header value past 64 KB is cut rather than parsed in full on the event loop.
  return values
    .map((value) => utf8(value.slice(0, 64 * 1024)))
    .flatMap((value) =>
      addressparser(value, { flatten: true }).map((entry) => (entry.name ? `${entry.name} <${entry.address}>` : entry.address)),
    );
}

/** The `mail` object's header fields: `headers` (capped), `headersTruncated` and `commonHeaders`. */
function mailHeaders(raw: Buffer): Record<string, unknown> {
  const split = raw.length === 0 ? undefined : splitRaw(raw);
  if (split === undefined || typeof split === 'string') return { headersTruncated: false, headers: [], commonHeaders: {} };
  const headers: { name: string; value: string }[] = [];
  let bytes = 0;
  let truncated = false;
  for (const header of split.headers) {
    bytes += header.name.length + header.value.length + 4;
    if (bytes > maxHeaderBytes) {
      truncated = true;
      break;
    }
    headers.push({ name: header.name, value: utf8(header.value) });
  }
  const common: Record<string, unknown> = {};
  const addresses: [string, string][] = [
    ['from', 'From'],
    ['replyTo', 'Reply-To'],
    ['sender', 'Sender'],
    ['to', 'To'],
    ['cc', 'Cc'],
    ['returnPath', 'Return-Path'],
  ];
  for (const [key, name] of addresses) {
    const list = addressList(headerValues(split, name));
    if (list.length > 0) common[key] = key === 'sender' || key === 'returnPath' ? list[0] : list;
  }
  const single: [string, string][] = [
    ['date', 'Date'],
    ['messageId', 'Message-ID'],
    ['subject', 'Subject'],
  ];
  for (const [key, name] of single) {
    const value = headerValues(split, name)[0];
    if (value !== undefined) common[key] = utf8(value);
  }
  return { headersTruncated: truncated, headers, commonHeaders: common };
}

/** The domain of an address, lower-cased. */
function domainOf(address: string): string {
  return address.slice(address.lastIndexOf('@') + 1).toLowerCase();
}

// The `ses:operation` tag names the SES v1 operation a v2 call corresponds to.
function operationTag(operation: string): string {
  if (operation === 'SendEmail (Raw)') return 'SendRawEmail';
  if (operation === 'SendEmail (Template)') return 'SendTemplatedEmail';
  if (operation === 'SendBulkEmail') return 'SendBulkTemplatedEmail';
  return 'SendEmail';
}

/**
 * The SES event-publishing records SES would publish for one accepted message, in order: `Send`,
 * then per recipient what the mailbox simulator does (Delivery; Bounce Permanent/General for
 * `bounce@`; Delivery then Complaint for `complaint@`; Bounce Permanent/OnAccountSuppressionList
 * for `suppressionlist@`); any other address is delivered. A message whose template failed to
 * render gets one `Rendering Failure` instead. Shapes follow the SES developer guide's "Contents
 * of event data that Amazon SES publishes to Amazon SNS".
 */
export function sesEventRecords(message: AcceptedSesMessage): SesEventRecord[] {
  const at = message.acceptedAt;
  // A Map, then own properties: a tag named `__proto__` (a valid SES tag name) stays a tag.
  const byName = new Map<string, string[]>();
  for (const tag of message.tags) byName.set(tag.Name, [...(byName.get(tag.Name) ?? []), tag.Value]);
  byName.set('ses:operation', [operationTag(message.operation)]);
  if (message.configurationSet !== undefined) byName.set('ses:configuration-set', [message.configurationSet]);
  byName.set('ses:source-ip', ['127.0.0.1']);
  byName.set('ses:from-domain', [domainOf(message.source)]);
  byName.set('ses:caller-identity', ['mailport-sandbox']);
  const tags: Record<string, string[]> = Object.fromEntries(byName);
  const mail = {
    timestamp: iso(at),
    source: message.source,
    sourceArn: `arn:aws:ses:${message.region}:${sandboxAccountId}:identity/${domainOf(message.source)}`,
    sendingAccountId: sandboxAccountId,
    messageId: message.sesMessageId,
    destination: [...message.recipients],
    ...mailHeaders(message.raw),
    tags,
  };
  const everyone = message.recipients.join(', ');
  if (!message.rendered) {
    return [
      {
        type: 'failed',
        recipient: everyone,
        record: {
          eventType: 'Rendering Failure',
          mail,
          failure: { errorMessage: 'The template could not be rendered with the rendering data given.' },
        },
      },
    ];
  }
  const records: SesEventRecord[] = [{ type: 'sent', recipient: everyone, record: { eventType: 'Send', mail, send: {} } }];
  const deliveryTags = Object.fromEntries([...byName, ['ses:outgoing-ip', ['127.0.0.1']], ['ses:outgoing-tls-version', ['TLSv1.3']]]);
  const deliveryMail = { ...mail, tags: deliveryTags };
  const delivery = (recipient: string): SesEventRecord => ({
    type: 'delivered',
    recipient,
    record: {
      eventType: 'Delivery',
      mail: deliveryMail,
      delivery: {
        timestamp: iso(at + 250),
        processingTimeMillis: 250,
        recipients: [recipient],
        smtpResponse: '250 2.6.0 Message received',
        reportingMTA: reportingMta,
        remoteMtaIp: '127.0.0.1',
      },
    },
  });
  for (const recipient of message.recipients) {
    switch (simulatorScenario(recipient)) {
      case 'bounce':
        records.push({
          type: 'bounced',
          recipient,
          record: {
            eventType: 'Bounce',
            mail,
            bounce: {
              bounceType: 'Permanent',
              bounceSubType: 'General',
              bouncedRecipients: [
                { emailAddress: recipient, action: 'failed', status: '5.1.1', diagnosticCode: 'smtp; 550 5.1.1 user unknown' },
              ],
              timestamp: iso(at + 250),
              feedbackId: feedbackId(at + 250),
              reportingMTA: `dsn; ${reportingMta}`,
            },
          },
        });
        break;
      case 'suppressionlist':
        records.push({
          type: 'bounced',
          recipient,
          record: {
            eventType: 'Bounce',
            mail,
            bounce: {
              bounceType: 'Permanent',
              bounceSubType: 'OnAccountSuppressionList',
              bouncedRecipients: [
                {
                  emailAddress: recipient,
                  action: 'failed',
                  status: '5.1.1',
                  diagnosticCode:
                    'Amazon SES did not send the message to this address because it is on the suppression list for your account.',
                },
              ],
              timestamp: iso(at + 50),
              feedbackId: feedbackId(at + 50),
              reportingMTA: 'dsn; amazonses.com',
            },
          },
        });
        break;
      case 'complaint':
        records.push(delivery(recipient), {
          type: 'complained',
          recipient,
          record: {
            eventType: 'Complaint',
            mail,
            complaint: {
              feedbackId: feedbackId(at + 500),
              complaintSubType: null,
              complainedRecipients: [{ emailAddress: recipient }],
              timestamp: iso(at + 500),
              userAgent: 'Amazon SES Mailbox Simulator',
              complaintFeedbackType: 'abuse',
              arrivalDate: iso(at + 250),
            },
          },
        });
        break;
      default:
        // success@, ooto@ (SES also mails an auto-reply to the sender, which the sandbox does not) and anyone else.
        records.push(delivery(recipient));
    }
  }
  return records;
}
