import { type CapabilityName, capabilityError, checkCapabilities } from './capabilities.js';
import { requestsDkim, withSigningProfile } from './dkim/dkim-plan.js';
import { MailError, type RecipientError, withTransport } from './errors.js';
import type { EmailMessage } from './message.js';
import type { RouteStep, SendOptions, SendReceipt, Transport, TransportCapabilities, VerifyReport } from './transport.js';

/** What a transport's own `send` returns; {@link defineTransport} makes the receipt from it. */
export interface SendResult {
  /** The Message-ID the recipients see. Default `message.messageId`; give the provider's when it replaces it (SES does). */
  readonly messageId?: string | undefined;
  /** The provider's own id, when it returned one. */
  readonly providerMessageId?: string | undefined;
  /** Envelope recipients the provider took. Default every one, `message.envelope.to`. */
  readonly accepted?: readonly string[] | undefined;
  /** Envelope recipients the provider refused, each with its error. Default none. */
  readonly rejected?: readonly RecipientError[] | undefined;
  /** The provider's final answer, short: `250 2.0.0 Ok: queued as 4Xyz`, `202 Accepted`. */
  readonly response?: string | undefined;
  /** Provider extras: a thread id, the content kind, the path taken. */
  readonly details?: Readonly<Record<string, unknown>> | undefined;
  /** For a composite: the transports it tried or skipped, in order. */
  readonly route?: readonly RouteStep[] | undefined;
  /** For a composite: the member that sent it. Default the defined transport's id. */
  readonly transport?: string | undefined;
}

/** What {@link defineTransport} needs: the id, the capabilities, and the provider-specific work. */
export interface TransportDefinition {
  /** A stable id such as `postbox://api.postbox.example`; never with credentials. */
  readonly id: string;
  /** The name `util.inspect` shows before the id: `SesTransport` gives `SesTransport(ses://eu-west-1)`. Default `Transport`. */
  readonly name?: string | undefined;
  readonly capabilities: TransportCapabilities;
  /**
   * Capabilities the shell does not check before `send`, because `send` checks them itself on
   * what it really sends (the Gmail API measures its rendering with the Bcc header). Default none.
   */
  readonly skip?: readonly CapabilityName[] | undefined;
  /**
   * Sends one message, once. Called only while the transport is open, with a signal that has not
   * aborted, for a message its capabilities can carry. Throw a `MailError` (one without a
   * `transport`, such as a token provider's, is tagged with the id for you); anything else is a
   * bug, which the mailer reports as `unknown-outcome`.
   */
  send(message: EmailMessage, options: SendOptions): Promise<SendResult>;
  /** Connects and authenticates without sending. Default: a report that there is nothing to verify. */
  verify?(options: SendOptions): Promise<VerifyReport>;
  /** Releases connections; called once, however many times the transport is closed. */
  close?(): void | Promise<void>;
  /**
   * Whether `close()` ends the transport. Default true: afterwards `send` and `verify` reject
   * with `configuration`. False for a transport with nothing to release that must keep working
   * for whoever shares it, such as the `memory://NAME` transports.
   */
  readonly closable?: boolean | undefined;
  /** Whether the transport object is frozen. Default true; false for a test double whose methods tests spy on. */
  readonly frozen?: boolean | undefined;
  /**
   * Called with each receipt just before `send` resolves with it, for a transport that keeps
   * what it sent (the memory transport).
   */
  onSent?(receipt: SendReceipt, message: EmailMessage): void;
  /** State to show in `util.inspect` after the id, such as `3 sent`; never a credential. */
  describe?(): string;
}

/** A transport made by {@link defineTransport}: `verify` and `close` are always there. */
export type DefinedTransport<Members extends object = object> = Transport & {
  verify(options?: SendOptions): Promise<VerifyReport>;
  close(): Promise<void>;
} & Members;

const noOptions: SendOptions = Object.freeze({});
const noRecipients: readonly RecipientError[] = Object.freeze([]);
const inspectCustom = Symbol.for('nodejs.util.inspect.custom');

/**
 * Makes a {@link Transport} from the provider-specific parts, and does what every transport does
 * the same way around them:
 *
 * - `send` and `verify` reject with the caller's `signal.reason` when the signal has aborted,
 *   before anything else and whatever the transport threw after it aborted;
 * - after `close()`, they reject with `configuration` (unless `closable` is false);
 * - before `send`, the message is checked against the capabilities ({@link checkCapabilities},
 *   less `skip`), so a transport called without a mailer refuses what it cannot carry;
 * - for a message a mailer DKIM-signs, `renderMimeParts` inside `send` returns the rendering
 *   signed as `capabilities.dkim` allows (every key, or one without Message-ID and Date);
 * - a `MailError` leaves with `transport` set;
 * - the receipt gets `transport`, `accepted` (every envelope recipient), `rejected` (none),
 *   `attempts: 1` and `elapsedMs` unless `send` said otherwise, and is frozen;
 * - `close()` runs the definition's `close` once, however often it is called;
 * - the transport is frozen (unless `frozen` is false), and `String()` and `util.inspect` show
 *   only its name and id.
 *
 * `members` are extra properties (getters kept as getters), such as the memory transport's `sent`.
 * The shell allocates nothing per send but the receipt.
 *
 * @example
 * ```ts
 * const transport = defineTransport({
 *   id: 'postbox://api.postbox.example',
 *   name: 'PostboxTransport',
 *   capabilities: { maxMessageSize: 10_000_000, maxRecipients: 50, customHeaders: true, envelope: true, smtpUtf8: false, concurrency: 8 },
 *   async send(message, { signal }) {
 *     const answer = await client.send(postboxRequest(message, await renderMimeParts(message), { signal }));
 *     return { providerMessageId: answer.json().id as string, response: `${answer.status} queued` };
 *   },
 *   close: () => client.close(),
 * });
 * ```
 */
export function defineTransport<Members extends object = object>(
  definition: TransportDefinition,
  members?: Members,
): DefinedTransport<Members> {
  const { id } = definition;
  const name = definition.name ?? 'Transport';
  const capabilities: TransportCapabilities = Object.freeze({ ...definition.capabilities });
  // What the shell checks: the capabilities with the skipped ones neutralised, worked out once here
  // so that no send pays for the skip list.
  const checked = { id, capabilities: withoutSkipped(capabilities, definition.skip ?? []) };
  const closable = definition.closable ?? true;
  let closed = false;
  let closing: Promise<void> | undefined;

  // However the SDK wrapped it, an abort leaves as the caller's own reason.
  const rejection = (error: unknown, signal: AbortSignal | undefined): unknown =>
    signal?.aborted === true ? signal.reason : MailError.isInstance(error) ? withTransport(error, id) : error;
  const closedError = (): MailError =>
    new MailError('configuration', `${id} was closed`, { transport: id, remediation: 'Create a new transport.' });

  const send = async (message: EmailMessage, options: SendOptions = noOptions): Promise<SendReceipt> => {
    const signal = options.signal;
    if (signal?.aborted === true) throw signal.reason;
    if (closed) throw closedError();
    const started = performance.now();
    let result: SendResult;
    try {
      const problem = checkCapabilities(message, checked);
      if (problem !== undefined) {
        const found = await problem;
        if (found !== undefined) throw capabilityError(found, id);
      }
      // A message to DKIM-sign: renderings made inside send are signed for this transport (dkim/dkim-plan.ts).
      result = await (requestsDkim(message)
        ? withSigningProfile(message, capabilities.dkim, () => definition.send(message, options))
        : definition.send(message, options));
    } catch (error) {
      throw rejection(error, signal);
    }
    const receipt: SendReceipt = Object.freeze({
      messageId: result.messageId ?? message.messageId,
      transport: result.transport ?? id,
      providerMessageId: result.providerMessageId,
      accepted: result.accepted === undefined ? message.envelope.to : Object.freeze(result.accepted),
      rejected: result.rejected === undefined ? noRecipients : Object.freeze(result.rejected),
      attempts: 1,
      elapsedMs: performance.now() - started,
      response: result.response,
      route: result.route,
      details: result.details === undefined ? undefined : Object.freeze(result.details),
    });
    definition.onSent?.(receipt, message);
    return receipt;
  };

  const verify = async (options: SendOptions = noOptions): Promise<VerifyReport> => {
    const signal = options.signal;
    if (signal?.aborted === true) throw signal.reason;
    if (closed) throw closedError();
    if (definition.verify === undefined) {
      return { transport: id, checks: [{ name: 'verify', ok: true, detail: 'this transport has nothing to verify' }], details: {} };
    }
    try {
      return await definition.verify(options);
    } catch (error) {
      throw rejection(error, signal);
    }
  };

  const close = async (): Promise<void> => {
    // Nothing was released: whoever shares the transport goes on using it.
    if (!closable) return definition.close?.();
    closed = true;
    closing ??= (async () => {
      await definition.close?.();
    })();
    return closing;
  };

  const transport = { id, capabilities, send, verify, close, toString: () => id };
  Object.defineProperty(transport, inspectCustom, {
    value: () => `${name}(${id}${definition.describe === undefined ? '' : `, ${definition.describe()}`})`,
  });
  if (members !== undefined) Object.defineProperties(transport, Object.getOwnPropertyDescriptors(members));
  return (definition.frozen === false ? transport : Object.freeze(transport)) as DefinedTransport<Members>;
}

function withoutSkipped(capabilities: TransportCapabilities, skip: readonly CapabilityName[]): TransportCapabilities {
  if (skip.length === 0) return capabilities;
  return Object.freeze({
    ...capabilities,
    maxMessageSize: skip.includes('maxMessageSize') ? undefined : capabilities.maxMessageSize,
    maxRecipients: skip.includes('maxRecipients') ? undefined : capabilities.maxRecipients,
    customHeaders: skip.includes('customHeaders') ? true : capabilities.customHeaders,
    envelope: skip.includes('envelope') ? true : capabilities.envelope,
    smtpUtf8: skip.includes('smtpUtf8') ? true : capabilities.smtpUtf8,
    dkim: skip.includes('dkim') ? 'any' : capabilities.dkim,
  });
}
