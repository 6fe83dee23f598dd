import { MailError, withTransport } from './errors.js';

/**
 * Makes any failure of a transport a `MailError`. A transport that throws something else has
 * failed in a way it did not anticipate, so nobody can say whether the message went out: that
 * is an `unknown-outcome`, which is never retried or failed over automatically.
 */
export function toMailError(error: unknown, transport: string): MailError {
  if (MailError.isInstance(error)) return withTransport(error, transport);
  const message = error instanceof Error ? error.message : String(error);
  return new MailError('unknown-outcome', `${transport} failed unexpectedly: ${message}`, {
    transport,
    cause: error,
    remediation: 'Check whether the message arrived before sending it again; this may be a bug in the transport.',
  });
}
