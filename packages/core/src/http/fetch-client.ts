/**
 * `createHttpClient` over the runtime's `fetch`, for runtimes without node:http or where a bundle
 * must not depend on it: Cloudflare Workers (workerd), Deno, Bun, browsers. Chosen by the package
 * export conditions of `@mailport/core/http` (`workerd`, `worker`, `deno`, `bun`, `browser`).
 *
 * What fetch can say about hand-over, and so what this client reports in `HttpError.handedOver`:
 * - the request body is always sent as a stream this client wraps and counts: a body that was not
 *   read to the end was not sent, on every runtime, so such a failure is before hand-over;
 * - a body read to the end may still be in the runtime's buffers (Deno and workerd read a small
 *   body in full before they even connect), so a failure then counts as handed over, unless
 * - the runtime gives a code that proves no connection was made (Node's undici and Bun do:
 *   `ECONNREFUSED`, Bun's `ConnectionRefused`, ...), which is before hand-over whatever the body did.
 */
import { beforeConnectCodes } from '../network.js';
import {
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

/** The `fetch` this client calls; a test or an odd runtime passes its own. */
export type FetchFunction = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

/** Options of the fetch-based `createHttpClient`: those of every implementation, and the `fetch` to use. */
export interface FetchHttpClientOptions extends HttpClientOptions {
  /** The `fetch` to send with. Default `globalThis.fetch`, looked up at each request. */
  readonly fetch?: FetchFunction | undefined;
}

/** Bun's error codes for a connection that was never made, as Node's codes. */
const runtimeCodes: Readonly<Record<string, string>> = Object.freeze({
  ConnectionRefused: 'ECONNREFUSED',
  FailedToOpenSocket: 'ECONNREFUSED',
  ConnectionClosed: 'ECONNRESET',
  ECONNRESET: 'ECONNRESET',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
});

/** Chunks of a fixed body are pulled this many bytes at a time, so that "read to the end" means something. */
const chunkSize = 16 * 1024;

/**
 * Not available over fetch: fetch takes no CA list (Bun and Deno take one their own way, which
 * `createHttpClient`'s `ca` option uses). Always undefined here.
 */
export function trustedCas(_ca: CaInput | undefined): undefined {
  return undefined;
}

/**
 * An {@link HttpClient} over `fetch`. A request that gets no answer rejects with an
 * {@link HttpError}: `handedOver` is false when its body was not read to the end or the runtime's
 * error code proves no connection was made, true otherwise; `timedOut` when nothing moved (body
 * read, answer received) for `timeoutMs`. `connectTimeoutMs` is not applied apart: fetch does not
 * say when it has connected.
 *
 * @example
 * ```ts
 * import { createHttpClient } from '@mailport/core/http'; // this one on workerd, Deno, Bun and in browsers
 * const client = createHttpClient({ timeoutMs: 30_000 });
 * const answer = await client.send({ method: 'POST', url: 'https://api.postbox.example/v1/messages', headers, body });
 * ```
 */
export function createHttpClient(options: FetchHttpClientOptions = {}): HttpClient {
  const defaultTimeoutMs = options.timeoutMs ?? 120_000;
  const tls = tlsOptions(options.ca);

  const send = async (request: HttpRequest): Promise<HttpResponse> => {
    const { signal } = request;
    if (signal?.aborted === true) throw signal.reason;
    const url = typeof request.url === 'string' ? new URL(request.url) : request.url;
    const timeoutMs = request.timeoutMs ?? defaultTimeoutMs;
    const where = `${request.method} ${url.origin}${url.pathname}`;
    const controller = new AbortController();
    let timedOut = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    // Silence, as on node:http: every chunk of the body read and of the answer received restarts the clock.
    const quiet = (): void => {
      if (timer !== undefined) clearTimeout(timer);
      timer = setTimeout(() => {
        timedOut = true;
        controller.abort(Object.assign(new Error(`no answer within ${timeoutMs} ms`), { code: 'ETIMEDOUT' }));
      }, timeoutMs);
      (timer as { unref?: () => void }).unref?.();
    };
    const onAbort = (): void => controller.abort(signal?.reason);
    const callerAborted = (): boolean => signal?.aborted === true;
    signal?.addEventListener('abort', onAbort, { once: true });
    const body = request.body === undefined ? undefined : countedBody(request.body, quiet);
    const headers = { ...request.headers };
    // A counted body is a stream: the length it had goes along, for servers (and signatures) that want it.
    if (typeof request.body === 'string' || request.body instanceof Uint8Array) {
      if (!hasHeader(headers, 'content-length')) headers['content-length'] = String(fixedLength(request.body));
    }
    const fetchFunction = options.fetch ?? globalThis.fetch;
    quiet();
    try {
      let response: Response;
      try {
        response = await fetchFunction(url, {
          method: request.method,
          headers,
          body: body?.stream,
          signal: controller.signal,
          redirect: 'manual',
          ...(body === undefined ? {} : { duplex: 'half' }),
          ...tls,
        } as RequestInit);
      } catch (error) {
        if (callerAborted()) throw signal?.reason;
        const code = timedOut ? 'ETIMEDOUT' : errorCode(error);
        const drained = body === undefined ? true : body.drained();
        const handedOver = drained && !(code !== undefined && beforeConnectCodes.has(code));
        throw new HttpError(`${where} failed: ${describe(error, timedOut, timeoutMs)}`, { code, handedOver, timedOut });
      }
      quiet();
      try {
        const bytes = await readAll(response, quiet);
        return httpResponse(response.status, responseHeaders(response.headers), bytes);
      } catch (error) {
        if (callerAborted()) throw signal?.reason;
        const code = timedOut ? 'ETIMEDOUT' : (errorCode(error) ?? 'ECONNRESET');
        throw new HttpError(`reading the answer to ${where} failed: ${describe(error, timedOut, timeoutMs)}`, {
          code,
          handedOver: true,
          timedOut,
        });
      }
    } finally {
      if (timer !== undefined) clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    }
  };

  return {
    send,
    fetch: fetchOver(send),
    close() {
      // fetch owns its connections; Deno's own client, when `ca` made one, is closed here.
      (tls.client as { close?: () => void } | undefined)?.close?.();
    },
  };
}

interface CountedBody {
  readonly stream: ReadableStream<Uint8Array>;
  /** True once the runtime has read the body to its end. */
  drained(): boolean;
}

/** Wraps a body in a stream that records how far the runtime read it. */
function countedBody(body: HttpBody, progress: () => void): CountedBody {
  let done = false;
  const source = sourceIterator(body);
  const stream = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        const next = await source.next();
        if (next.done === true) {
          done = true;
          controller.close();
          return;
        }
        progress();
        controller.enqueue(next.value);
      },
      async cancel(reason) {
        await source.return?.(reason);
      },
    },
    // No read-ahead: a chunk is pulled only when the runtime asks for one.
    { highWaterMark: 0 },
  );
  return { stream, drained: () => done };
}

function sourceIterator(body: HttpBody): AsyncIterator<Uint8Array> {
  if (typeof body === 'string' || body instanceof Uint8Array) {
    const bytes = typeof body === 'string' ? new TextEncoder().encode(body) : body;
    return (async function* () {
      for (let start = 0; start < bytes.byteLength; start += chunkSize) yield bytes.subarray(start, start + chunkSize);
    })();
  }
  if (body instanceof ReadableStream) return (body as ReadableStream<Uint8Array>)[Symbol.asyncIterator]();
  const iterator = (body as AsyncIterable<Uint8Array | string>)[Symbol.asyncIterator]();
  // A Node stream may yield strings; fetch wants bytes.
  return {
    async next() {
      const next = await iterator.next();
      if (next.done === true) return next;
      return { done: false, value: typeof next.value === 'string' ? new TextEncoder().encode(next.value) : next.value };
    },
    return:
      iterator.return === undefined
        ? undefined
        : (value?: unknown) => (iterator.return as (v?: unknown) => Promise<IteratorResult<Uint8Array>>)(value),
  } as AsyncIterator<Uint8Array>;
}

async function readAll(response: Response, progress: () => void): Promise<Uint8Array> {
  if (response.body === null) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let length = 0;
  const reader = response.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    progress();
    chunks.push(value);
    length += value.byteLength;
  }
  if (chunks.length === 1) return chunks[0] as Uint8Array;
  const all = new Uint8Array(length);
  let offset = 0;
  for (const chunk of chunks) {
    all.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return all;
}

/** The system error code in `error` or its causes (undici puts it on `cause`; Bun on the error), as Node spells it. */
function errorCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && typeof current === 'object' && current !== null; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && code !== '' && !/^(ABORT_ERR|UND_ERR_[A-Z_]*|ERR_INVALID_STATE)$/.test(code)) {
      return runtimeCodes[code] ?? code;
    }
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

function describe(error: unknown, timedOut: boolean, timeoutMs: number): string {
  if (timedOut) return `no answer within ${timeoutMs} ms`;
  const message = error instanceof Error ? error.message : String(error);
  const cause = error instanceof Error && error.cause instanceof Error ? `: ${error.cause.message}` : '';
  return `${message}${cause}`;
}

/**
 * The CA option the way each runtime's fetch takes one: Bun's `tls.ca`, Deno's own client. Other
 * runtimes (workerd, browsers) trust what the platform trusts, and a `ca` there is refused.
 */
function tlsOptions(ca: CaInput | undefined): { tls?: { ca: string[] }; client?: unknown } {
  if (ca === undefined) return {};
  const list = (Array.isArray(ca) ? ca : [ca]).map((entry: string | Uint8Array) =>
    typeof entry === 'string' ? entry : new TextDecoder().decode(entry),
  );
  const runtime = globalThis as { Bun?: unknown; Deno?: { createHttpClient?: (options: { caCerts: string[] }) => unknown } };
  if (runtime.Bun !== undefined) return { tls: { ca: list } };
  if (runtime.Deno?.createHttpClient !== undefined) return { client: runtime.Deno.createHttpClient({ caCerts: list }) };
  throw new TypeError(
    "@mailport/core/http: this runtime's fetch takes no CA certificates (ca); the server's certificate must be trusted by the platform",
  );
}

function fixedLength(body: string | Uint8Array): number {
  return typeof body === 'string' ? new TextEncoder().encode(body).byteLength : body.byteLength;
}

function hasHeader(headers: Readonly<Record<string, string>>, name: string): boolean {
  for (const key in headers) if (key.toLowerCase() === name) return true;
  return false;
}

function responseHeaders(headers: Headers): Readonly<Record<string, string | undefined>> {
  const result: Record<string, string> = {};
  // Headers joins repeated values with ", " already.
  headers.forEach((value, name) => {
    result[name] = value;
  });
  return result;
}
