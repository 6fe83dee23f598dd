import { once } from 'node:events';
import type { Socket } from 'node:net';
import type { Readable } from 'node:stream';
import { parseVerpAddress, type VerpOptions } from '@mailport/core/verp';
import { SMTPServer, type SMTPServerAddress, type SMTPServerSession } from 'smtp-server';
import type { JoinMethod, MailEvent, SendLog } from '../model.js';
import { joinReport, parseReport } from '../reports/index.js';

/** Options of {@link createBounceReceiver}. */
export interface BounceReceiverOptions {
  /** The bounce domain (the VERP domain of the SMTP transport): every RCPT TO must be at it. */
  readonly domain: string;
  /**
   * The SMTP transport's VERP secret (and local part, default `bounces`): a RCPT TO whose HMAC does
   * not verify is refused with `550 5.1.1` before any data. Default: none (any address at `domain`
   * is accepted, and reports are joined by ENVID, the quoted Message-ID or In-Reply-To).
   */
  readonly verp?: { readonly secret: string | Uint8Array; readonly local?: string | undefined } | undefined;
  /** Where sent messages are found; a report about a message not in it yields no event. */
  readonly sendLog: SendLog;
  /**
   * Takes the events of each report. The message is answered `250` only once it resolves, and
   * `451 4.3.0` when it throws or takes longer than `handlerTimeoutMs`, so the sending MTA retries
   * (event ids are stable: a retried report yields the same ids).
   */
  onEvents(events: readonly MailEvent[]): void | Promise<void>;
  /**
   * Called for every accepted message, joined or not: what was made of it. For logs; never
   * changes the reply, and what it throws is ignored.
   */
  readonly onReport?: ((outcome: BounceReceiverReport) => void) | undefined;
  /** Interface to listen on. Default `127.0.0.1`; an MX facing the internet needs `0.0.0.0` or `::`. */
  readonly host?: string | undefined;
  /** TCP port. Default 2525 (port 25 needs privileges: forward it, or run behind your MTA); 0 for an ephemeral one. */
  readonly port?: number | undefined;
  /** The largest message (SIZE); a larger one gets `552`. Default 10 MB. */
  readonly maxMessageBytes?: number | undefined;
  /** Connections at once. Default 100. */
  readonly maxConnections?: number | undefined;
  /** Messages per connection; past it MAIL FROM gets `421` and the client reconnects. Default 100. */
  readonly maxMessagesPerConnection?: number | undefined;
  /** Recipients per message (a bounce has one). Default 10. */
  readonly maxRecipients?: number | undefined;
  /** Longest silence from the client, in ms. Default 60 000. */
  readonly socketTimeoutMs?: number | undefined;
  /** Longest wait for `onEvents`, in ms, before answering `451`. Default 30 000. */
  readonly handlerTimeoutMs?: number | undefined;
  /** Longest parse of one message, in ms (`parseReport`'s `timeoutMs`). Default 5 000. */
  readonly parseTimeoutMs?: number | undefined;
  /** Key and certificate (PEM) to offer STARTTLS with. Default: no STARTTLS. */
  readonly tls?: { readonly key: string | Buffer; readonly cert: string | Buffer } | undefined;
  /** The name in the greeting and EHLO. Default `domain`. */
  readonly name?: string | undefined;
}

/** What {@link BounceReceiverOptions.onReport} is told about one accepted message. */
export interface BounceReceiverReport {
  /** MAIL FROM; `''` for the null sender bounces use. */
  readonly envelopeFrom: string;
  readonly envelopeTo: readonly string[];
  readonly bytes: number;
  readonly events: readonly MailEvent[];
  readonly joinedBy: JoinMethod | undefined;
  /** Why no event came of it, when none did. */
  readonly reason?: string | undefined;
}

/** A running bounce receiver. */
export interface BounceReceiver {
  /** The port it listens on (the ephemeral one when `port: 0`). */
  readonly port: number;
  /** Stops listening and ends open connections. */
  close(): Promise<void>;
}

interface ConnectionInternals {
  session: SMTPServerSession;
  _socket: Socket;
}

const dnsName = /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+$/i;

const smtpError = (code: number, message: string): Error => Object.assign(new Error(message), { responseCode: code });

function positive(name: string, value: number | undefined, fallback: number): number {
  const result = value ?? fallback;
  if (!Number.isFinite(result) || result <= 0) throw new RangeError(`createBounceReceiver: ${name} must be above 0`);
  return result;
}

/**
 * The message of a DATA stream, or `undefined` when it is over the SIZE limit. smtp-server streams
 * an oversized message to its end and only sets `sizeExceeded`, so nothing past the limit is kept:
 * a client could otherwise make the receiver hold any amount in memory.
 */
export function readData(stream: Readable & { sizeExceeded?: boolean }): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => {
      if (stream.sizeExceeded !== true) chunks.push(chunk);
      else chunks.length = 0;
    });
    stream.on('error', reject);
    stream.on('end', () => resolve(stream.sizeExceeded === true ? undefined : Buffer.concat(chunks)));
  });
}

/**
 * An SMTP server for the bounce domain (its MX, or a relay's next hop), on `smtp-server`. It
 * accepts mail from anyone, including the null sender `MAIL FROM:<>` that bounces use, but only
 * to addresses at `domain`, and with `verp` only to VERP addresses whose HMAC verifies: a forged
 * return path is refused at RCPT, before any data. No AUTH; STARTTLS only with `tls`. Each message
 * is parsed (`parseReport` of `@mailport/events/reports`), joined to the sent message through the
 * send log (the VERP token first), and its events handed to `onEvents`; the `250` comes after.
 *
 * @example
 * ```ts
 * const receiver = await createBounceReceiver({
 *   domain: 'bounces.shop.example',
 *   verp: { secret: process.env.VERP_SECRET ?? '' },
 *   sendLog,
 *   onEvents: (events) => pipeline.handle(events),
 *   host: '0.0.0.0',
 *   port: 25,
 * });
 * ```
 */
export async function createBounceReceiver(options: BounceReceiverOptions): Promise<BounceReceiver> {
  if (typeof options.domain !== 'string' || !dnsName.test(options.domain)) {
    throw new TypeError('createBounceReceiver: domain must be a DNS name, as bounces.shop.example');
  }
  const domain = options.domain.toLowerCase();
  if (options.name !== undefined && (typeof options.name !== 'string' || !dnsName.test(options.name))) {
    throw new TypeError('createBounceReceiver: name must be a DNS name, as mx.shop.example');
  }
  if (typeof options.onEvents !== 'function') throw new TypeError('createBounceReceiver: onEvents is required');
  if (options.sendLog === undefined || typeof options.sendLog.get !== 'function')
    throw new TypeError('createBounceReceiver: sendLog is required');
  const verp: VerpOptions | undefined =
    options.verp === undefined ? undefined : { domain, secret: options.verp.secret, local: options.verp.local ?? 'bounces' };
  // Checks the secret's length now (parseVerpAddress throws on a short one), not at the first RCPT.
  if (verp !== undefined) parseVerpAddress(`x@${domain}`, verp);
  const maxMessageBytes = positive('maxMessageBytes', options.maxMessageBytes, 10 * 1024 * 1024);
  const maxMessages = positive('maxMessagesPerConnection', options.maxMessagesPerConnection, 100);
  const maxRecipients = positive('maxRecipients', options.maxRecipients, 10);
  const handlerTimeoutMs = positive('handlerTimeoutMs', options.handlerTimeoutMs, 30_000);
  const parseTimeoutMs = positive('parseTimeoutMs', options.parseTimeoutMs, 5_000);
  const messagesBySession = new Map<string, number>();

  const checkRecipient = (address: SMTPServerAddress): string | undefined => {
    const text = address.address;
    const at = text.lastIndexOf('@');
    if (at < 1 || text.slice(at + 1).toLowerCase() !== domain) return `5.1.1 <${text.slice(0, 200)}>: not a bounce address of ${domain}`;
    if (verp !== undefined && parseVerpAddress(text, verp) === undefined) return `5.1.1 <${text.slice(0, 200)}>: not a valid return path`;
    return undefined;
  };

  const handle = async (raw: Buffer, session: SMTPServerSession): Promise<BounceReceiverReport> => {
    const mailFrom = session.envelope.mailFrom;
    const envelopeTo = session.envelope.rcptTo.map((rcpt) => rcpt.address);
    const report = await parseReport(raw, { maxBytes: maxMessageBytes, timeoutMs: parseTimeoutMs });
    const events = new Map<string, MailEvent>();
    let joinedBy: JoinMethod | undefined;
    let reason: string | undefined;
    // One join per envelope recipient: each VERP address names its own message.
    for (const envelope of new Set(envelopeTo.map((address) => address.toLowerCase()))) {
      const joined = await joinReport(report, {
        sendLog: options.sendLog,
        source: 'smtp',
        ...(verp === undefined ? {} : { verp }),
        envelopeTo: envelope,
      });
      for (const event of joined.events) events.set(event.id, event);
      joinedBy ??= joined.joinedBy;
      reason ??= joined.reason;
    }
    return {
      envelopeFrom: mailFrom === false ? '' : mailFrom.address,
      envelopeTo,
      bytes: raw.byteLength,
      events: [...events.values()],
      joinedBy,
      ...(events.size === 0 && reason !== undefined ? { reason } : {}),
    };
  };

  const deliver = async (events: readonly MailEvent[]): Promise<void> => {
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        Promise.resolve().then(() => options.onEvents(events)),
        new Promise((_resolve, reject) => {
          timer = setTimeout(() => reject(new Error('onEvents took too long')), handlerTimeoutMs);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  };

  const server: SMTPServer = new SMTPServer({
    ...(options.tls === undefined ? {} : { key: options.tls.key, cert: options.tls.cert }),
    // Without a key of its own, smtp-server would offer STARTTLS with a built-in certificate.
    disabledCommands: options.tls === undefined ? ['AUTH', 'STARTTLS'] : ['AUTH'],
    hideSTARTTLS: options.tls === undefined,
    authOptional: true,
    size: maxMessageBytes,
    maxClients: positive('maxConnections', options.maxConnections, 100),
    socketTimeout: positive('socketTimeoutMs', options.socketTimeoutMs, 60_000),
    closeTimeout: 1_000,
    disableReverseLookup: true,
    useXClient: false,
    useXForward: false,
    logger: false,
    name: options.name ?? domain,
    banner: 'mailport bounce receiver',
    onMailFrom(_address, session, callback) {
      const count = (messagesBySession.get(session.id) ?? 0) + 1;
      messagesBySession.set(session.id, count);
      if (count > maxMessages) return callback(smtpError(421, '4.7.0 Too many messages on this connection, reconnect'));
      callback();
    },
    onRcptTo(address, session, callback) {
      if (session.envelope.rcptTo.length >= maxRecipients) return callback(smtpError(452, '4.5.3 Too many recipients'));
      const refused = checkRecipient(address);
      if (refused !== undefined) return callback(smtpError(550, refused));
      callback();
    },
    onData(stream, session, callback) {
      readData(stream).then(
        async (raw) => {
          if (raw === undefined) return callback(smtpError(552, '5.3.4 Message too big'));
          try {
            const outcome = await handle(raw, session);
            try {
              options.onReport?.(outcome);
            } catch {
              // A logging hook must not change the reply.
            }
            if (outcome.events.length > 0) await deliver(outcome.events);
          } catch {
            return callback(smtpError(451, '4.3.0 Report not processed, try again later'));
          }
          callback(null, '2.0.0 Ok: report taken');
        },
        () => callback(smtpError(451, '4.3.0 Message not read')),
      );
    },
    onClose(session) {
      messagesBySession.delete(session.id);
    },
  });
  server.on('error', () => {});
  server.listen(options.port ?? 2525, options.host ?? '127.0.0.1');
  await Promise.race([
    once(server.server, 'listening'),
    once(server.server, 'error').then(([error]) => {
      throw error;
    }),
  ]);
  let closing: Promise<void> | undefined;
  return {
    port: (server.server.address() as { port: number }).port,
    close() {
      closing ??= new Promise<void>((resolve) => {
        const connections = (server as unknown as { connections: Set<ConnectionInternals> }).connections;
        for (const connection of connections) connection._socket.destroy();
        server.close(() => resolve());
      });
      return closing;
    },
  };
}
