import type { AdapterOptions, Transport, TransportAdapter, TransportFactory } from '@mailport/core';
import { gmailOptionsFromUrl } from './gmail-options.js';
import { createGmailTransport } from './gmail-transport.js';

export type { GmailServiceAccountAuth, GmailTransportOptions } from './gmail-options.js';
export { createGmailTransport, type GmailTransport } from './gmail-transport.js';
export type { GoogleServiceAccountKey, GoogleUserOAuthOptions } from './oauth/google-oauth.js';

/**
 * Builds a Gmail API transport from a `gmail://user@example.com?...` URL; `@mailport/core`'s
 * `createTransport` calls it. The URL forms and parameters are in the README.
 *
 * @example
 * ```ts
 * // GOOGLE_CLIENT_ID, GOOGLE_CLIENT_SECRET and GOOGLE_REFRESH_TOKEN in the environment:
 * const transport = await createTransport('gmail://billing@example.com');
 * ```
 */
export const createTransportFromUrl: TransportFactory<AdapterOptions['gmail']> = (url, context): Transport =>
  createGmailTransport(gmailOptionsFromUrl(url, context));

/**
 * The the Gmail API adapter for `createTransport(url, { use: [gmailAdapter] })`: serves gmail:// URLs
 * without the import by name that a bundled program (Cloudflare Workers, esbuild, Vite) cannot follow.
 *
 * @example
 * ```ts
 * import { gmailAdapter } from '@mailport/transport-gmail-api';
 * const mailer = createMailer({ transport: env.MAILPORT_URL, transportOptions: { use: [gmailAdapter], env } });
 * ```
 */
export const gmailAdapter: TransportAdapter<AdapterOptions['gmail']> = Object.freeze({
  schemes: Object.freeze(['gmail']),
  create: createTransportFromUrl,
});
