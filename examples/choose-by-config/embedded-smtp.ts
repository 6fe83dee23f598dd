import { once } from 'node:events';
import { SMTPServer } from 'smtp-server';

/** A message the embedded server received. */
export interface Delivered {
  readonly envelope: { from: string; to: string[] };
  readonly raw: Buffer;
}

/**
 * A local SMTP server for the demo: plain SMTP on 127.0.0.1 (loopback, so mailport does not
 * require STARTTLS), no authentication, every message kept in memory.
 */
export async function startEmbeddedSmtp(): Promise<{ url: string; delivered: Delivered[]; close(): Promise<void> }> {
  const delivered: Delivered[] = [];
  const server = new SMTPServer({
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        const mailFrom = session.envelope.mailFrom;
        delivered.push({
          envelope: { from: mailFrom === false ? '' : mailFrom.address, to: session.envelope.rcptTo.map((rcpt) => rcpt.address) },
          raw: Buffer.concat(chunks),
        });
        callback(null, `Ok: queued as demo-${delivered.length}`);
      });
    },
  });
  server.listen(0, '127.0.0.1');
  await once(server.server, 'listening');
  const { port } = server.server.address() as { port: number };
  return {
    url: `smtp://127.0.0.1:${port}`,
    delivered,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
