import type { AdapterOptions, Transport, TransportFactory } from '@mailport/core';
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
