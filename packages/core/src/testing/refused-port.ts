import { connect } from 'node:net';

/**
 * A port on 127.0.0.1 where nothing listens, checked by connecting to it, for tests of "connection refused".
 *
 * The usual trick (listen on port 0, close, return the port) races with every other test in the run:
 * the kernel hands that same ephemeral port to the next server that listens on port 0. This port is
 * picked below the ephemeral ranges of Linux (32768–60999), macOS and Windows (49152–65535), where
 * servers listening on port 0 are never placed, so a parallel test cannot take it.
 */
export async function refusedPort(host = '127.0.0.1'): Promise<number> {
  for (let tries = 0; tries < 50; tries += 1) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    if (await refuses(host, port)) return port;
  }
  throw new Error(`refusedPort: found no port between 20000 and 32000 on ${host} where the connection is refused`);
}

function refuses(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code === 'ECONNREFUSED'));
  });
}
