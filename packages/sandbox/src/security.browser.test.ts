import { createServer, type Server } from 'node:http';
import type { Browser, BrowserContext, Page, Response } from 'playwright-core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { findChromium, launchChromium, skipUnlessFound } from '../test/find-chromium.js';
import { type Sandbox, startSandbox } from './sandbox.js';

// MAILPORT_CHROMIUM, Debian's chromium (.ci/run installs it) or Playwright's; playwright-core downloads none.
// Without one the suite is skipped, with the install command; in CI it fails instead.
const chromiumFound = findChromium();
const chromiumPath = 'path' in chromiumFound ? chromiumFound.path : '';

// A 1x1 PNG, the inline image of the HTML message.
const pixel = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==';

const htmlMessage = Buffer.from(
  [
    'From: app@example.com',
    'To: ana@example.org',
    'Subject: Secret subject',
    'MIME-Version: 1.0',
    'Content-Type: multipart/related; boundary="b1"',
    '',
    '--b1',
    'Content-Type: text/html; charset=utf-8',
    '',
    '<html><body><p>secret body</p><img id="logo" src="cid:logo@shop.example"></body></html>',
    '--b1',
    'Content-Type: image/png',
    'Content-Transfer-Encoding: base64',
    'Content-ID: <logo@shop.example>',
    'Content-Disposition: inline; filename="logo.png"',
    '',
    pixel,
    '--b1--',
    '',
  ].join('\r\n'),
);

/** What the attacking page found out, reported back through `window.report`. */
interface Report {
  readonly log: [string, string, string][];
}

/**
 * The attacking page's script: every way a page can send to another origin without a CORS
 * preflight (a no-cors fetch, sendBeacon, a text/plain form, an urlencoded form) at every
 * state-changing route, and every way to load one (img, script, EventSource, a CORS fetch)
 * at every secret-returning route. It reports what it could read.
 */
function attack(config: {
  bases: string[];
  writes: { method: string; path: string; json: string; form: Record<string, string> }[];
  reads: string[];
}): void {
  const log: [string, string, string][] = [];
  const window_ = window as unknown as { report?: Report };
  const settle = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  const loaded = (node: HTMLElement, ms = 3000) =>
    new Promise<string>((resolve) => {
      node.addEventListener('load', () => resolve('load'));
      node.addEventListener('error', () => resolve('error'));
      setTimeout(() => resolve('timeout'), ms);
    });
  let frames = 0;
  const submit = async (url: string, enctype: string, fields: Record<string, string>): Promise<string> => {
    const name = `f${frames++}`;
    const frame = document.createElement('iframe');
    frame.name = name;
    document.body.append(frame);
    const form = document.createElement('form');
    form.method = 'post';
    form.action = url;
    form.enctype = enctype;
    form.target = name;
    for (const [field, value] of Object.entries(fields)) {
      const input = document.createElement('input');
      input.name = field;
      input.value = value;
      form.append(input);
    }
    document.body.append(form);
    const done = loaded(frame);
    form.submit();
    return done;
  };
  const run = async (): Promise<void> => {
    for (const base of config.bases) {
      await Promise.all(
        config.writes.map(async (write) => {
          const url = base + write.path;
          const note = (how: string, outcome: string, detail = '') => log.push([`${how} ${write.method} ${url}`, outcome, detail]);
          if (write.method === 'POST') {
            try {
              const response = await fetch(url, { method: 'POST', mode: 'no-cors', credentials: 'include', body: write.json });
              note('no-cors fetch', response.type);
            } catch (error) {
              note('no-cors fetch', 'error', String(error));
            }
            try {
              // No body, so no Content-Type to refuse: only the Origin check and the token stand in the way.
              const response = await fetch(url, { method: 'POST', mode: 'no-cors', credentials: 'include' });
              note('no-cors fetch without a body', response.type);
            } catch (error) {
              note('no-cors fetch without a body', 'error', String(error));
            }
            note('sendBeacon without a body', String(navigator.sendBeacon(url)));
            note('form without fields', await submit(url, 'application/x-www-form-urlencoded', {}));
            note('sendBeacon text/plain', String(navigator.sendBeacon(url, write.json)));
            note(
              'sendBeacon urlencoded',
              String(
                navigator.sendBeacon(
                  url,
                  new Blob([new URLSearchParams(write.form).toString()], { type: 'application/x-www-form-urlencoded' }),
                ),
              ),
            );
            // The classic JSON-in-a-text/plain-form trick: name + "=" + value is the JSON.
            const cut = write.json.length - 2;
            note(
              'form text/plain',
              await submit(url, 'text/plain', { [`${write.json.slice(0, cut)},"pad":"`]: `"${write.json.slice(cut)}` }),
            );
            note('form urlencoded', await submit(url, 'application/x-www-form-urlencoded', write.form));
          }
          try {
            const response = await fetch(url, {
              method: write.method,
              credentials: 'include',
              headers: { 'content-type': 'application/json' },
              ...(write.method === 'GET' ? {} : { body: write.json }),
            });
            note('cors fetch', `read ${response.status}`, await response.text());
          } catch (error) {
            note('cors fetch', 'error', String(error));
          }
        }),
      );
      await Promise.all(
        config.reads.map(async (path) => {
          const url = base + path;
          const note = (how: string, outcome: string, detail = '') => log.push([`${how} GET ${url}`, outcome, detail]);
          const image = document.createElement('img');
          image.src = url;
          note('img', await loaded(image));
          const script = document.createElement('script');
          script.src = url;
          document.body.append(script);
          note('script', await loaded(script));
          try {
            const response = await fetch(url, { credentials: 'include' });
            note('cors fetch', `read ${response.status}`, await response.text());
          } catch (error) {
            note('cors fetch', 'error', String(error));
          }
          try {
            const response = await fetch(url, { mode: 'no-cors', credentials: 'include' });
            note('no-cors fetch', response.type, String(response.status));
          } catch (error) {
            note('no-cors fetch', 'error', String(error));
          }
        }),
      );
      const events = new EventSource(`${base}/sandbox/events`, { withCredentials: true });
      log.push([
        `EventSource ${base}/sandbox/events`,
        await new Promise<string>((resolve) => {
          events.onmessage = (event) => resolve(`message ${event.data}`);
          events.addEventListener('snapshot', (event) => resolve(`snapshot ${(event as MessageEvent).data}`));
          events.onerror = () => resolve('error');
        }),
        '',
      ]);
      events.close();
    }
    // Beacons and form posts are fire-and-forget: give them time to land.
    await settle(500);
    window_.report = { log };
  };
  void run();
}

/** The rebinding page: served as `http://rebind.test:PORT/` (the attacker's name), then reading its "own" origin, now 127.0.0.1. */
function rebound(paths: string[]): void {
  const window_ = window as unknown as { report?: Report };
  void Promise.all(
    paths.map(async (path): Promise<[string, string, string]> => {
      try {
        const response = await fetch(path, { method: path === '/sandbox/messages' ? 'DELETE' : 'GET' });
        return [path, String(response.status), await response.text()];
      } catch (error) {
        return [path, 'error', String(error)];
      }
    }),
  ).then((log) => {
    window_.report = { log };
  });
}

const page = (script: string, body = ''): string =>
  `<!doctype html><html><head><meta charset="utf-8"><title>attacker</title></head><body>${body}<script>${script}</script></body></html>`;

describe.skipIf(skipUnlessFound(chromiumFound))('sandbox security in a real browser', () => {
  let browser: Browser;
  let context: BrowserContext;
  let sandbox: Sandbox;
  let attacker: Server;
  let attackerPort = 0;
  const pages = new Map<string, string>();
  let messageId = '';
  let accessToken = '';

  beforeAll(async () => {
    sandbox = await startSandbox({ accounts: { microsoft: { deviceCodeIntervalSeconds: 0.05 } } });
    attacker = createServer((request, response) => {
      const html = pages.get(new URL(request.url ?? '/', 'http://x').pathname);
      response.writeHead(html === undefined ? 404 : 200, { 'content-type': 'text/html; charset=utf-8' });
      response.end(html ?? 'no such page');
    });
    await new Promise<void>((resolve) => attacker.listen(0, '127.0.0.1', resolve));
    attackerPort = (attacker.address() as { port: number }).port;
    browser = await launchChromium(chromiumPath, [
      // The attacker's own name, which its DNS now answers with 127.0.0.1.
      '--host-resolver-rules=MAP rebind.test 127.0.0.1',
      // Chromium's Local Network Access refuses a page from a "public" name fetching a loopback address,
      // which stops the rebinding test before it reaches the sandbox. Firefox, Safari and older Chromiums
      // have no such check; the sandbox must hold on its own, so the test runs without it.
      '--disable-features=LocalNetworkAccessChecks,BlockInsecurePrivateNetworkRequests,PrivateNetworkAccessSendPreflights',
    ]);
  });

  afterAll(async () => {
    await browser?.close();
    await new Promise((resolve) => attacker?.close(resolve));
    await sandbox?.close();
  });

  beforeEach(async () => {
    await context?.close();
    // The sandbox's certificate is its own CA: accept it, so that the HTTPS listener is attacked as well.
    context = await browser.newContext({ ignoreHTTPSErrors: true });
    sandbox.store.clear();
    sandbox.faults.clear();
    sandbox.requests.clear();
    messageId = sandbox.store.add({
      api: 'smtp',
      operation: 'SMTP DATA',
      envelope: { from: 'app@example.com', to: ['ana@example.org'] },
      raw: htmlMessage,
      metadata: {},
    }).id;
    accessToken = sandbox.tokens.issue({ issuer: 'google', subject: 'user@example.com', clientId: 'c', scopes: [] }).token;
  });

  const secrets = (): string[] => [
    sandbox.controlToken,
    sandbox.accounts.ses.secretAccessKey,
    sandbox.accounts.google.clientSecret,
    sandbox.accounts.microsoft.clientSecret,
    ...Object.values(sandbox.accounts.smtp.users),
    ...Object.keys(sandbox.accounts.google.refreshTokens),
    'secret body',
    'Secret subject',
  ];

  /** Opens the inbox, as the developer did before visiting the attacker: the cookie is in the jar. */
  const openInbox = async (base: string): Promise<Page> => {
    const inbox = await context.newPage();
    await inbox.goto(`${base}/`);
    return inbox;
  };

  const startDeviceFlow = async (): Promise<{ device_code: string; user_code: string; verification_uri: string }> => {
    const response = await fetch(`${sandbox.httpUrl}/organizations/oauth2/v2.0/devicecode`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ client_id: sandbox.accounts.microsoft.clientId, scope: 'offline_access Mail.Send' }),
    });
    return (await response.json()) as { device_code: string; user_code: string; verification_uri: string };
  };
  const pollDevice = async (deviceCode: string): Promise<Record<string, unknown>> =>
    (await (
      await fetch(`${sandbox.httpUrl}/organizations/oauth2/v2.0/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'urn:ietf:params:oauth:grant-type:device_code',
          client_id: sandbox.accounts.microsoft.clientId,
          device_code: deviceCode,
        }),
      })
    ).json()) as Record<string, unknown>;

  it('a page on another loopback port changes nothing and reads nothing, over HTTP and HTTPS', async () => {
    const inboxes = [await openInbox(sandbox.httpUrl), await openInbox(sandbox.httpsUrl)];
    const cookies = await context.cookies([sandbox.httpUrl]);
    // The worst case: the inbox cookie of both listeners is in the jar, and is sent to 127.0.0.1 from any port (same-site).
    expect(cookies.map((cookie) => [cookie.name, cookie.httpOnly, cookie.sameSite])).toEqual(
      expect.arrayContaining([
        [`mailport_sandbox_${sandbox.httpPort}`, true, 'Strict'],
        [`mailport_sandbox_${sandbox.httpsPort}`, true, 'Strict'],
      ]),
    );
    expect(cookies).toHaveLength(2);
    const device = await startDeviceFlow();
    const logged = sandbox.requests.entries.length;
    const tenant = sandbox.accounts.microsoft.tenantId;
    const google = sandbox.accounts.google;
    const microsoft = sandbox.accounts.microsoft;
    const forms: Record<string, Record<string, string>> = {
      '/token': {
        grant_type: 'refresh_token',
        client_id: google.clientId,
        client_secret: google.clientSecret,
        refresh_token: Object.keys(google.refreshTokens)[0] ?? '',
      },
      '/:tenant/oauth2/v2.0/token': {
        grant_type: 'client_credentials',
        client_id: microsoft.clientId,
        client_secret: microsoft.clientSecret,
        scope: 'https://graph.microsoft.com/.default',
      },
      '/:tenant/oauth2/v2.0/devicecode': { client_id: microsoft.clientId, scope: 'offline_access Mail.Send' },
      '/devicelogin': { otc: device.user_code, action: 'approve' },
    };
    const fill = (path: string): string =>
      path.replace(/:(\w+)/g, (_, name: string) => ({ tenant, id: messageId, userId: 'me', user: 'me', index: '0' })[name] ?? 'x');
    // Every route that changes something, from the router's own table: a new one is attacked too.
    const writes = sandbox.routes
      .filter((route) => route.method !== 'GET')
      .map((route) => ({
        method: route.method,
        path: fill(route.path),
        json: route.path === '/sandbox/messages/:id' ? '{"read":true}' : '{"endpoint":"*","status":500}',
        form: forms[route.path] ?? { endpoint: '*', status: '500' },
      }));
    expect(writes.map((write) => `${write.method} ${write.path}`)).toEqual(
      expect.arrayContaining([
        'POST /sandbox/faults',
        'DELETE /sandbox/faults',
        'DELETE /sandbox/messages',
        'POST /sandbox/tokens/expire',
        'POST /devicelogin',
        'POST /token',
      ]),
    );
    // Every route that returns something secret: the control API's GETs, and the authorization endpoints (they mint codes).
    const reads = [
      ...sandbox.routes.filter((route) => route.method === 'GET' && route.access === 'control').map((route) => fill(route.path)),
      `/${tenant}/oauth2/v2.0/authorize?client_id=${microsoft.clientId}&response_type=code&redirect_uri=http://localhost:1&scope=openid`,
      `/o/oauth2/v2/auth?client_id=${google.clientId}&response_type=code&redirect_uri=http://127.0.0.1:1&scope=email`,
    ];
    expect(reads).toEqual(expect.arrayContaining(['/sandbox/info', `/sandbox/messages/${messageId}/raw`, '/sandbox/events']));
    const config = { bases: [sandbox.httpUrl, sandbox.httpsUrl], writes, reads };
    pages.set('/attack', page(`(${attack.toString()})(${JSON.stringify(config)});`));

    const issued = sandbox.tokens.issuedCount();
    // Only the attacker pages' answers: the inbox tabs opened above keep their own live feed going.
    const statuses: string[] = [];
    const record = (response: Response): void => {
      const url = response.url();
      if (url.startsWith(sandbox.httpUrl) || url.startsWith(sandbox.httpsUrl))
        statuses.push(`${response.status()} ${response.request().method()} ${url}`);
    };

    // Same-site (another port of 127.0.0.1: the cookie goes along), then cross-site (localhost).
    for (const origin of [`http://127.0.0.1:${attackerPort}`, `http://localhost:${attackerPort}`]) {
      const evil = await context.newPage();
      evil.on('response', record);
      await evil.goto(`${origin}/attack`);
      await evil.waitForFunction(() => (window as unknown as { report?: Report }).report !== undefined, undefined, { timeout: 60_000 });
      const report = (await evil.evaluate(() => (window as unknown as { report: Report }).report)) as Report;
      expect(report.log.length).toBeGreaterThan(100);
      for (const [what, outcome, detail] of report.log) {
        // Nothing readable: a CORS read fails (no Access-Control-Allow-Origin), EventSource and <script>/<img> error out.
        if (what.startsWith('cors fetch') || what.startsWith('EventSource')) expect({ what, outcome }).toEqual({ what, outcome: 'error' });
        if (what.startsWith('img') || what.startsWith('script')) expect({ what, outcome }).toEqual({ what, outcome: 'error' });
        for (const secret of secrets()) expect(detail).not.toContain(secret);
      }
      // The forms and beacons did go out: the browser sent them, the sandbox refused them.
      expect(report.log.filter(([what, outcome]) => what.startsWith('form') && outcome === 'load').length).toBeGreaterThan(10);
      await evil.close();
    }

    // Nothing changed: the message, no fault, the token alive, no token issued, the device code still pending.
    expect(sandbox.store.size).toBe(1);
    expect(sandbox.store.get(messageId)).toBeDefined();
    expect(sandbox.faults.pending()).toEqual([]);
    expect(sandbox.tokens.find(accessToken)).toBeDefined();
    expect(sandbox.tokens.issuedCount()).toBe(issued);
    // No provider route saw a request (a refusal comes before the route, and before the log).
    expect(sandbox.requests.entries.slice(logged)).toEqual([]);
    expect(await pollDevice(device.device_code)).toMatchObject({ error: 'authorization_pending' });
    // Every answer the browser saw from the sandbox was a refusal (or the preflight's 404/405).
    expect(statuses.length).toBeGreaterThan(100);
    expect(statuses.filter((line) => !/^(401|403|404|405|415) /.test(line))).toEqual([]);
    expect(statuses.filter((line) => line.startsWith('403 ')).length).toBeGreaterThan(100);
    for (const inbox of inboxes) await inbox.close();
  }, 180_000);

  it('a rebound name gets nothing: DNS rebinding, end to end', async () => {
    await openInbox(sandbox.httpUrl);
    // The attacker's page comes from the attacker's server under its own name and the sandbox's port;
    // then its DNS answers 127.0.0.1, and the page's same-origin requests reach the sandbox.
    const rebind = `http://rebind.test:${sandbox.httpPort}`;
    await context.route(`${rebind}/attack`, (route) =>
      route.fulfill({
        contentType: 'text/html',
        body: page(
          `(${rebound.toString()})(${JSON.stringify(['/', '/sandbox/info', `/sandbox/messages/${messageId}/raw`, '/sandbox/messages', '/devicelogin', '/token'])});`,
        ),
      }),
    );
    const evil = await context.newPage();
    await evil.goto(`${rebind}/attack`);
    await evil.waitForFunction(() => (window as unknown as { report?: Report }).report !== undefined);
    const report = (await evil.evaluate(() => (window as unknown as { report: Report }).report)) as Report;
    expect(report.log.map(([path, status]) => [path, status])).toEqual([
      ['/', '421'],
      ['/sandbox/info', '421'],
      [`/sandbox/messages/${messageId}/raw`, '421'],
      ['/sandbox/messages', '421'],
      ['/devicelogin', '421'],
      ['/token', '421'],
    ]);
    for (const [, , body] of report.log) {
      expect(body).toMatch(/^This mailport sandbox answers only requests addressed to a loopback name/);
      for (const secret of secrets()) expect(body).not.toContain(secret);
    }
    expect(sandbox.store.size).toBe(1);
  });

  it('no page can frame the sign-in pages or the inbox', async () => {
    const microsoft = sandbox.accounts.microsoft;
    const targets = [sandbox.httpUrl, sandbox.httpsUrl].flatMap((base) => [
      `${base}/devicelogin`,
      `${base}/`,
      `${base}/${microsoft.tenantId}/oauth2/v2.0/authorize?client_id=unknown`,
      `${base}/o/oauth2/v2/auth?client_id=unknown`,
    ]);
    pages.set('/frame', page('', targets.map((url) => `<iframe src="${url}" width="400" height="200"></iframe>`).join('\n')));
    const refused: string[] = [];
    context.on('response', (response) => {
      const url = response.url();
      if (targets.includes(url)) refused.push(`${response.status()} ${url}`);
    });
    for (const origin of [`http://127.0.0.1:${attackerPort}`, `http://localhost:${attackerPort}`]) {
      const evil = await context.newPage();
      await evil.goto(`${origin}/frame`, { waitUntil: 'load' });
      const frames = evil.frames().filter((frame) => frame !== evil.mainFrame());
      expect(frames).toHaveLength(targets.length);
      for (const frame of frames) {
        // Chromium replaces a refused frame with its error page: none of the sandbox's page is there.
        expect({ url: frame.url() }).toEqual({ url: 'chrome-error://chromewebdata/' });
        expect(await frame.locator('form, #messages, #search').count()).toBe(0);
        expect(await frame.content()).not.toMatch(/Enter code|mailport|AADSTS|Access blocked/);
      }
      await evil.close();
    }
    // The sandbox refused each frame request outright (Sec-Fetch-Dest: iframe from another site).
    expect(refused.length).toBe(targets.length * 2);
    for (const line of refused) expect(line).toMatch(/^403 /);
  });

  it('the legitimate paths still work: the inbox page, the sign-in page, the control API with the token', async () => {
    for (const base of [sandbox.httpUrl, sandbox.httpsUrl, `http://localhost:${sandbox.httpPort}`]) {
      const inbox = await openInbox(base);
      // The page's own requests carry the cookie: it reads a message's source, its HTML (in a sandboxed frame, with the
      // inline image through a capability URL), the live feed, and clears the store.
      const raw = await inbox.evaluate(async (id) => {
        const response = await fetch(`/sandbox/messages/${id}/raw`);
        return `${response.status} ${await response.text()}`;
      }, messageId);
      expect(raw).toMatch(/^200 From: app@example.com/);
      expect(raw).toContain('Subject: Secret subject');
      expect(await inbox.evaluate(async () => (await fetch('/sandbox/info')).status)).toBe(200);
      const snapshot = await inbox.evaluate(
        () =>
          new Promise<string>((resolve) => {
            const events = new EventSource('/sandbox/events');
            events.addEventListener('snapshot', (event) => {
              events.close();
              resolve((event as MessageEvent).data as string);
            });
            events.onerror = () => resolve('error');
          }),
      );
      expect(snapshot).toContain('Secret subject');
      await inbox.evaluate((id) => {
        const frame = document.createElement('iframe');
        frame.id = 'probe';
        frame.setAttribute('sandbox', 'allow-popups allow-popups-to-escape-sandbox');
        frame.src = `/sandbox/messages/${id}/html`;
        document.body.append(frame);
      }, messageId);
      const image = inbox.frameLocator('#probe').locator('#logo');
      await expect.poll(() => image.evaluate((node: HTMLImageElement) => node.complete && node.naturalWidth)).toBe(1);
      expect(await inbox.frameLocator('#probe').locator('p').textContent()).toBe('secret body');
      const cleared = await inbox.evaluate(async () => (await fetch('/sandbox/messages', { method: 'DELETE' })).status);
      expect(cleared).toBe(204);
      expect(sandbox.store.size).toBe(0);
      await inbox.close();
      messageId = sandbox.store.add({
        api: 'smtp',
        operation: 'SMTP DATA',
        envelope: { from: 'app@example.com', to: ['ana@example.org'] },
        raw: htmlMessage,
        metadata: {},
      }).id;
    }

    // The device code sign-in page, as a person uses it: its form posts back to its own origin.
    const device = await startDeviceFlow();
    const signIn = await context.newPage();
    await signIn.goto(device.verification_uri);
    await signIn.fill('input[name="otc"]', device.user_code);
    await signIn.click('button[value="approve"]');
    await expect.poll(() => signIn.locator('h1').textContent()).toBe('You have signed in');
    expect(await pollDevice(device.device_code)).toMatchObject({ token_type: 'Bearer', access_token: expect.any(String) });

    // Scripts and the CLI: the token from startSandbox() (or its file) opens the control API.
    const headers = { authorization: `Bearer ${sandbox.controlToken}` };
    expect((await fetch(`${sandbox.httpUrl}/sandbox/messages`, { headers })).status).toBe(200);
    expect(
      (
        await fetch(`${sandbox.httpUrl}/sandbox/faults`, {
          method: 'POST',
          headers: { ...headers, 'content-type': 'application/json' },
          body: JSON.stringify({ endpoint: 'ses.SendEmail', status: 500 }),
        })
      ).status,
    ).toBe(201);
    expect(sandbox.faults.pending()).toHaveLength(1);
  });
});
