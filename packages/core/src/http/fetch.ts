/**
 * `@mailport/core/http` for runtimes without node:http (Cloudflare Workers, Deno, Bun, browsers):
 * the same exports as the Node entry (`index.ts`), with `createHttpClient` over `fetch`. The package
 * export conditions `workerd`, `worker`, `deno`, `bun` and `browser` choose this file. Keep the two
 * entries' exports the same (http-entries.test.ts checks).
 */

import { createHttpClient } from './fetch-client.js';
import type { HttpClient, HttpRequest, HttpResponse } from './http-types.js';

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
export { createHttpClient, trustedCas } from './fetch-client.js';
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

let shared: HttpClient | undefined;

/** Sends one request with a client shared by the program; see the Node entry's `sendHttp`. */
export function sendHttp(request: HttpRequest, client?: HttpClient): Promise<HttpResponse> {
  if (client !== undefined) return client.send(request);
  shared ??= createHttpClient();
  return shared.send(request);
}
