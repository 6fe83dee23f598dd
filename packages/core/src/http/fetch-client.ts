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
  /**
   * Whether `fetch` keeps the `content-length` of a stream body, so that a string or bytes body can
   * be sent as a counted stream. Default: true except on Deno, which sends a stream chunked.
   */
  readonly fixedLengthStreams?: boolean | undefined;
}

/** Bun's error codes for a connection that was never made, as Node's codes. */
const runtimeCodes: Readonly<Record<string, string>> = Object.freeze({
  ConnectionRefused: 'ECONNREFUSED',
  FailedToOpenSocket: 'ECONNREFUSED',
  ConnectionClosed: 'ECONNRESET',
  ECONNRESET: 'ECONNRESET',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
});

/** Deno's connect failures (hyper-util `client error (Connect): ...`), by their text, as Node's codes. */
const denoConnectCodes: readonly (readonly [RegExp, string])[] = [
  [/connection refused/i, 'ECONNREFUSED'],
  [/dns error|failed to lookup/i, 'ENOTFOUND'],
  [/timed out/i, 'ECONNECT_TIMEOUT'],
  [/host is unreachable|no route to host/i, 'EHOSTUNREACH'],
  [/network is unreachable/i, 'ENETUNREACH'],
  [/certificate|UnknownIssuer/i, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE'],
];

/** Chunks of a fixed body are pulled this many bytes at a time, so that "read to the end" means something. */
const chunkSize = 16 * 1024;

/**
 * The system's CAs plus `ca`, for an SDK that takes Node's TLS options of its own (@azure/identity
 * on Bun or Deno, whose node:https takes them): as the Node entry's, with the system list from
 * node:tls where the runtime has it (`process.getBuiltinModule`), else `ca` alone.
 */
export function trustedCas(ca: CaInput | undefined): (string | Uint8Array)[] | undefined {
  if (ca === undefined) return undefined;
  const list = Array.isArray(ca) ? (ca as readonly (string | Uint8Array)[]) : [ca as string | Uint8Array];
  let roots: readonly string[] = [];
  try {
    const runtime = globalThis as {
      process?: { getBuiltinModule?: (name: string) => { rootCertificates?: readonly string[] } | undefined };
    };
    roots = runtime.process?.getBuiltinModule?.('node:tls')?.rootCertificates ?? [];
  } catch {
    // No node:tls here (workerd, browsers): ca alone.
  }
  return [...roots, ...list];
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
    const body = request.body === undefined ? undefined : countedBody(request.body, quiet, options.fixedLengthStreams ?? keepsLength());
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
        const bytes = await readAll(response, quiet, request.maxResponseBytes);
        return httpResponse(response.status, responseHeaders(response.headers), bytes);
      } catch (error) {
        if (callerAborted()) throw signal?.reason;
        if (error instanceof ResponseTooLarge) {
          throw new HttpError(`the answer to ${where} is larger than ${request.maxResponseBytes} bytes`, {
            code: 'ERESPONSETOOLARGE',
            handedOver: true,
            timedOut: false,
          });
        }
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
  readonly stream: ReadableStream<Uint8Array> | Uint8Array;
  /** True once the runtime has read the body to its end. */
  drained(): boolean;
}

/**
 * Whether this runtime's fetch sends a stream body with the `content-length` the request gives.
 * Deno and workerd drop it and send the stream chunked, which breaks a signature over that header
 * (SES's SigV4). workerd sends a `FixedLengthStream` with its length, and the counted stream is
 * piped into one; on Deno bytes go as bytes, and how far they were read is not known.
 */
function keepsLength(): boolean {
  const runtime = globalThis as { Deno?: unknown; navigator?: { userAgent?: string } };
  return runtime.Deno === undefined && runtime.navigator?.userAgent !== 'Cloudflare-Workers';
}

/** workerd's stream of a declared length (Cloudflare Workers), which its fetch sends with `content-length`. */
type FixedLengthStreamClass = new (length: number) => { readable: ReadableStream<Uint8Array>; writable: WritableStream<Uint8Array> };

/** Wraps a body in a stream that records how far the runtime read it. */
function countedBody(body: HttpBody, progress: () => void, fixedLengthStreams: boolean): CountedBody {
  const length = typeof body === 'string' || body instanceof Uint8Array ? fixedLength(body) : undefined;
  const FixedLengthStream = (globalThis as { FixedLengthStream?: FixedLengthStreamClass }).FixedLengthStream;
  if (!fixedLengthStreams && length !== undefined && FixedLengthStream === undefined) {
    const bytes = typeof body === 'string' ? new TextEncoder().encode(body) : (body as Uint8Array);
    // Unknown how far the runtime read it: as far as anyone can tell, it was handed over.
    return { stream: bytes, drained: () => true };
  }
  let done = false;
  let pulled = 0;
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
        pulled += next.value.byteLength;
        controller.enqueue(next.value);
      },
      async cancel(reason) {
        await source.return?.(reason);
      },
    },
    // No read-ahead: a chunk is pulled only when the runtime asks for one.
    { highWaterMark: 0 },
  );
  // A runtime that stops reading once it has `content-length` bytes has read it all too.
  const drained = (): boolean => done || (length !== undefined && pulled >= length);
  if (length !== undefined && FixedLengthStream !== undefined && !fixedLengthStreams) {
    // The pipe reads at most a chunk ahead of the runtime: "drained" may come a chunk early, which
    // only ever counts a body as handed over that was not quite, never the other way round.
    const fixed = new FixedLengthStream(length);
    stream.pipeTo(fixed.writable).catch(() => {});
    return { stream: fixed.readable, drained };
  }
  return { stream, drained };
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

class ResponseTooLarge extends Error {}

async function readAll(response: Response, progress: () => void, maxBytes: number | undefined): Promise<Uint8Array> {
  if (response.body === null) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let length = 0;
  const reader = response.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    progress();
    length += value.byteLength;
    if (maxBytes !== undefined && length > maxBytes) {
      await reader.cancel().catch(() => undefined);
      throw new ResponseTooLarge();
    }
    chunks.push(value);
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

/**
 * The system error code in `error` or its causes (undici puts it on `cause`; Bun on the error), as
 * Node spells it. Deno gives no code, but its HTTP client (hyper-util) says `client error
 * (Connect)` when connecting failed, before a byte of the request was written: its text is read as
 * Node's code (`ECONNREFUSED`, `ENOTFOUND`, ...; {@link denoConnectCodes}), before hand-over. Any other Deno failure has no code and counts as handed over once the body was read.
 */
function errorCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && typeof current === 'object' && current !== null; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && code !== '' && !/^(ABORT_ERR|UND_ERR_[A-Z_]*|ERR_INVALID_STATE)$/.test(code)) {
      return runtimeCodes[code] ?? code;
    }
    const message = String((current as { message?: unknown }).message ?? '');
    if (message.includes('client error (Connect)')) {
      const connect = denoConnectCodes.find(([pattern]) => pattern.test(message));
      if (connect !== undefined) return connect[1];
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
