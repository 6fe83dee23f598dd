import type { Readable } from 'node:stream';
import { domainToASCII } from 'node:url';
import {
  type DefinedTransport,
  defineTransport,
  type EmailMessage,
  MailError,
  type RecipientError,
  type RenderedMime,
  renderMimeParts,
  type SendOptions,
  type SendResult,
  type VerifyReport,
} from '@mailport/core';
import { verpAddress } from '@mailport/core/verp';
import nodemailer from 'nodemailer';
import MimeNode from 'nodemailer/lib/mime-node';
import { mapSmtpError, recipientErrors, type SmtpFailure } from './smtp-errors.js';
import { resolveSmtpOptions, type SmtpTransportOptions } from './smtp-options.js';
import { featuresFromEhlo, probeServer, type ServerFeatures } from './smtp-probe.js';

/** The SMTP transport: a `Transport` with the server's features learnt on the way. */
export type SmtpTransport = DefinedTransport;

interface SentInfo {
  accepted?: (string | { address: string })[];
  rejected?: (string | { address: string })[];
  rejectedErrors?: SmtpFailure[];
  response?: string;
  serverMessageId?: string;
  ehlo?: string[];
}

type NodemailerTransporter = ReturnType<typeof nodemailer.createTransport>;

// Amazon SES's SMTP interface: email-smtp.<region>.amazonaws.com, and the -fips variant.
const sesSmtpHost = /^email-smtp(?:-fips)?\.[a-z0-9-]+\.amazonaws\.com$/i;

/**
 * A message as nodemailer's SMTP transports read it (pooled or not): what `sendMail` hands them,
 * by nodemailer's transport contract (`send(mail, callback)`, `mail.data`, `mail.message`).
 */
interface QueuedMail {
  readonly data: { readonly signal: AbortSignal | undefined; readonly dsn?: NodemailerDsn | undefined };
  readonly message: {
    getEnvelope(): { from: string | false; to: string[] };
    messageId(): string;
    getHeader(name: string): string | undefined;
    createReadStream(): Readable;
  };
}

/** nodemailer's `dsn` message option: RET and ENVID on MAIL FROM, NOTIFY on each RCPT (only when the server offers DSN). */
interface NodemailerDsn {
  readonly ret?: 'HDRS' | 'FULL' | undefined;
  readonly envid?: string | undefined;
  readonly notify?: string | undefined;
}

/** nodemailer's SMTP transport behind `createTransport`: `SMTPPool` or `SMTPTransport`. */
interface QueueingTransport {
  send(mail: QueuedMail, callback: (error: Error | null, info?: unknown) => void): unknown;
}

// RFC 5321 4.5.3.1.10: "too many recipients" is 452 (552 from older servers); the rest go in a new transaction.
const tooManyRecipients = (error: RecipientError): boolean =>
  error.statusCode === 452 || (error.statusCode === 552 && /too many|5\.5\.3/i.test(`${error.providerCode} ${error.message}`));

/**
 * Creates an SMTP transport over nodemailer. Connections are pooled and reused (closed after
 * `idleTimeoutMs` without sends); every message is rendered once by `@mailport/core` and handed
 * to nodemailer as raw bytes with an explicit envelope, so what is sent is exactly what was
 * validated.
 *
 * @example
 * ```ts
 * const transport = createSmtpTransport({
 *   host: 'smtp.example.com',
 *   auth: { user: 'app@example.com', pass: new Secret(process.env.SMTP_PASSWORD ?? '') },
 * });
 * ```
 */
export function createSmtpTransport(input: SmtpTransportOptions): SmtpTransport {
  const options = resolveSmtpOptions(input);
  const id = options.id;
  let transporter: NodemailerTransporter | undefined;
  let inFlight = 0;
  let idleTimer: NodeJS.Timeout | undefined;
  let features: ServerFeatures | undefined;
  let probing: Promise<ServerFeatures> | undefined;
  let lastToken: string | undefined;

  const nodemailerAuth = (): Record<string, unknown> | undefined => {
    const auth = options.auth;
    if (auth === undefined) return undefined;
    if ('tokenProvider' in auth) {
      return {
        type: 'OAuth2',
        user: auth.user,
        // nodemailer asks again with renew=true once the server refused the token: one refresh, one retry.
        provisionCallback: (_user: string, renew: boolean, callback: (error: Error | null, token?: string, expires?: number) => void) => {
          auth.tokenProvider.getAccessToken({ forceRefresh: renew, refusedToken: renew ? lastToken : undefined }).then(
            (token) => {
              lastToken = token.token;
              callback(null, token.token, token.expiresAt);
            },
            (error: unknown) => {
              // nodemailer rewrites the code of the error it is given, so carry ours inside another.
              const carrier = new Error(error instanceof Error ? error.message : String(error)) as Error & { mailError?: unknown };
              carrier.mailError = error;
              callback(carrier);
            },
          );
        },
      };
    }
    return { user: auth.user, pass: typeof auth.pass === 'string' ? auth.pass : auth.pass.reveal() };
  };

  const connectionOptions = (): Record<string, unknown> => ({
    host: options.host,
    port: options.port,
    secure: options.secure,
    requireTLS: options.requireTls,
    auth: nodemailerAuth(),
    name: options.ehloName,
    connectionTimeout: options.connectionTimeoutMs,
    greetingTimeout: options.greetingTimeoutMs,
    socketTimeout: options.socketTimeoutMs,
    tls: options.tls,
    logger: false,
    debug: false,
  });

  const getTransporter = (): NodemailerTransporter => {
    if (transporter !== undefined) return transporter;
    const created = nodemailer.createTransport({
      ...connectionOptions(),
      pool: options.pool,
      maxConnections: options.maxConnections,
      maxMessages: options.maxMessagesPerConnection,
      // Core owns retries: nodemailer must not resend a message on its own.
      maxRequeues: 0,
      // Credentials given are used or the send fails: nodemailer would skip AUTH, and send
      // unauthenticated, on a connection whose EHLO does not offer it (a server without AUTH, or an
      // advertisement stripped on the way). Forced, the server's refusal of AUTH fails the send.
      forceAuth: options.auth !== undefined,
      disableFileAccess: true,
      disableUrlAccess: true,
    } as Parameters<typeof nodemailer.createTransport>[0]);
    // Failures reach each send's own callback; without a listener an 'error' event would crash the process.
    created.on('error', () => {});
    transporter = created;
    return created;
  };

  const scheduleIdleClose = (): void => {
    clearTimeout(idleTimer);
    if (!options.pool || inFlight > 0 || transporter === undefined) return;
    idleTimer = setTimeout(() => {
      if (inFlight === 0 && transporter !== undefined) {
        transporter.close();
        transporter = undefined;
      }
    }, options.idleTimeoutMs);
    idleTimer.unref();
  };

  const serverFeatures = (signal: AbortSignal | undefined): Promise<ServerFeatures> => {
    if (features !== undefined) return Promise.resolve(features);
    probing ??= probeServer(connectionOptions(), { authenticate: false, signal }).then(
      (found) => {
        features = found;
        probing = undefined;
        return found;
      },
      (error: unknown) => {
        probing = undefined;
        throw error;
      },
    );
    return probing;
  };

  // RFC 3461 4.4: ENVID is at most 100 characters; a longer Message-ID goes without (reports still quote it).
  const dsnFor = (messageId: string): NodemailerDsn | undefined => {
    if (options.dsn === undefined) return undefined;
    return {
      ...(options.dsn.ret === undefined ? {} : { ret: options.dsn.ret }),
      ...(options.dsn.notify === undefined ? {} : { notify: options.dsn.notify }),
      ...(xtextLength(messageId) <= 100 ? { envid: messageId } : {}),
    };
  };

  const toMailError = (error: unknown, handedOver: boolean, signal: AbortSignal | undefined): unknown => {
    // However nodemailer reported the abort (EABORT, or the reason), the shell rejects with the caller's reason.
    if (signal?.aborted === true) return error;
    const carried = (error as { mailError?: unknown }).mailError;
    if (MailError.isInstance(carried)) return carried;
    if (MailError.isInstance(error)) return error;
    return mapSmtpError(error as SmtpFailure, { transport: id, host: options.host, port: options.port, handedOver });
  };

  /**
   * One SMTP transaction. Resolves with nodemailer's info, or rejects with a MailError.
   *
   * The message goes straight to nodemailer's SMTP transport (pooled or not), as the message its
   * `sendMail` would have built: the envelope as its parser makes it, the rendered bytes, the
   * signal. Through `sendMail`, the rendered bytes became the raw content of a second MIME tree
   * (a node with its own random boundary and Message-ID, plugins, a pipeline of transforms)
   * that changed nothing they carry and cost a third of rendering the message.
   */
  const transact = async (
    mime: RenderedMime,
    messageId: string,
    envelope: { from: string; to: readonly string[] },
    signal: AbortSignal | undefined,
  ): Promise<SentInfo> => {
    let handedOver = false;
    const smtpEnvelope = nodemailerEnvelope(envelope);
    const mail: QueuedMail = {
      data: { signal, dsn: dsnFor(messageId) },
      message: {
        getEnvelope: () => smtpEnvelope,
        messageId: () => messageId,
        getHeader: (name) => (name.toLowerCase() === 'message-id' ? messageId : undefined),
        createReadStream: () => {
          const stream = mime.stream();
          // Read only by the DATA stream, after the server's 354. When it ends, the final dot
          // follows at once, and from then on a lost connection is an unknown outcome.
          stream.once('end', () => {
            handedOver = true;
          });
          return stream;
        },
      },
    };
    inFlight++;
    clearTimeout(idleTimer);
    try {
      const sender = getTransporter().transporter as unknown as QueueingTransport;
      const info = await new Promise<SentInfo>((resolve, reject) => {
        sender.send(mail, (error, sent) => (error ? reject(error) : resolve(sent as SentInfo)));
      });
      if (features === undefined && info.ehlo !== undefined) features = featuresFromEhlo(info.ehlo);
      return info;
    } catch (error) {
      throw toMailError(error, handedOver, signal);
    } finally {
      inFlight--;
      scheduleIdleClose();
    }
  };

  // The shell has checked max_recipients and max_size (on this same rendering, cached); SMTPUTF8
  // depends on the server, so it is checked here.
  const send = async (message: EmailMessage, sendOptions: SendOptions): Promise<SendResult> => {
    const signal = sendOptions.signal;
    const mime = await renderMimeParts(message);
    assertEnvelopeSurvives(message, id);
    if (message.requiresSmtpUtf8) {
      const found = await serverFeatures(signal).catch((error: unknown) => {
        throw toMailError(error, false, signal);
      });
      if (!found.smtpUtf8) {
        throw new MailError('unsupported', `${id} does not offer SMTPUTF8, which this message needs for a non-ASCII address`, {
          transport: id,
          remediation: 'Use an ASCII address, or send through a server that supports SMTPUTF8 (RFC 6531).',
        });
      }
    }

    // VERP: the envelope sender names this message, with an HMAC the bounce receiver checks.
    const envelopeFrom =
      options.verp === undefined
        ? message.envelope.from
        : verpAddress(message.messageId, { domain: options.verp.domain, secret: options.verp.key(), local: options.verp.local });
    const accepted: string[] = [];
    const rejected: RecipientError[] = [];
    let pending = [...message.envelope.to];
    let last: SentInfo | undefined;
    while (pending.length > 0) {
      let info: SentInfo;
      try {
        info = await transact(mime, message.messageId, { from: envelopeFrom, to: pending }, signal);
      } catch (error) {
        // After a first transaction went through, a later one failing leaves a partly sent message: report it as such.
        if (accepted.length > 0 && MailError.isInstance(error)) {
          rejected.push(
            ...pending.map((address) => ({
              address,
              message: error.message,
              statusCode: error.statusCode,
              providerCode: error.providerCode,
              retryable: error.retryable,
            })),
          );
          break;
        }
        throw error;
      }
      last = info;
      accepted.push(...(info.accepted ?? []).map(plainAddress));
      const refused = recipientErrors(info.rejectedErrors);
      const retryHere = refused.filter(tooManyRecipients);
      rejected.push(...refused.filter((error) => !tooManyRecipients(error)));
      // Only go on while the server accepts some recipients each time, so this always ends.
      if (retryHere.length === 0 || (info.accepted ?? []).length === 0) {
        rejected.push(...retryHere);
        break;
      }
      pending = retryHere.map((error) => error.address);
    }
    // Microsoft 365 and SES replace the Message-ID; the receipt reports the one recipients see.
    const serverMessageId = last?.serverMessageId;
    return {
      messageId: serverMessageId,
      providerMessageId: queueId(last?.response) ?? serverMessageId?.slice(1, -1),
      accepted,
      rejected,
      response: last?.response,
      details: {
        envelopeFrom,
        ...(serverMessageId === undefined ? {} : { submittedMessageId: message.messageId }),
        // nodemailer leaves the DSN parameters out, without a word, when the server does not offer DSN.
        ...(options.dsn === undefined ? {} : { dsn: last?.ehlo?.some((line) => /^DSN\b/i.test(line)) ? 'requested' : 'not-offered' }),
      },
    };
  };

  const verify = async (verifyOptions: SendOptions): Promise<VerifyReport> => {
    let found: ServerFeatures;
    try {
      found = await probeServer(connectionOptions(), { authenticate: options.auth !== undefined, signal: verifyOptions.signal });
    } catch (error) {
      throw toMailError(error, false, verifyOptions.signal);
    }
    features = found;
    const auth = options.auth;
    return {
      transport: id,
      checks: [
        { name: 'connect', ok: true, detail: `${options.host}:${options.port} answered EHLO with ${found.extensions.length} extensions` },
        {
          name: 'tls',
          ok: found.tlsProtocol !== undefined || !options.requireTls,
          detail:
            found.tlsProtocol === undefined
              ? 'not encrypted (loopback or require_tls=false)'
              : `${options.secure ? 'implicit TLS' : 'STARTTLS'}, ${found.tlsProtocol}, certificate verified`,
        },
        {
          name: 'auth',
          ok: true,
          detail:
            auth === undefined
              ? 'no credentials configured'
              : `${'tokenProvider' in auth ? 'XOAUTH2' : 'password'} accepted for ${auth.user}`,
        },
      ],
      details: {
        extensions: found.extensions,
        starttls: found.starttls,
        size: found.size,
        smtpUtf8: found.smtpUtf8,
        pipelining: found.pipelining,
        authMethods: found.authMethods,
        tlsProtocol: found.tlsProtocol,
      },
    };
  };

  const close = (): void => {
    clearTimeout(idleTimer);
    transporter?.close();
    transporter = undefined;
  };

  return defineTransport({
    id,
    name: 'SmtpTransport',
    capabilities: {
      maxMessageSize: options.maxMessageSize,
      maxRecipients: options.maxRecipients,
      customHeaders: true,
      envelope: true,
      smtpUtf8: 'negotiated',
      concurrency: options.pool ? options.maxConnections : 1,
      // The bytes arrive as sent, so a DKIM signature holds; SES's SMTP endpoint rewrites Message-ID
      // and Date and keeps one DKIM-Signature, as its API does (SES header-fields documentation).
      dkim: sesSmtpHost.test(options.host) ? 'one-key-no-id-date' : 'any',
    },
    send,
    verify,
    close,
  });
}

/** The server's queue id from its final reply: Postfix "queued as 4Xyz", SES "Ok 0100...", and the like. */
export function queueId(response: string | undefined): string | undefined {
  if (response === undefined) return undefined;
  return /queued as ([\w.@<>-]+)/i.exec(response)?.[1] ?? /^250 Ok ([0-9a-f]+(?:-[0-9a-f]+)+)$/i.exec(response.trim())?.[1];
}

/** The length of a value as RFC 3461 xtext: "+", "=" and anything outside "!".."~" take three characters. */
function xtextLength(value: string): number {
  let length = 0;
  for (const byte of Buffer.from(value)) length += byte < 0x21 || byte > 0x7e || byte === 0x2b || byte === 0x3d ? 3 : 1;
  return length;
}

function plainAddress(entry: string | { address: string }): string {
  return typeof entry === 'string' ? entry : entry.address;
}

// One node serves every check: setEnvelope() replaces the envelope, and building a node per message costs more than the check.
const envelopeParser = new MimeNode();

/**
 * The envelope as nodemailer's `sendMail` would give it to the SMTP connection: parsed by its
 * MIME node (a fresh object each time; the connection adds its own fields to it).
 */
function nodemailerEnvelope(envelope: { from: string; to: readonly string[] }): { from: string | false; to: string[] } {
  envelopeParser.setEnvelope({ from: { address: envelope.from, name: '' }, to: envelope.to.map((address) => ({ address, name: '' })) });
  return envelopeParser.getEnvelope() as { from: string | false; to: string[] };
}

/**
 * nodemailer parses envelope addresses again and would quietly send to whatever its parser
 * makes of them. Run its own parser here and refuse the message if the result differs.
 */
function assertEnvelopeSurvives(message: EmailMessage, id: string): void {
  envelopeParser.setEnvelope({
    from: { address: message.envelope.from, name: '' },
    to: message.envelope.to.map((address) => ({ address, name: '' })),
  });
  const parsed = envelopeParser.getEnvelope() as { from: string | false; to: string[] };
  const same =
    parsed.from !== false &&
    sameMailbox(parsed.from, message.envelope.from) &&
    parsed.to.length === message.envelope.to.length &&
    parsed.to.every((address, index) => sameMailbox(address, message.envelope.to[index] as string));
  if (!same) {
    throw new MailError(
      'invalid-message',
      `The envelope would not go out as written (${JSON.stringify(message.envelope)} became ${JSON.stringify(parsed)})`,
      {
        transport: id,
        field: 'envelope',
        remediation: 'Use plain addresses in the envelope.',
      },
    );
  }
}

/**
 * Whether nodemailer's form of an address is the address mailport holds. The model keeps domains
 * as A-labels; nodemailer writes the domain as U-labels when the local part is non-ASCII (the
 * address needs SMTPUTF8 anyway, and RFC 6531 allows either form there). The same local part at
 * the same domain, in either form, is the same mailbox.
 */
function sameMailbox(written: string, held: string): boolean {
  if (written === held) return true;
  const writtenAt = written.lastIndexOf('@');
  const heldAt = held.lastIndexOf('@');
  if (writtenAt < 1 || heldAt < 1 || written.slice(0, writtenAt) !== held.slice(0, heldAt)) return false;
  const domain = domainToASCII(written.slice(writtenAt + 1));
  return domain !== '' && domain === domainToASCII(held.slice(heldAt + 1));
}
