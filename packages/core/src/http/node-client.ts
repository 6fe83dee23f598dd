/**
 * `createHttpClient` over node:http(s): keep-alive agents, a connect timeout of its own, and the
 * one fact an SDK's error does not give: whether the request body was handed over.
 */
import {
  type ClientRequest,
  type ClientRequestArgs,
  Agent as HttpAgent,
  request as httpRequest,
  type IncomingHttpHeaders,
} from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest, type RequestOptions } from 'node:https';
import { Socket } from 'node:net';
import { type Duplex, pipeline, Readable } from 'node:stream';
import { rootCertificates } from 'node:tls';
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

/**
 * The system's CAs plus `ca`, for Node's `ca` option (which replaces the system list, so both are
 * given); undefined without `ca`. For an SDK that takes TLS options of its own (@azure/identity).
 */
export function trustedCas(ca: CaInput | undefined): (string | Buffer)[] | undefined {
  if (ca === undefined) return undefined;
  const list = Array.isArray(ca) ? (ca as readonly (string | Uint8Array)[]) : [ca as string | Uint8Array];
  return [...rootCertificates, ...list.map((entry) => (typeof entry === 'string' ? entry : Buffer.from(entry)))];
}

/**
 * A failed connect gets its own code, `ECONNECT_TIMEOUT`, so that it is told apart from a request
 * that was sent and never answered (which may have delivered the message).
 */
function armConnectTimeout(socket: Duplex | null | undefined, timeoutMs: number, secure: boolean): Duplex | null | undefined {
  if (!(socket instanceof Socket) || !socket.connecting) return socket;
  const timer = setTimeout(() => {
    socket.destroy(Object.assign(new Error(`connect timed out after ${timeoutMs} ms`), { code: 'ECONNECT_TIMEOUT' }));
  }, timeoutMs);
  timer.unref();
  const clear = (): void => clearTimeout(timer);
  socket.once(secure ? 'secureConnect' : 'connect', clear);
  socket.once('close', clear);
  return socket;
}

/**
 * An {@link HttpClient} over node:http(s) with keep-alive agents (idle sockets do not hold the
 * process open). A request whose connection fails rejects with an {@link HttpError} whose
 * `handedOver` is true once `request.end()` has handed the last byte of the body to the socket.
 *
 * @example
 * ```ts
 * const client = createHttpClient({ ca: readFileSync('ca.pem'), timeoutMs: 60_000 });
 * const answer = await client.send({ method: 'POST', url: 'https://api.postbox.example/v1/messages', headers, body, signal });
 * answer.status; // 201
 * client.close();
 * ```
 */
export function createHttpClient(options: HttpClientOptions = {}): HttpClient {
  const connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
  const defaultTimeoutMs = options.timeoutMs ?? 120_000;
  class TimedHttpAgent extends HttpAgent {
    override createConnection(
      args: ClientRequestArgs,
      callback?: (error: Error | null, stream: Duplex) => void,
    ): Duplex | null | undefined {
      return armConnectTimeout(super.createConnection(args, callback), connectTimeoutMs, false);
    }
  }
  class TimedHttpsAgent extends HttpsAgent {
    override createConnection(args: RequestOptions, callback?: (error: Error | null, stream: Duplex) => void): Duplex | null | undefined {
      return armConnectTimeout(super.createConnection(args, callback), connectTimeoutMs, true);
    }
  }
  const http = new TimedHttpAgent({ keepAlive: true, maxSockets: options.maxSockets });
  const https = new TimedHttpsAgent({ keepAlive: true, maxSockets: options.maxSockets, ca: trustedCas(options.ca) });

  const send = (request: HttpRequest): Promise<HttpResponse> => {
    const { signal } = request;
    if (signal?.aborted === true) return Promise.reject(signal.reason);
    const url = typeof request.url === 'string' ? new URL(request.url) : request.url;
    const secure = url.protocol === 'https:';
    const timeoutMs = request.timeoutMs ?? defaultTimeoutMs;
    // Where the request went, for messages: never the query, which can carry a token.
    const where = `${request.method} ${url.origin}${url.pathname}`;
    return new Promise<HttpResponse>((resolve, reject) => {
      const bytes = fixedBody(request.body);
      let handedOver = false;
      let timedOut = false;
      let settled = false;
      const finish = (action: () => void): void => {
        if (settled) return;
        settled = true;
        signal?.removeEventListener('abort', onAbort);
        action();
      };
      const fail = (message: string, code: string | undefined, sent: boolean): void =>
        finish(() => reject(new HttpError(message, { code, handedOver: sent, timedOut })));
      const headers =
        bytes === undefined || hasHeader(request.headers, 'content-length')
          ? request.headers
          : { ...request.headers, 'content-length': String(typeof bytes === 'string' ? Buffer.byteLength(bytes) : bytes.byteLength) };
      const outgoing: ClientRequest = (secure ? httpsRequest : httpRequest)(url, {
        method: request.method,
        headers,
        agent: secure ? https : http,
      });
      const onAbort = (): void => {
        finish(() => reject(signal?.reason));
        outgoing.destroy();
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      outgoing.setTimeout(timeoutMs, () => {
        timedOut = true;
        outgoing.destroy(Object.assign(new Error(`no answer within ${timeoutMs} ms`), { code: 'ETIMEDOUT' }));
      });
      // 'finish': the last byte of the body has been handed to the operating system. From then on
      // the server may act on the request, even if its answer never arrives.
      outgoing.once('finish', () => {
        handedOver = true;
      });
      outgoing.on('error', (error: Error & { code?: string }) => fail(`${where} failed: ${error.message}`, error.code, handedOver));
      outgoing.on('response', (response) => {
        const chunks: Buffer[] = [];
        let received = 0;
        response.on('data', (chunk: Buffer) => {
          received += chunk.length;
          if (request.maxResponseBytes !== undefined && received > request.maxResponseBytes) {
            fail(`the answer to ${where} is larger than ${request.maxResponseBytes} bytes`, 'ERESPONSETOOLARGE', true);
            chunks.length = 0;
            outgoing.destroy();
            return;
          }
          chunks.push(chunk);
        });
        response.on('error', (error: Error & { code?: string }) =>
          fail(`reading the answer to ${where} failed: ${error.message}`, error.code, true),
        );
        response.on('aborted', () => fail(`the answer to ${where} was cut off`, 'ECONNRESET', true));
        response.on('end', () =>
          finish(() =>
            resolve(
              httpResponse(
                response.statusCode ?? 0,
                responseHeaders(response.headers),
                chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks),
              ),
            ),
          ),
        );
      });
      if (bytes !== undefined || request.body === undefined) {
        outgoing.end(bytes);
        return;
      }
      // A stream: a failure reading it destroys the request, which then reports that error.
      pipeline(toReadable(request.body), outgoing, () => {});
    });
  };

  return {
    send,
    fetch: fetchOver(send),
    close() {
      http.destroy();
      https.destroy();
    },
  };
}

function fixedBody(body: HttpBody | undefined): string | Uint8Array | undefined {
  return typeof body === 'string' || body instanceof Uint8Array ? body : undefined;
}

function toReadable(body: HttpBody): Readable {
  if (body instanceof Readable) return body;
  if (body instanceof ReadableStream) return Readable.fromWeb(body as import('node:stream/web').ReadableStream<Uint8Array>);
  return Readable.from(body as AsyncIterable<Uint8Array>, { objectMode: false });
}

function hasHeader(headers: Readonly<Record<string, string>> | undefined, name: string): boolean {
  if (headers === undefined) return false;
  for (const key in headers) if (key.toLowerCase() === name) return true;
  return false;
}

function responseHeaders(headers: IncomingHttpHeaders): Readonly<Record<string, string | undefined>> {
  // Node joins repeated headers itself, all but Set-Cookie, which it keeps as a list.
  const cookies = headers['set-cookie'];
  if (cookies === undefined) return headers as Readonly<Record<string, string | undefined>>;
  return { ...headers, 'set-cookie': cookies.join(', ') };
}
