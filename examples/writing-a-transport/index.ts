/**
 * The public surface of the Postbox transport, as a published adapter package would have it; `@mailport/core` calls
 * `createTransportFromUrl` for `postbox://` URLs once the scheme is registered (`registerTransport` or `registerTransportPackage`).
 */
import type { TransportFactory } from '@mailport/core';
import { postboxOptionsFromUrl } from './postbox-options.ts';
import { createPostboxTransport } from './postbox-transport.ts';

export { mapPostboxError, type PostboxErrorContext, type PostboxFailure } from './postbox-errors.ts';
export { type PostboxClientCredentialsOptions, postboxClientCredentials } from './postbox-oauth.ts';
export {
  type PostboxTransportOptions,
  postboxEndpoint,
  postboxMaxMessageBytes,
  postboxMaxRecipients,
  postboxOptionsFromUrl,
  postboxUrlParameters,
  type ResolvedPostboxOptions,
  resolvePostboxOptions,
} from './postbox-options.ts';
export { createPostboxTransport, type PostboxTransport } from './postbox-transport.ts';

/**
 * Builds a Postbox transport from a `postbox://` URL; see {@link postboxOptionsFromUrl} for the
 * parameters.
 *
 * @example
 * ```ts
 * registerTransport('postbox', createTransportFromUrl);
 * const transport = await createTransport('postbox://api.postbox.example?api_key=KEY');
 * ```
 */
export const createTransportFromUrl: TransportFactory = (url, context) => createPostboxTransport(postboxOptionsFromUrl(url, context));
