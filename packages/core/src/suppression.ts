import { isAbortFrom, MailError, type RecipientError } from './errors.js';
import { type CreateMessageOptions, copyMessage, type EmailMessage } from './message.js';
import { raceAbort } from './retry.js';

/** Why a recipient is not mailed, as a {@link RecipientFilter} reports it. */
export interface RecipientBlock {
  /** `hard-bounce`, `complaint`, `unsubscribe`, `manual`, ... */
  readonly reason: string;
  /** `*` for every stream, else the stream the block applies to. */
  readonly scope?: string | undefined;
}

/**
 * Decides, before every send, which recipients must not be mailed (a suppression list).
 * `suppressionFilter(store)` of `@mailport/events` returns one; anything with this shape will do.
 */
export interface RecipientFilter {
  /**
   * The blocked recipients among `recipients` (every To, Cc, Bcc and envelope address of
   * `message`), keyed by the address exactly as given. A rejection makes the send fail with
   * `transient` (retryable) rather than mail an address that may be suppressed.
   */
  check(recipients: readonly string[], message: EmailMessage): Promise<ReadonlyMap<string, RecipientBlock>>;
}

/** What the mailer writes to a {@link SendLogWriter} after each successful send. */
export interface SendLogRecord {
  readonly messageId: string;
  readonly providerMessageId: string | undefined;
  /** The id of the transport that sent it. */
  readonly transport: string;
  /** The receipt's `accepted`: envelope recipients the provider took. */
  readonly recipients: readonly string[];
  readonly tags: readonly string[];
  readonly metadata: Readonly<Record<string, string>>;
  /** The envelope sender, from the receipt's `details.envelopeFrom` when the transport sets it (a VERP address). */
  readonly envelopeFrom?: string | undefined;
  /** When the provider accepted it, ISO 8601. */
  readonly sentAt: string;
  /** The Message-ID the message was built with, when the provider answered another one in the receipt (SES rewrites it). */
  readonly submittedMessageId?: string | undefined;
}

/**
 * Where the mailer records what it sent, so that later events (bounces, complaints) can be joined
 * back to the message. `createMemorySendLog()` of `@mailport/events` is one.
 */
export interface SendLogWriter {
  record(entry: SendLogRecord): void | Promise<void>;
}

/** A message with its suppressed recipients removed, and those recipients as receipt rejections. */
export interface FilteredMessage {
  readonly message: EmailMessage;
  readonly suppressed: readonly RecipientError[];
}

/**
 * Removes the recipients `filter` blocks from To, Cc, Bcc and a custom envelope. They leave the
 * headers as well as the envelope: the Gmail API and Graph deliver to the header addresses, and a
 * To line naming someone who gets nothing invites replies-to-all to a suppressed address.
 * Throws `recipient-rejected` when no recipient is left, `transient` when the filter fails, and
 * the signal's reason, unwrapped, when the caller aborts while the filter is still answering.
 */
export async function filterRecipients(
  message: EmailMessage,
  filter: RecipientFilter,
  options: CreateMessageOptions = {},
  signal?: AbortSignal,
): Promise<FilteredMessage> {
  const headerAddresses = [...message.to, ...message.cc, ...message.bcc].map((address) => address.address);
  const recipients = [...new Set([...headerAddresses, ...message.envelope.to])];
  let blocked: ReadonlyMap<string, RecipientBlock>;
  try {
    blocked = await raceAbort(
      Promise.resolve().then(() => filter.check(recipients, message)),
      signal,
    );
    if (typeof blocked?.has !== 'function' || typeof blocked.get !== 'function')
      throw new TypeError('the suppression check did not answer a Map');
  } catch (error) {
    if (isAbortFrom(signal, error)) throw error;
    throw new MailError('transient', 'The suppression check failed, so the message was not sent', {
      transport: 'mailer',
      cause: error,
      remediation: 'Check the suppression store; the message can be sent again once it answers.',
    });
  }
  const suppressed = recipients.filter((address) => blocked.has(address));
  if (suppressed.length === 0) return { message, suppressed: [] };

  const rejected = suppressed.map((address): RecipientError => {
    const block = blocked.get(address) as RecipientBlock;
    const reason = typeof block?.reason === 'string' ? printable(block.reason) : 'suppressed';
    const scope = typeof block?.scope === 'string' ? printable(block.scope) : undefined;
    return Object.freeze({
      address,
      message: `Suppressed (${reason}${scope === undefined || scope === '*' ? '' : `, stream ${scope}`}): not sent to this recipient`,
      retryable: false,
      code: 'suppressed' as const,
    });
  });
  const keep = (address: string): boolean => !blocked.has(address);
  const to = message.to.filter((address) => keep(address.address));
  const cc = message.cc.filter((address) => keep(address.address));
  const bcc = message.bcc.filter((address) => keep(address.address));
  const envelopeTo = message.envelope.to.filter(keep);
  if (to.length + cc.length + bcc.length === 0 || envelopeTo.length === 0) {
    throw new MailError('recipient-rejected', `Every recipient is suppressed: ${suppressed.length} not sent to`, {
      transport: 'mailer',
      retryable: false,
      recipients: rejected,
      remediation: 'These addresses bounced, complained or unsubscribed; remove them from the suppression store only if that has changed.',
    });
  }
  const changes = message.hasCustomEnvelope ? { to, cc, bcc, envelope: { from: message.envelope.from, to: envelopeTo } } : { to, cc, bcc };
  return { message: copyMessage(message, changes, options), suppressed: rejected };
}

// What a store says goes into receipts and logs: one short line, whatever the store holds.
function printable(value: string): string {
  return value.replace(/[\u0000-\u001f\u007f-\u009f]/g, ' ').slice(0, 64);
}
