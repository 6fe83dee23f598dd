import type { Transport, TransportFactory } from '@mailport/core';
import { graphOptionsFromUrl } from './graph-options.js';
import { createGraphTransport } from './graph-transport.js';

export {
  type GraphAppOnlyAuth,
  type GraphDelegatedAuth,
  type GraphTransportOptions,
  graphBaseUrls,
} from './graph-options.js';
export { createGraphTransport, type GraphTransport } from './graph-transport.js';

/**
 * Builds a Graph transport from `graph://sender@contoso.com?...` URLs; `@mailport/core`'s
 * `createTransport` calls it. See {@link graphOptionsFromUrl} for the parameters.
 *
 * @example
 * ```ts
 * const transport = await createTransport('graph://noreply@contoso.com?tenant=...&client_id=...', {
 *   env: process.env, // AZURE_CLIENT_SECRET
 * });
 * ```
 */
export const createTransportFromUrl: TransportFactory = (url, context): Transport =>
  createGraphTransport(graphOptionsFromUrl(url, context));
