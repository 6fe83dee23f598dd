import { assertCapabilities } from './capabilities.js';
import { type CreateTransportOptions, createTransport } from './config.js';
import { type DkimOptions, resolveDkimOptions } from './dkim/dkim-keys.js';
import { attachDkimPlan } from './dkim/dkim-plan.js';
import { isAbortFrom, MailError, type RecipientError } from './errors.js';
import { type CreateMessageOptions, createMessage, type EmailMessage, isEmailMessage, type MessageInput } from './message.js';
import { toMailError } from './normalize-error.js';
import { type RetryOptions, retryDelay, retryPolicy, sleep } from './retry.js';
import { filterRecipients, type RecipientFilter, type SendLogWriter } from './suppression.js';
import { createMailerTelemetry, type MailerTelemetryOptions } from './telemetry.js';
import type { SendOptions, SendReceipt, Transport, VerifyReport } from './transport.js';

/** What `send` takes: a message input whose `from` may come from the mailer's `defaults`. */
export type MailerInput = Omit<MessageInput, 'from'> & { from?: MessageInput['from'] | undefined };

/** What `beforeSend` sees. */
export interface BeforeSendEvent {
  readonly message: EmailMessage;
  readonly transport: string;
}

/** What `afterSend` sees. */
export interface AfterSendEvent {
  readonly message: EmailMessage;
  readonly receipt: SendReceipt;
}

/** What `onError` sees: every failed attempt, and whether the mailer will try again. */
export interface SendErrorEvent {
  /** Undefined when the input did not make a valid message. */
  readonly message: EmailMessage | undefined;
  readonly error: MailError;
  /** The attempt that failed, from 1; 0 when the message was refused before any attempt. */
  readonly attempt: number;
  readonly willRetry: boolean;
  /** The wait before the next attempt, when `willRetry`. */
  readonly delayMs: number | undefined;
  readonly transport: string | undefined;
}

/**
 * Hooks for logging, metrics and last-minute changes. Payloads carry messages, receipts and
 * errors, never credentials. An exception in `afterSend` or `onError` is reported as a process
 * warning and does not change the outcome of the send.
 */
export interface MailerHooks {
  /**
   * Before the first attempt. Return a replacement message (or message input), `false` to cancel
   * (the send rejects with `message-rejected`, provider code `cancelled`), or nothing to go on.
   */
  beforeSend?: (
    event: BeforeSendEvent,
  ) => EmailMessage | MailerInput | false | undefined | Promise<EmailMessage | MailerInput | false | undefined>;
  /** After a message was sent. */
  afterSend?: (event: AfterSendEvent) => void | Promise<void>;
  /** After every failed attempt. */
  onError?: (event: SendErrorEvent) => void | Promise<void>;
}

/** Options of {@link createMailer}. */
export interface MailerOptions {
  /** A transport, or a transport URL created on first use with {@link createTransport}. */
  transport: Transport | string;
  /** Options for `createTransport` when `transport` is a URL. */
  transportOptions?: CreateTransportOptions | undefined;
  /** Merged under every input: `{ from: 'App <noreply@app.example>' }`. Headers and metadata merge by key. */
  defaults?: Partial<MessageInput> | undefined;
  /** Retry settings, or `false` for a single attempt. Default: 3 attempts, see {@link RetryOptions}. */
  retry?: RetryOptions | false | undefined;
  hooks?: MailerHooks | undefined;
  /**
   * OpenTelemetry: a `mailport.send` span per message that reaches the transport (attempts,
   * outcome, transport, a hash of the Message-ID; never an address), from the tracer provider the
   * application registered through `@opentelemetry/api` (read from the API's global registry on
   * each send; core imports nothing for it): a no-op until an SDK is registered. `false` turns it
   * off; `{ tracer }` picks the tracer.
   */
  telemetry?: MailerTelemetryOptions | false | undefined;
  /** Allow attachments from file paths. Default false. */
  allowFileAccess?: boolean | undefined;
  /** Allow attachments fetched from URLs. Default false. */
  allowUrlAccess?: boolean | undefined;
  /**
   * DKIM-sign every message (RFC 6376 `rsa-sha256`, RFC 8463 `ed25519-sha256`, relaxed/relaxed),
   * one signature per key `select` picks (default: the From domain's). Keys are checked here: a
   * malformed key, an RSA key under 1024 bits or a selector or domain that is no DNS name throws
   * `configuration`. The signature is made on the bytes the transport sends; a transport whose
   * provider rebuilds the message (Gmail API, Graph) refuses it with `unsupported`. Default: unsigned.
   * See docs/dkim.md.
   *
   * @example
   * ```ts
   * createMailer({ transport, dkim: { keys: [{ domain: 'shop.example', selector: 's2025', privateKey: process.env.DKIM_KEY ?? '' }] } });
   * ```
   */
  dkim?: DkimOptions | undefined;
  /**
   * Checked before every send (and every message of `sendMany`), after validation and `beforeSend`
   * and before any request: blocked To, Cc and Bcc recipients are removed from the message, its
   * headers included (the Gmail API and Graph deliver to the header addresses), and listed in the
   * receipt's `rejected` with `code: 'suppressed'`. With no recipient left the send fails with
   * `recipient-rejected` and makes no request; a failing check fails it with `transient`.
   * `suppressionFilter(store)` of `@mailport/events` makes one. Default: none.
   *
   * @example
   * ```ts
   * const store = createFileSuppressionStore('suppressions.jsonl');
   * createMailer({ transport, suppression: suppressionFilter(store) });
   * ```
   */
  suppression?: RecipientFilter | undefined;
  /**
   * Told about every message the provider accepted (Message-ID, provider id, accepted recipients,
   * tags, metadata, envelope sender), before `afterSend`, so that bounces and complaints can be
   * joined back to it. A failing `record` does not fail the send (the message is out): it is
   * reported as a `MailportSendLogWarning` process warning. `createMemorySendLog()` of
   * `@mailport/events` is one. Default: none.
   */
  sendLog?: SendLogWriter | undefined;
}

/** Options of {@link Mailer.sendMany}. */
export interface SendManyOptions extends SendOptions {
  /** Sends in flight at once. Default: the transport's `capabilities.concurrency`. */
  concurrency?: number | undefined;
}

/** The outcome of one message of a batch, in input order. */
export type SendOutcome =
  | { readonly index: number; readonly ok: true; readonly messageId: string; readonly receipt: SendReceipt }
  | { readonly index: number; readonly ok: false; readonly messageId: string | undefined; readonly error: MailError };

/** Sends messages through a transport, with retries and hooks. */
export interface Mailer {
  /** Validates, sends with retries, and resolves to a receipt or rejects with a `MailError`. */
  send(input: MailerInput | EmailMessage, options?: SendOptions): Promise<SendReceipt>;
  /**
   * Sends many messages with bounded concurrency and yields one outcome per input, in input
   * order. A failure never stops the rest; only the caller's abort ends the iteration (by throwing).
   */
  sendMany(
    inputs: Iterable<MailerInput | EmailMessage> | AsyncIterable<MailerInput | EmailMessage>,
    options?: SendManyOptions,
  ): AsyncIterable<SendOutcome>;
  /** Checks the transport's configuration, connection and credentials. */
  verify(options?: SendOptions): Promise<VerifyReport>;
  /** Closes the transport's connections. Safe to call twice. */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Creates a mailer.
 *
 * @example
 * ```ts
 * await using mailer = createMailer({
 *   transport: process.env.MAILPORT_URL ?? 'memory://',
 *   defaults: { from: 'Shop <orders@shop.example>' },
 * });
 * const receipt = await mailer.send({ to: 'ana@example.com', subject: 'Hi', text: 'Hello' });
 * ```
 */
export function createMailer(options: MailerOptions): Mailer {
  const policy = retryPolicy(options.retry);
  const hooks = options.hooks ?? {};
  const telemetry = createMailerTelemetry(options.telemetry);
  const dkim = options.dkim === undefined ? undefined : resolveDkimOptions(options.dkim);
  const messageOptions: CreateMessageOptions = {
    allowFileAccess: options.allowFileAccess,
    allowUrlAccess: options.allowUrlAccess,
  };
  let transportPromise: Promise<Transport> | undefined;
  let closed = false;

  const transport = (): Promise<Transport> => {
    transportPromise ??=
      typeof options.transport === 'string'
        ? createTransport(options.transport, options.transportOptions)
        : Promise.resolve(options.transport);
    // A URL that failed to load is tried again next time rather than failing forever.
    transportPromise.catch(() => {
      transportPromise = undefined;
    });
    return transportPromise;
  };

  const build = (input: MailerInput | EmailMessage): EmailMessage => {
    if (isEmailMessage(input)) return input;
    return createMessage(withDefaults(options.defaults, input), messageOptions);
  };

  const report = async (event: SendErrorEvent): Promise<void> => {
    await runHook('onError', () => hooks.onError?.(event));
  };

  const deliver = async (input: MailerInput | EmailMessage, sendOptions: SendOptions): Promise<SendReceipt> => {
    const signal = sendOptions.signal;
    if (closed) throw new MailError('configuration', 'This mailer was closed', { remediation: 'Create a new mailer.' });
    let message: EmailMessage;
    try {
      message = build(input);
    } catch (error) {
      const mailError = toMailError(error, 'mailer');
      await report({ message: undefined, error: mailError, attempt: 0, willRetry: false, delayMs: undefined, transport: undefined });
      throw mailError;
    }
    const active = await transport();
    if (hooks.beforeSend !== undefined) {
      const replaced = await hooks.beforeSend({ message, transport: active.id });
      if (replaced === false) {
        const error = new MailError('message-rejected', 'A beforeSend hook cancelled this message', {
          providerCode: 'cancelled',
          transport: 'mailer',
          remediation: 'Check the beforeSend hook that returned false.',
        });
        await report({ message, error, attempt: 0, willRetry: false, delayMs: undefined, transport: active.id });
        throw error;
      }
      if (replaced !== undefined) {
        try {
          message = build(replaced);
        } catch (error) {
          const mailError = toMailError(error, 'mailer');
          await report({ message, error: mailError, attempt: 0, willRetry: false, delayMs: undefined, transport: active.id });
          throw mailError;
        }
      }
    }
    let suppressedRecipients: readonly RecipientError[] = [];
    try {
      if (options.suppression !== undefined) {
        ({ message, suppressed: suppressedRecipients } = await filterRecipients(message, options.suppression, messageOptions, signal));
      }
      if (dkim !== undefined) attachDkimPlan(message, dkim);
      await assertCapabilities(message, active);
    } catch (error) {
      // Only the suppression check waits on the signal: an abort there is the caller's, unwrapped.
      if (isAbortFrom(signal, error)) throw error;
      const mailError = toMailError(error, active.id);
      await report({ message, error: mailError, attempt: 0, willRetry: false, delayMs: undefined, transport: active.id });
      throw mailError;
    }

    const sending = message;
    return telemetry.send(active.id, sending.messageId, async (span) => {
      const started = performance.now();
      for (let attempt = 1; ; attempt++) {
        signal?.throwIfAborted();
        span?.setAttribute('mailport.attempts', attempt);
        try {
          const receipt = await active.send(sending, { signal });
          const final: SendReceipt = Object.freeze({
            ...receipt,
            ...(suppressedRecipients.length > 0 ? { rejected: Object.freeze([...suppressedRecipients, ...receipt.rejected]) } : {}),
            attempts: attempt,
            elapsedMs: performance.now() - started,
          });
          if (options.sendLog !== undefined) await recordSent(options.sendLog, final, sending);
          await runHook('afterSend', () => hooks.afterSend?.({ message: sending, receipt: final }));
          return final;
        } catch (caught) {
          if (isAbortFrom(signal, caught)) throw caught;
          const error = toMailError(caught, active.id);
          const delayMs = retryDelay(attempt, error, policy);
          await report({ message: sending, error, attempt, willRetry: delayMs !== undefined, delayMs, transport: active.id });
          if (delayMs === undefined) throw error;
          await sleep(delayMs, signal);
        }
      }
    });
  };

  const sendMany = (
    inputs: Iterable<MailerInput | EmailMessage> | AsyncIterable<MailerInput | EmailMessage>,
    manyOptions: SendManyOptions = {},
  ): AsyncIterable<SendOutcome> => ({
    async *[Symbol.asyncIterator]() {
      const active = await transport();
      const concurrency = Math.max(1, manyOptions.concurrency ?? active.capabilities.concurrency);
      // How far sends may run ahead of the oldest outcome not yet yielded. One slow message must
      // not idle the other connections, yet an endless input must not buffer without bound.
      const lookahead = Math.max(256, concurrency * 64);
      const signal = manyOptions.signal;
      const source = toAsyncIterator(inputs);
      const finished = new Map<number, SendOutcome>();
      let started = 0;
      let yielded = 0;
      let inFlight = 0;
      let exhausted = false;
      let aborted: { reason: unknown } | undefined;
      let wake: (() => void) | undefined;
      const settle = (): void => {
        wake?.();
        wake = undefined;
      };

      const launch = async (): Promise<void> => {
        const next = await source.next();
        if (next.done === true) {
          exhausted = true;
          return;
        }
        const position = started++;
        let message: EmailMessage;
        try {
          message = build(next.value);
        } catch (error) {
          const mailError = toMailError(error, 'mailer');
          await report({ message: undefined, error: mailError, attempt: 0, willRetry: false, delayMs: undefined, transport: undefined });
          finished.set(position, { index: position, ok: false, messageId: undefined, error: mailError });
          return;
        }
        inFlight++;
        deliver(message, { signal })
          .then(
            (receipt) => finished.set(position, { index: position, ok: true, messageId: receipt.messageId, receipt }),
            (error: unknown) => {
              if (isAbortFrom(signal, error)) aborted ??= { reason: error };
              else
                finished.set(position, { index: position, ok: false, messageId: message.messageId, error: toMailError(error, active.id) });
            },
          )
          .finally(() => {
            inFlight--;
            settle();
          });
      };

      try {
        for (;;) {
          while (!exhausted && aborted === undefined && inFlight < concurrency && started - yielded < lookahead) await launch();
          if (aborted !== undefined) throw aborted.reason;
          // Outcomes leave in input order, as soon as every earlier one has left.
          for (let outcome = finished.get(yielded); outcome !== undefined; outcome = finished.get(yielded)) {
            finished.delete(yielded);
            yielded++;
            yield outcome;
          }
          if (exhausted && yielded === started) return;
          if (inFlight > 0) await new Promise<void>((resolve) => (wake = resolve));
        }
      } finally {
        await source.return?.();
      }
    },
  });

  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    if (transportPromise !== undefined) {
      const active = await transportPromise.catch(() => undefined);
      await active?.close?.();
    } else if (typeof options.transport !== 'string') {
      await options.transport.close?.();
    }
  };

  return {
    send: (input, sendOptions = {}) => deliver(input, sendOptions),
    sendMany,
    async verify(verifyOptions: SendOptions = {}): Promise<VerifyReport> {
      const active = await transport();
      if (active.verify === undefined) {
        return {
          transport: active.id,
          checks: [{ name: 'verify', ok: true, detail: 'this transport has nothing to verify' }],
          details: {},
        };
      }
      return active.verify(verifyOptions);
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}

function withDefaults(defaults: Partial<MessageInput> | undefined, input: MailerInput): MessageInput {
  if (defaults === undefined) return input as MessageInput;
  const merged: MessageInput = { ...defaults, ...input } as MessageInput;
  if (defaults.headers !== undefined || input.headers !== undefined) merged.headers = { ...defaults.headers, ...input.headers };
  if (defaults.metadata !== undefined || input.metadata !== undefined) merged.metadata = { ...defaults.metadata, ...input.metadata };
  return merged;
}

function toAsyncIterator<T>(inputs: Iterable<T> | AsyncIterable<T>): AsyncIterator<T> {
  if (Symbol.asyncIterator in inputs) return (inputs as AsyncIterable<T>)[Symbol.asyncIterator]();
  return (async function* () {
    yield* inputs as Iterable<T>;
  })();
}

async function recordSent(sendLog: SendLogWriter, receipt: SendReceipt, message: EmailMessage): Promise<void> {
  const envelopeFrom = receipt.details?.envelopeFrom;
  try {
    await sendLog.record(
      Object.freeze({
        messageId: receipt.messageId,
        providerMessageId: receipt.providerMessageId,
        transport: receipt.transport,
        recipients: receipt.accepted,
        tags: message.tags,
        metadata: message.metadata,
        envelopeFrom: typeof envelopeFrom === 'string' ? envelopeFrom : undefined,
        sentAt: new Date().toISOString(),
        ...(receipt.messageId === message.messageId ? {} : { submittedMessageId: message.messageId }),
      }),
    );
  } catch (error) {
    // The provider has the message: losing its log entry costs a join later, failing the send would cost a duplicate.
    process.emitWarning(`mailport: the send log did not record ${receipt.messageId}: ${(error as Error)?.message}`, {
      type: 'MailportSendLogWarning',
    });
  }
}

async function runHook(name: string, run: () => void | Promise<void> | undefined): Promise<void> {
  try {
    await run();
  } catch (error) {
    process.emitWarning(`mailport: the ${name} hook threw: ${(error as Error).message}`, { type: 'MailportHookWarning' });
  }
}
