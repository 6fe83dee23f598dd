/**
 * `npm run bench -- edge`: what the HTTPS transports cost on the edge runtimes next to Node.
 *
 * - Bundle size: what each transport adds to a minimal Cloudflare Worker, bundled by wrangler with
 *   nodejs_compat, raw and gzipped (scripts/edge-bundle-sizes.mjs --json).
 * - Cost per message: `count` sends one after the other through one mailer (after a warm-up) to the
 *   sandbox on loopback, on Node, Bun, Deno and workerd (a Worker bundled by wrangler, served by
 *   workerd), for ses://, gmail:// and graph:// (app-only: through MSAL on Node, Bun and Deno, the
 *   fetch token path on workerd). ms/message is wall time per send, one in flight: the runtime's HTTP
 *   client, the adapter and the sandbox's answer, all on this machine.
 *
 * The sandbox runs in this process; each runtime's sender runs in its own. Runtimes not installed
 * (scripts/install-runtimes.sh) are left out, and say so. Writes bench/results/edge.json.
 * `--count N` changes the sends per case (default 200).
 */
import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startSandbox } from '@mailport/sandbox';
import { serveWorkerd } from '../packages/core/test/runtimes/workerd.ts';
import { describeMachine, formatMachine } from './bench-report.ts';
import type { EdgeJob, EdgeOutcome } from './edge-sender.ts';

const here = fileURLToPath(new URL('.', import.meta.url));
const root = fileURLToPath(new URL('..', import.meta.url));
const compatibilityDate = '2026-11-01';
const apis = ['ses', 'gmail', 'graph'] as const;
type Api = (typeof apis)[number];
const from: Record<Api, string> = { ses: 'sender@example.com', gmail: 'user@example.com', graph: 'sender@contoso.example' };

/** A runtime's binary: MAILPORT_<NAME>, or the one scripts/install-runtimes.sh installed. */
function findRuntime(name: string): string | undefined {
  const configured = process.env[`MAILPORT_${name.toUpperCase()}`]?.trim();
  const cache = process.env.MAILPORT_RUNTIMES?.trim() || join(homedir(), '.cache', 'mailport-runtimes');
  const path = configured || join(cache, 'node_modules', '.bin', name);
  try {
    accessSync(path, constants.X_OK);
    return path;
  } catch {
    return undefined;
  }
}

const childEnvironment = { PATH: process.env.PATH, HOME: process.env.HOME, NO_COLOR: '1', WRANGLER_SEND_METRICS: 'false' };

function execute(file: string, args: readonly string[], cwd: string, timeoutMs = 600_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { cwd, timeout: timeoutMs, env: childEnvironment, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) =>
      error === null ? resolve(stdout) : reject(new Error(`${file} failed: ${error.message}\n${stderr}`)),
    );
  });
}

interface Sender {
  run(job: EdgeJob): Promise<EdgeOutcome>;
  close(): void;
}

function perProcess(file: string, args: readonly string[]): Sender {
  return {
    async run(job) {
      const stdout = await execute(file, [...args, join(here, 'edge-sender.ts'), JSON.stringify(job)], root);
      const line = stdout.split('\n').find((entry) => entry.startsWith('OUTCOME '));
      if (line === undefined) throw new Error(`no outcome printed:\n${stdout}`);
      return JSON.parse(line.slice('OUTCOME '.length)) as EdgeOutcome;
    },
    close() {},
  };
}

/** wrangler bundles edge-worker.ts, workerd serves it, each POST is one case. */
function workerdSender(wrangler: string, workerd: string): Promise<Sender> {
  return serveWorkerd({
    wrangler,
    workerd,
    main: join(here, 'edge-worker.ts'),
    name: 'mailport-edge-bench',
    directoryPrefix: 'mailport-edge-bench-',
    compatibilityDate,
    env: childEnvironment,
    bundleTimeoutMs: 600_000,
    bundleMaxBuffer: 16 * 1024 * 1024,
    requestTimeoutMs: 600_000,
  });
}

interface BundleSize {
  readonly worker: string;
  readonly bytes: number;
  readonly gzippedBytes: number;
}

export async function main(args: readonly string[]): Promise<void> {
  const countAt = args.indexOf('--count');
  const count = countAt >= 0 ? Number(args[countAt + 1]) : 200;
  if (!Number.isInteger(count) || count < 1) throw new Error(`--count ${args[countAt + 1]} is not a positive integer`);
  const warmUp = Math.min(20, count);
  const machine = describeMachine();
  const date = new Date();
  console.log('mailport edge benchmark');
  console.log(`Machine: ${formatMachine(machine)}`);
  console.log(`Date:    ${date.toISOString()}`);
  console.log('');

  const wrangler = findRuntime('wrangler');
  const workerd = findRuntime('workerd');
  const bun = findRuntime('bun');
  const deno = findRuntime('deno');
  const missing = Object.entries({ bun, deno, wrangler, workerd })
    .filter(([, path]) => path === undefined)
    .map(([name]) => name);
  if (missing.length > 0) console.log(`Not installed, left out: ${missing.join(', ')} (scripts/install-runtimes.sh)\n`);

  let bundles: BundleSize[] = [];
  if (wrangler !== undefined) {
    console.log(`Bundle size: a minimal Worker per transport, wrangler with nodejs_compat (compatibility date ${compatibilityDate})`);
    const json = await execute(process.execPath, [join(root, 'scripts', 'edge-bundle-sizes.mjs'), '--json'], root);
    bundles = JSON.parse(json) as BundleSize[];
    const kib = (bytes: number): string => `${(bytes / 1024).toFixed(0)} KiB`;
    for (const bundle of bundles)
      console.log(`  ${bundle.worker.padEnd(24)} ${kib(bundle.bytes).padStart(9)}  gzipped ${kib(bundle.gzippedBytes).padStart(8)}`);
    console.log('');
  }

  const sandbox = await startSandbox();
  const senders: Array<{ runtime: string; start: () => Promise<Sender> }> = [
    { runtime: 'node', start: async () => perProcess(process.execPath, []) },
  ];
  if (bun !== undefined) senders.push({ runtime: 'bun', start: async () => perProcess(bun, []) });
  if (deno !== undefined) {
    senders.push({
      runtime: 'deno',
      start: async () => perProcess(deno, ['run', '--allow-net=127.0.0.1', '--allow-read', '--allow-env', '--allow-sys', '--no-prompt']),
    });
  }
  if (wrangler !== undefined && workerd !== undefined) senders.push({ runtime: 'workerd', start: () => workerdSender(wrangler, workerd) });

  const { tenantId, clientId, clientSecret } = sandbox.accounts.microsoft;
  const encode = encodeURIComponent;
  const url = (api: Api, runtime: string): string => {
    if (api !== 'graph' || runtime !== 'workerd') return sandbox.urls[api];
    // workerd cannot trust the sandbox's private CA: app-only over the sandbox's HTTP listener (the fetch token path).
    return `graph://sender@contoso.example?tenant=${tenantId}&client_id=${clientId}&client_secret=${encode(clientSecret)}&authority_host=${encode(sandbox.httpUrl)}&endpoint=${encode(`${sandbox.httpUrl}/v1.0`)}`;
  };

  console.log(
    `Cost per message: ${count} sends one after the other (after ${warmUp} unmeasured), about 5 KB of text + HTML, to the sandbox on loopback`,
  );
  console.log(`  ${'runtime'.padEnd(9)} ${apis.map((api) => `${api}:// ms/msg`.padStart(16)).join(' ')}`);
  const costs: Array<{ runtime: string } & Record<Api, { msPerMessage: number; sent: number; failed: number; firstError?: string }>> = [];
  try {
    for (const { runtime, start } of senders) {
      const sender = await start();
      try {
        const row: Record<string, unknown> = { runtime };
        for (const api of apis) {
          sandbox.store.clear();
          sandbox.requests.clear();
          const outcome = await sender.run({ url: url(api, runtime), from: from[api], count, warmUp });
          row[api] = {
            msPerMessage: Math.round(outcome.msPerMessage * 100) / 100,
            sent: outcome.sent,
            failed: outcome.failed,
            ...(outcome.firstError === undefined ? {} : { firstError: outcome.firstError }),
          };
        }
        costs.push(row as (typeof costs)[number]);
        const cell = (api: Api): string => {
          const result = row[api] as { msPerMessage: number; failed: number };
          return `${result.msPerMessage.toFixed(2)}${result.failed > 0 ? ` (${result.failed} failed)` : ''}`.padStart(16);
        };
        console.log(`  ${runtime.padEnd(9)} ${apis.map(cell).join(' ')}`);
      } finally {
        sender.close();
      }
    }
  } finally {
    await sandbox.close();
  }

  const results = {
    benchmark: 'edge',
    date: date.toISOString(),
    machine: {
      cpu: machine.cpu,
      cores: machine.cores,
      memoryMb: Math.round(machine.memoryBytes / 1024 / 1024),
      node: machine.node,
      platform: machine.platform,
    },
    compatibilityDate,
    bundles,
    perMessage: { count, warmUp, inFlight: 1, costs },
    ...(missing.length > 0 ? { notInstalled: missing } : {}),
  };
  const file = new URL('./results/edge.json', import.meta.url);
  const temporary = new URL('./results/edge.json.tmp', import.meta.url);
  await mkdir(new URL('./results/', import.meta.url), { recursive: true });
  await writeFile(temporary, `${JSON.stringify(results, null, 2)}\n`);
  await rename(temporary, file);
  console.log('\nSaved bench/results/edge.json');
}
