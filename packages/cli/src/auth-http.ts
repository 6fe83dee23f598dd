import { isCertificateError, MailError } from '@mailport/core';
import { createHttpClient, type HttpError } from '@mailport/core/http';

/** A token endpoint's answer: the status and the JSON object it sent (empty when it sent none). */
export interface FormAnswer {
  readonly status: number;
  readonly body: Readonly<Record<string, unknown>>;
  /** Retry-After, as sent. */
  readonly retryAfter: string | undefined;
}

/** Options of {@link postForm}. */
export interface PostFormOptions {
  /** Longest wait for a connection, and longest silence of it, in ms. */
  readonly timeoutMs: number;
  /** Extra CA certificates (PEM) to trust besides the system's, for a private CA (the sandbox). */
  readonly ca?: string | undefined;
  readonly signal?: AbortSignal | undefined;
}

/**
 * POSTs an `application/x-www-form-urlencoded` body, as OAuth token endpoints take it, and reads
 * the JSON answer, through `@mailport/core/http` (so that a private CA can be trusted per
 * request). No answer rejects with core's `HttpError` (never carrying the form, which holds
 * secrets); an abort with the signal's reason, unwrapped.
 */
export async function postForm(url: URL, form: URLSearchParams, options: PostFormOptions): Promise<FormAnswer> {
  const client = createHttpClient({ ca: options.ca, connectTimeoutMs: options.timeoutMs, timeoutMs: options.timeoutMs });
  try {
    const answer = await client.send({
      method: 'POST',
      url,
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: form.toString(),
      signal: options.signal,
    });
    return { status: answer.status, body: answer.json(), retryAfter: answer.headers['retry-after'] };
  } finally {
    client.close();
  }
}

/**
 * The `MailError` for a token endpoint that did not answer: an untrusted certificate is
 * `configuration` (a retry cannot fix it), a connection that timed out `timeout`, the rest
 * `transient`.
 */
export function unreachableError(where: string, error: HttpError, remediation: string): MailError {
  const code = isCertificateError(error.code)
    ? 'configuration'
    : error.timedOut || error.code === 'ECONNECT_TIMEOUT'
      ? 'timeout'
      : 'transient';
  return new MailError(code, `${where} did not answer: ${error.message}`, { providerCode: error.code, remediation });
}

/** A string field of a token endpoint's answer, or undefined. */
export function stringField(body: Readonly<Record<string, unknown>>, name: string): string | undefined {
  const value = body[name];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/**
 * The claims of an ID token, without checking its signature: it came straight from the token
 * endpoint over the connection the client opened, which OpenID Connect Core 1.0 (section
 * 3.1.3.7) accepts in place of the signature. Used only to name the signed-in account.
 */
export function idTokenClaims(token: string | undefined): Readonly<Record<string, unknown>> {
  const payload = token?.split('.')[1];
  if (payload === undefined) return {};
  try {
    const value = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as unknown;
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}
