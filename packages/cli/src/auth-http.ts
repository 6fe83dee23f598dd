import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { rootCertificates } from 'node:tls';

/** A token endpoint's answer: the status and the JSON object it sent (empty when it sent none). */
export interface FormAnswer {
  readonly status: number;
  readonly body: Readonly<Record<string, unknown>>;
  /** Retry-After, as sent. */
  readonly retryAfter: string | undefined;
}

/** No answer came: connection refused, DNS, TLS, or the timeout. Never carries the form (it holds secrets). */
export class EndpointUnreachable extends Error {
  override readonly name = 'EndpointUnreachable';
  /** The system error code (`ECONNREFUSED`, `ENOTFOUND`, `CERT_HAS_EXPIRED`, ...) or `ETIMEDOUT`. */
  readonly code: string;
  constructor(message: string, code: string) {
    super(message);
    this.code = code;
  }
}

/** Options of {@link postForm}. */
export interface PostFormOptions {
  /** Longest wait for the whole answer, in ms. */
  readonly timeoutMs: number;
  /** Extra CA certificates (PEM) to trust besides the system's, for a private CA (the sandbox). */
  readonly ca?: string | undefined;
  readonly signal?: AbortSignal | undefined;
}

/**
 * POSTs an `application/x-www-form-urlencoded` body, as OAuth token endpoints take it, and reads
 * the JSON answer. node:http(s) rather than fetch, so that a private CA can be trusted per request.
 * An abort rejects with the signal's reason, unwrapped.
 */
export function postForm(url: URL, form: URLSearchParams, options: PostFormOptions): Promise<FormAnswer> {
  const body = Buffer.from(form.toString(), 'utf8');
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise<FormAnswer>((resolve, reject) => {
    if (options.signal?.aborted === true) {
      reject(options.signal.reason);
      return;
    }
    const outgoing = send(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        accept: 'application/json',
        'content-length': String(body.length),
      },
      ...(url.protocol === 'https:' && options.ca !== undefined ? { ca: [...rootCertificates, options.ca] } : {}),
    });
    const onAbort = (): void => {
      outgoing.destroy();
      reject(options.signal?.reason);
    };
    options.signal?.addEventListener('abort', onAbort, { once: true });
    const timer = setTimeout(() => {
      outgoing.destroy(
        new EndpointUnreachable(`no answer from ${url.origin} within ${Math.round(options.timeoutMs / 1000)} s`, 'ETIMEDOUT'),
      );
    }, options.timeoutMs);
    const done = (): void => {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
    };
    outgoing.on('error', (error: NodeJS.ErrnoException) => {
      done();
      if (options.signal?.aborted === true) return;
      reject(
        error instanceof EndpointUnreachable
          ? error
          : new EndpointUnreachable(`cannot reach ${url.origin}: ${error.code ?? error.message}`, error.code ?? 'ECONNRESET'),
      );
    });
    outgoing.on('response', (incoming) => {
      const chunks: Buffer[] = [];
      incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
      incoming.on('error', () => undefined);
      incoming.on('end', () => {
        done();
        const retryAfter = incoming.headers['retry-after'];
        resolve({
          status: incoming.statusCode ?? 0,
          body: parseObject(Buffer.concat(chunks).toString('utf8')),
          retryAfter: Array.isArray(retryAfter) ? retryAfter[0] : retryAfter,
        });
      });
    });
    outgoing.end(body);
  });
}

function parseObject(text: string): Record<string, unknown> {
  try {
    const value = JSON.parse(text) as unknown;
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
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
