/**
 * Facts about network failures that every adapter classifies the same way, SMTP and HTTP alike.
 * Pure: no sockets here, so an SMTP-only program loads none of `@mailport/core/http`.
 */

/**
 * System error codes that mean no connection was made: the request cannot have reached the
 * server, whatever state its body was in. `ECONNECT_TIMEOUT` is the code `@mailport/core/http`
 * gives a connect that timed out.
 */
export const beforeConnectCodes: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EADDRNOTAVAIL',
  'ECONNECT_TIMEOUT',
]);

/**
 * OpenSSL and Node codes for a certificate that is not trusted. A transport reports them as
 * `configuration`: retrying cannot fix a certificate, and turning verification off is not the fix.
 */
export const certificateCodes: ReadonlySet<string> = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_DECRYPT_CERT_SIGNATURE',
  'CERT_SIGNATURE_FAILURE',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'CERT_REVOKED',
  'CERT_CHAIN_TOO_LONG',
  'INVALID_CA',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'HOSTNAME_MISMATCH',
]);

/** What to tell the user about an untrusted certificate, in every transport and OAuth layer. */
export const certificateRemediation =
  'Fix the server certificate, or trust its CA (NODE_EXTRA_CA_CERTS, or ca_file where the transport takes one); never turn verification off.';

/**
 * True when `code` says the certificate of the server is not trusted.
 *
 * @example
 * ```ts
 * isCertificateError('SELF_SIGNED_CERT_IN_CHAIN'); // true
 * ```
 */
export function isCertificateError(code: string | undefined): boolean {
  return code !== undefined && certificateCodes.has(code);
}

/**
 * True when `code` says the connection was never made, so nothing was sent.
 *
 * @example
 * ```ts
 * isBeforeConnect('ECONNREFUSED'); // true
 * isBeforeConnect('ECONNRESET'); // false: the request may have been read
 * ```
 */
export function isBeforeConnect(code: string | undefined): boolean {
  return code !== undefined && beforeConnectCodes.has(code);
}

/**
 * Milliseconds from a Retry-After value: delay-seconds (a fraction is tolerated) or an HTTP date
 * (RFC 9110 10.2.3); undefined when absent or unreadable. A date in the past gives 0.
 *
 * @example
 * ```ts
 * parseRetryAfter('120'); // 120000
 * parseRetryAfter('Wed, 21 Oct 2026 07:28:00 GMT', () => Date.parse('Wed, 21 Oct 2026 07:27:00 GMT')); // 60000
 * ```
 */
export function parseRetryAfter(value: string | null | undefined, now: () => number = Date.now): number | undefined {
  if (value === undefined || value === null) return undefined;
  const trimmed = value.trim();
  if (trimmed === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  // An HTTP date names its day and month; V8 would read a bare "-5" as a date in 2001.
  if (!/[a-z]/i.test(trimmed)) return undefined;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now());
}

/**
 * A fresh `Error` carrying only the fields given (those that are undefined are left out), to keep
 * as a `MailError`'s `cause` instead of the SDK's error, whose request, headers or body can hold
 * a credential.
 *
 * @example
 * ```ts
 * new MailError('transient', 'SES failed', { cause: safeCause('SesError', error.message, { statusCode: 500, requestId }) });
 * ```
 */
export function safeCause(name: string, message: string, fields: Readonly<Record<string, unknown>>): Error {
  const error = new Error(message);
  error.name = name;
  for (const key of Object.keys(fields)) {
    const value = fields[key];
    if (value !== undefined) Object.defineProperty(error, key, { value, enumerable: true });
  }
  return error;
}

const utf8 = new TextDecoder();

/**
 * A JSON object from a response body; `{}` for an empty body, text that is not JSON (an HTML
 * error page from a proxy), or JSON that is not an object.
 *
 * @example
 * ```ts
 * readJson('{"error":{"code":"ErrorSendAsDenied"}}').error; // { code: 'ErrorSendAsDenied' }
 * readJson('<html>Bad gateway</html>'); // {}
 * ```
 */
export function readJson(body: string | Uint8Array | undefined | null): Record<string, unknown> {
  if (body === undefined || body === null || body.length === 0) return {};
  try {
    const value: unknown = JSON.parse(typeof body === 'string' ? body : utf8.decode(body));
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}
