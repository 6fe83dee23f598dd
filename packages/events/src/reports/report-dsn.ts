/**
 * RFC 3464 §2.2 and §2.3: a delivery-status body is one group of per-message fields, then one group
 * per recipient, separated by blank lines. Real reports bend this (Exim puts `Action` before
 * `Final-Recipient`, some relays leave out the blank lines, SES puts blank lines inside), so groups
 * are also split where a recipient field repeats.
 */
import { addressOf, dateOf, type FieldToken, messageIdOf, mtaOf, statusIn, statusOf } from './report-fields.js';
import type { DeliveryAction, DeliveryStatusRecipient } from './report-types.js';

/** The per-message fields a report keeps. */
export interface DsnMessageFields {
  readonly reportingMta: string | undefined;
  readonly arrivalDate: string | undefined;
  /** `Original-Envelope-Id`, as the report writes it (RFC 3461 §6.3: the ENVID, decoded; some MTAs leave it xtext). */
  readonly originalEnvelopeId: string | undefined;
  /** Gmail's `X-Original-Message-ID`. */
  readonly originalMessageId: string | undefined;
}

const perMessage = new Set([
  'reporting-mta',
  'dsn-gateway',
  'received-from-mta',
  'arrival-date',
  'original-envelope-id',
  'x-original-message-id',
]);
const perRecipient = new Set([
  'original-recipient',
  'final-recipient',
  'action',
  'status',
  'remote-mta',
  'diagnostic-code',
  'last-attempt-date',
  'final-log-id',
  'will-retry-until',
]);
const actions: ReadonlySet<string> = new Set(['failed', 'delayed', 'delivered', 'relayed', 'expanded']);
const maxRecipients = 1_000;

/** Reads the tokens of one or more delivery-status bodies. */
export function readDeliveryStatus(tokens: readonly FieldToken[]): { message: DsnMessageFields; recipients: DeliveryStatusRecipient[] } {
  const message = new Map<string, string>();
  const groups: Map<string, string>[] = [];
  let current: Map<string, string> | undefined;
  let closed = true;
  for (const token of tokens) {
    if (token === 'blank') {
      closed = true;
      continue;
    }
    if (perMessage.has(token.name)) {
      if (!message.has(token.name)) message.set(token.name, token.value);
      continue;
    }
    if (!perRecipient.has(token.name)) continue;
    // A repeated field starts the next recipient; so does a recipient address after a blank line
    // when this group has one already. Other fields after a blank line still belong here (SES).
    const identity = token.name === 'final-recipient' || token.name === 'original-recipient';
    const hasIdentity = current !== undefined && (current.has('final-recipient') || current.has('original-recipient'));
    if (current === undefined || current.has(token.name) || (closed && identity && hasIdentity)) {
      if (groups.length >= maxRecipients) break;
      current = new Map();
      groups.push(current);
    }
    closed = false;
    current.set(token.name, token.value);
  }
  const recipients: DeliveryStatusRecipient[] = [];
  for (const group of groups) {
    const finalRecipient = addressOf(group.get('final-recipient'));
    const originalRecipient = addressOf(group.get('original-recipient'));
    // A group with no recipient is a stray line, not a recipient.
    if (finalRecipient === undefined && originalRecipient === undefined) continue;
    const action =
      group
        .get('action')
        ?.trim()
        .toLowerCase()
        .split(/[\s(;]/, 1)[0] ?? '';
    const diagnosticCode = group.get('diagnostic-code');
    recipients.push({
      finalRecipient,
      originalRecipient,
      action: actions.has(action) ? (action as DeliveryAction) : undefined,
      status: statusOf(group.get('status')) ?? statusIn(diagnosticCode),
      diagnosticCode,
      remoteMta: mtaOf(group.get('remote-mta')),
      willRetryUntil: dateOf(group.get('will-retry-until')),
      lastAttemptDate: dateOf(group.get('last-attempt-date')),
    });
  }
  const envelopeId = message.get('original-envelope-id');
  return {
    message: {
      reportingMta: mtaOf(message.get('reporting-mta')),
      arrivalDate: dateOf(message.get('arrival-date')),
      originalEnvelopeId: envelopeId === undefined || envelopeId.trim() === '' ? undefined : envelopeId.trim().slice(0, 998),
      originalMessageId: messageIdOf(message.get('x-original-message-id')),
    },
    recipients,
  };
}
