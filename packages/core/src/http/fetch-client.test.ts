import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { refusedPort } from '@mailport/core/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import * as fetchEntry from './fetch.js';
import { createHttpClient } from './fetch-client.js';
import { HttpError } from './http-types.js';
import * as nodeEntry from './index.js';

// The fetch implementation, run on Node's own fetch (undici) against loopback servers.

type Handler = (request: IncomingMessage, response: ServerResponse) => void;
let server: Server;
let base: string;
let handler: Handler;

beforeAll(async () => {
  server = createServer((request, response) => handler(request, response));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterEach(async () => {
  server.closeAllConnections();
  // Node's fetch pools connections process-wide: let it see them closed before the next test.
  await new Promise((resolve) => setTimeout(resolve, 20));
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

const readBody = async (request: IncomingMessage): Promise<Buffer> => {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
};

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

describe('the fetch implementation of createHttpClient', () => {
  it('exports what the Node entry exports', () => {
    expect(Object.keys(fetchEntry).sort()).toEqual(Object.keys(nodeEntry).sort());
  });

  it('sends a body with its length and reads the whole answer', async () => {
    handler = async (request, response) => {
      const body = await readBody(request);
      response.writeHead(201, { 'content-type': 'application/json', 'retry-after': '3' });
      response.end(JSON.stringify({ echo: body.toString('utf8'), length: request.headers['content-length'] ?? null }));
    };
    const answer = await createHttpClient().send({
      method: 'POST',
      url: `${base}/v1`,
      headers: { 'content-type': 'text/plain' },
      body: 'grüße',
    });
    expect(answer.status).toBe(201);
    expect(answer.headers['retry-after']).toBe('3');
    expect(answer.json()).toEqual({ echo: 'grüße', length: '7' });
  });

  it('stops reading an answer past maxResponseBytes: ERESPONSETOOLARGE, handed over; at the limit it is read', async () => {
    handler = (_request, response) => {
      response.write(Buffer.alloc(64 * 1024, 'a'));
      response.end(Buffer.alloc(64 * 1024, 'b'));
    };
    const error = await failure(createHttpClient().send({ method: 'GET', url: base, maxResponseBytes: 100_000 }));
    expect(error).toMatchObject({ code: 'ERESPONSETOOLARGE', handedOver: true, timedOut: false });
    const whole = await createHttpClient().send({ method: 'GET', url: base, maxResponseBytes: 128 * 1024 });
    expect(whole.body.byteLength).toBe(128 * 1024);
  });

  it('sends a stream body and a large body in full', async () => {
    handler = async (request, response) => response.end(String((await readBody(request)).length));
    const big = new Uint8Array(1_000_000).fill(97);
    expect((await createHttpClient().send({ method: 'POST', url: base, body: big })).text()).toBe('1000000');
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new Uint8Array(10));
        controller.enqueue(new Uint8Array(5));
        controller.close();
      },
    });
    expect((await createHttpClient().send({ method: 'POST', url: base, body: stream })).text()).toBe('15');
  });

  it('a refused connection is before hand-over, with its code', async () => {
    const port = await refusedPort();
    const error = await failure(createHttpClient().send({ method: 'POST', url: `http://127.0.0.1:${port}/`, body: 'hello' }));
    expect(error).toMatchObject({ handedOver: false, code: 'ECONNREFUSED', timedOut: false });
  });

  it('a connection dropped after the whole body was read is handed over', async () => {
    handler = async (request) => {
      await readBody(request);
      request.socket.destroy();
    };
    const error = await failure(createHttpClient().send({ method: 'POST', url: base, body: 'the message' }));
    expect(error.handedOver).toBe(true);
    expect(error.timedOut).toBe(false);
  });

  it('a body the server never read to the end was not handed over', async () => {
    // The server takes the headers and stops reading: the socket buffers fill, the body stalls.
    handler = (request) => request.pause();
    const big = new Uint8Array(32 * 1024 * 1024);
    const error = await failure(createHttpClient({ timeoutMs: 400 }).send({ method: 'POST', url: base, body: big }));
    expect(error).toMatchObject({ handedOver: false, timedOut: true, code: 'ETIMEDOUT' });
  });

  it('silence after the body times out within the bound, handed over', async () => {
    handler = async (request) => {
      await readBody(request);
    };
    const started = performance.now();
    const error = await failure(createHttpClient({ timeoutMs: 300 }).send({ method: 'POST', url: base, body: 'the message' }));
    expect(error).toMatchObject({ handedOver: true, timedOut: true, code: 'ETIMEDOUT' });
    expect(performance.now() - started).toBeLessThan(3_000);
  });

  it('a request timeout overrides the client default', async () => {
    handler = () => {};
    const error = await failure(createHttpClient({ timeoutMs: 60_000 }).send({ method: 'GET', url: base, timeoutMs: 200 }));
    expect(error.timedOut, error.message).toBe(true);
  });

  it("rejects with the caller's abort reason, as it is", async () => {
    handler = () => {};
    const controller = new AbortController();
    const reason = new Error('caller gave up');
    const sending = createHttpClient().send({ method: 'POST', url: base, body: 'x', signal: controller.signal });
    setTimeout(() => controller.abort(reason), 50);
    await expect(sending).rejects.toBe(reason);
  });

  it('its fetch gives Responses and carries the HttpError as the rejection', async () => {
    handler = (_request, response) => response.writeHead(204).end();
    const client = createHttpClient();
    const response = await client.fetch(`${base}/x`, { method: 'DELETE' });
    expect(response.status).toBe(204);
    const port = await refusedPort();
    const error = await client.fetch(`http://127.0.0.1:${port}/`, { method: 'POST', body: 'x' }).catch((caught: unknown) => caught);
    expect(HttpError.find(error)?.handedOver).toBe(false);
  });

  it('uses an injected fetch, and a failure without a code after the body was read counts as handed over', async () => {
    const drained: boolean[] = [];
    const fetchFunction = async (_input: string | URL | Request, init?: RequestInit): Promise<Response> => {
      const reader = (init as { body: ReadableStream<Uint8Array> }).body.getReader();
      while (!(await reader.read()).done) {}
      drained.push(true);
      throw new TypeError('error sending request: connection closed');
    };
    const error = await failure(createHttpClient({ fetch: fetchFunction }).send({ method: 'POST', url: base, body: 'x' }));
    expect(drained).toEqual([true]);
    expect(error).toMatchObject({ handedOver: true, code: undefined });
  });

  it("reads Deno's connect failures, which have no code, from hyper's text: before hand-over", async () => {
    const denoRefused = async (): Promise<Response> => {
      throw new TypeError('error sending request', {
        cause: new Error(
          'error sending request for url (http://127.0.0.1:9/): client error (Connect): tcp connect error: Connection refused (os error 111)',
        ),
      });
    };
    const error = await failure(
      createHttpClient({ fetch: denoRefused, fixedLengthStreams: false }).send({ method: 'POST', url: base, body: 'x' }),
    );
    expect(error).toMatchObject({ handedOver: false, code: 'ECONNREFUSED' });
  });

  it('where streams lose their length (Deno), sends bytes as bytes, and a failure without a code counts as handed over', async () => {
    const bodies: unknown[] = [];
    const denoDropped = async (_input: string | URL | Request, init?: RequestInit): Promise<Response> => {
      bodies.push(init?.body);
      throw new TypeError('error sending request: connection closed before message completed');
    };
    const error = await failure(
      createHttpClient({ fetch: denoDropped, fixedLengthStreams: false }).send({ method: 'POST', url: base, body: 'x' }),
    );
    expect(bodies[0]).toBeInstanceOf(Uint8Array);
    expect(error).toMatchObject({ handedOver: true, code: undefined });
  });

  it('refuses a CA where the runtime cannot take one', () => {
    expect(() => createHttpClient({ ca: '-----BEGIN CERTIFICATE-----' })).toThrow(/takes no CA/);
  });
});
