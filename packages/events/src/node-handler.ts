import type { IncomingMessage, ServerResponse } from 'node:http';

/** Options of {@link nodeListener}. */
export interface NodeListenerOptions {
  /** The largest request body read, in bytes; a larger one gets 413 and is never handed on. Default 1 MiB. */
  readonly maxBodyBytes?: number;
}

const defaultMaxBodyBytes = 1024 * 1024;

/**
 * Turns a Fetch-style handler (`Request` in, `Response` out) into a Node `http` listener, so one
 * handler serves Node, Express (`app.post(path, listener)`), and every runtime with `Request`.
 *
 * - The body is read up to `maxBodyBytes` (default 1 MiB); a larger one, by `Content-Length` or as
 *   it streams, gets 413 and the connection is closed without reading the rest.
 * - The `Request`'s URL is rebuilt from the `Host` header and the request target (`https:` when
 *   the socket is TLS); an unusable one gets 400.
 * - The listener never throws and never rejects: a handler that throws gets a plain 500 whose
 *   body does not repeat the error. The `Request`'s signal aborts when the client goes away.
 *
 * @example
 * ```ts
 * import { createServer } from 'node:http';
 * createServer(nodeListener(async (request) => new Response(`hello ${new URL(request.url).pathname}`))).listen(8080);
 * ```
 */
export function nodeListener(
  handle: (request: Request) => Promise<Response>,
  options: NodeListenerOptions = {},
): (request: IncomingMessage, response: ServerResponse) => void {
  const maxBodyBytes = options.maxBodyBytes ?? defaultMaxBodyBytes;
  if (!Number.isSafeInteger(maxBodyBytes) || maxBodyBytes < 0)
    throw new RangeError('nodeListener: maxBodyBytes must be a non-negative integer');
  return (request, response) => {
    serve(handle, request, response, maxBodyBytes).catch(() => {
      // Only a failure to write the answer itself lands here: the socket is already unusable.
      if (!response.destroyed) response.destroy();
    });
  };
}

async function serve(
  handle: (request: Request) => Promise<Response>,
  incoming: IncomingMessage,
  outgoing: ServerResponse,
  maxBodyBytes: number,
): Promise<void> {
  const url = requestUrl(incoming);
  if (url === undefined) return plain(outgoing, 400, 'Bad Request', true);
  const method = (incoming.method ?? 'GET').toUpperCase();
  const declared = incoming.headers['content-length'];
  if (declared !== undefined && Number(declared) > maxBodyBytes) return plain(outgoing, 413, 'Payload Too Large', true);

  const body = await readBody(incoming, maxBodyBytes);
  if (body === 'too-large') return plain(outgoing, 413, 'Payload Too Large', true);
  if (body === 'aborted') return;

  const headers = new Headers();
  const raw = incoming.rawHeaders;
  for (let index = 0; index + 1 < raw.length; index += 2) {
    try {
      headers.append(raw[index] as string, raw[index + 1] as string);
    } catch {
      // A header value Fetch refuses is dropped, not fatal (Node's parser already let it through).
    }
  }

  const controller = new AbortController();
  outgoing.once('close', () => {
    if (!outgoing.writableFinished) controller.abort();
  });

  let request: Request;
  try {
    request = new Request(url, {
      method,
      headers,
      signal: controller.signal,
      ...(method === 'GET' || method === 'HEAD' || body.length === 0 ? {} : { body }),
    });
  } catch {
    return plain(outgoing, 400, 'Bad Request', false);
  }

  let answer: Response;
  let payload: Uint8Array;
  try {
    answer = await handle(request);
    payload = new Uint8Array(await answer.arrayBuffer());
  } catch {
    return plain(outgoing, 500, 'Internal Server Error', false);
  }
  if (outgoing.destroyed) return;
  // Iterating Headers gives each name once, its values joined, except Set-Cookie (one entry per cookie).
  for (const [name, value] of answer.headers) if (name !== 'set-cookie') outgoing.setHeader(name, value);
  const cookies = answer.headers.getSetCookie();
  if (cookies.length > 0) outgoing.setHeader('set-cookie', cookies);
  outgoing.statusCode = answer.status;
  if (answer.statusText !== '') outgoing.statusMessage = answer.statusText;
  if (method === 'HEAD') outgoing.end();
  else outgoing.end(payload);
}

/**
 * The body of a Fetch `Request`, up to `limit` bytes; undefined when it is larger, by
 * `Content-Length` or as it streams (the rest is then not read). For a handler that runs outside
 * {@link nodeListener} too, where nothing else bounds the body.
 */
export async function readBodyUpTo(request: Request, limit: number): Promise<Uint8Array<ArrayBuffer> | undefined> {
  const declared = request.headers.get('content-length');
  if (declared !== null && Number(declared) > limit) return undefined;
  if (request.body === null) return new Uint8Array(new ArrayBuffer(0));
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => undefined);
      return undefined;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks, size);
}

function requestUrl(incoming: IncomingMessage): URL | undefined {
  const secure = (incoming.socket as { encrypted?: boolean } | undefined)?.encrypted === true;
  const host = incoming.headers.host;
  const target = incoming.url ?? '/';
  try {
    const base = new URL(`${secure ? 'https' : 'http'}://${host === undefined || host === '' ? 'localhost' : host}`);
    // Only the host part of Host: a path or credentials smuggled into it make it unusable.
    if (base.pathname !== '/' || base.search !== '' || base.hash !== '' || base.username !== '' || base.password !== '') return undefined;
    if (!target.startsWith('/')) return target === '*' ? undefined : new URL(target);
    return new URL(target, base);
  } catch {
    return undefined;
  }
}

function readBody(incoming: IncomingMessage, maxBodyBytes: number): Promise<Uint8Array<ArrayBuffer> | 'too-large' | 'aborted'> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const finish = (value: Uint8Array<ArrayBuffer> | 'too-large' | 'aborted'): void => {
      if (settled) return;
      settled = true;
      incoming.off('data', onData);
      incoming.off('end', onEnd);
      incoming.off('error', onError);
      incoming.off('aborted', onError);
      resolve(value);
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > maxBodyBytes) {
        incoming.pause();
        finish('too-large');
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => finish(Buffer.concat(chunks, size));
    const onError = (): void => finish('aborted');
    incoming.on('data', onData);
    incoming.on('end', onEnd);
    incoming.on('error', onError);
    incoming.on('aborted', onError);
  });
}

function plain(outgoing: ServerResponse, status: number, text: string, close: boolean): void {
  if (outgoing.headersSent || outgoing.destroyed) return;
  outgoing.statusCode = status;
  outgoing.setHeader('content-type', 'text/plain; charset=utf-8');
  outgoing.setHeader('content-length', Buffer.byteLength(text));
  // The rest of an unread body would be parsed as the next request: close instead of draining it.
  if (close) outgoing.setHeader('connection', 'close');
  outgoing.end(text);
}
