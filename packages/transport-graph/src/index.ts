import type { AdapterOptions, Transport, TransportAdapter, TransportFactory } from '@mailport/core';
import { graphOptionsFromUrl } from './graph-options.js';
import { createGraphTransport } from './graph-transport.js';

export {
  type GraphAdapterOptions,
  type GraphAppOnlyAuth,
  type GraphDelegatedAuth,
  type GraphTransportOptions,
  graphEndpoints,
} from './graph-options.js';
export { createGraphTransport, type GraphTransport } from './graph-transport.js';

/**
 * Builds a Graph transport from `graph://sender@contoso.com?...` URLs; `@mailport/core`'s
 * `createTransport` calls it. The URL forms and parameters are in the README.
 *
 * @example
 * ```ts
 * const transport = await createTransport('graph://noreply@contoso.com?tenant=...&client_id=...', {
 *   env: process.env, // AZURE_CLIENT_SECRET
 * });
 * ```
 */
export const createTransportFromUrl: TransportFactory<AdapterOptions['graph']> = (url, context): Transport =>
  createGraphTransport(graphOptionsFromUrl(url, context));

/**
 * The Microsoft Graph adapter for `createTransport(url, { use: [graphAdapter] })`: serves graph:// URLs
 * without the import by name that a bundled program (Cloudflare Workers, esbuild, Vite) cannot follow.
 *
 * @example
 * ```ts
 * import { graphAdapter } from '@mailport/transport-graph';
 * const mailer = createMailer({ transport: env.MAILPORT_URL, transportOptions: { use: [graphAdapter], env } });
 * ```
 */
export const graphAdapter: TransportAdapter<AdapterOptions['graph']> = Object.freeze({
  schemes: Object.freeze(['graph']),
  create: createTransportFromUrl,
});
