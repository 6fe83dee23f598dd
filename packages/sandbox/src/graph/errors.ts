import { randomUUID } from 'node:crypto';
import type { HttpRequest, HttpResponse } from '../http.js';

/**
 * Graph's error body: `{ error: { code, message, innerError: { date, request-id, client-request-id } } }`,
 * with the `request-id` and `client-request-id` headers Graph sends on every answer.
 * Source: https://learn.microsoft.com/graph/errors
 */
export function graphError(
  status: number,
  code: string,
  message: string,
  options: { request?: HttpRequest | undefined; headers?: Readonly<Record<string, string>> | undefined } = {},
): HttpResponse {
  const requestId = randomUUID();
  const clientRequestId = headerValue(options.request, 'client-request-id') ?? requestId;
  return {
    status,
    headers: { 'request-id': requestId, 'client-request-id': clientRequestId, ...options.headers },
    body: {
      error: {
        code,
        message,
        innerError: {
          date: new Date().toISOString().replace(/\.\d{3}Z$/, ''),
          'request-id': requestId,
          'client-request-id': clientRequestId,
        },
      },
    },
  };
}

/** What a successful Graph answer carries besides its body. */
export function graphHeaders(request: HttpRequest): Record<string, string> {
  const requestId = randomUUID();
  return { 'request-id': requestId, 'client-request-id': headerValue(request, 'client-request-id') ?? requestId };
}

/**
 * Entra ID's token endpoint error body, as it really looks:
 * `{ error, error_description: 'AADSTS7000215: ...\r\nTrace ID: ...', error_codes, timestamp, trace_id, correlation_id, error_uri }`.
 * `invalid_client` answers 401, the rest 400.
 */
export function entraError(options: {
  error: string;
  code: number;
  description: string;
  /** The authority's base URL, for `error_uri`. */
  authority: string;
  status?: number | undefined;
}): HttpResponse {
  const traceId = randomUUID();
  const correlationId = randomUUID();
  const timestamp = `${new Date().toISOString().slice(0, 19).replace('T', ' ')}Z`;
  return {
    status: options.status ?? (options.error === 'invalid_client' ? 401 : 400),
    headers: { 'x-ms-request-id': traceId, 'cache-control': 'no-store, no-cache' },
    body: {
      error: options.error,
      error_description: `AADSTS${options.code}: ${options.description}\r\nTrace ID: ${traceId}\r\nCorrelation ID: ${correlationId}\r\nTimestamp: ${timestamp}`,
      error_codes: [options.code],
      timestamp,
      trace_id: traceId,
      correlation_id: correlationId,
      error_uri: `${options.authority}/error?code=${options.code}`,
    },
  };
}

/** A request header as one string (the first, when repeated). */
export function headerValue(request: HttpRequest | undefined, name: string): string | undefined {
  const value = request?.headers[name];
  return Array.isArray(value) ? value[0] : value;
}
