import type { AdapterOptions, Transport, TransportAdapter, TransportFactory } from '@mailport/core';
import { sesOptionsFromUrl } from './ses-options.js';
import { createSesTransport } from './ses-transport.js';

export type { SesCredentialIdentity, SesCredentials, SesTransportOptions } from './ses-options.js';
export { createSesTransport, type SesTransport } from './ses-transport.js';

/**
 * Builds an SES transport from `ses://` URLs; `@mailport/core`'s `createTransport` calls it. The
 * URL forms and parameters are in the README.
 *
 * @example
 * ```ts
 * const transport = await createTransport('ses://eu-west-1?configuration_set=transactional');
 * ```
 */
export const createTransportFromUrl: TransportFactory<AdapterOptions['ses']> = (url, context): Transport =>
  createSesTransport(sesOptionsFromUrl(url, context));

/**
 * The Amazon SES adapter for `createTransport(url, { use: [sesAdapter] })`: serves ses:// URLs
 * without the import by name that a bundled program (Cloudflare Workers, esbuild, Vite) cannot follow.
 *
 * @example
 * ```ts
 * import { sesAdapter } from '@mailport/transport-ses';
 * const mailer = createMailer({ transport: env.MAILPORT_URL, transportOptions: { use: [sesAdapter], env } });
 * ```
 */
export const sesAdapter: TransportAdapter<AdapterOptions['ses']> = Object.freeze({
  schemes: Object.freeze(['ses']),
  create: createTransportFromUrl,
});
