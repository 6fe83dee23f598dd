/**
 * Bounces written as prose, without a `message/delivery-status` part: Exim's classic bounce and
 * delay warning, Gmail's notices before 2011, RFC 3464 fields pasted into a plain-text body (some
 * Postfix relays), and as a last resort the `X-Failed-Recipients` header. Each reader looks only at
 * the report's own text, line by line, with bounded work.
 */
import {
  addressOf,
  type FieldToken,
  fieldValue,
  messageIdOf,
  normaliseAddress,
  readFields,
  readHeaderBlock,
  statusIn,
} from './report-fields.js';
import type { DeliveryStatusRecipient } from './report-types.js';

/** What a prose reader found. */
export interface TextBounce {
  readonly format: 'exim' | 'gmail-text' | 'postfix-text' | 'qmail' | 'exchange-text' | 'rfc3464-text' | 'x-failed-recipients';
  readonly recipients: readonly DeliveryStatusRecipient[];
  /** The returned copy's Message-ID, when the text includes the original's headers. */
  readonly originalMessageId: string | undefined;
  readonly reportingMta: string | undefined;
}

const maxRecipients = 1_000;

/**
 * A recipient as prose names it: the status is the first enhanced code in the diagnostic, an
 * empty diagnostic is none, and what prose does not say is undefined unless `more` gives it.
 */
function proseRecipient(
  finalRecipient: string | undefined,
  action: 'failed' | 'delayed',
  diagnostic: string | undefined,
  more: Partial<DeliveryStatusRecipient> = {},
): DeliveryStatusRecipient {
  return {
    finalRecipient,
    originalRecipient: undefined,
    action,
    status: statusIn(diagnostic),
    diagnosticCode: diagnostic === '' ? undefined : diagnostic,
    remoteMta: undefined,
    willRetryUntil: undefined,
    lastAttemptDate: undefined,
    ...more,
  };
}

/** The body's lines, at most 20,000. */
function linesOf(text: string): string[] {
  return text.slice(0, 1_048_576).split(/\r?\n/, 20_000);
}

/** The Message-ID of the headers that follow a marker line (`------ This is a copy of the message`). */
function messageIdAfter(lines: readonly string[], start: number): string | undefined {
  if (start < 0) return undefined;
  // Skip blank lines between the marker and the header block.
  let from = start + 1;
  while (from < lines.length && lines[from]?.trim() === '') from++;
  const block = readHeaderBlock(lines.slice(from, from + 500).join('\n'));
  return messageIdOf(fieldValue(block, 'message-id'));
}

/**
 * Exim: "This message was created automatically by mail delivery software." then the failed (or
 * not yet delivered) addresses, each at two spaces, with the diagnostic indented further under it.
 */
export function readExim(text: string, subject: string | undefined): TextBounce | undefined {
  if (!text.includes('This message was created automatically by mail delivery software')) return undefined;
  const lines = linesOf(text);
  const delayed = /^Warning: message .{0,200}delayed/i.test(subject ?? '') || /has not yet been delivered/i.test(text.slice(0, 20_000));
  const start = lines.findIndex((line) =>
    /following address(?:\(es\)|es)? failed:|address(?:\(es\)|es)? to which the message has not yet been delivered|following address(?:\(es\)|es)? (?:has|have) not yet been delivered/i.test(
      line,
    ),
  );
  const copy = lines.findIndex((line) => /^-{3,} This is a copy of the message/i.test(line));
  const recipients: DeliveryStatusRecipient[] = [];
  if (start >= 0) {
    let indent = -1;
    let current: { address: string; diagnostic: string[] } | undefined;
    const push = (): void => {
      if (current === undefined || recipients.length >= maxRecipients) return;
      const diagnostic = current.diagnostic.join(' ').replace(/\s+/g, ' ').trim().slice(0, 2_000);
      recipients.push(
        proseRecipient(current.address, delayed ? 'delayed' : 'failed', diagnostic, {
          remoteMta: /host ([A-Za-z0-9.-]{1,255}) \[/.exec(diagnostic)?.[1],
        }),
      );
      current = undefined;
    };
    for (let index = start + 1; index < lines.length && (copy < 0 || index < copy); index++) {
      const line = lines[index] ?? '';
      if (line.trim() === '') {
        if (current !== undefined && current.diagnostic.length > 0) push();
        continue;
      }
      const leading = line.length - line.trimStart().length;
      if (leading === 0) break;
      const address = normaliseAddress(line.trim().replace(/:$/, ''));
      if (address !== undefined && (indent < 0 || leading <= indent)) {
        push();
        indent = leading;
        current = { address, diagnostic: [] };
      } else if (current !== undefined) {
        current.diagnostic.push(line.trim());
      }
    }
    push();
  }
  return { format: 'exim', recipients, originalMessageId: messageIdAfter(lines, copy), reportingMta: undefined };
}

/**
 * Gmail's plain-text notices (2010): "Delivery to the following recipient failed permanently:"
 * or "... has been delayed:", the addresses indented, then "The error that the other server
 * returned was: ..." and "----- Original message -----" before the original's headers.
 */
export function readGmailText(text: string, from: string | undefined): TextBounce | undefined {
  if (!/@(?:googlemail|gmail)\.com$/i.test(from ?? '')) return undefined;
  const lines = linesOf(text);
  const start = lines.findIndex((line) =>
    /^Delivery to the following recipients? (?:failed|has been delayed|have been delayed)/i.test(line),
  );
  if (start < 0) return undefined;
  const header = lines[start] ?? '';
  const delayed = /delayed/i.test(header);
  const addresses: string[] = [];
  for (let index = start + 1; index < lines.length && addresses.length < maxRecipients; index++) {
    const line = lines[index] ?? '';
    if (line.trim() === '') {
      if (addresses.length > 0) break;
      continue;
    }
    const address = normaliseAddress(line.trim());
    if (address === undefined) break;
    addresses.push(address);
  }
  const diagnostic = saidAfter(
    lines
      .slice(start, start + 60)
      .join('\n')
      .slice(0, 20_000),
    'The error that the other server returned was:',
  );
  const original = lines.findIndex((line) => /^-{3,} Original message -{3,}/i.test(line));
  return {
    format: 'gmail-text',
    recipients: addresses.map((address) => proseRecipient(address, delayed ? 'delayed' : 'failed', diagnostic)),
    originalMessageId: messageIdAfter(lines, original),
    reportingMta: 'googlemail.com',
  };
}

/** RFC 3464 fields in a plain-text body (a relay that flattened the report): read leniently. */
export function readDsnText(text: string): { readonly tokens: FieldToken[]; readonly originalMessageId: string | undefined } | undefined {
  const head = text.slice(0, 262_144);
  if (!/^Final-Recipient:/im.test(head) || !/^Action:/im.test(head)) return undefined;
  const tokens = readFields(head);
  // The returned headers follow the fields; the report's own headers are not in the body.
  let originalMessageId: string | undefined;
  for (const token of tokens) if (token !== 'blank' && token.name === 'message-id') originalMessageId ??= messageIdOf(token.value);
  return { tokens, originalMessageId };
}

/** `X-Failed-Recipients: a@x, b@y` of a mailer daemon that said nothing else readable. */
export function readFailedRecipientsHeader(value: string | undefined, text: string): TextBounce | undefined {
  if (value === undefined) return undefined;
  const recipients: DeliveryStatusRecipient[] = [];
  for (const part of value.slice(0, 32_768).split(',')) {
    const address = addressOf(part);
    if (address !== undefined && recipients.length < maxRecipients) recipients.push(proseRecipient(address, 'failed', undefined));
  }
  if (recipients.length === 0) return undefined;
  const match = /^Message-ID:[ \t]*(<[^<>\s]{1,996}>)/im.exec(text.slice(0, 262_144));
  return { format: 'x-failed-recipients', recipients, originalMessageId: messageIdOf(match?.[1]), reportingMta: undefined };
}

/** The text after `phrase` up to the next blank line, whitespace collapsed, at most 1,000 characters. */
function saidAfter(text: string, phrase: string): string | undefined {
  const at = text.indexOf(phrase);
  if (at < 0) return undefined;
  let said = text.slice(at + phrase.length, at + phrase.length + 1_000);
  const blank = /\n[ \t]*\r?\n/.exec(said.replace(/^\s+/, ''));
  said = said.replace(/^\s+/, '');
  if (blank !== null) said = said.slice(0, blank.index);
  const collapsed = said.replace(/\s+/g, ' ').trim();
  return collapsed === '' ? undefined : collapsed;
}

const angleLine = /^<([^<>\s]{1,320})>(?:\s*\(expanded from <([^<>\s]{1,320})>\))?:\s*(.*)$/;

/**
 * Postfix without a delivery-status part ("This is the Postfix program at host ...", "This is the
 * mail system at host ...") and qmail ("Hi. This is the qmail-send program at ..."): each
 * recipient is a line `<address>: reason` (Postfix may add `(expanded from <alias>)`), the reason
 * going on until a blank line.
 */
export function readAngleList(text: string, subject: string | undefined): TextBounce | undefined {
  const head = text.slice(0, 20_000);
  const qmail = /This is the qmail-send program/i.test(head);
  if (!qmail && !/This is the (?:Postfix program|mail system) at host/i.test(head)) return undefined;
  const lines = linesOf(text);
  const copy = lines.findIndex((line) => /^--- Below this line is a copy of the message/i.test(line));
  const delayed = /^Delayed Mail\b/i.test(subject ?? '');
  const recipients: DeliveryStatusRecipient[] = [];
  let current: { final: string; original: string | undefined; reason: string[] } | undefined;
  const push = (): void => {
    if (current === undefined || recipients.length >= maxRecipients) return;
    const reason = current.reason.join(' ').replace(/\s+/g, ' ').trim().slice(0, 2_000);
    recipients.push(
      proseRecipient(normaliseAddress(current.final), delayed ? 'delayed' : 'failed', reason, {
        originalRecipient: current.original === undefined ? undefined : normaliseAddress(current.original),
      }),
    );
    current = undefined;
  };
  for (let index = 0; index < lines.length && (copy < 0 || index < copy); index++) {
    const line = lines[index] ?? '';
    const match = angleLine.exec(line.slice(0, 2_000));
    if (match?.[1] !== undefined && normaliseAddress(match[1]) !== undefined) {
      push();
      current = { final: match[1], original: match[2], reason: match[3] === undefined ? [] : [match[3]] };
    } else if (current !== undefined) {
      if (line.trim() === '') push();
      else current.reason.push(line.trim());
    }
  }
  push();
  return {
    format: qmail ? 'qmail' : 'postfix-text',
    recipients: recipients.filter((recipient) => recipient.finalRecipient !== undefined),
    originalMessageId: messageIdAfter(lines, copy),
    reportingMta: /This is the (?:Postfix program|mail system|qmail-send program) at (?:host )?([A-Za-z0-9.-]{1,255}?)\.?\s*$/im.exec(
      head,
    )?.[1],
  };
}

/**
 * Exchange Online's NDR when it has no delivery-status part: after "Diagnostic information for
 * administrators:", each address line is followed by "Remote Server returned '550 5.1.10 ...'"
 * (or Exchange 2010's `#550 5.1.1 RESOLVER...##`); "Original message headers:" starts the copy.
 */
export function readExchangeText(text: string): TextBounce | undefined {
  const lines = linesOf(text);
  const start = lines.findIndex((line) => /^Diagnostic information for administrators:/i.test(line.trim()));
  if (start < 0) return undefined;
  const copy = lines.findIndex((line) => /^Original message headers:/i.test(line.trim()));
  let reportingMta: string | undefined;
  const recipients: DeliveryStatusRecipient[] = [];
  let current: { address: string; diagnostic: string | undefined } | undefined;
  const push = (): void => {
    if (current === undefined || recipients.length >= maxRecipients) return;
    recipients.push(proseRecipient(current.address, 'failed', current.diagnostic));
    current = undefined;
  };
  for (let index = start + 1; index < lines.length && (copy < 0 || index < copy); index++) {
    const line = (lines[index] ?? '').trim().slice(0, 2_000);
    if (line === '') continue;
    const server = /^Generating server:\s*(\S{1,255})/i.exec(line);
    if (server !== null) {
      reportingMta ??= server[1];
      continue;
    }
    const address = normaliseAddress(line.replace(/<mailto:[^<>]{0,330}>$/i, ''));
    if (address !== undefined) {
      push();
      current = { address, diagnostic: undefined };
    } else if (current !== undefined && current.diagnostic === undefined) {
      const quoted = /^Remote Server returned '(.{1,1000})'$/i.exec(line)?.[1];
      current.diagnostic = (quoted ?? line).slice(0, 2_000);
    }
  }
  push();
  return { format: 'exchange-text', recipients, originalMessageId: messageIdAfter(lines, copy), reportingMta };
}
