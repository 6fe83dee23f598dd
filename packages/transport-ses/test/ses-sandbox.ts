import { createServer } from 'node:net';
import type { Sandbox } from '@mailport/sandbox';
import { createSesTransport, type SesTransport, type SesTransportOptions } from '../src/index.js';

/** A port on 127.0.0.1 where nothing listens. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** An SES transport aimed at the sandbox with its valid keys, with `options` on top. */
export function sandboxTransport(sandbox: Sandbox, options: Partial<SesTransportOptions> = {}): SesTransport {
  const { region, accessKeyId, secretAccessKey } = sandbox.accounts.ses;
  return createSesTransport({ region, endpoint: sandbox.httpUrl, credentials: { accessKeyId, secretAccessKey }, ...options });
}
