import type { HttpBody, HttpClient } from '@mailport/core/http';

/** What the AWS SDK hands its request handler (a smithy `HttpRequest`), as far as it is read here. */
interface SdkRequest {
  readonly method: string;
  readonly protocol: string;
  readonly hostname: string;
  readonly port?: number | undefined;
  readonly path: string;
  readonly query?: Readonly<Record<string, string | readonly string[] | null>> | undefined;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: unknown;
}

/** A smithy `HttpResponse`, as the SDK's deserializers read it. */
interface SdkResponse {
  readonly statusCode: number;
  readonly headers: Record<string, string>;
  readonly body: Uint8Array;
}

/** The request handler the AWS SDK accepts as `requestHandler` (smithy's `HttpHandler`). */
export interface SesRequestHandler {
  /** `abortSignal` is typed by smithy as its own minimal signal; the SDK passes the caller's `AbortSignal` through. */
  handle(request: SdkRequest, options?: { abortSignal?: unknown }): Promise<{ response: SdkResponse }>;
  updateHttpClientConfig(key: never, value: never): void;
  httpHandlerConfigs(): Record<string, never>;
  destroy(): void;
}

/**
 * The AWS SDK's request handler over `@mailport/core/http`: the SDK signs and serialises, the
 * client sends. A connection that fails rejects with the client's `HttpError`, which says whether
 * the request body was handed over; the SDK passes it through to `send()` as it is.
 *
 * @example
 * ```ts
 * const http = createHttpClient({ connectTimeoutMs: 5_000, timeoutMs: 60_000 });
 * const client = new SESv2Client({ region: 'eu-west-1', maxAttempts: 1, requestHandler: sesRequestHandler(http) });
 * ```
 */
export function sesRequestHandler(http: HttpClient): SesRequestHandler {
  return {
    async handle(request, options = {}) {
      const url = new URL(`${request.protocol}//${request.hostname}${request.port === undefined ? '' : `:${request.port}`}${request.path}`);
      for (const [name, value] of Object.entries(request.query ?? {})) {
        for (const item of value === null ? [''] : typeof value === 'string' ? [value] : value) url.searchParams.append(name, item);
      }
      const answer = await http.send({
        method: request.method,
        url,
        headers: request.headers,
        body: request.body as HttpBody | undefined,
        signal: options.abortSignal instanceof AbortSignal ? options.abortSignal : undefined,
      });
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(answer.headers)) if (value !== undefined) headers[name] = value;
      return { response: { statusCode: answer.status, headers, body: answer.body } };
    },
    updateHttpClientConfig() {},
    httpHandlerConfigs: () => ({}),
    destroy: () => http.close(),
  };
}
