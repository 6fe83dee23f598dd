import { once } from 'node:events';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { nodeListener } from './node-handler.js';

const servers: Server[] = [];

async function serve(listener: ReturnType<typeof nodeListener>): Promise<string> {
  const server = createServer(listener);
  servers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

/** Sends raw bytes and returns the raw answer (for what fetch cannot send). */
async function rawExchange(base: string, bytes: string): Promise<string> {
  const url = new URL(base);
  const socket = connect(Number(url.port), url.hostname);
  await once(socket, 'connect');
  socket.write(bytes);
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  await Promise.race([once(socket, 'close'), new Promise((resolve) => setTimeout(resolve, 5_000))]);
  socket.destroy();
  return Buffer.concat(chunks).toString('latin1');
}

describe('nodeListener', () => {
  it('hands the handler a Request with the method, the full URL from Host, the headers and the body', async () => {
    let seen: { method: string; url: string; header: string | null; body: string } | undefined;
    const base = await serve(
      nodeListener(async (request) => {
        seen = {
          method: request.method,
          url: request.url,
          header: request.headers.get('x-amz-sns-message-type'),
          body: await request.text(),
        };
        return new Response('ok', { status: 201, headers: { 'x-answer': 'yes' } });
      }),
    );
    const answer = await fetch(`${base}/hooks/ses?a=1`, {
      method: 'POST',
      headers: { 'x-amz-sns-message-type': 'Notification' },
      body: 'héllo',
    });
    expect(answer.status).toBe(201);
    expect(answer.headers.get('x-answer')).toBe('yes');
    expect(await answer.text()).toBe('ok');
    expect(seen).toEqual({ method: 'POST', url: `${base}/hooks/ses?a=1`, header: 'Notification', body: 'héllo' });
  });

  it('keeps several Set-Cookie headers apart and sends no body for HEAD', async () => {
    const base = await serve(
      nodeListener(async () => {
        const headers = new Headers();
        headers.append('set-cookie', 'a=1');
        headers.append('set-cookie', 'b=2');
        return new Response('body', { headers });
      }),
    );
    const answer = await fetch(base);
    expect(answer.headers.getSetCookie()).toEqual(['a=1', 'b=2']);
    const head = await fetch(base, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
  });

  it('answers 413 past maxBodyBytes, by Content-Length and when streamed in chunks, without calling the handler', async () => {
    let calls = 0;
    const base = await serve(
      nodeListener(
        async () => {
          calls += 1;
          return new Response('ok');
        },
        { maxBodyBytes: 1000 },
      ),
    );
    const exact = await fetch(base, { method: 'POST', body: 'x'.repeat(1000) });
    expect(exact.status).toBe(200);
    const declared = await fetch(base, { method: 'POST', body: 'x'.repeat(1001) });
    expect(declared.status).toBe(413);
    expect(await declared.text()).toBe('Payload Too Large');

    // Chunked: no Content-Length, so the cap has to hold while reading.
    const url = new URL(base);
    const status = await new Promise<number>((resolve, reject) => {
      const outgoing = httpRequest({ host: url.hostname, port: url.port, method: 'POST', path: '/' }, (response) => {
        response.resume();
        resolve(response.statusCode ?? 0);
      });
      outgoing.on('error', reject);
      for (let index = 0; index < 20; index += 1) outgoing.write('y'.repeat(100));
      outgoing.end();
    });
    expect(status).toBe(413);
    expect(calls).toBe(1);
  });

  it('answers 500 with a plain body that does not repeat the error when the handler throws or rejects', async () => {
    const base = await serve(
      nodeListener(async (request) => {
        if (request.url.endsWith('/sync')) throw new Error('secret-password-123');
        return Promise.reject(new Error('secret-password-123'));
      }),
    );
    for (const path of ['/sync', '/async']) {
      const answer = await fetch(base + path);
      expect(answer.status).toBe(500);
      expect(await answer.text()).toBe('Internal Server Error');
    }
  });

  it('answers 400 to a Host that is not a host, and survives a client that goes away mid-body', async () => {
    let calls = 0;
    const base = await serve(
      nodeListener(async () => {
        calls += 1;
        return new Response('ok');
      }),
    );
    const badHost = await rawExchange(base, 'GET / HTTP/1.1\r\nHost: user:pw@evil.example/path\r\nConnection: close\r\n\r\n');
    expect(badHost).toMatch(/^HTTP\/1\.1 400/);
    const url = new URL(base);
    const socket = connect(Number(url.port), url.hostname);
    await once(socket, 'connect');
    socket.write('POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 500\r\n\r\npartial');
    socket.destroy();
    // The server is still there and answers the next request.
    const after = await fetch(base);
    expect(after.status).toBe(200);
    expect(calls).toBe(1);
  });

  it('aborts the request signal when the client disconnects while the handler runs', async () => {
    let aborted: Promise<boolean> | undefined;
    let started: () => void = () => {};
    const running = new Promise<void>((resolve) => {
      started = resolve;
    });
    const base = await serve(
      nodeListener(async (request) => {
        aborted = new Promise((resolve) => request.signal.addEventListener('abort', () => resolve(true)));
        started();
        await aborted;
        return new Response('late');
      }),
    );
    const controller = new AbortController();
    const pending = fetch(base, { signal: controller.signal }).catch(() => 'aborted');
    await running;
    controller.abort();
    expect(await pending).toBe('aborted');
    expect(await aborted).toBe(true);
  });

  it('refuses a negative or fractional maxBodyBytes at creation', () => {
    expect(() => nodeListener(async () => new Response(), { maxBodyBytes: -1 })).toThrow(RangeError);
    expect(() => nodeListener(async () => new Response(), { maxBodyBytes: 1.5 })).toThrow(RangeError);
  });
});
