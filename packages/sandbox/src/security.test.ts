import { readFile, stat } from 'node:fs/promises';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { isLoopbackName } from './access.js';
import { type Sandbox, startSandbox } from './sandbox.js';

interface Answer {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/** A request with any `Host` header, which fetch() will not send; over TLS when `url` is https. */
function send(
  url: string,
  options: {
    method?: string | undefined;
    host?: string | undefined;
    headers?: Record<string, string> | undefined;
    body?: string | undefined;
    ca?: string | undefined;
  } = {},
): Promise<Answer> {
  const target = new URL(url);
  const headers: Record<string, string> = { ...options.headers };
  // '' sends no Host header at all.
  if (options.host !== undefined && options.host !== '') headers.host = options.host;
  if (options.body !== undefined) headers['content-length'] = String(Buffer.byteLength(options.body));
  return new Promise((resolve, reject) => {
    const request = (target.protocol === 'https:' ? httpsRequest : httpRequest)(
      target,
      { method: options.method ?? 'GET', headers, ca: options.ca, servername: 'localhost', agent: false, setHost: options.host !== '' },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () =>
          resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks).toString('utf8') }),
        );
        // An SSE route (the inbox's live feed) never ends: its headers are enough.
        if (response.headers['content-type']?.startsWith('text/event-stream')) {
          resolve({ status: response.statusCode ?? 0, headers: response.headers, body: '' });
          response.destroy();
        }
      },
    );
    request.on('error', reject);
    request.end(options.body);
  });
}

/** A concrete path for a route pattern: every `:name` filled in. */
function concrete(path: string, values: Record<string, string>): string {
  return path.replace(/:(\w+)/g, (_, name: string) => encodeURIComponent(values[name] ?? 'x'));
}

const rawMessage = (subject: string): Buffer =>
  Buffer.from(`From: app@example.com\r\nTo: ana@example.org\r\nSubject: ${subject}\r\n\r\nsecret body\r\n`);

describe('sandbox security: Host, Origin, control token', () => {
  let sandbox: Sandbox;
  let values: Record<string, string>;
  let accessToken: string;

  beforeAll(async () => {
    sandbox = await startSandbox();
  });
  afterAll(() => sandbox.close());
  beforeEach(() => {
    sandbox.store.clear();
    sandbox.faults.clear();
    const stored = sandbox.store.add({
      api: 'smtp',
      operation: 'SMTP DATA',
      envelope: { from: 'app@example.com', to: ['ana@example.org'] },
      raw: rawMessage('Secret'),
      metadata: {},
    });
    accessToken = sandbox.tokens.issue({ issuer: 'google', subject: 'user@example.com', clientId: 'c', scopes: [] }).token;
    values = { id: stored.id, index: '0', tenant: sandbox.accounts.microsoft.tenantId, userId: 'me', user: 'me' };
  });

  /** Nothing any refused request could have changed did change. */
  const unchanged = (): void => {
    expect(sandbox.store.size).toBe(1);
    expect(sandbox.faults.pending()).toEqual([]);
    expect(sandbox.tokens.find(accessToken)).toBeDefined();
  };

  it('lists every route with its access; everything under /sandbox/ is control', () => {
    const routes = sandbox.routes;
    expect(routes.length).toBeGreaterThan(30);
    for (const route of routes) if (route.path.startsWith('/sandbox/')) expect(route.access).toBe('control');
    const access = (method: string, path: string) => routes.find((route) => route.method === method && route.path === path)?.access;
    expect(access('GET', '/')).toBe('navigation');
    expect(access('GET', '/devicelogin')).toBe('navigation');
    expect(access('POST', '/devicelogin')).toBe('api');
    expect(access('GET', '/o/oauth2/v2/auth')).toBe('navigation');
    expect(access('GET', '/:tenant/oauth2/v2.0/authorize')).toBe('navigation');
    expect(access('POST', '/token')).toBe('api');
    expect(access('POST', '/:tenant/oauth2/v2.0/token')).toBe('api');
    expect(access('POST', '/v2/email/outbound-emails')).toBe('api');
    expect(access('GET', '/sandbox/info')).toBe('control');
    expect(access('GET', '/sandbox/events')).toBe('control');
  });

  it('refuses a foreign Host on every route of both listeners, before the route runs (DNS rebinding)', async () => {
    const foreign = (port: number) => [`attacker.example:${port}`, 'attacker.example', `127.0.0.1.nip.example:${port}`];
    for (const [base, port] of [
      [sandbox.httpUrl, sandbox.httpPort],
      [sandbox.httpsUrl, sandbox.httpsPort],
    ] as const) {
      for (const route of sandbox.routes) {
        const url = `${base}${concrete(route.path, values)}`;
        const body = route.method === 'GET' || route.method === 'DELETE' ? undefined : '{"endpoint":"*","status":500}';
        const headers = {
          authorization: `Bearer ${sandbox.controlToken}`,
          'content-type': 'application/json',
          cookie: `mailport_sandbox_${port}=${sandbox.controlToken}`,
        };
        for (const host of foreign(port)) {
          const answer = await send(url, { method: route.method, host, headers, body, ca: sandbox.ca });
          expect({ route: `${route.method} ${route.path}`, host, status: answer.status }).toEqual({
            route: `${route.method} ${route.path}`,
            host,
            status: 421,
          });
          expect(answer.headers['content-type']).toBe('text/plain; charset=utf-8');
          expect(answer.body).toMatch(/^This mailport sandbox answers only requests addressed to a loopback name/);
          expect(answer.body).not.toContain(sandbox.accounts.smtp.users.sandbox ?? 'sandbox-password');
        }
        // The same request addressed to 127.0.0.1 reaches the route: the Host alone made the difference.
        const reached = await send(url, { method: route.method, headers, body, ca: sandbox.ca });
        expect({ route: `${route.method} ${route.path}`, status: reached.status === 421 }).toEqual({
          route: `${route.method} ${route.path}`,
          status: false,
        });
        // Put back what the accepted request changed.
        sandbox.faults.clear();
        if (sandbox.store.size === 0) {
          sandbox.store.add({
            api: 'smtp',
            operation: 'SMTP DATA',
            envelope: { from: 'app@example.com', to: ['ana@example.org'] },
            raw: rawMessage('Secret'),
            metadata: {},
          });
          values.id = sandbox.store.last()?.id ?? '';
        }
        accessToken = sandbox.tokens.issue({ issuer: 'google', subject: 'user@example.com', clientId: 'c', scopes: [] }).token;
      }
      // A path no route has, and a method none takes: refused for the Host too, not 404 or 405.
      for (const [method, path] of [
        ['GET', '/nothing-here'],
        ['OPTIONS', '/sandbox/info'],
        ['PUT', '/sandbox/info'],
      ]) {
        expect((await send(`${base}${path}`, { method, host: `attacker.example:${port}`, ca: sandbox.ca })).status).toBe(421);
      }
    }
  });

  it('refuses every other kind of foreign or malformed Host, and answers every loopback name', async () => {
    const port = sandbox.httpPort;
    const url = `${sandbox.httpUrl}/sandbox/info`;
    const headers = { authorization: `Bearer ${sandbox.controlToken}` };
    for (const host of [
      `localhost.attacker.example:${port}`,
      `attacker.example.:${port}`,
      `localhost.:${port}`,
      `127.0.0.1@attacker.example:${port}`,
      `attacker.example#127.0.0.1`,
      `127.0.0.1:${port}/x`,
      `[::2]:${port}`,
      `[::ffff:10.0.0.1]:${port}`,
      `0.0.0.0:${port}`,
      `10.0.0.1:${port}`,
      `128.0.0.1:${port}`,
      `2130706433:${port}`,
      `0x7f.1:${port}`,
      `127.0.0.1 :${port}`,
    ]) {
      expect({ host, status: (await send(url, { host, headers })).status }).toEqual({ host, status: 421 });
    }
    // No Host at all: Node's HTTP server refuses an HTTP/1.1 request without one before the sandbox sees it.
    expect((await send(url, { host: '', headers })).status).toBe(400);
    for (const host of [
      `127.0.0.1:${port}`,
      '127.0.0.1',
      `127.8.9.10:${port}`,
      `localhost:${port}`,
      `LocalHost:${port}`,
      `inbox.localhost:${port}`,
      `[::1]:${port}`,
      `[0:0:0:0:0:0:0:1]:${port}`,
      `[::ffff:127.0.0.1]:${port}`,
      // Another port: a port forward (docker -p 8025:4010) reaches the sandbox on a port it does not listen on.
      '127.0.0.1:9',
    ]) {
      expect({ host, status: (await send(url, { host, headers })).status }).toEqual({ host, status: 200 });
    }
  });

  it('checks loopback names strictly', () => {
    for (const name of ['localhost', 'a.localhost', 'a-b.c.localhost', '127.0.0.1', '127.255.255.255', '[::1]', '[::ffff:7f00:1]'])
      expect({ name, loopback: isLoopbackName(name) }).toEqual({ name, loopback: true });
    for (const name of [
      'localhost.',
      'localhost.example',
      'xlocalhost',
      '-a.localhost',
      '.localhost',
      '127.0.0.256',
      '127.0.0',
      '127.000.0.1',
    ])
      expect({ name, loopback: isLoopbackName(name) }).toEqual({ name, loopback: false });
    for (const name of ['[::]', '[::2]', '[fe80::1]', '1.2.3.4', '0.0.0.0', '[::ffff:0a00:1]'])
      expect({ name, loopback: isLoopbackName(name) }).toEqual({ name, loopback: false });
  });

  it('wants the control token on every /sandbox/ route, as a bearer token or the inbox cookie of this listener', async () => {
    for (const route of sandbox.routes.filter((candidate) => candidate.access === 'control')) {
      const url = `${sandbox.httpUrl}${concrete(route.path, values)}`;
      const attempts: Record<string, string>[] = [
        {},
        { authorization: 'Bearer wrong-token-wrong-token' },
        { authorization: `Basic ${Buffer.from(`x:${sandbox.controlToken}`).toString('base64')}` },
        { cookie: `mailport_sandbox_${sandbox.httpsPort}=${sandbox.controlToken}` },
        { cookie: `mailport_sandbox_${sandbox.httpPort}=${sandbox.controlToken}x` },
      ];
      for (const headers of attempts) {
        const answer = await send(url, { method: route.method, headers });
        expect({ route: `${route.method} ${route.path}`, headers, status: answer.status }).toEqual({
          route: `${route.method} ${route.path}`,
          headers,
          status: 401,
        });
        expect(answer.headers['www-authenticate']).toBe('Bearer realm="mailport-sandbox"');
      }
    }
    unchanged();
    // A capability URL is not a token: it reads the one path it was made for.
    const cap = new URL(`${sandbox.httpUrl}/sandbox/messages/${values.id}/attachments/0?cap=AAAA`);
    expect((await send(cap.href)).status).toBe(401);

    const info = await send(`${sandbox.httpUrl}/sandbox/info`, { headers: { authorization: `Bearer ${sandbox.controlToken}` } });
    expect(info.status).toBe(200);
    expect(JSON.parse(info.body)).toMatchObject({ accounts: { ses: { secretAccessKey: sandbox.accounts.ses.secretAccessKey } } });
    const viaCookie = await send(`${sandbox.httpUrl}/sandbox/messages/${values.id}/raw`, {
      headers: { cookie: `other=1; mailport_sandbox_${sandbox.httpPort}=${sandbox.controlToken}` },
    });
    expect(viaCookie.status).toBe(200);
    expect(viaCookie.body).toContain('secret body');
  });

  it('keeps the token in a file only its user can read', async () => {
    expect((await readFile(sandbox.controlTokenFile, 'utf8')).trim()).toBe(sandbox.controlToken);
    expect((await stat(sandbox.controlTokenFile)).mode & 0o777).toBe(0o600);
    expect(sandbox.controlToken).toMatch(/^[\w-]{43}$/);
  });

  it('takes only JSON bodies on the control API: a form or text/plain is what another page sends without asking', async () => {
    const authorization = `Bearer ${sandbox.controlToken}`;
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', undefined]) {
      const headers: Record<string, string> = { authorization };
      if (type !== undefined) headers['content-type'] = type;
      const answer = await send(`${sandbox.httpUrl}/sandbox/faults`, {
        method: 'POST',
        headers,
        body: '{"endpoint":"*","status":500}',
      });
      expect({ type, status: answer.status }).toEqual({ type, status: 415 });
    }
    unchanged();
    const injected = await send(`${sandbox.httpUrl}/sandbox/faults`, {
      method: 'POST',
      headers: { authorization, 'content-type': 'application/json; charset=utf-8' },
      body: '{"endpoint":"ses.SendEmail","status":500}',
    });
    expect(injected.status).toBe(201);
    expect(sandbox.faults.pending()).toHaveLength(1);
    // A POST without a body needs no type.
    expect((await send(`${sandbox.httpUrl}/sandbox/tokens/expire`, { method: 'POST', headers: { authorization } })).status).toBe(204);
    expect(sandbox.tokens.find(accessToken)).toBeUndefined();
  });

  it('refuses browser requests from other origins, even with the token, on control and provider routes', async () => {
    const port = sandbox.httpPort;
    const authorization = `Bearer ${sandbox.controlToken}`;
    const crossSite: Record<string, string>[] = [
      { origin: `http://127.0.0.1:${port + 1}` },
      { origin: `http://localhost:${port}` },
      { origin: `https://127.0.0.1:${port}` },
      { origin: 'null' },
      { origin: 'https://attacker.example' },
      { 'sec-fetch-site': 'cross-site' },
      { 'sec-fetch-site': 'same-site' },
      { 'sec-fetch-site': 'same-origin', origin: 'http://attacker.example' },
      { referer: `http://127.0.0.1:${port + 1}/page` },
    ];
    const targets: [string, string, string | undefined, Record<string, string>][] = [
      ['DELETE', '/sandbox/messages', undefined, { authorization }],
      ['POST', '/sandbox/faults', '{"endpoint":"*","status":500}', { authorization, 'content-type': 'application/json' }],
      ['POST', '/sandbox/tokens/expire', undefined, { authorization }],
      ['GET', '/sandbox/info', undefined, { authorization }],
      ['GET', `/sandbox/messages/${values.id}/raw`, undefined, { authorization }],
      [
        'POST',
        '/token',
        `grant_type=refresh_token&client_id=${sandbox.accounts.google.clientId}&client_secret=${sandbox.accounts.google.clientSecret}` +
          `&refresh_token=${Object.keys(sandbox.accounts.google.refreshTokens)[0]}`,
        { 'content-type': 'application/x-www-form-urlencoded' },
      ],
      ['POST', '/devicelogin', 'otc=ABCDEFGH', { 'content-type': 'application/x-www-form-urlencoded' }],
      ['GET', '/devicelogin', undefined, {}],
    ];
    const issued = sandbox.tokens.issuedCount();
    for (const [method, path, body, base] of targets) {
      for (const extra of crossSite) {
        const answer = await send(`${sandbox.httpUrl}${path}`, { method, body, headers: { ...base, ...extra } });
        expect({ method, path, extra, status: answer.status }).toEqual({ method, path, extra, status: 403 });
        expect(answer.body).toMatch(/^Refused: a request from another site/);
      }
    }
    unchanged();
    expect(sandbox.tokens.issuedCount()).toBe(issued);

    // The same requests from this very origin, or from a client that is no browser, go through.
    const self = `http://127.0.0.1:${port}`;
    const allowed: Record<string, string>[] = [
      {},
      { origin: self, 'sec-fetch-site': 'same-origin' },
      { 'sec-fetch-site': 'none' },
      { referer: `${self}/` },
    ];
    for (const extra of allowed) {
      expect((await send(`${sandbox.httpUrl}/sandbox/info`, { headers: { authorization, ...extra } })).status).toBe(200);
      const token = targets[5] as (typeof targets)[number];
      expect(
        (await send(`${sandbox.httpUrl}${token[1]}`, { method: 'POST', body: token[2], headers: { ...token[3], ...extra } })).status,
      ).toBe(200);
    }
    expect(
      (
        await send(`${sandbox.httpsUrl}/sandbox/info`, {
          headers: { authorization, origin: `https://localhost:${sandbox.httpsPort}` },
          host: `localhost:${sandbox.httpsPort}`,
          ca: sandbox.ca,
        })
      ).status,
    ).toBe(200);
  });

  it('lets any site navigate to the sign-in pages and the inbox, but never frame or fetch them', async () => {
    const navigation = { 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'document' };
    const microsoft = sandbox.accounts.microsoft;
    const authorize =
      `/${microsoft.tenantId}/oauth2/v2.0/authorize?client_id=${microsoft.clientId}&response_type=code` +
      `&redirect_uri=${encodeURIComponent('http://localhost:8400')}&scope=offline_access`;
    for (const [path, status] of [
      ['/', 200],
      ['/devicelogin', 200],
      [authorize, 302],
    ] as const) {
      expect((await send(`${sandbox.httpUrl}${path}`, { headers: navigation })).status).toBe(status);
      for (const dest of ['iframe', 'frame', 'embed', 'object', 'empty', 'script', 'image']) {
        const answer = await send(`${sandbox.httpUrl}${path}`, { headers: { ...navigation, 'sec-fetch-dest': dest } });
        expect({ path, dest, status: answer.status }).toEqual({ path, dest, status: 403 });
      }
      expect((await send(`${sandbox.httpUrl}${path}`, { headers: { ...navigation, 'sec-fetch-mode': 'no-cors' } })).status).toBe(403);
    }
    // A cross-site form post is a navigation too, and still refused.
    expect(
      (
        await send(`${sandbox.httpUrl}/devicelogin`, {
          method: 'POST',
          body: 'otc=X',
          headers: { ...navigation, origin: 'http://attacker.example', 'content-type': 'application/x-www-form-urlencoded' },
        })
      ).status,
    ).toBe(403);
  });

  it('forbids framing of every HTML answer, and of everything else but the message frame', async () => {
    const microsoft = sandbox.accounts.microsoft;
    const pages = [
      '/',
      '/devicelogin',
      `/${microsoft.tenantId}/oauth2/v2.0/authorize?client_id=nobody`,
      '/o/oauth2/v2/auth?client_id=nobody',
      '/o/oauth2/v2/auth',
    ];
    for (const path of pages) {
      const answer = await send(`${sandbox.httpUrl}${path}`);
      expect(answer.headers['content-type']).toMatch(/^text\/html/);
      expect(answer.headers['x-frame-options']).toBe('DENY');
      expect(answer.headers['content-security-policy']).toMatch(/frame-ancestors 'none'/);
      expect(answer.headers['x-content-type-options']).toBe('nosniff');
    }
    const posted = await send(`${sandbox.httpUrl}/devicelogin`, {
      method: 'POST',
      body: 'otc=NOPE',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(posted.status).toBe(400);
    expect(posted.headers['x-frame-options']).toBe('DENY');
    expect(posted.headers['content-security-policy']).toMatch(/frame-ancestors 'none'/);
    // JSON and refusals alike.
    for (const answer of [await send(`${sandbox.httpUrl}/sandbox/info`), await send(`${sandbox.httpUrl}/v2/email/account`)]) {
      expect(answer.headers['x-frame-options']).toBe('DENY');
      expect(answer.headers['cross-origin-resource-policy']).toBe('same-origin');
    }
  });
});

describe('sandbox security: options', () => {
  it('answers the host names it is told to, and takes a fixed control token', async () => {
    await using sandbox = await startSandbox({
      allowedHosts: ['mail-sandbox', 'Sandbox.Internal'],
      controlToken: 'fixed-token-for-compose-0123',
    });
    const headers = { authorization: 'Bearer fixed-token-for-compose-0123' };
    for (const host of ['mail-sandbox:4010', 'sandbox.internal', '127.0.0.1']) {
      expect((await send(`${sandbox.httpUrl}/sandbox/faults`, { host, headers })).status).toBe(200);
    }
    expect((await send(`${sandbox.httpUrl}/sandbox/faults`, { host: 'other-sandbox', headers })).status).toBe(421);
    expect(sandbox.controlToken).toBe('fixed-token-for-compose-0123');
    await expect(startSandbox({ controlToken: 'short' })).rejects.toThrow(/controlToken must be at least 16 characters/);
  });
});

describe('sandbox security: the SMTP listener and browsers', () => {
  /** What a browser's form post to the SMTP port sends: an HTTP request, at once, before any greeting. */
  const formPost = (port: number, waitForGreeting: boolean): Promise<string> =>
    new Promise((resolve, reject) => {
      const socket = connect(port, '127.0.0.1');
      let received = '';
      const post = (): void => {
        socket.write(
          `POST / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: text/plain\r\nContent-Length: 80\r\n\r\n` +
            'MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.org>\r\nDATA\r\nSubject: x\r\n\r\nx\r\n.\r\nQUIT\r\n',
        );
      };
      socket.on('connect', () => {
        if (!waitForGreeting) post();
      });
      socket.on('data', (chunk: Buffer) => {
        if (waitForGreeting && received === '') post();
        received += chunk.toString('latin1');
      });
      socket.on('close', () => resolve(received));
      socket.on('error', reject);
    });

  it('refuses what a form posted to its port sends, and closes', async () => {
    await using sandbox = await startSandbox({ smtpAuthOptional: true });
    expect(await formPost(sandbox.smtpPort, false)).toMatch(/^421 .*You talk too soon/m);
    expect(await formPost(sandbox.smtpPort, true)).toMatch(/^421 .*HTTP requests not allowed/m);
    expect(sandbox.store.size).toBe(0);
  });
});
