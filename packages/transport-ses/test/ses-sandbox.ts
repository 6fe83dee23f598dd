import type { Sandbox } from '@mailport/sandbox';
import { createSesTransport, type SesTransport, type SesTransportOptions } from '../src/index.js';

/** An SES transport aimed at the sandbox with its valid keys, with `options` on top. */
export function sandboxTransport(sandbox: Sandbox, options: Partial<SesTransportOptions> = {}): SesTransport {
  const { region, accessKeyId, secretAccessKey } = sandbox.accounts.ses;
  return createSesTransport({ region, endpoint: sandbox.httpUrl, credentials: { accessKeyId, secretAccessKey }, ...options });
}
