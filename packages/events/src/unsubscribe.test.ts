import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer, request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import { createMailer, MailError } from '@mailport/core';
import { sandboxCertificate, startSandbox } from '@mailport/sandbox';
import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MailEvent, Suppression } from './model.js';
import { createMemorySuppressionStore, suppressionFilter } from './suppression.js';
import { createUnsubscribe } from './unsubscribe.js';

const secret = 'unsubscribe-secret-0123456789';

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function entries(store: ReturnType<typeof createMemorySuppressionStore>): Promise<Suppression[]> {
  const all: Suppression[] = [];
  for await (const entry of store.list()) all.push(entry);
  return all;
}

const oneClick = { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'List-Unsubscribe=One-Click' };

describe('createUnsubscribe over real http', () => {
  let server: Server;
  let origin: string;
  const store = createMemorySuppressionStore();
  const events: MailEvent[] = [];
  let unsubscribe: ReturnType<typeof createUnsubscribe>;
  // The handler's baseUrl is where the application serves it; the test server stands in for it.
  const link = (recipient: string, stream?: string): string => {
    const url = new URL(unsubscribe.url(recipient, stream));
    return `${origin}${url.pathname}${url.search}`;
  };

  beforeAll(async () => {
    unsubscribe = createUnsubscribe({ secret, baseUrl: 'https://shop.example/u', store, onEvent: (event) => void events.push(event) });
    server = createHttpServer(unsubscribe.node);
    origin = await listen(server);
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  it('makes signed links that keep the base URL, and the List-Unsubscribe input core takes', () => {
    const url = new URL(unsubscribe.url('Ana@Example.org', 'news'));
    expect(`${url.origin}${url.pathname}`).toBe('https://shop.example/u');
    expect(url.searchParams.get('t')).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{22}$/);
    expect(unsubscribe.url('ana@example.org', 'news')).toBe(url.href);
    expect(unsubscribe.url('ana@example.org')).not.toBe(url.href);
    expect(unsubscribe.listUnsubscribe('ana@example.org', 'news')).toEqual({ url: url.href, oneClick: true });
    expect(
      new URL(createUnsubscribe({ secret, baseUrl: 'https://shop.example/u?list=1', store }).url('a@b.example')).searchParams.get('list'),
    ).toBe('1');
    for (const bad of ['', 'no-at', 'a b@c.example', 'a\r\n@c.example', 42]) expect(() => unsubscribe.url(bad as never)).toThrow(TypeError);
    for (const bad of ['*', '', 'has space', 'x'.repeat(129)]) expect(() => unsubscribe.url('a@b.example', bad)).toThrow(TypeError);
    expect(() => createUnsubscribe({ secret: 'short', baseUrl: 'https://shop.example/u', store })).toThrow(TypeError);
    expect(() => createUnsubscribe({ secret, previousSecrets: ['short'], baseUrl: 'https://shop.example/u', store })).toThrow(TypeError);
    expect(() => createUnsubscribe({ secret, baseUrl: 'not a url', store })).toThrow(TypeError);
    expect(() => createUnsubscribe({ secret, baseUrl: 'ftp://shop.example/u', store })).toThrow(TypeError);
  });

  it('GET shows a page with a button and changes nothing; POST unsubscribes once; a second POST changes nothing', async () => {
    const url = link('ana@example.org', 'news');
    for (let n = 0; n < 3; n++) {
      const page = await fetch(url);
      expect(page.status).toBe(200);
      expect(page.headers.get('content-security-policy')).toMatch(/^default-src 'none';/);
      expect(page.headers.get('referrer-policy')).toBe('no-referrer');
      const html = await page.text();
      expect(html).toContain('<form method="post"><input type="hidden" name="List-Unsubscribe" value="One-Click">');
      expect(html).toContain('ana@example.org');
    }
    expect((await fetch(url, { method: 'HEAD' })).status).toBe(200);
    expect(await entries(store)).toEqual([]);
    expect(events).toEqual([]);

    const first = await fetch(url, oneClick);
    expect(first.status).toBe(200);
    expect(await entries(store)).toEqual([expect.objectContaining({ address: 'ana@example.org', scope: 'news', reason: 'unsubscribe' })]);
    expect(events).toEqual([
      expect.objectContaining({ type: 'unsubscribed', source: 'unsubscribe', recipient: 'ana@example.org', metadata: { stream: 'news' } }),
    ]);
    const second = await fetch(url, oneClick);
    expect(second.status).toBe(200);
    expect(await entries(store)).toHaveLength(1);
    expect(events).toHaveLength(1);
  });

  it('takes multipart/form-data as RFC 8058 allows, and unsubscribes from every stream with a link without one', async () => {
    const form = new FormData();
    form.set('List-Unsubscribe', 'One-Click');
    const answer = await fetch(link('bob@example.org'), { method: 'POST', body: form });
    expect(answer.status).toBe(200);
    expect((await store.check(['bob@example.org'], 'anything')).get('bob@example.org')).toMatchObject({ scope: '*' });
  });

  it('answers 400 to a missing, forged, truncated or doubled token and to a wrong body, 405 to other methods, 413 past the cap', async () => {
    const good = new URL(link('carl@example.org', 'news'));
    const token = good.searchParams.get('t') as string;
    const [payload = '', mac = ''] = token.split('.');
    const forgedPayload = Buffer.from('1\u0000mallory@example.org\u0000news').toString('base64url');
    const other = createUnsubscribe({ secret: 'another-secret-0123456789', baseUrl: 'https://shop.example/u', store });
    const foreign = new URL(other.url('carl@example.org', 'news')).searchParams.get('t') as string;
    const bad = [
      '',
      `?t=${payload}`,
      `?t=${payload}.${mac.slice(0, -1)}`,
      `?t=${payload}.${mac}A`,
      `?t=${forgedPayload}.${mac}`,
      `?t=${foreign}`,
      `?t=${token}&t=${token}`,
      `?t=${'A'.repeat(5000)}.${mac}`,
      `?t=${encodeURIComponent('<script>.x')}`,
    ];
    for (const query of bad) {
      expect((await fetch(`${origin}/u${query}`, oneClick)).status).toBe(400);
      expect((await fetch(`${origin}/u${query}`)).status).toBe(400);
    }
    for (const body of ['', 'List-Unsubscribe=one-click', 'List-Unsubscribe=One-Click&List-Unsubscribe=One-Click', 'unsubscribe=yes']) {
      expect((await fetch(good, { ...oneClick, body })).status).toBe(400);
    }
    const garbled = await fetch(good, {
      method: 'POST',
      headers: { 'content-type': 'multipart/form-data; boundary=x' },
      body: '--x\r\nbroken',
    });
    expect(garbled.status).toBe(400);
    for (const method of ['PUT', 'DELETE', 'PATCH']) {
      const answer = await fetch(good, { method, body: 'List-Unsubscribe=One-Click' });
      expect(answer.status).toBe(405);
      expect(answer.headers.get('allow')).toBe('GET, HEAD, POST');
    }
    expect((await fetch(good, { ...oneClick, body: `List-Unsubscribe=One-Click&pad=${'x'.repeat(10_000)}` })).status).toBe(413);
    expect((await store.check(['carl@example.org', 'mallory@example.org'], 'news')).size).toBe(0);
  });

  it('still takes links signed with a previous secret after rotation, and no others', async () => {
    const old = createUnsubscribe({ secret: 'the-old-secret-0123456789', baseUrl: 'https://shop.example/u', store });
    const rotated = createUnsubscribe({
      secret: 'the-new-secret-0123456789',
      previousSecrets: ['the-old-secret-0123456789'],
      baseUrl: 'https://shop.example/u',
      store,
    });
    const stranger = createUnsubscribe({ secret: 'a-stranger-secret-0123456789', baseUrl: 'https://shop.example/u', store });
    expect((await rotated.handle(new Request(old.url('gus@example.org')))).status).toBe(200);
    expect((await rotated.handle(new Request(rotated.url('gus@example.org')))).status).toBe(200);
    expect((await rotated.handle(new Request(stranger.url('gus@example.org')))).status).toBe(400);
    expect(rotated.url('gus@example.org')).not.toBe(old.url('gus@example.org'));
  });

  it('escapes what the page shows', async () => {
    const hostile = `"><img/src=x/onerror=alert(1)>'@example.org`;
    const html = await (await fetch(link(hostile, 'a<b>&"\'`'))).text();
    expect(html).not.toContain('<img');
    expect(html).toContain('&quot;&gt;&lt;img/src=x/onerror=alert(1)&gt;&#39;@example.org');
    expect(html).toContain('a&lt;b&gt;&amp;&quot;&#39;&#96;');
  });

  it('answers 500 and stores nothing when onEvent throws, so the retry does it', async () => {
    let fail = true;
    const local = createMemorySuppressionStore();
    const flaky = createUnsubscribe({
      secret,
      baseUrl: 'https://shop.example/u',
      store: local,
      onEvent: () => {
        if (fail) throw new Error('queue down');
      },
    });
    const request = (): Request => new Request(flaky.url('dora@example.org'), oneClick);
    const failed = await flaky.handle(request());
    expect(failed.status).toBe(500);
    expect(await failed.text()).not.toContain('queue down');
    expect(await entries(local)).toEqual([]);
    fail = false;
    expect((await flaky.handle(request())).status).toBe(200);
    expect(await entries(local)).toHaveLength(1);
  });
});

describe('one-click unsubscribe end to end', () => {
  it('a mail client reads List-Unsubscribe from the sent message and POSTs; the next send on that stream is suppressed, another stream is not', async () => {
    await using sandbox = await startSandbox();
    const tls = await sandboxCertificate();
    const store = createMemorySuppressionStore();
    // The application's https endpoint, on loopback with the sandbox's certificate.
    let unsubscribe: ReturnType<typeof createUnsubscribe> | undefined;
    const server = createHttpsServer({ key: tls.key, cert: tls.cert }, (request, response) => unsubscribe?.node(request, response));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const baseUrl = `https://127.0.0.1:${(server.address() as AddressInfo).port}/unsubscribe`;
      unsubscribe = createUnsubscribe({ secret, baseUrl, store });
      await using mailer = createMailer({
        transport: sandbox.urls.ses,
        retry: false,
        suppression: suppressionFilter(store),
        defaults: { from: 'news@shop.example' },
      });
      await mailer.send({
        to: 'Erin@example.org',
        subject: 'Week 12',
        html: '<p>news</p>',
        metadata: { stream: 'newsletter' },
        listUnsubscribe: unsubscribe.listUnsubscribe('Erin@example.org', 'newsletter'),
      });
      const parsed = await simpleParser(sandbox.store.last()?.raw ?? Buffer.alloc(0));
      // mailparser folds List-* headers into one `list` object; the raw lines are what a client reads.
      const line = (name: string): string =>
        (parsed.headerLines.find((found) => found.key === name)?.line ?? '').replace(/\r?\n[ \t]+/g, ' ').replace(/^[^:]+:\s*/, '');
      const header = line('list-unsubscribe-post');
      expect(header).toBe('List-Unsubscribe=One-Click');
      const target = /<(https:[^>]+)>/.exec(line('list-unsubscribe'))?.[1];
      expect(target).toBe(unsubscribe.url('erin@example.org', 'newsletter'));

      // As Gmail does: an HTTPS POST of the header's body to the header's URL, no cookies, no Origin of ours.
      const status = await new Promise<number>((resolve, reject) => {
        const body = String(header);
        const request = httpsRequest(
          target as string,
          { method: 'POST', ca: tls.cert, headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': body.length } },
          (response) => {
            response.resume();
            resolve(response.statusCode ?? 0);
          },
        );
        request.on('error', reject);
        request.end(body);
      });
      expect(status).toBe(200);

      const before = sandbox.store.size;
      const refused = await mailer
        .send({ to: 'erin@example.org', subject: 'Week 13', text: 'news', metadata: { stream: 'newsletter' } })
        .catch((error: unknown) => error);
      expect(MailError.isInstance(refused) && refused.code).toBe('recipient-rejected');
      expect(sandbox.store.size).toBe(before);
      const receipt = await mailer.send({ to: 'erin@example.org', subject: 'Your order', text: 'shipped', metadata: { stream: 'orders' } });
      expect(receipt.accepted).toEqual(['erin@example.org']);
      expect(sandbox.store.size).toBe(before + 1);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
