import type { Transport, TransportFactory } from '@mailport/core';
import { gmailOptionsFromUrl } from './gmail-options.js';
import { createGmailTransport } from './gmail-transport.js';

export {
  type GmailErrorContext,
  type GmailFailure,
  type GmailOperation,
  type GoogleApiError,
  googleApiError,
  mapGmailError,
} from './gmail-errors.js';
export {
  type GmailServiceAccountAuth,
  type GmailTransportOptions,
  gmailMaxMessageSize,
  gmailMaxRecipients,
  gmailOptionsFromUrl,
  gmailRootUrl,
  type ResolvedGmailOptions,
  resolveGmailOptions,
} from './gmail-options.js';
export {
  base64urlLength,
  type GmailSendRequest,
  type GmailSendRequestOptions,
  type GmailUploadType,
  gmailSendRequest,
  jsonChunks,
  matchSendAs,
  threadIdKey,
  threadIdOf,
} from './gmail-request.js';
export { createGmailTransport, type GmailTransport } from './gmail-transport.js';
export {
  type GoogleServiceAccountKey,
  type GoogleServiceAccountOptions,
  type GoogleUserOAuthOptions,
  googleServiceAccount,
  googleUserOAuth,
  type TokenProviderFromUrlOptions,
  tokenProviderFromUrl,
} from './oauth/index.js';

/**
 * Builds a Gmail API transport from a `gmail://user@example.com?...` URL; `@mailport/core`'s
 * `createTransport` calls it. See {@link gmailOptionsFromUrl} for the parameters.
 *
 * @example
 * ```ts
 * // GOOGLE_CLIENT_ID, GOOGLE_CLIENT_SECRET and GOOGLE_REFRESH_TOKEN in the environment:
 * const transport = await createTransport('gmail://billing@example.com');
 * ```
 */
export const createTransportFromUrl: TransportFactory = (url, context): Transport =>
  createGmailTransport(gmailOptionsFromUrl(url, context));
