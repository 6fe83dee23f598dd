/**
 * An SMTP server in its own process, for the `mailport send --csv` tests: the CLI under test
 * never shares a process (or an event loop) with the server it sends to. It is the
 * `smtp-server` package on 127.0.0.1 (ephemeral port, AUTH PLAIN/LOGIN, no TLS: loopback), run by
 * Node's type stripping and driven over the IPC channel by `bulk-harness.ts`.
 *
 * Requests (`{ id, op, ... }`, each answered with `{ id, result }`):
 * - `messages`: every message accepted, `{ raw (base64), from, to }`, in arrival order;
 * - `count`, `clear`;
 * - `fault`: `{ stage: 'mail' | 'rcpt' | 'data', action: 'drop' | { code, message }, count }`:
 *   the next `count` commands at that stage are refused or their connection cut (`drop` at
 *   `data` stores the message first: the client cannot know it went through);
 * - `delay`: `{ ms }` before answering each DATA, to keep a run going.
 */
import { SMTPServer, type SMTPServerSession } from 'smtp-server';

type Action = 'drop' | { code: number; message: string };
interface Fault {
  stage: 'mail' | 'rcpt' | 'data';
  action: Action;
  count: number;
}
interface Stored {
  raw: string;
  from: string;
  to: string[];
}

const user = 'bulk';
const password = 'bulk-password';
const stored: Stored[] = [];
const faults: Fault[] = [];
let delayMs = 0;

const nextFault = (stage: Fault['stage']): Action | undefined => {
  const fault = faults.find((candidate) => candidate.stage === stage && candidate.count > 0);
  if (fault === undefined) return undefined;
  fault.count--;
  return fault.action;
};

const server = new SMTPServer({
  secure: false,
  hideSTARTTLS: true,
  disabledCommands: ['STARTTLS'],
  authMethods: ['PLAIN', 'LOGIN'],
  allowInsecureAuth: true,
  logger: false,
  size: 10 * 1024 * 1024,
  onAuth(auth, _session, callback) {
    if (auth.username === user && auth.password === password) return callback(null, { user });
    return callback(Object.assign(new Error('5.7.8 Authentication credentials invalid'), { responseCode: 535 }));
  },
  onMailFrom(_address, session, callback) {
    const action = nextFault('mail');
    if (action === 'drop') return drop(session);
    callback(action === undefined ? undefined : Object.assign(new Error(action.message), { responseCode: action.code }));
  },
  onRcptTo(_address, session, callback) {
    const action = nextFault('rcpt');
    if (action === 'drop') return drop(session);
    callback(action === undefined ? undefined : Object.assign(new Error(action.message), { responseCode: action.code }));
  },
  onData(stream, session, callback) {
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('end', () => {
      const envelope = session.envelope as { mailFrom: { address: string } | false; rcptTo: { address: string }[] };
      const message: Stored = {
        raw: Buffer.concat(chunks).toString('base64'),
        from: envelope.mailFrom === false ? '' : envelope.mailFrom.address,
        to: envelope.rcptTo.map((recipient) => recipient.address),
      };
      const action = nextFault('data');
      if (action === 'drop') {
        // The message arrived in full; the client never learns it did.
        stored.push(message);
        return drop(session);
      }
      if (action !== undefined) return callback(Object.assign(new Error(action.message), { responseCode: action.code }));
      setTimeout(() => {
        stored.push(message);
        callback(null, `2.0.0 Ok: queued as Q${stored.length}`);
      }, delayMs);
    });
  },
});

function drop(session: SMTPServerSession): void {
  for (const connection of (server as unknown as { connections: Set<{ session: SMTPServerSession; _socket: { destroy(): void } }> })
    .connections) {
    if (connection.session.id === session.id) connection._socket.destroy();
  }
}

server.on('error', () => {});
server.listen(0, '127.0.0.1', () => {
  const { port } = server.server.address() as { port: number };
  process.send?.({ ready: true, port, user, password });
});

process.on('message', (request: { id: number; op: string; [key: string]: unknown }) => {
  const answer = (result: unknown): void => {
    process.send?.({ id: request.id, result });
  };
  switch (request.op) {
    case 'messages':
      return answer(stored);
    case 'count':
      return answer(stored.length);
    case 'clear':
      stored.length = 0;
      faults.length = 0;
      delayMs = 0;
      return answer(true);
    case 'fault':
      faults.push({ stage: request.stage as Fault['stage'], action: request.action as Action, count: (request.count as number) ?? 1 });
      return answer(true);
    case 'delay':
      delayMs = request.ms as number;
      return answer(true);
    default:
      return answer({ error: `unknown op ${request.op}` });
  }
});

// The parent going away (or closing the channel) ends this process.
process.on('disconnect', () => {
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 500).unref();
});
