import { Agent as HttpAgent, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { rootCertificates } from 'node:tls';

/** Keep-alive agents for plain and TLS connections, sharing one CA list. */
export interface HttpAgents {
  readonly http: HttpAgent;
  readonly https: HttpsAgent;
  destroy(): void;
}

/** CA certificates (PEM) to trust besides the system's. */
export type CaInput = string | Buffer | readonly (string | Buffer)[];

/** The system's CAs plus `ca`: Node's `ca` option replaces the system list, so both are given. */
export function trustedCas(ca: CaInput | undefined): (string | Buffer)[] | undefined {
  if (ca === undefined) return undefined;
  return [...rootCertificates, ...(Array.isArray(ca) ? ca : [ca as string | Buffer])];
}

/** Keep-alive agents: one TCP/TLS connection serves many requests. */
export function createAgents(options: { ca?: CaInput | undefined; maxSockets?: number | undefined } = {}): HttpAgents {
  const http = new HttpAgent({ keepAlive: true, maxSockets: options.maxSockets });
  const https = new HttpsAgent({ keepAlive: true, maxSockets: options.maxSockets, ca: trustedCas(options.ca) });
  return {
    http,
    https,
    destroy() {
      http.destroy();
      https.destroy();
    },
  };
}

/** One HTTP exchange. */
export interface HttpCall {
  readonly method: string;
  readonly url: URL;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: Buffer | string | undefined;
  readonly signal?: AbortSignal | undefined;
  /** Longest silence on the socket, in ms. */
  readonly timeoutMs: number;
}

/** A response read in full. */
export interface HttpAnswer {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

/**
 * A failure with no HTTP response: the connection could not be made, broke, or went silent.
 * `bodySent` tells whether the whole request had been handed to the connection: after that,
 * the server may have acted on it.
 */
export class HttpFailure extends Error {
  /** The system error code (`ECONNREFUSED`, `ECONNRESET`, ...) or `ETIMEDOUT` for a silent socket. */
  readonly code: string | undefined;
  readonly bodySent: boolean;
  readonly timedOut: boolean;

  constructor(message: string, options: { code: string | undefined; bodySent: boolean; timedOut: boolean }) {
    super(message);
    this.name = 'HttpFailure';
    this.code = options.code;
    this.bodySent = options.bodySent;
    this.timedOut = options.timedOut;
  }
}

/**
 * Sends one request over node:http(s) with a keep-alive agent and reads the whole response.
 * Rejects with an {@link HttpFailure} when no response came, or with the signal's reason when
 * `call.signal` aborts.
 */
export function sendHttp(call: HttpCall, agents: HttpAgents): Promise<HttpAnswer> {
  const { signal } = call;
  if (signal?.aborted === true) return Promise.reject(signal.reason);
  return new Promise<HttpAnswer>((resolve, reject) => {
    const secure = call.url.protocol === 'https:';
    const body = call.body === undefined ? undefined : typeof call.body === 'string' ? Buffer.from(call.body) : call.body;
    let bodySent = false;
    let timedOut = false;
    let settled = false;
    const finish = (action: () => void): void => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      action();
    };
    const request = (secure ? httpsRequest : httpRequest)(call.url, {
      method: call.method,
      headers: { ...call.headers, 'content-length': String(body?.length ?? 0) },
      agent: secure ? agents.https : agents.http,
    });
    const onAbort = (): void => {
      finish(() => reject(signal?.reason));
      request.destroy();
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    request.setTimeout(call.timeoutMs, () => {
      timedOut = true;
      request.destroy(Object.assign(new Error(`no answer within ${call.timeoutMs} ms`), { code: 'ETIMEDOUT' }));
    });
    request.on('error', (error: Error & { code?: string }) => {
      finish(() =>
        reject(
          new HttpFailure(`${call.method} ${call.url.origin}${call.url.pathname} failed: ${error.message}`, {
            code: error.code,
            bodySent,
            timedOut,
          }),
        ),
      );
    });
    request.on('response', (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('error', (error: Error & { code?: string }) => {
        finish(() =>
          reject(
            new HttpFailure(`reading the answer to ${call.method} ${call.url.pathname} failed: ${error.message}`, {
              code: error.code,
              bodySent: true,
              timedOut,
            }),
          ),
        );
      });
      response.on('aborted', () => {
        finish(() =>
          reject(
            new HttpFailure(`the answer to ${call.method} ${call.url.pathname} was cut off`, {
              code: 'ECONNRESET',
              bodySent: true,
              timedOut,
            }),
          ),
        );
      });
      response.on('end', () =>
        finish(() => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks) })),
      );
    });
    // end()'s callback runs once the last byte is handed to the socket: from then on the server may act on it.
    request.end(body, () => {
      bodySent = true;
    });
  });
}
