import { mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMailer } from '@mailport/core';
import { type Sandbox, startSandbox } from '@mailport/sandbox';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { run } from '../cli.js';
import { exitCodes } from '../exit-codes.js';
import { type CliIo, memoryIo } from '../io.js';

type TestIo = CliIo & { out: () => string; err: () => string };

/** Waits until the command printed something that matches, as a person reading the terminal would. */
async function printed(io: TestIo, pattern: RegExp, running: Promise<number>): Promise<RegExpExecArray> {
  let finished = false;
  void running.finally(() => {
    finished = true;
  });
  for (let attempt = 0; attempt < 1000; attempt++) {
    const match = pattern.exec(io.err());
    if (match !== null) return match;
    if (finished) break;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`the command never printed ${pattern}; stderr:\n${io.err()}\nexit: ${finished ? await running : 'running'}`);
}

/** A form POST over https to a server whose CA is the sandbox's (fetch cannot be given a CA). */
function postHttps(url: string, form: Record<string, string>, ca: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const body = new URLSearchParams(form).toString();
    const outgoing = httpsRequest(
      url,
      { method: 'POST', ca, headers: { 'content-type': 'application/x-www-form-urlencoded' } },
      (incoming) => {
        let text = '';
        incoming.on('data', (chunk: Buffer) => {
          text += chunk.toString();
        });
        incoming.on('end', () => resolve({ status: incoming.statusCode ?? 0, body: text }));
      },
    );
    outgoing.on('error', reject);
    outgoing.end(body);
  });
}

describe('mailport auth', () => {
  let sandbox: Sandbox;
  let directory: string;
  let runs = 0;
  beforeAll(async () => {
    // A device code polling interval of 50 ms instead of Entra's 5 s keeps the tests fast.
    sandbox = await startSandbox({ accounts: { microsoft: { deviceCodeIntervalSeconds: 0.05 } } });
    directory = await mkdtemp(join(tmpdir(), 'mailport-auth-'));
  });
  afterAll(() => sandbox.close());
  beforeEach(() => {
    sandbox.store.clear();
    sandbox.faults.clear();
  });

  /** An io whose config directory is fresh, so every test starts without saved credentials. */
  const freshIo = (env: Record<string, string> = {}): TestIo =>
    memoryIo({ env: { XDG_CONFIG_HOME: join(directory, `config-${++runs}`), ...env }, cwd: directory });

  describe('google', () => {
    const google = (...extra: string[]): string[] => [
      'auth',
      'google',
      '--client-id',
      sandbox.accounts.google.clientId,
      '--auth-url',
      `${sandbox.httpUrl}/o/oauth2/v2/auth`,
      '--token-url',
      `${sandbox.httpUrl}/token`,
      ...extra,
    ];
    const withSecret = { GOOGLE_CLIENT_SECRET: 'sandbox-client-secret' };

    /** Plays the browser: opens the printed URL; the sandbox approves and redirects to the CLI's listener. */
    const browse = async (io: TestIo, running: Promise<number>, extraQuery = ''): Promise<Response> => {
      const [url] = await printed(io, /^ {2}(http:\/\/\S+\/o\/oauth2\/v2\/auth\?\S+)$/m, running);
      return fetch(`${url.trim()}${extraQuery}`);
    };

    it('completes the loopback flow, saves the token in a 0600 file, and the printed URL sends through the Gmail API', async () => {
      const io = freshIo(withSecret);
      const running = run(google('--store-secret'), io);
      const [, redirect] = await printed(io, /sends the browser back to (http:\/\/127\.0\.0\.1:\d+)/, running);
      // A request without our state (a stray tab, a forged link) is refused and does not end the wait.
      expect((await fetch(`${redirect}/?code=forged&state=wrong`)).status).toBe(400);
      const page = await browse(io, running);
      expect(page.status).toBe(200);
      expect(await page.text()).toMatch(/You can close this tab/);
      expect(await running).toBe(exitCodes.ok);

      const path = join(io.env.XDG_CONFIG_HOME as string, 'mailport', 'google.json');
      expect((await stat(path)).mode & 0o777).toBe(0o600);
      expect((await stat(join(io.env.XDG_CONFIG_HOME as string, 'mailport'))).mode & 0o777).toBe(0o700);
      const saved = JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;
      expect(saved).toMatchObject({
        type: 'authorized_user',
        client_id: sandbox.accounts.google.clientId,
        client_secret: 'sandbox-client-secret',
        refresh_token: expect.stringMatching(/^1\/\/sandbox-/),
        account: 'user@example.com',
        token_url: `${sandbox.httpUrl}/token`,
      });
      expect(saved.scopes).toContain('https://www.googleapis.com/auth/gmail.send');
      // Stored, never printed.
      expect(io.out() + io.err()).not.toContain(saved.refresh_token as string);
      expect(io.out() + io.err()).not.toContain('sandbox-client-secret');

      const [url] = /gmail:\/\/\S+credentials_file=[^' ]+/.exec(io.out()) ?? [''];
      expect(url).toBe(
        `gmail://user@example.com?credentials_file=${encodeURIComponent(path)}&token_url=${encodeURIComponent(`${sandbox.httpUrl}/token`)}`,
      );
      const send = memoryIo();
      const code = await run(
        [
          'send',
          '--url',
          `${url}&endpoint=${encodeURIComponent(`${sandbox.httpUrl}/`)}`,
          '--from',
          'user@example.com',
          '--to',
          'ana@example.org',
          '--subject',
          'Hi',
          '--text',
          'via auth',
        ],
        send,
      );
      expect(send.err()).toBe('');
      expect(code).toBe(exitCodes.ok);
      expect(sandbox.store.last()).toMatchObject({ api: 'gmail', envelope: { from: 'user@example.com', to: ['ana@example.org'] } });
    });

    it('--smtp asks for https://mail.google.com/, and the refresh token then sends through SMTP XOAUTH2 (oauth=google)', async () => {
      const io = freshIo(withSecret);
      const output = join(directory, 'google-smtp.json');
      const running = run(google('--smtp', '--output', 'google-smtp.json', '--user', 'user@example.com'), io);
      await browse(io, running);
      expect(await running).toBe(exitCodes.ok);
      const saved = JSON.parse(await readFile(output, 'utf8')) as Record<string, string | string[]>;
      expect(saved.client_secret).toBeUndefined();
      expect(saved.scopes).toContain('https://mail.google.com/');
      expect(io.out()).toMatch(/smtp:\/\/user%40example\.com@smtp\.gmail\.com:587\?oauth=google&credentials_file=/);
      expect(io.out()).toMatch(/--store-secret puts it there/);

      const query = new URLSearchParams({
        oauth: 'google',
        client_id: saved.client_id as string,
        client_secret: 'sandbox-client-secret',
        refresh_token: saved.refresh_token as string,
        token_url: `${sandbox.httpUrl}/token`,
        ca_file: sandbox.caFile,
      });
      await using mailer = createMailer({ transport: `smtp://user%40example.com@127.0.0.1:${sandbox.smtpPort}?${query}` });
      await mailer.send({ from: 'user@example.com', to: 'ana@example.org', subject: 'SMTP', text: 'XOAUTH2' });
      expect(sandbox.store.last()).toMatchObject({ api: 'smtp', envelope: { to: ['ana@example.org'] } });
    });

    it('--print-env prints the environment lines and saves nothing; they work as printed', async () => {
      const io = freshIo(withSecret);
      const running = run(google('--print-env'), io);
      await browse(io, running);
      expect(await running).toBe(exitCodes.ok);
      const lines = Object.fromEntries(
        io
          .out()
          .trim()
          .split('\n')
          .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1).replace(/^'|'$/g, '')]),
      );
      expect(Object.keys(lines)).toEqual(['GOOGLE_CLIENT_ID', 'GOOGLE_CLIENT_SECRET', 'GOOGLE_REFRESH_TOKEN', 'MAILPORT_URL']);
      expect(lines.MAILPORT_URL).toBe(`gmail://user@example.com?token_url=${encodeURIComponent(`${sandbox.httpUrl}/token`)}`);
      expect(io.err()).toMatch(/Nothing was saved/);
      await expect(stat(join(io.env.XDG_CONFIG_HOME as string, 'mailport'))).rejects.toThrow(/ENOENT/);
      const send = memoryIo({
        env: { ...lines, MAILPORT_URL: `${lines.MAILPORT_URL}&endpoint=${encodeURIComponent(`${sandbox.httpUrl}/`)}` },
      });
      expect(await run(['send', '--from', 'user@example.com', '--to', 'ana@example.org', '--text', 'env'], send)).toBe(exitCodes.ok);
      expect(sandbox.store.last()?.api).toBe('gmail');
    });

    it('a declined consent exits 5 with what to do, and saves nothing', async () => {
      const io = freshIo(withSecret);
      const running = run(google(), io);
      // approve=false: the sandbox's stand-in for the user clicking Cancel.
      const page = await browse(io, running, '&approve=false');
      expect(await page.text()).toMatch(/access_denied/);
      expect(await running).toBe(exitCodes.auth);
      expect(io.err()).toMatch(/auth: The sign-in was declined \(access_denied\)\n {2}what to do: Run the command again and choose Allow/);
      await expect(stat(join(io.env.XDG_CONFIG_HOME as string, 'mailport', 'google.json'))).rejects.toThrow(/ENOENT/);
    });

    it('a wrong client secret exits 5 (invalid_client at the code exchange)', async () => {
      const io = freshIo({ GOOGLE_CLIENT_SECRET: 'not-the-secret' });
      const running = run(google(), io);
      await browse(io, running);
      expect(await running).toBe(exitCodes.auth);
      expect(io.err()).toMatch(
        /refused the OAuth client \(invalid_client: Unauthorized\)\n {2}what to do: Check --client-id and --client-secret/,
      );
      expect(io.err()).not.toContain('not-the-secret');
    });

    it('times out when no browser comes back (exit 8); an error page of Google does not end the wait', async () => {
      sandbox.faults.inject({ endpoint: 'google.authorize', status: 403, code: 'access_denied', message: 'This app is blocked.' });
      const io = freshIo(withSecret);
      const running = run(google('--timeout', '400ms'), io);
      const page = await browse(io, running);
      expect(page.status).toBe(403);
      expect(await page.text()).toMatch(/Error 403: access_denied/);
      expect(await running).toBe(exitCodes.transient);
      expect(io.err()).toMatch(/timeout: No sign-in came back from the browser within 400 ms\n {2}what to do: /);
    });

    it('refuses to overwrite a saved file before anyone signs in, unless --force', async () => {
      const io = freshIo(withSecret);
      await writeFile(join(directory, 'existing.json'), '{}');
      expect(await run(google('--output', 'existing.json'), io)).toBe(exitCodes.configuration);
      expect(io.err()).toMatch(/existing\.json exists already.*\n {2}what to do: Add --force/);
      expect(io.err()).not.toMatch(/Open this URL/);

      const forced = freshIo(withSecret);
      const running = run(google('--output', 'existing.json', '--force'), forced);
      await browse(forced, running);
      expect(await running).toBe(exitCodes.ok);
      expect(JSON.parse(await readFile(join(directory, 'existing.json'), 'utf8')).type).toBe('authorized_user');
      expect((await stat(join(directory, 'existing.json'))).mode & 0o777).toBe(0o600);
    });

    it('Ctrl-C while waiting exits 130, saves nothing and stops listening', async () => {
      const controller = new AbortController();
      const io = memoryIo({ env: { ...withSecret, XDG_CONFIG_HOME: join(directory, 'interrupted') }, signal: controller.signal });
      const running = run(google(), io);
      const [, redirect] = await printed(io, /sends the browser back to (http:\/\/127\.0\.0\.1:\d+)/, running);
      controller.abort(new Error('interrupted'));
      expect(await running).toBe(130);
      expect(io.err()).toMatch(/interrupted; nothing was saved/);
      await expect(fetch(`${redirect}/`)).rejects.toThrow();
    });

    it('usage mistakes exit 2', async () => {
      expect(await run(['auth'], freshIo())).toBe(exitCodes.usage);
      expect(await run(['auth', 'yahoo'], freshIo())).toBe(exitCodes.usage);
      expect(await run(['auth', 'google'], freshIo())).toBe(exitCodes.usage);
      expect(await run(['auth', 'google', '--client-id', 'x'], freshIo())).toBe(exitCodes.usage);
      expect(await run([...google('--tenant', 'contoso.com')], freshIo(withSecret))).toBe(exitCodes.usage);
      expect(await run([...google('--timeout', 'soon')], freshIo(withSecret))).toBe(exitCodes.usage);
      expect(await run([...google('--print-env', '--output', 'x.json')], freshIo(withSecret))).toBe(exitCodes.usage);
      const help = freshIo();
      expect(await run(['auth', 'google', '--help'], help)).toBe(exitCodes.ok);
      expect(help.out()).toMatch(/loopback flow for installed apps/);
    });
  });

  describe('microsoft', () => {
    const microsoft = (...extra: string[]): string[] => [
      'auth',
      'microsoft',
      '--client-id',
      sandbox.accounts.microsoft.clientId,
      '--authority-host',
      sandbox.httpsUrl,
      '--ca-file',
      sandbox.caFile,
      ...extra,
    ];

    /** Plays the user on another device: opens the printed page and enters the printed code. */
    const signIn = async (io: TestIo, running: Promise<number>, form: Record<string, string> = {}): Promise<string> => {
      const [, page, code] = await printed(io, /^ {2}(https:\/\/\S+\/devicelogin)\n\nand enter the code:\n\n {2}([A-Z0-9]+)$/m, running);
      const answer = await postHttps(page as string, { otc: code as string, ...form }, sandbox.ca);
      expect(answer.status).toBe(200);
      return answer.body;
    };

    it('completes the device code flow; the saved refresh token sends through Graph with delegated auth', async () => {
      const io = freshIo();
      const running = run(microsoft(), io);
      expect(await signIn(io, running)).toMatch(/Signed in as sender@contoso\.example/);
      expect(await running).toBe(exitCodes.ok);
      const path = join(io.env.XDG_CONFIG_HOME as string, 'mailport', 'microsoft.json');
      expect((await stat(path)).mode & 0o777).toBe(0o600);
      const saved = JSON.parse(await readFile(path, 'utf8')) as Record<string, string>;
      expect(saved).toMatchObject({
        type: 'microsoft_delegated',
        client_id: sandbox.accounts.microsoft.clientId,
        tenant: 'organizations',
        authority_host: sandbox.httpsUrl,
        account: 'sender@contoso.example',
        scopes: ['https://graph.microsoft.com/Mail.Send', 'offline_access'],
        refresh_token: expect.stringMatching(/^sandbox-microsoft-refresh-token-/),
      });
      expect(io.out() + io.err()).not.toContain(saved.refresh_token);
      expect(io.out()).toContain(`graph://sender@contoso.example?refresh_token_file=${encodeURIComponent(path)}`);

      // The printed URL works as printed (plus the sandbox's API root and CA), twice: the rotated token was kept.
      const url = `graph://sender@contoso.example?refresh_token_file=${encodeURIComponent(path)}&endpoint=${encodeURIComponent(`${sandbox.httpUrl}/v1.0`)}&ca_file=${encodeURIComponent(sandbox.caFile)}`;
      for (const subject of ['Delegated one', 'Delegated two']) {
        const send = memoryIo({ cwd: directory });
        expect(
          await run(
            ['send', '--url', url, '--from', 'sender@contoso.example', '--to', 'ana@example.org', '--subject', subject, '--text', 'x'],
            send,
          ),
        ).toBe(exitCodes.ok);
        expect(sandbox.store.last()?.metadata).toMatchObject({ auth: 'delegated', mailbox: 'sender@contoso.example' });
        const current = JSON.parse(await readFile(path, 'utf8')) as Record<string, string>;
        expect(current.refresh_token).not.toBe(saved.refresh_token);
        expect((await stat(path)).mode & 0o777).toBe(0o600);
      }
    });

    it('--smtp asks for SMTP.Send; --print-env prints the lines and says what the Graph transport does not read', async () => {
      const io = freshIo();
      const running = run(microsoft('--smtp', '--print-env', '--tenant', sandbox.accounts.microsoft.tenantId), io);
      await signIn(io, running, { user: 'other@contoso.example' });
      expect(await running).toBe(exitCodes.ok);
      const lines = io.out().trim().split('\n');
      expect(lines.map((line) => line.slice(0, line.indexOf('=')))).toEqual([
        'AZURE_CLIENT_ID',
        'AZURE_TENANT_ID',
        'AZURE_AUTHORITY_HOST',
        'MAILPORT_MICROSOFT_REFRESH_TOKEN',
      ]);
      expect(lines[1]).toBe(`AZURE_TENANT_ID=${sandbox.accounts.microsoft.tenantId}`);
      expect(io.err()).toMatch(/Signed in as other@contoso\.example/);
      expect(io.err()).toMatch(/but not the\nrefresh token/);
    });

    it('a declined sign-in exits 5', async () => {
      const io = freshIo();
      const running = run(microsoft(), io);
      await signIn(io, running, { action: 'deny' });
      expect(await running).toBe(exitCodes.auth);
      expect(io.err()).toMatch(/auth: The sign-in was declined \(AADSTS65004: .*\)\n {2}what to do: Run the command again and accept/);
    });

    it('an expired code exits 8 with what to do; so does --timeout when nobody signs in', async () => {
      sandbox.faults.inject({
        endpoint: 'microsoft.token',
        status: 400,
        code: 'expired_token',
        message: 'AADSTS70019: Verification code expired.',
      });
      const expired = freshIo();
      expect(await run(microsoft(), expired)).toBe(exitCodes.transient);
      expect(expired.err()).toMatch(
        /timeout: The sign-in code expired before the sign-in finished \(AADSTS70019: Verification code expired\.\)/,
      );
      expect(expired.err()).toMatch(/what to do: Run the command again and enter the new code within 15 minutes/);

      const waited = freshIo();
      expect(await run(microsoft('--timeout', '300ms'), waited)).toBe(exitCodes.transient);
      expect(waited.err()).toMatch(/timeout: Nobody signed in with the code within 300 ms/);
    });

    it('an unknown app, or a devicecode endpoint that fails, exits with its class', async () => {
      const unknown = freshIo();
      expect(await run(['auth', 'microsoft', '--client-id', 'not-registered', '--authority-host', sandbox.httpUrl], unknown)).toBe(
        exitCodes.configuration,
      );
      expect(unknown.err()).toMatch(/does not know the app not-registered .*AADSTS700016/);

      sandbox.faults.inject({ endpoint: 'microsoft.devicecode', status: 503 });
      const outage = freshIo();
      expect(await run(microsoft(), outage)).toBe(exitCodes.transient);
      expect(outage.err()).toMatch(/transient: /);
    });

    it('--loopback: authorization code with PKCE and a redirect to localhost', async () => {
      const io = freshIo();
      const running = run(microsoft('--loopback', '--user', 'other@contoso.example', '--output', 'microsoft-loopback.json'), io);
      const [url] = await printed(io, /https:\/\/\S+\/oauth2\/v2\.0\/authorize\?\S+/, running);
      expect(url).toMatch(/redirect_uri=http%3A%2F%2Flocalhost%3A\d+&/);
      // The sandbox's authorize answers 302 to the CLI's listener; follow it as a browser would.
      const authorize = await new Promise<string>((resolve, reject) => {
        httpsRequest(url, { ca: sandbox.ca }, (incoming) => resolve(String(incoming.headers.location)))
          .on('error', reject)
          .end();
      });
      expect((await fetch(authorize)).status).toBe(200);
      expect(await running).toBe(exitCodes.ok);
      const saved = JSON.parse(await readFile(join(directory, 'microsoft-loopback.json'), 'utf8')) as Record<string, string>;
      expect(saved.account).toBe('other@contoso.example');
      expect(io.out()).toMatch(/graph:\/\/other@contoso\.example\?/);
    });
  });
});
