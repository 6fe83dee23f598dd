import { execFile } from 'node:child_process';
import { createPrivateKey, generateKeyPairSync } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { dkimRecord } from '@mailport/core/dkim';
import { refusedPort } from '@mailport/core/testing';
import { type Sandbox, startSandbox } from '@mailport/sandbox';
import { simpleParser } from 'mailparser';
import { generate } from 'selfsigned';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { verifyWithMailauth } from '../dkim-verifiers.js';
import { findRuntime, skipUnlessFound, type ToolLookup } from './find-runtime.js';
import type { Outcome } from './send.js';
import { serveWorkerd } from './workerd.js';

// Issue 11: the HTTPS adapters on runtimes other than Node, through the fetch implementation of
// @mailport/core/http that the package's export conditions choose there. Bun and Deno run
// send.ts (importing the built packages, so `npm run build` first); for workerd, wrangler bundles
// worker.ts around it and workerd serves it. The sandbox runs here, in Node, on loopback.

const here = dirname(fileURLToPath(import.meta.url));

interface Job {
  readonly url: string;
  readonly attempts?: number | undefined;
  readonly graphRefreshToken?: string;
  readonly byName?: boolean;
  readonly adapters?: { readonly graph?: Record<string, unknown>; readonly gmail?: Record<string, unknown> };
  readonly dkim?: ReadonlyArray<{ readonly domain: string; readonly selector: string; readonly privateKey: string }>;
}

interface Runner {
  run(job: Job): Promise<Outcome>;
  close(): void;
}

const apis = ['ses', 'gmail', 'graph'] as const;
type Api = (typeof apis)[number];
const sendEndpoint: Record<Api, string> = { ses: 'ses.SendEmail', gmail: 'gmail.messages.send', graph: 'graph.sendMail' };
const timeoutParameter: Record<Api, string> = { ses: 'socket_timeout', gmail: 'timeout', graph: 'timeout' };

interface RuntimeCase {
  readonly name: string;
  readonly tools: readonly ToolLookup[];
  start(paths: readonly string[]): Promise<Runner>;
  /**
   * What a refused connection to the API becomes. Bun gives ECONNREFUSED and Deno's text says
   * `client error (Connect)`: nothing was sent, so it is retried (transient). workerd reads the
   * body in full before it connects and says only "Network connection lost": the send cannot know
   * (unknown-outcome); Gmail checks the sender with a GET first, which fails as transient.
   */
  readonly refused: Record<Api, string>;
  /**
   * Graph on workerd: the sandbox's HTTPS authority has a private CA workerd cannot trust, so the
   * matrix's Graph URL there is the delegated form over the sandbox's plain HTTP listener.
   */
  readonly graphDelegated?: boolean;
  /**
   * Whether google-auth-library and MSAL get the tokens (Node, Bun, Deno), or, where they cannot
   * run (workerd), the fetch and WebCrypto token paths of the adapters' ./oauth.
   */
  readonly tokenLibraries: boolean;
  /** workerd only: the Worker's compatibility date. */
  readonly compatibilityDate?: string;
}

// A clean environment: no credentials leak in, and wrangler sends no telemetry.
const processEnvironment = { PATH: process.env.PATH, HOME: process.env.HOME, NO_COLOR: '1', WRANGLER_SEND_METRICS: 'false' };

function execute(file: string, args: readonly string[], cwd: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { cwd, timeout: 30_000, env: processEnvironment }, (error, stdout, stderr) =>
      error === null ? resolve(stdout) : reject(new Error(`${file} failed: ${error.message}\n${stderr}`)),
    );
  });
}

/** Bun and Deno: one process per send, its outcome on the OUTCOME line. */
function perProcess(args: readonly string[]): RuntimeCase['start'] {
  return async ([binary]) => ({
    async run(job) {
      const stdout = await execute(binary as string, [...args, JSON.stringify(job)], here);
      const line = stdout.split('\n').find((entry) => entry.startsWith('OUTCOME '));
      if (line === undefined) throw new Error(`no outcome printed:\n${stdout}`);
      return JSON.parse(line.slice('OUTCOME '.length)) as Outcome;
    },
    close() {},
  });
}

/** workerd: wrangler bundles worker.ts as for `wrangler deploy`, workerd serves the bundle, each POST is one send. */
const workerdRunner =
  (compatibilityDate: string): RuntimeCase['start'] =>
  ([wrangler, workerd]) =>
    serveWorkerd({
      wrangler: wrangler as string,
      workerd: workerd as string,
      main: join(here, 'worker.ts'),
      name: 'mailport-runtime-test',
      directoryPrefix: 'mailport-workerd-',
      compatibilityDate,
      env: processEnvironment,
      bundleTimeoutMs: 30_000,
      requestTimeoutMs: 30_000,
    });

const runtimes: readonly RuntimeCase[] = [
  {
    name: 'bun',
    tools: [findRuntime('bun')],
    start: perProcess(['send.ts']),
    refused: { ses: 'transient', gmail: 'transient', graph: 'transient' },
    tokenLibraries: true,
  },
  {
    name: 'deno',
    tools: [findRuntime('deno')],
    // mailport itself needs net and read only; the SDKs read the environment and the OS (Google's
    // GOOGLE_SDK_NODE_LOGGING when it loads, the AWS SDK's os.release() for its user agent, MSAL's CAs).
    start: perProcess(['run', '--allow-net=127.0.0.1', '--allow-read', '--allow-env', '--allow-sys', '--no-prompt', 'send.ts']),
    refused: { ses: 'transient', gmail: 'transient', graph: 'transient' },
    tokenLibraries: true,
  },
  // Two compatibility dates: the current one, and 2024-09-23, the first with nodejs_compat v2
  // (node:crypto, node:stream and node:buffer from workerd itself, not polyfills).
  ...['2026-11-01', '2024-09-23'].map(
    (compatibilityDate): RuntimeCase => ({
      name: `workerd (compatibility date ${compatibilityDate})`,
      tools: [findRuntime('wrangler'), findRuntime('workerd')],
      start: workerdRunner(compatibilityDate),
      refused: { ses: 'unknown-outcome', gmail: 'transient', graph: 'unknown-outcome' },
      graphDelegated: true,
      tokenLibraries: false,
      compatibilityDate,
    }),
  ),
];

function withParameter(url: string, name: string, value: string): string {
  const pattern = new RegExp(`([?&])${name}=[^&]*`);
  const encoded = encodeURIComponent(value);
  return pattern.test(url) ? url.replace(pattern, `$1${name}=${encoded}`) : `${url}${url.includes('?') ? '&' : '?'}${name}=${encoded}`;
}

for (const runtime of runtimes) {
  const missing = runtime.tools.find((tool) => !('path' in tool));
  describe.skipIf(missing !== undefined && skipUnlessFound(missing))(`on ${runtime.name}`, () => {
    let sandbox: Sandbox;
    let runner: Runner;
    let refreshToken: string;
    // A certificate registered on the sandbox's Entra app, for app-only auth with a client assertion.
    let certificate: string;
    // The same, with the key encrypted (PBES2, AES-256-CBC), as Azure's tools and openssl write it.
    let encryptedCertificate: string;
    const certificatePassword = 'runtime-test-password';

    /** The job for `api`: the sandbox's URL, or on workerd Graph's delegated form with the current refresh token. */
    const job = (api: Api, change: (url: string) => string = (url) => url, attempts?: number): Job => {
      if (api === 'graph' && runtime.graphDelegated === true) {
        const { tenantId, clientId } = sandbox.accounts.microsoft;
        const url = `graph://sender@contoso.example?tenant=${tenantId}&client_id=${clientId}&authority_host=${encodeURIComponent(sandbox.httpUrl)}&endpoint=${encodeURIComponent(`${sandbox.httpUrl}/v1.0`)}`;
        return { url: change(url), attempts, graphRefreshToken: refreshToken };
      }
      return { url: change(sandbox.urls[api]), attempts };
    };
    const run = async (sent: Job): Promise<Outcome> => {
      const outcome = await runner.run(sent);
      // Microsoft rotates the refresh token at every use, as onRefreshToken would store it in KV.
      if (outcome.rotatedRefreshToken !== undefined) refreshToken = outcome.rotatedRefreshToken;
      return outcome;
    };

    beforeAll(async () => {
      const generated = await generate([{ name: 'commonName', value: 'mailport runtime test' }], {
        keyType: 'rsa',
        keySize: 2048,
        algorithm: 'sha256',
      });
      certificate = `${generated.cert}\n${generated.private}`;
      const encryptedKey = createPrivateKey(generated.private).export({
        type: 'pkcs8',
        format: 'pem',
        cipher: 'aes-256-cbc',
        passphrase: certificatePassword,
      });
      encryptedCertificate = `${generated.cert}\n${String(encryptedKey)}`;
      sandbox = await startSandbox({ accounts: { microsoft: { certificates: [generated.cert] } } });
      refreshToken = sandbox.accounts.microsoft.refreshToken;
      runner = await runtime.start(runtime.tools.map((tool) => ('path' in tool ? tool.path : '')));
    }, 60_000);
    beforeEach(() => {
      sandbox.store.clear();
      sandbox.faults.clear();
    });
    afterAll(async () => {
      runner?.close();
      await sandbox?.close();
    });

    if (runtime.compatibilityDate !== undefined) {
      it('without use: [...], a URL fails with the explicit form, not npm install', async () => {
        const outcome = await run({ url: sandbox.urls.ses, byName: true });
        expect(outcome, outcome.message).toMatchObject({ ok: false, code: 'configuration' });
        expect(outcome.message).toMatch(/cannot be imported by name here: a bundled program/);
        expect(outcome.remediation).toMatch(/^Import \{ sesAdapter \} from '@mailport\/transport-ses'/);
        expect(outcome.remediation).not.toContain('npm install');
      });
    }

    describe(`token paths (${runtime.tokenLibraries ? 'google-auth-library and MSAL' : 'fetch and WebCrypto, without the Node libraries'})`, () => {
      // MSAL takes only an https authority: the sandbox's, with its private CA. workerd cannot trust that
      // CA, so there the token endpoint is the sandbox's plain HTTP listener on loopback (the fetch path takes http).
      const authority = (): string => (runtime.tokenLibraries ? sandbox.httpsUrl : sandbox.httpUrl);
      const graphAppOnly = (query: string): string =>
        `graph://sender@contoso.example?${query}&authority_host=${encodeURIComponent(authority())}&endpoint=${encodeURIComponent(`${sandbox.httpUrl}/v1.0`)}` +
        (runtime.tokenLibraries ? `&ca_file=${encodeURIComponent(sandbox.caFile)}` : '');
      const appOnly = (): string => {
        const { tenantId, clientId, clientSecret } = sandbox.accounts.microsoft;
        return graphAppOnly(`tenant=${tenantId}&client_id=${clientId}&client_secret=${encodeURIComponent(clientSecret)}`);
      };
      const serviceAccount = (subject = 'user@example.com'): Job => {
        const account = sandbox.accounts.google.serviceAccount;
        return {
          url: `gmail://${subject}?endpoint=${encodeURIComponent(`${sandbox.httpUrl}/`)}`,
          adapters: {
            gmail: {
              auth: {
                credentials: { client_email: account.clientEmail, private_key: account.privateKey, private_key_id: account.privateKeyId },
                tokenUrl: `${sandbox.httpUrl}/token`,
              },
            },
          },
        };
      };
      /** MSAL reads the authority's OpenID metadata before the token; the fetch path asks the token endpoint only. */
      const metadataRequests = (): number => sandbox.requests.entries.filter((entry) => entry.path.includes('.well-known')).length;

      it('graph: app-only with a client secret (URL) sends', async () => {
        sandbox.requests.clear();
        const outcome = await run({ url: appOnly() });
        expect(outcome, outcome.message).toMatchObject({ ok: true });
        expect(sandbox.store.list({ api: 'graph' })).toHaveLength(1);
        if (runtime.tokenLibraries) expect(metadataRequests()).toBeGreaterThan(0);
        else expect(metadataRequests()).toBe(0);
      });

      it('graph: app-only with a certificate PEM in code (client assertion, RS256, x5t) sends', async () => {
        const { tenantId, clientId } = sandbox.accounts.microsoft;
        const outcome = await run({
          url: `graph://sender@contoso.example?endpoint=${encodeURIComponent(`${sandbox.httpUrl}/v1.0`)}`,
          // On Deno too the certificate is signed with WebCrypto (MSAL's PS256 signing fails there); its
          // token request goes over https to the sandbox, trusting the sandbox's CA through
          // Deno.createHttpClient. (workerd's fetch takes no CA list: plain HTTP there.)
          adapters: {
            graph: {
              auth: { tenantId, clientId, certificate, authorityHost: authority() },
              ...(runtime.tokenLibraries ? { ca: sandbox.ca } : {}),
            },
          },
        });
        expect(outcome, outcome.message).toMatchObject({ ok: true });
        expect(sandbox.store.list({ api: 'graph' })).toHaveLength(1);
      });

      it('graph: app-only with an encrypted certificate key and its password sends (PBES2 decrypted with WebCrypto on the fetch path)', async () => {
        const { tenantId, clientId } = sandbox.accounts.microsoft;
        const outcome = await run({
          url: `graph://sender@contoso.example?endpoint=${encodeURIComponent(`${sandbox.httpUrl}/v1.0`)}`,
          adapters: {
            graph: {
              auth: { tenantId, clientId, certificate: encryptedCertificate, certificatePassword, authorityHost: authority() },
              ...(runtime.tokenLibraries ? { ca: sandbox.ca } : {}),
            },
          },
        });
        expect(outcome, outcome.message).toMatchObject({ ok: true });
        expect(sandbox.store.list({ api: 'graph' })).toHaveLength(1);
      });

      it('gmail: a service account key in code (JWT bearer, signed RS256) sends as the delegated user', async () => {
        const outcome = await run(serviceAccount());
        expect(outcome, outcome.message).toMatchObject({ ok: true });
        expect(sandbox.store.list({ api: 'gmail' })).toHaveLength(1);
      });

      it('a wrong client secret is auth, an unknown tenant configuration, a user outside the domain configuration', async () => {
        const { tenantId, clientId } = sandbox.accounts.microsoft;
        const wrong = await run({ url: graphAppOnly(`tenant=${tenantId}&client_id=${clientId}&client_secret=nope`), attempts: 2 });
        expect(wrong, wrong.message).toMatchObject({ ok: false, code: 'auth' });
        const tenant = await run({
          url: graphAppOnly(`tenant=00000000-dead-4000-8000-000000000000&client_id=${clientId}&client_secret=x`),
          attempts: 2,
        });
        expect(tenant, tenant.message).toMatchObject({ ok: false, code: 'configuration' });
        const stranger = await run({ ...serviceAccount('stranger@example.net'), attempts: 2 });
        expect(stranger, stranger.message).toMatchObject({ ok: false, code: 'configuration' });
        expect(sandbox.store.size).toBe(0);
      });
    });

    for (const type of ['rsa', 'ed25519'] as const) {
      it(`ses: a message DKIM-signed with ${type === 'rsa' ? 'RSA' : 'Ed25519'} (node:crypto on this runtime) verifies`, async () => {
        const privateKey = (
          type === 'rsa' ? generateKeyPairSync('rsa', { modulusLength: 2048 }) : generateKeyPairSync('ed25519')
        ).privateKey
          .export({ format: 'pem', type: 'pkcs8' })
          .toString();
        const key = { domain: 'example.com', selector: `${type}2026`, privateKey };
        const outcome = await run({ url: sandbox.urls.ses, dkim: [key] });
        expect(outcome, outcome.message).toMatchObject({ ok: true });
        const raw = sandbox.store.last()?.raw ?? new Uint8Array();
        expect(Buffer.from(raw).toString('latin1')).toContain(`a=${type}-sha256;`);
        expect(await verifyWithMailauth(Buffer.from(raw), Object.fromEntries([Object.values(dkimRecord(key))]))).toEqual(['pass']);
      });
    }

    for (const api of apis) {
      it(`${api}: sends a rich message through the fetch client, and the Message-ID in the receipt is the one that arrived`, async () => {
        const outcome = await run(job(api));
        expect(outcome, outcome.message).toMatchObject({ ok: true, http: 'fetch' });
        const stored = sandbox.store.list({ api });
        expect(stored).toHaveLength(1);
        const [message] = stored;
        const parsed = await simpleParser(Buffer.from(message?.raw ?? new Uint8Array()));
        expect(parsed.messageId).toBe(outcome.messageId);
        expect(parsed.subject).toBe('Grüße aus der Laufzeit ✉');
        expect(parsed.text?.trim()).toBe('Ein Brief mit Umlauten: äöü ß, und ein Anhang.');
        expect(parsed.attachments.map((part) => [part.filename, part.content.toString('utf8')])).toEqual([['bericht-ü.txt', 'Anhang ✓\n']]);
        expect(message?.envelope.to).toEqual(expect.arrayContaining(['zoe@example.org', 'hidden@example.net']));
        expect(parsed.headers.has('bcc')).toBe(false);
      });

      it(`${api}: a connection dropped after the message was stored is unknown-outcome, not retried, stored once`, async () => {
        sandbox.faults.inject({ endpoint: sendEndpoint[api], action: 'drop' });
        const outcome = await run(job(api, undefined, 3));
        expect(outcome, outcome.message).toMatchObject({ ok: false, code: 'unknown-outcome' });
        expect(sandbox.store.list({ api })).toHaveLength(1);
      });

      it(`${api}: a refused connection is ${runtime.refused[api]} and nothing is stored`, async () => {
        const port = await refusedPort();
        const outcome = await run(
          job(api, (url) => withParameter(url, 'endpoint', `http://127.0.0.1:${port}${api === 'graph' ? '/v1.0' : '/'}`), 2),
        );
        expect(outcome, outcome.message).toMatchObject({ ok: false, code: runtime.refused[api] });
        expect(sandbox.store.size).toBe(0);
      });

      it(`${api}: a server that stalls after reading the request times out within the bound, as unknown-outcome`, async () => {
        sandbox.faults.inject({ endpoint: sendEndpoint[api], action: 'stall' });
        const started = performance.now();
        const outcome = await run(job(api, (url) => withParameter(url, timeoutParameter[api], '1s'), 2));
        expect(outcome, outcome.message).toMatchObject({ ok: false, code: 'unknown-outcome' });
        expect(performance.now() - started).toBeLessThan(15_000);
        expect(sandbox.store.size).toBeLessThanOrEqual(1);
      });
    }
  });
}
