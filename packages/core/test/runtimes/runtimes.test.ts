import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { type AddressInfo, createServer } from 'node:net';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Sandbox, startSandbox } from '@mailport/sandbox';
import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { findRuntime, type RuntimeName, skipUnlessFound } from './find-runtime.js';
import type { Outcome } from './send.js';

// Issue 11: the HTTPS adapters on runtimes other than Node, through the fetch implementation of
// @mailport/core/http that the package's export conditions choose there. Each runtime runs
// send.ts (importing the built packages, so `npm run build` first) against the sandbox, which
// runs here in Node on loopback.

const here = dirname(fileURLToPath(import.meta.url));

const commands: Record<Exclude<RuntimeName, 'wrangler'>, (binary: string, job: string) => [string, string[]]> = {
  bun: (binary, job) => [binary, ['send.ts', job]],
  // mailport itself needs net and read only; the SDKs read the environment and the OS (Google's
  // GOOGLE_SDK_NODE_LOGGING when it loads, the AWS SDK's os.release() for its user agent, MSAL's CAs).
  deno: (binary, job) => [
    binary,
    ['run', '--allow-net=127.0.0.1', '--allow-read', '--allow-env', '--allow-sys', '--no-prompt', 'send.ts', job],
  ],
};

/**
 * What a refused connection becomes, per runtime: Bun gives ECONNREFUSED, Deno's text says
 * `client error (Connect)`, so both know nothing was sent and retry it.
 */
const refusedCode: Record<keyof typeof commands, string> = { bun: 'transient', deno: 'transient' };

const apis = ['ses', 'gmail', 'graph'] as const;
type Api = (typeof apis)[number];
const sendEndpoint: Record<Api, string> = { ses: 'ses.SendEmail', gmail: 'gmail.messages.send', graph: 'graph.sendMail' };
const timeoutParameter: Record<Api, string> = { ses: 'socket_timeout', gmail: 'timeout', graph: 'timeout' };

function withParameter(url: string, name: string, value: string): string {
  const pattern = new RegExp(`([?&])${name}=[^&]*`);
  const encoded = encodeURIComponent(value);
  return pattern.test(url) ? url.replace(pattern, `$1${name}=${encoded}`) : `${url}${url.includes('?') ? '&' : '?'}${name}=${encoded}`;
}

async function closedPort(): Promise<number> {
  const probe = createServer().listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

for (const runtime of Object.keys(commands) as (keyof typeof commands)[]) {
  const lookup = findRuntime(runtime);
  describe.skipIf(skipUnlessFound(lookup))(`on ${runtime}`, () => {
    let sandbox: Sandbox;
    const binary = 'path' in lookup ? lookup.path : '';

    const run = async (job: { url: string; attempts?: number }): Promise<Outcome> => {
      const [file, args] = commands[runtime](binary, JSON.stringify(job));
      const { stdout } = await new Promise<{ stdout: string; stderr: string }>((resolve, reject) => {
        execFile(
          file,
          args,
          { cwd: here, timeout: 25_000, env: { PATH: process.env.PATH, HOME: process.env.HOME, NO_COLOR: '1' } },
          (error, out, err) =>
            error === null ? resolve({ stdout: out, stderr: err }) : reject(new Error(`${runtime} failed: ${error.message}\n${err}`)),
        );
      });
      const line = stdout.split('\n').find((entry) => entry.startsWith('OUTCOME '));
      if (line === undefined) throw new Error(`${runtime} printed no outcome:\n${stdout}`);
      return JSON.parse(line.slice('OUTCOME '.length)) as Outcome;
    };

    beforeAll(async () => {
      sandbox = await startSandbox();
    });
    beforeEach(() => {
      sandbox.store.clear();
      sandbox.faults.clear();
    });
    afterAll(() => sandbox?.close());

    for (const api of apis) {
      it(`${api}: sends a rich message through the fetch client, and the Message-ID in the receipt is the one that arrived`, async () => {
        const outcome = await run({ url: sandbox.urls[api] });
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
        const outcome = await run({ url: sandbox.urls[api], attempts: 3 });
        expect(outcome, outcome.message).toMatchObject({ ok: false, code: 'unknown-outcome' });
        expect(sandbox.store.list({ api })).toHaveLength(1);
      });

      it(`${api}: a refused connection is ${refusedCode[runtime]} and nothing is stored`, async () => {
        const url = withParameter(
          sandbox.urls[api],
          'endpoint',
          `http://127.0.0.1:${await closedPort()}${api === 'graph' ? '/v1.0' : '/'}`,
        );
        const outcome = await run({ url, attempts: 2 });
        expect(outcome, outcome.message).toMatchObject({ ok: false, code: refusedCode[runtime] });
        expect(sandbox.store.size).toBe(0);
      });

      it(`${api}: a server that stalls after reading the request times out within the bound, as unknown-outcome`, async () => {
        sandbox.faults.inject({ endpoint: sendEndpoint[api], action: 'stall' });
        const started = performance.now();
        const outcome = await run({ url: withParameter(sandbox.urls[api], timeoutParameter[api], '1s'), attempts: 2 });
        expect(outcome, outcome.message).toMatchObject({ ok: false, code: 'unknown-outcome' });
        expect(performance.now() - started).toBeLessThan(15_000);
        expect(sandbox.store.size).toBeLessThanOrEqual(1);
      });
    }
  });
}
