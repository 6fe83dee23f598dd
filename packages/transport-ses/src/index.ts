import type { Transport, TransportFactory } from '@mailport/core';
import { sesOptionsFromUrl } from './ses-options.js';
import { createSesTransport } from './ses-transport.js';

export { mapSesError, retryAfterMs, type SesErrorContext, type SesFailure, sesFailureOf } from './ses-errors.js';
export {
  type ResolvedSesOptions,
  resolveSesOptions,
  type SesCredentialIdentity,
  type SesCredentials,
  type SesTransportOptions,
  sesOptionsFromUrl,
} from './ses-options.js';
export { createRateLimiter, type RateLimiter } from './ses-rate-limit.js';
export {
  contentKind,
  rawReason,
  type SesContentKind,
  type SesRequestOptions,
  sesEmailTags,
  sesMaxMessageBytes,
  sesMaxRecipients,
  sesRawRequest,
  sesSimpleRequest,
} from './ses-request.js';
export { createSesTransport, type SesTransport } from './ses-transport.js';

/**
 * Builds an SES transport from `ses://` URLs; `@mailport/core`'s `createTransport` calls it. See
 * {@link sesOptionsFromUrl} for the URL forms and parameters.
 *
 * @example
 * ```ts
 * const transport = await createTransport('ses://eu-west-1?configuration_set=transactional');
 * ```
 */
export const createTransportFromUrl: TransportFactory = (url, context): Transport => createSesTransport(sesOptionsFromUrl(url, context));
