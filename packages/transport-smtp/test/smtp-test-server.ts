import { once } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import { generate } from 'selfsigned';
import { SMTPServer, type SMTPServerOptions, type SMTPServerSession } from 'smtp-server';

/** A message as the server received it, bytes untouched. */
export interface ReceivedMessage {
  readonly from: string;
  readonly to: readonly string[];
  readonly raw: Buffer;
  readonly sessionId: string;
  readonly smtpUtf8: boolean;
  readonly user: string | undefined;
}

/** An SMTP reply to send instead of the normal one. */
export interface Reply {
  readonly code: number;
  readonly message: string;
}

/**
 * Per-stage fault injection. Return a reply to refuse, `'drop'` to cut the connection, `'stall'`
 * to never answer, or nothing to accept.
 */
export type Fault = Reply | 'drop' | 'stall' | undefined;

export interface Faults {
  mailFrom?: (address: string, session: SMTPServerSession) => Fault;
  rcptTo?: (address: string, session: SMTPServerSession) => Fault;
  /** Runs after the whole message was read; `'drop'` cuts the connection before the final reply. */
  data?: (raw: Buffer, session: SMTPServerSession) => Fault;
}

export interface TestSmtpServerOptions {
  /** Offer STARTTLS with a generated certificate. Default true. */
  tls?: boolean;
  /** Implicit TLS from the first byte. Default false. */
  secure?: boolean;
  /** Accept only this user and password (PLAIN/LOGIN). */
  password?: { user: string; pass: string };
  /** Accept XOAUTH2 when this returns true for the token. */
  acceptToken?: (user: string, token: string) => boolean;
  faults?: Faults;
  /** Extra smtp-server options (size, hideSMTPUTF8, hidePIPELINING, ...). */
  server?: Partial<SMTPServerOptions>;
}

export interface TestSmtpServer {
  readonly host: '127.0.0.1';
  readonly port: number;
  /** PEM of the certificate, to trust it (`ca_file` or the `ca` option). */
  readonly ca: string;
  readonly received: ReceivedMessage[];
  /** Every AUTH attempt: method, user, and the password or token offered. */
  readonly authAttempts: { method: string; user: string; secret: string }[];
  /** Connections opened so far. */
  connections(): number;
  /** Connections open now. */
  openConnections(): number;
  faults: Faults;
  close(): Promise<void>;
}

let certificate: Promise<{ key: string; cert: string }> | undefined;

/** One self-signed certificate per test process, for 127.0.0.1 and localhost. */
export function testCertificate(): Promise<{ key: string; cert: string }> {
  certificate ??= generate([{ name: 'commonName', value: 'localhost' }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    extensions: [
      { name: 'basicConstraints', cA: true },
      {
        name: 'subjectAltName',
        altNames: [
          { type: 2, value: 'localhost' },
          { type: 7, ip: '127.0.0.1' },
        ],
      },
    ],
  }).then((result) => ({ key: result.private, cert: result.cert }));
  return certificate;
}

/** Starts a real smtp-server on 127.0.0.1 with an ephemeral port. */
export async function startTestSmtpServer(options: TestSmtpServerOptions = {}): Promise<TestSmtpServer> {
  const { key, cert } = await testCertificate();
  const received: ReceivedMessage[] = [];
  const authAttempts: { method: string; user: string; secret: string }[] = [];
  let connectionCount = 0;
  let closedCount = 0;
  const authRequired = options.password !== undefined || options.acceptToken !== undefined;
  const state = { faults: options.faults ?? {} };

  const refuse = (reply: Reply): Error => Object.assign(new Error(reply.message), { responseCode: reply.code });
  const drop = (session: SMTPServerSession): void => {
    for (const connection of (server as unknown as { connections: Set<{ session: SMTPServerSession; _socket: Socket }> }).connections) {
      if (connection.session.id === session.id) connection._socket.destroy();
    }
  };

  const server: SMTPServer = new SMTPServer({
    secure: options.secure ?? false,
    key,
    cert,
    hideSTARTTLS: options.tls === false,
    // Hiding STARTTLS from EHLO is not enough: a client that insists would still get it.
    disabledCommands: [...(authRequired ? [] : ['AUTH']), ...(options.tls === false ? ['STARTTLS'] : [])],
    authMethods: ['PLAIN', 'LOGIN', 'XOAUTH2'],
    authOptional: !authRequired,
    allowInsecureAuth: options.tls === false,
    logger: false,
    onConnect(_session, callback) {
      connectionCount++;
      callback();
    },
    onClose() {
      closedCount++;
    },
    onAuth(auth, _session, callback) {
      const secret = auth.method === 'XOAUTH2' ? (auth.accessToken ?? '') : (auth.password ?? '');
      authAttempts.push({ method: auth.method, user: auth.username ?? '', secret });
      if (auth.method === 'XOAUTH2') {
        if (options.acceptToken?.(auth.username ?? '', secret) === true) return callback(null, { user: auth.username });
        return callback(null, { data: { status: '401', schemes: 'bearer', scope: 'https://mail.google.com/' } });
      }
      if (options.password !== undefined && auth.username === options.password.user && auth.password === options.password.pass) {
        return callback(null, { user: auth.username });
      }
      return callback(Object.assign(new Error('5.7.8 Authentication credentials invalid'), { responseCode: 535 }));
    },
    onMailFrom(address, session, callback) {
      const fault = state.faults.mailFrom?.(address.address, session);
      if (fault === 'drop') return drop(session);
      if (fault === 'stall') return;
      callback(fault === undefined ? undefined : refuse(fault));
    },
    onRcptTo(address, session, callback) {
      const fault = state.faults.rcptTo?.(address.address, session);
      if (fault === 'drop') return drop(session);
      if (fault === 'stall') return;
      callback(fault === undefined ? undefined : refuse(fault));
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks);
        const fault = state.faults.data?.(raw, session);
        if (fault === 'drop') {
          // The message arrived in full; the client never learns it did.
          received.push(record(raw, session));
          return drop(session);
        }
        if (fault === 'stall') {
          received.push(record(raw, session));
          return;
        }
        if (fault !== undefined) return callback(refuse(fault));
        if ((stream as unknown as { sizeExceeded?: boolean }).sizeExceeded) {
          return callback(refuse({ code: 552, message: '5.3.4 Message exceeds fixed maximum message size' }));
        }
        received.push(record(raw, session));
        callback(null, `2.0.0 Ok: queued as Q${received.length}`);
      });
    },
    ...options.server,
  });
  server.on('error', () => {});
  server.listen(0, '127.0.0.1');
  await once(server.server, 'listening');
  const port = (server.server.address() as { port: number }).port;

  return {
    host: '127.0.0.1',
    port,
    ca: cert,
    received,
    authAttempts,
    connections: () => connectionCount,
    openConnections: () => connectionCount - closedCount,
    get faults() {
      return state.faults;
    },
    set faults(faults: Faults) {
      state.faults = faults;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function record(raw: Buffer, session: SMTPServerSession): ReceivedMessage {
  const envelope = session.envelope as { mailFrom: { address: string } | false; rcptTo: { address: string }[]; smtpUtf8?: boolean };
  return {
    from: envelope.mailFrom === false ? '' : envelope.mailFrom.address,
    to: envelope.rcptTo.map((recipient) => recipient.address),
    raw,
    sessionId: session.id,
    smtpUtf8: envelope.smtpUtf8 === true,
    user: typeof session.user === 'string' ? session.user : undefined,
  };
}

/** A TCP server that accepts connections and never says a word (a stalled SMTP server). */
export async function startSilentServer(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as { port: number }).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
