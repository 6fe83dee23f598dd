import { defineTransport, type SendResult } from './define-transport.js';
import { MailError, type MailErrorCode } from './errors.js';
import type { EmailMessage, Envelope } from './message.js';
import { renderMime } from './mime.js';
import type { SendOptions, SendReceipt, Transport, TransportCapabilities, VerifyReport } from './transport.js';

/** One message a memory transport accepted. */
export interface SentMessage {
  readonly message: EmailMessage;
  /** The RFC 5322 bytes as an SMTP server would receive them (no Bcc header). */
  readonly mime: Buffer;
  readonly envelope: Envelope;
  readonly receipt: SendReceipt;
}

/** A transport that keeps messages in memory. */
export interface MemoryTransport extends Transport {
  /** Every message sent so far, oldest first. */
  readonly sent: readonly SentMessage[];
  /** The newest message, or undefined. */
  last(): SentMessage | undefined;
  /** Forgets every message and any pending failure. */
  clear(): void;
  /**
   * Makes the next `count` sends fail with `error` (a `MailError`, a code, or a function making
   * an error per send). Nothing is recorded for a failed send.
   */
  failNext(count: number, error: MailError | MailErrorCode | (() => unknown)): void;
}

/** Options of {@link createMemoryTransport}. */
export interface MemoryTransportOptions {
  /** Default `memory://default`. */
  id?: string | undefined;
  /** Capabilities to declare, to test routing. Default: no limits, everything supported. */
  capabilities?: Partial<TransportCapabilities> | undefined;
}

const named = new Map<string, MemoryTransport>();

/**
 * The memory transport behind `memory://NAME`: one per name in the process, so a test can read
 * what an application configured with `MAILPORT_URL=memory://` sent.
 */
export function memoryTransport(name = 'default'): MemoryTransport {
  let transport = named.get(name);
  if (transport === undefined) {
    transport = createMemoryTransport({ id: `memory://${name}` });
    named.set(name, transport);
  }
  return transport;
}

/**
 * A transport that renders each message and keeps it in memory. Useful in tests, and as
 * `memory://` in development.
 *
 * @example
 * ```ts
 * const transport = createMemoryTransport();
 * await createMailer({ transport }).send({ from: 'a@x.example', to: 'b@y.example', text: 'hi' });
 * transport.last()?.message.to[0]?.address; // 'b@y.example'
 * ```
 */
export function createMemoryTransport(options: MemoryTransportOptions = {}): MemoryTransport {
  const id = options.id ?? 'memory://default';
  const sent: SentMessage[] = [];
  const failures: (() => unknown)[] = [];
  // The rendering of each message sent, for its record; renderMime caches it, so every send of one message has the same.
  const rendered = new WeakMap<EmailMessage, Buffer>();
  let counter = 0;

  return defineTransport(
    {
      id,
      name: 'MemoryTransport',
      capabilities: {
        maxMessageSize: undefined,
        maxRecipients: undefined,
        customHeaders: true,
        envelope: true,
        smtpUtf8: true,
        concurrency: 16,
        dkim: 'any',
        ...options.capabilities,
      },
      // memory://NAME is one transport for the whole process: one mailer closing it must not end it for the next.
      closable: false,
      // A test double: tests spy on its send and close.
      frozen: false,
      async send(message: EmailMessage, sendOptions: SendOptions): Promise<SendResult> {
        const failure = failures.shift();
        if (failure !== undefined) throw failure();
        const mime = await renderMime(message);
        sendOptions.signal?.throwIfAborted();
        counter++;
        rendered.set(message, mime);
        return { providerMessageId: `memory-${counter}` };
      },
      onSent(receipt: SendReceipt, message: EmailMessage): void {
        sent.push(Object.freeze({ message, mime: rendered.get(message) as Buffer, envelope: message.envelope, receipt }));
      },
      async verify(): Promise<VerifyReport> {
        return { transport: id, checks: [{ name: 'memory', ok: true, detail: 'keeps messages in this process' }], details: {} };
      },
      describe: () => `${sent.length} sent`,
    },
    {
      get sent(): readonly SentMessage[] {
        return sent;
      },
      last(): SentMessage | undefined {
        return sent.at(-1);
      },
      clear(): void {
        sent.length = 0;
        failures.length = 0;
      },
      failNext(count: number, error: MailError | MailErrorCode | (() => unknown)): void {
        const make =
          typeof error === 'function'
            ? error
            : typeof error === 'string'
              ? () => new MailError(error, `memory transport: simulated ${error} failure`, { transport: id })
              : () => error;
        for (let index = 0; index < count; index++) failures.push(make);
      },
    },
  );
}
