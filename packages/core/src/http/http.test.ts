import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { type AddressInfo, createServer as createTcpServer, type Server as TcpServer } from 'node:net';
import { Readable } from 'node:stream';
import { refusedPort } from '@mailport/core/testing';
import { generate } from 'selfsigned';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isCertificateError } from '../network.js';
import { createHttpClient, type HttpClient, HttpError, sendHttp } from './index.js';

type Handler = (request: IncomingMessage, response: ServerResponse, body: Buffer) => void;

let server: Server;
let base: string;
let handler: Handler;
const clients: HttpClient[] = [];
const client = (options: Parameters<typeof createHttpClient>[0] = {}): HttpClient => {
  const created = createHttpClient(options);
  clients.push(created);
  return created;
};

beforeAll(async () => {
  server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => handler(request, response, Buffer.concat(chunks)));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterEach(() => {
  for (const created of clients.splice(0)) created.close();
  server.closeAllConnections();
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

const failure = async (promise: Promise<unknown>): Promise<HttpError> => {
  const error = await promise.then(
    () => {
      throw new Error('expected the request to fail');
    },
    (caught: unknown) => caught,
  );
  expect(HttpError.isInstance(error), String(error)).toBe(true);
  return error as HttpError;
};

describe('createHttpClient', () => {
  it('sends a body and reads the whole answer, with lower-case headers, text and json', async () => {
    handler = (request, response, body) => {
      response.writeHead(201, { 'Content-Type': 'application/json', 'Retry-After': '3', 'X-Length': request.headers['content-length'] });
      response.end(JSON.stringify({ echo: body.toString('utf8'), method: request.method }));
    };
    const answer = await client().send({
      method: 'POST',
      url: `${base}/v1/messages`,
      headers: { 'Content-Type': 'text/plain' },
      body: 'grüße',
    });
    expect(answer.status).toBe(201);
    expect(answer.headers['retry-after']).toBe('3');
    expect(answer.headers['x-length']).toBe(String(Buffer.byteLength('grüße')));
    expect(answer.json()).toEqual({ echo: 'grüße', method: 'POST' });
    expect(JSON.parse(answer.text())).toEqual(answer.json());
  });

  it('stops reading an answer past maxResponseBytes: ERESPONSETOOLARGE, handed over; at the limit it is read', async () => {
    handler = (_request, response) => {
      response.write(Buffer.alloc(64 * 1024, 'a'));
      response.end(Buffer.alloc(64 * 1024, 'b'));
    };
    const error = await failure(client().send({ method: 'GET', url: `${base}/big`, maxResponseBytes: 100_000 }));
    expect(error).toMatchObject({ code: 'ERESPONSETOOLARGE', handedOver: true, timedOut: false });
    expect(error.message).toMatch(/larger than 100000 bytes/);
    const whole = await client().send({ method: 'GET', url: `${base}/big`, maxResponseBytes: 128 * 1024 });
    expect(whole.body.byteLength).toBe(128 * 1024);
  });

  it('streams a body from an async iterable, byte for byte', async () => {
    const bytes = Buffer.from(Array.from({ length: 300_000 }, (_, index) => index % 251));
    handler = (_request, response, body) => response.end(body.equals(bytes) ? 'same' : `differs: ${body.length}`);
    const chunks = async function* () {
      for (let offset = 0; offset < bytes.length; offset += 65_536) yield bytes.subarray(offset, offset + 65_536);
    };
    const answer = await client().send({ method: 'PUT', url: `${base}/upload`, body: chunks() });
    expect(answer.text()).toBe('same');
  });

  it('reports a refused connection as not handed over', async () => {
    const port = await refusedPort();
    const error = await failure(client().send({ method: 'POST', url: `http://127.0.0.1:${port}/x`, body: 'hello' }));
    expect(error).toMatchObject({ code: 'ECONNREFUSED', handedOver: false, timedOut: false });
  });

  it('reports a connection cut after the body was read as handed over', async () => {
    handler = (request) => request.socket.destroy();
    const error = await failure(client().send({ method: 'POST', url: `${base}/drop`, body: 'hello' }));
    expect(error).toMatchObject({ handedOver: true, timedOut: false });
  });

  it('reports a connection cut before a large body went out as not handed over', async () => {
    const early = createServer((request) => request.socket.destroy());
    early.listen(0, '127.0.0.1');
    await once(early, 'listening');
    try {
      const url = `http://127.0.0.1:${(early.address() as AddressInfo).port}/big`;
      const error = await failure(client().send({ method: 'POST', url, body: Buffer.alloc(32 * 1024 * 1024) }));
      expect(error.handedOver).toBe(false);
    } finally {
      early.close();
    }
  });

  it('reports silence after the body as a timeout, handed over', async () => {
    handler = () => {};
    const error = await failure(client({ timeoutMs: 100 }).send({ method: 'POST', url: `${base}/stall`, body: 'hello' }));
    expect(error).toMatchObject({ code: 'ETIMEDOUT', handedOver: true, timedOut: true });
    expect(error.message).not.toContain('?');
  });

  it('gives a connect that hangs its own code, ECONNECT_TIMEOUT, before anything was sent', async () => {
    // A TCP server that accepts and never speaks TLS: the TLS connection is never made.
    const silent: TcpServer = createTcpServer(() => {});
    silent.listen(0, '127.0.0.1');
    await once(silent, 'listening');
    try {
      const url = `https://127.0.0.1:${(silent.address() as AddressInfo).port}/`;
      const error = await failure(client({ connectTimeoutMs: 100, timeoutMs: 10_000 }).send({ method: 'GET', url }));
      expect(error).toMatchObject({ code: 'ECONNECT_TIMEOUT', handedOver: false });
    } finally {
      silent.close();
    }
  });

  it("rejects with the caller's own reason when the signal aborts, before or during the request", async () => {
    handler = () => {};
    const reason = new Error('gave up');
    await expect(client().send({ method: 'GET', url: `${base}/`, signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
    const controller = new AbortController();
    setTimeout(() => controller.abort(reason), 50);
    await expect(client().send({ method: 'GET', url: `${base}/stall`, signal: controller.signal })).rejects.toBe(reason);
  });

  it('never names the query string, which can carry a token, in an error', async () => {
    handler = (request) => request.socket.destroy();
    const error = await failure(client().send({ method: 'GET', url: `${base}/x?access_token=secret-123` }));
    expect(error.message).not.toContain('secret-123');
  });

  it('trusts a private CA when given one, and reports an untrusted certificate by its code', async () => {
    const identity = await generate([{ name: 'commonName', value: 'localhost' }], {
      keyType: 'ec',
      curve: 'P-256',
      algorithm: 'sha256',
      extensions: [{ name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }] }],
    });
    const secure = createHttpsServer({ key: identity.private, cert: identity.cert }, (_request, response) => response.end('ok'));
    secure.listen(0, '127.0.0.1');
    await once(secure, 'listening');
    try {
      const url = `https://127.0.0.1:${(secure.address() as AddressInfo).port}/`;
      const untrusted = await failure(client().send({ method: 'GET', url }));
      expect(isCertificateError(untrusted.code), untrusted.code).toBe(true);
      expect(untrusted.handedOver).toBe(false);
      expect((await client({ ca: identity.cert }).send({ method: 'GET', url })).text()).toBe('ok');
    } finally {
      secure.closeAllConnections();
      secure.close();
    }
  });
});

describe('HttpClient.fetch', () => {
  it('is a fetch over the same client, for SDKs that take one', async () => {
    handler = (request, response, body) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ body: body.toString('utf8'), auth: request.headers.authorization }));
    };
    const fetch = client().fetch;
    const response = await fetch(new URL(`${base}/json`), {
      method: 'POST',
      headers: new Headers({ Authorization: 'Bearer t' }),
      body: Readable.from([Buffer.from('{"raw":'), Buffer.from('"x"}')]) as unknown as BodyInit,
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(await response.json()).toEqual({ body: '{"raw":"x"}', auth: 'Bearer t' });
  });

  it('rejects with the HttpError, so that a wrapping SDK keeps it as the cause', async () => {
    const port = await refusedPort();
    const caught = await client()
      .fetch(`http://127.0.0.1:${port}/`)
      .catch((error: unknown) => new Error('wrapped by an SDK', { cause: error }));
    expect(HttpError.find(caught)).toMatchObject({ code: 'ECONNREFUSED', handedOver: false });
  });
});

describe('sendHttp', () => {
  it('sends with a client shared by the process', async () => {
    handler = (_request, response) => response.end('{"access_token":"t"}');
    expect((await sendHttp({ method: 'POST', url: `${base}/token`, body: 'grant_type=x' })).json()).toEqual({ access_token: 't' });
  });
});
