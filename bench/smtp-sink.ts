/**
 * The SMTP server the senders send to, in a process of its own so that parsing SMTP never runs
 * on a sender's event loop. `smtp-server` on 127.0.0.1, an ephemeral port, no size limit (the
 * memory benchmark sends 40 MB), and every message drained and counted, never kept.
 *
 * Two modes, by the first argument:
 *
 * - (none): plain SMTP, no TLS, no AUTH: what the memory and bulk benchmarks use, which measure
 *   the client's memory and its pipeline, not crypto.
 * - `secure`: what a real submission server asks for: STARTTLS (a certificate for 127.0.0.1
 *   generated at start, its PEM written to a file for clients to trust) and AUTH PLAIN/LOGIN
 *   with one user and password, refused before TLS. The throughput benchmark uses it.
 *
 * Protocol: announces {@link SinkReady}, then answers each `'counters'` request with {@link SinkCounters}.
 */
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generate } from 'selfsigned';
import { SMTPServer } from 'smtp-server';
import { serveParent } from './bench-process.ts';
import type { SinkCounters, SinkReady } from './bench-protocol.ts';

const secure = process.argv[2] === 'secure';
const credentials = { user: 'bench@shop.example', pass: 'bench-password' };

let connections = 0;
let messages = 0;
let bytes = 0;
let lastMessageBytes = 0;

let tls: { key: string; cert: string; caFile: string } | undefined;
if (secure) {
  // ECDSA P-256, as most servers now present; valid for the address the senders connect to.
  const pems = await generate([{ name: 'commonName', value: '127.0.0.1' }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    extensions: [
      { name: 'basicConstraints', cA: true },
      { name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }] },
    ],
  });
  const directory = mkdtempSync(join(tmpdir(), 'mailport-bench-sink-'));
  const caFile = join(directory, 'ca.pem');
  writeFileSync(caFile, pems.cert);
  process.on('exit', () => rmSync(directory, { recursive: true, force: true }));
  tls = { key: pems.private, cert: pems.cert, caFile };
}

const server = new SMTPServer({
  ...(tls === undefined
    ? { disabledCommands: ['STARTTLS', 'AUTH'] }
    : {
        key: tls.key,
        cert: tls.cert,
        authMethods: ['PLAIN', 'LOGIN'],
        // AUTH only after STARTTLS (smtp-server's default, stated): credentials never cross in clear.
        allowInsecureAuth: false,
        onAuth(auth, _session, callback) {
          if (auth.username === credentials.user && auth.password === credentials.pass) callback(null, { user: auth.username });
          else callback(Object.assign(new Error('Invalid username or password'), { responseCode: 535 }));
        },
      }),
  logger: false,
  onConnect(_session, callback) {
    connections++;
    callback();
  },
  onData(stream, _session, callback) {
    let received = 0;
    stream.on('data', (chunk: Buffer) => {
      received += chunk.length;
    });
    stream.on('end', () => {
      // Counted before the 250 goes out, so a sender's last reply implies its messages are counted.
      messages++;
      bytes += received;
      lastMessageBytes = received;
      callback(null);
    });
  },
});

server.listen(0, '127.0.0.1');
await once(server.server, 'listening');
const { port } = server.server.address() as AddressInfo;

const ready: SinkReady = tls === undefined ? { port } : { port, tls: { caFile: tls.caFile, ...credentials } };
serveParent<'counters', SinkCounters>(ready, async () => ({ connections, messages, bytes, lastMessageBytes }));
