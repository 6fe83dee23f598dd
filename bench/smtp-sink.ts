/**
 * The SMTP server every variant sends to, in a process of its own so that parsing SMTP never
 * runs on a sender's event loop. Plain SMTP on 127.0.0.1 (no TLS, no AUTH: the benchmark
 * measures the client, not crypto), an ephemeral port, no size limit (the memory benchmark
 * sends 40 MB), and every message drained and counted, never kept.
 *
 * Protocol: announces `{ port }`, then answers each `'counters'` request with {@link SinkCounters}.
 */
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { serveParent } from './bench-process.ts';
import type { SinkCounters, SinkReady } from './bench-protocol.ts';

let messages = 0;
let bytes = 0;
let lastMessageBytes = 0;

const server = new SMTPServer({
  disabledCommands: ['STARTTLS', 'AUTH'],
  logger: false,
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

serveParent<'counters', SinkCounters>({ port } satisfies SinkReady, async () => ({ messages, bytes, lastMessageBytes }));
