/**
 * `@mailport/core/http`: what every HTTP adapter needs, once. A subpath of its own, so that a
 * program that only sends over SMTP never loads it.
 *
 * - {@link createHttpClient} / {@link sendHttp}: one request and its whole response, over
 *   kept-alive connections; a failure without a response is an {@link HttpError} that says
 *   whether the body was handed over (`handedOver`), which decides `unknown-outcome`.
 * - {@link HttpClient.fetch}: the same client as a `fetch`, for SDKs that take one.
 * - `parseRetryAfter`, `readJson`, `safeCause`, and the code sets `beforeConnectCodes` and
 *   `certificateCodes` (also exported by `@mailport/core` itself, for SMTP).
 *
 * This entry is the Node implementation (node:http). `fetch.ts` is the one for runtimes without
 * node:http, chosen by package export conditions; the two export the same names
 * (http-entries.test.ts checks).
 */

import type { HttpClient, HttpRequest, HttpResponse } from './http-types.js';
import { createHttpClient } from './node-client.js';

export {
  beforeConnectCodes,
  certificateCodes,
  certificateRemediation,
  isBeforeConnect,
  isCertificateError,
  parseRetryAfter,
  readJson,
  safeCause,
} from '../network.js';
export {
  type CaInput,
  fetchOver,
  type HttpBody,
  type HttpClient,
  type HttpClientOptions,
  HttpError,
  type HttpRequest,
  type HttpResponse,
  httpResponse,
} from './http-types.js';
export { createHttpClient, trustedCas } from './node-client.js';

let shared: HttpClient | undefined;

/**
 * Sends one request with a client shared by the process (no private CA, default timeouts), for a
 * one-off call such as a token request; a transport creates its own with `createHttpClient`.
 *
 * @example
 * ```ts
 * const answer = await sendHttp({ method: 'POST', url: tokenUrl, headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form.toString() });
 * const token = answer.json().access_token;
 * ```
 */
export function sendHttp(request: HttpRequest, client?: HttpClient): Promise<HttpResponse> {
  if (client !== undefined) return client.send(request);
  shared ??= createHttpClient();
  return shared.send(request);
}
