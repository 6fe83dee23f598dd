import { once } from 'node:events';
import type { Socket } from 'node:net';
import { SMTPServer, type SMTPServerSession } from 'smtp-server';
import type { SmtpBounces } from './bounces/smtp-bounces.js';
import type { EmulatorContext } from './context.js';
import type { FaultInjector, FaultSpec } from './faults.js';
import type { RequestLog } from './requests.js';

/** The SMTP listener. */
export interface SmtpEmulator {
  readonly port: number;
  close(): Promise<void>;
}

/** Options of the SMTP emulator. */
export interface SmtpEmulatorOptions {
  readonly host: string;
  readonly port: number;
  readonly tls: { key: string; cert: string };
  /** Largest message (SIZE). Default 50 MB. */
  readonly maxMessageBytes?: number | undefined;
  /** Accept mail without AUTH. Default false, as a submission server. */
  readonly authOptional?: boolean | undefined;
  /** The bounce scenarios (`startSandbox({ bounces })`): told of every accepted message. */
  readonly bounces?: SmtpBounces | undefined;
}

interface ConnectionInternals {
  session: SMTPServerSession;
  _socket: Socket;
}

/**
 * A submission server: STARTTLS with the sandbox certificate, AUTH PLAIN and LOGIN against
 * `accounts.smtp.users`, XOAUTH2 with tokens from the sandbox's Google and Microsoft endpoints.
 * Faults: `smtp.CONNECT`, `smtp.AUTH`, `smtp.MAIL`, `smtp.RCPT`, `smtp.DATA`.
 */
export async function startSmtpEmulator(
  options: SmtpEmulatorOptions,
  context: EmulatorContext,
  faults: FaultInjector,
  log: RequestLog,
): Promise<SmtpEmulator> {
  const maxMessageBytes = options.maxMessageBytes ?? 50 * 1024 * 1024;
  let queued = 0;
  const refuse = (fault: FaultSpec, fallback: number): Error =>
    Object.assign(new Error(fault.message ?? '4.3.0 Temporary failure injected by the sandbox'), {
      responseCode: fault.status ?? fallback,
    });
  const socketOf = (session: SMTPServerSession): Socket | undefined => {
    const connections = (server as unknown as { connections: Set<ConnectionInternals> }).connections;
    for (const connection of connections) if (connection.session.id === session.id) return connection._socket;
    return undefined;
  };
  /** Applies a pending fault; true when it took over the reply. */
  const faulted = (endpoint: string, session: SMTPServerSession, callback: (error?: Error | null) => void, fallback: number): boolean => {
    const fault = faults.take(endpoint);
    log.record({
      endpoint,
      method: 'SMTP',
      path: endpoint.slice(5),
      outcome:
        fault === undefined ? 250 : fault.action === undefined || fault.action === 'respond' ? (fault.status ?? fallback) : fault.action,
    });
    if (fault === undefined) return false;
    switch (fault.action ?? 'respond') {
      case 'stall':
        return true;
      case 'reset':
      case 'drop':
        socketOf(session)?.destroy();
        return true;
      default:
        callback(refuse(fault, fallback));
        return true;
    }
  };

  const server: SMTPServer = new SMTPServer({
    key: options.tls.key,
    cert: options.tls.cert,
    size: maxMessageBytes,
    authMethods: ['PLAIN', 'LOGIN', 'XOAUTH2'],
    authOptional: options.authOptional === true,
    logger: false,
    name: 'sandbox.mailport.local',
    // RFC 3461, as Postfix offers it: NOTIFY, RET and ENVID shape the bounce scenarios' reports.
    hideDSN: false,
    onConnect(session, callback) {
      if (faulted('smtp.CONNECT', session, callback, 421)) return;
      callback();
    },
    onAuth(auth, session, callback) {
      if (faulted('smtp.AUTH', session, callback, 454)) return;
      if (auth.method === 'XOAUTH2') {
        const token = context.tokens.find(auth.accessToken ?? '');
        const user = (auth.username ?? '').toLowerCase();
        const forUser = token !== undefined && token.subject.toLowerCase() === user;
        // Microsoft 365 app-only SMTP: the token is the app's, and the app may send as the tenant's mailboxes.
        const appOnly =
          token?.issuer === 'microsoft' &&
          token.scopes.includes('https://outlook.office365.com/.default') &&
          context.accounts.microsoft.mailboxes.some((mailbox) => mailbox.toLowerCase() === user);
        if (forUser || appOnly) return callback(null, { user: auth.username });
        // As Gmail and Microsoft 365 do: a 334 challenge with the error, then 535 after the client's empty reply.
        return callback(null, { data: { status: '401', schemes: 'bearer', scope: 'https://mail.google.com/' } });
      }
      const expected = context.accounts.smtp.users[auth.username ?? ''];
      if (expected !== undefined && expected === auth.password) return callback(null, { user: auth.username });
      return callback(Object.assign(new Error('5.7.8 Authentication credentials invalid'), { responseCode: 535 }));
    },
    onMailFrom(_address, session, callback) {
      if (faulted('smtp.MAIL', session, callback, 451)) return;
      callback();
    },
    onRcptTo(_address, session, callback) {
      if (faulted('smtp.RCPT', session, callback, 450)) return;
      callback();
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        if ((stream as unknown as { sizeExceeded?: boolean }).sizeExceeded) {
          return callback(Object.assign(new Error('5.3.4 Message size exceeds fixed maximum message size'), { responseCode: 552 }));
        }
        const fault = faults.take('smtp.DATA');
        const action = fault?.action ?? 'respond';
        log.record({
          endpoint: 'smtp.DATA',
          method: 'SMTP',
          path: 'DATA',
          outcome: fault === undefined ? 250 : action === 'respond' ? (fault.status ?? 451) : action,
        });
        if (fault !== undefined && action === 'respond') return callback(refuse(fault, 451));
        if (fault !== undefined && action === 'reset') return socketOf(session)?.destroy();
        const raw = Buffer.concat(chunks);
        queued++;
        const queueId = `SBX${String(queued).padStart(6, '0')}`;
        const mailFrom = session.envelope.mailFrom;
        const stored = context.store.add({
          api: 'smtp',
          operation: 'SMTP DATA',
          envelope: { from: mailFrom === false ? '' : mailFrom.address, to: session.envelope.rcptTo.map((rcpt) => rcpt.address) },
          raw,
          providerMessageId: queueId,
          metadata: {
            user: typeof session.user === 'string' ? session.user : undefined,
            smtpUtf8: (session.envelope as { smtpUtf8?: boolean }).smtpUtf8 === true,
            secure: session.secure,
          },
        });
        if (fault !== undefined && action === 'drop') return socketOf(session)?.destroy();
        if (fault !== undefined && action === 'stall') return;
        // Read before the reply resets the session's envelope; handed over after it, as an MTA
        // reports only on mail it has taken.
        const dsn = session.envelope.dsn;
        const accepted = {
          storeId: stored.id,
          raw,
          envelopeFrom: mailFrom === false ? '' : mailFrom.address,
          recipients: session.envelope.rcptTo.map((rcpt) => ({ address: rcpt.address, notify: rcpt.dsn?.notify })),
          envid: dsn?.envid ?? undefined,
          ret: dsn?.ret === 'HDRS' || dsn?.ret === 'FULL' ? dsn.ret : undefined,
        } as const;
        callback(null, `2.0.0 Ok: queued as ${queueId}`);
        options.bounces?.accepted(accepted);
      });
    },
  });
  server.on('error', () => {});
  server.listen(options.port, options.host);
  await once(server.server, 'listening');
  return {
    port: (server.server.address() as { port: number }).port,
    close: () =>
      new Promise<void>((resolve) => {
        const connections = (server as unknown as { connections: Set<ConnectionInternals> }).connections;
        for (const connection of connections) connection._socket.destroy();
        server.close(() => resolve());
      }).then(() => options.bounces?.close()),
  };
}
