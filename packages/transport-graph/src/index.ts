import type { Transport, TransportFactory } from '@mailport/core';
import { graphOptionsFromUrl } from './graph-options.js';
import { createGraphTransport } from './graph-transport.js';

export { type GraphErrorContext, type GraphFailure, type GraphOperation, mapGraphError, parseRetryAfter } from './graph-errors.js';
export { GraphAuthMiddleware, GraphCallState, NodeHttpHandler } from './graph-middleware.js';
export {
  type GraphAppOnlyAuth,
  type GraphDelegatedAuth,
  type GraphTransportOptions,
  graphBaseUrls,
  graphOptionsFromUrl,
  type ResolvedGraphOptions,
  resolveGraphOptions,
} from './graph-options.js';
export {
  type GraphFileAttachment,
  type GraphJsonMessage,
  type GraphRecipient,
  graphLimits,
  jsonModeProblem,
  planSend,
  type ReadAttachment,
  type SendPlan,
  toFileAttachment,
  toGraphJsonMessage,
  uploadRanges,
  uploadSessionRequest,
  withAttachments,
} from './graph-request.js';
export { createGraphClient, createGraphTransport, type GraphTransport } from './graph-transport.js';
export { type CaInput, createAgents, type HttpAgents } from './http-request.js';
export * from './oauth/index.js';

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
