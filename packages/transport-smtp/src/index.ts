import type { Transport, TransportFactory } from '@mailport/core';
import { smtpOptionsFromUrl } from './smtp-options.js';
import { createSmtpTransport } from './smtp-transport.js';

export { enhancedStatus, mapSmtpError, type SmtpErrorContext, type SmtpFailure } from './smtp-errors.js';
export {
  isLoopback,
  type ResolvedSmtpOptions,
  resolveSmtpOptions,
  type SmtpOAuthAuth,
  type SmtpPasswordAuth,
  type SmtpTransportOptions,
  smtpOptionsFromUrl,
} from './smtp-options.js';
export { featuresFromEhlo, type ServerFeatures } from './smtp-probe.js';
export { createSmtpTransport, type SmtpTransport } from './smtp-transport.js';

/**
 * Builds an SMTP transport from `smtp://` or `smtps://` URLs; `@mailport/core`'s
 * `createTransport` calls it. See {@link smtpOptionsFromUrl} for the parameters.
 */
export const createTransportFromUrl: TransportFactory = (url, context): Transport => createSmtpTransport(smtpOptionsFromUrl(url, context));
