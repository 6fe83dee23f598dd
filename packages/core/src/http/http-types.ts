/**
 * The runtime-neutral half of `@mailport/core/http`: the request and response shapes, the error
 * that says whether the body was handed over, and a `fetch` made from any {@link HttpClient}.
 * An implementation for another runtime provides `createHttpClient` over these same types.
 */
import { readJson } from '../network.js';

/** A request body: bytes, text, or a stream of bytes (a Node stream, a web stream or any async iterable). */
export type HttpBody = string | Uint8Array | AsyncIterable<Uint8Array> | ReadableStream<Uint8Array>;

/** One HTTP request, shaped like `fetch`'s. */
export interface HttpRequest {
  readonly method: string;
  readonly url: URL | string;
  /** Header names in any case. `content-length` is added for a string or bytes body. */
  readonly headers?: Readonly<Record<string, string>> | undefined;
  readonly body?: HttpBody | undefined;
  /** Aborts the request: it rejects with `signal.reason`, as it is. */
  readonly signal?: AbortSignal | undefined;
  /** Longest silence of the connection, in ms, once connected. Default: the client's. */
  readonly timeoutMs?: number | undefined;
  /**
   * The most bytes of answer body to read: past it the connection is closed and the request fails
   * with an {@link HttpError} whose code is `ERESPONSETOOLARGE` (handed over: the server had the
   * request). Default: no limit.
   */
  readonly maxResponseBytes?: number | undefined;
}

/** A response, read in full. */
export interface HttpResponse {
  readonly status: number;
  /** Header values by lower-case name; repeated headers joined with `, `. */
  readonly headers: Readonly<Record<string, string | undefined>>;
  readonly body: Uint8Array;
  /** The body as UTF-8 text. */
  text(): string;
  /** The body as a JSON object; `{}` when it is empty, not JSON, or not an object (see `readJson`). */
  json(): Record<string, unknown>;
}

/** Options of `createHttpClient`. */
export interface HttpClientOptions {
  /** CA certificates (PEM) to trust besides the system's, for a server behind a private CA. */
  readonly ca?: CaInput | undefined;
  /** Longest wait for a connection, in ms; a connect that takes longer fails with `ECONNECT_TIMEOUT`. Default 10 000. */
  readonly connectTimeoutMs?: number | undefined;
  /** Longest silence of a connection, in ms; then the request fails with `ETIMEDOUT`. Default 120 000. */
  readonly timeoutMs?: number | undefined;
  /** Most connections per host. Default unlimited. */
  readonly maxSockets?: number | undefined;
}

/** CA certificates (PEM): one or several, as text or bytes. */
export type CaInput = string | Uint8Array | readonly (string | Uint8Array)[];

/** Sends requests over kept-alive connections. One per transport; `close()` with the transport. */
export interface HttpClient {
  /** Sends one request and reads the whole response. Rejects with an {@link HttpError} when no response came. */
  send(request: HttpRequest): Promise<HttpResponse>;
  /**
   * The same client as a `fetch`, for an SDK that takes one (gaxios's `fetchImplementation`).
   * Its rejections carry the {@link HttpError} as their `cause` (or are it).
   */
  readonly fetch: (input: string | URL | Request, init?: RequestInit) => Promise<Response>;
  /** Closes every connection, idle or not. */
  close(): void;
}

const brand: symbol = Symbol.for('mailport.HttpError');

/**
 * No response came: the connection could not be made, broke, or went silent. `handedOver` says
 * whether the whole request had been handed to the connection: from then on the server may have
 * acted on it, so a send that fails this way has an unknown outcome.
 */
export class HttpError extends Error {
  /** The system error code (`ECONNREFUSED`, `ECONNRESET`, ...), `ETIMEDOUT` for silence, `ECONNECT_TIMEOUT` for a slow connect. */
  readonly code: string | undefined;
  /** True once the whole request body was handed to the connection. */
  readonly handedOver: boolean;
  /** True when the connection went silent for longer than the timeout. */
  readonly timedOut: boolean;

  constructor(message: string, options: { code: string | undefined; handedOver: boolean; timedOut?: boolean | undefined }) {
    super(message);
    Object.defineProperty(this, brand, { value: true });
    this.name = 'HttpError';
    this.code = options.code;
    this.handedOver = options.handedOver;
    this.timedOut = options.timedOut ?? false;
  }

  /** True for an `HttpError` from any copy of `@mailport/core`. */
  static isInstance(value: unknown): value is HttpError {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[brand] === true;
  }

  /**
   * The `HttpError` in `error` or in its chain of causes (an SDK that wraps what its `fetch` or
   * handler threw keeps it as `cause`), or undefined.
   */
  static find(error: unknown): HttpError | undefined {
    let current: unknown = error;
    for (let depth = 0; depth < 6 && typeof current === 'object' && current !== null; depth++) {
      if (HttpError.isInstance(current)) return current;
      current = (current as { cause?: unknown }).cause;
    }
    return undefined;
  }
}

const utf8 = new TextDecoder();

/** Makes an {@link HttpResponse}; for an implementation of `createHttpClient`. */
export function httpResponse(status: number, headers: Readonly<Record<string, string | undefined>>, body: Uint8Array): HttpResponse {
  return {
    status,
    headers,
    body,
    text: () => utf8.decode(body),
    json: () => readJson(body),
  };
}

/** A `fetch` over `send`: what {@link HttpClient.fetch} is, for any implementation. */
export function fetchOver(send: (request: HttpRequest) => Promise<HttpResponse>): HttpClient['fetch'] {
  return async (input, init = {}) => {
    const request = input instanceof Request ? input : undefined;
    const url = request?.url ?? (input as string | URL);
    const headers: Record<string, string> = {};
    new Headers(init.headers ?? request?.headers).forEach((value, name) => {
      headers[name] = value;
    });
    const answer = await send({
      method: init.method ?? request?.method ?? 'GET',
      url,
      headers,
      body: fetchBody(init.body ?? request?.body ?? undefined),
      signal: init.signal ?? request?.signal ?? undefined,
    });
    const empty = answer.body.length === 0 || answer.status === 204 || answer.status === 205 || answer.status === 304;
    const responseHeaders = new Headers();
    for (const [name, value] of Object.entries(answer.headers)) if (value !== undefined) responseHeaders.append(name, value);
    return new Response(empty ? null : (answer.body as Uint8Array<ArrayBuffer>), { status: answer.status, headers: responseHeaders });
  };
}

function fetchBody(body: BodyInit | null | undefined): HttpBody | undefined {
  if (body === null || body === undefined) return undefined;
  if (typeof body === 'string' || body instanceof Uint8Array) return body;
  if (body instanceof ArrayBuffer) return new Uint8Array(body);
  if (ArrayBuffer.isView(body)) return new Uint8Array(body.buffer, body.byteOffset, body.byteLength);
  if (body instanceof URLSearchParams) return body.toString();
  if (body instanceof ReadableStream || Symbol.asyncIterator in (body as object)) return body as HttpBody;
  throw new TypeError(`mailport's fetch cannot send a ${Object.prototype.toString.call(body)} body`);
}
