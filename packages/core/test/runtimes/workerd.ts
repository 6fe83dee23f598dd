// A Worker served by workerd, for the runtime-matrix tests (runtimes.test.ts) and the edge bench
// (bench/edge.ts). The bench runs under Node's type stripping: erasable TypeScript only, and no
// imports but Node's own.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { refusedPort } from '@mailport/core/testing';

export interface WorkerdOptions {
  /** wrangler's entry point (a Node program: run with this Node, whatever node is first on PATH). */
  readonly wrangler: string;
  /** The workerd binary. */
  readonly workerd: string;
  /** The Worker's source, bundled by wrangler as for `wrangler deploy`. */
  readonly main: string;
  /** The Worker's name in wrangler.json. */
  readonly name: string;
  /** The prefix of the temporary directory that holds the config and the bundle. */
  readonly directoryPrefix: string;
  /** The Worker's compatibility date (with nodejs_compat). */
  readonly compatibilityDate: string;
  /** The environment of wrangler and workerd. */
  readonly env: NodeJS.ProcessEnv;
  /** How long wrangler may take to bundle. */
  readonly bundleTimeoutMs: number;
  /** How much output wrangler may print (execFile's maxBuffer; its default when unset). */
  readonly bundleMaxBuffer?: number;
  /** How long one POST (one job) may take. */
  readonly requestTimeoutMs: number;
}

export interface WorkerdServer {
  /** POSTs `job` as JSON; the Worker's 200 answer, parsed. */
  run<T>(job: unknown): Promise<T>;
  /** Stops workerd and removes the temporary directory. */
  close(): void;
}

/** wrangler bundles `main` as for `wrangler deploy`, workerd serves the bundle on loopback, each POST is one job. */
export async function serveWorkerd(options: WorkerdOptions): Promise<WorkerdServer> {
  const { workerd, compatibilityDate, env } = options;
  const directory = mkdtempSync(join(tmpdir(), options.directoryPrefix));
  writeFileSync(
    join(directory, 'wrangler.json'),
    JSON.stringify({
      name: options.name,
      main: options.main,
      compatibility_date: compatibilityDate,
      compatibility_flags: ['nodejs_compat'],
    }),
  );
  await new Promise<void>((resolve, reject) => {
    execFile(
      process.execPath,
      [options.wrangler, 'deploy', '--dry-run', '--outdir', join(directory, 'out')],
      {
        cwd: directory,
        timeout: options.bundleTimeoutMs,
        env,
        ...(options.bundleMaxBuffer === undefined ? {} : { maxBuffer: options.bundleMaxBuffer }),
      },
      (error, _stdout, stderr) =>
        error === null ? resolve() : reject(new Error(`${process.execPath} failed: ${error.message}\n${stderr}`)),
    );
  });
  const bundle = `${basename(options.main).replace(/\.[cm]?[jt]s$/, '')}.js`;
  const port = await refusedPort();
  writeFileSync(
    join(directory, 'config.capnp'),
    `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [ (name = "main", worker = .worker), (name = "loopback", network = (allow = ["public", "private", "local"])) ],
  sockets = [ (name = "http", address = "127.0.0.1:${port}", http = (), service = "main") ],
);
const worker :Workerd.Worker = (
  modules = [ (name = "worker.js", esModule = embed "out/${bundle}") ],
  compatibilityDate = "${compatibilityDate}",
  compatibilityFlags = ["nodejs_compat"],
  globalOutbound = "loopback",
);
`,
  );
  const child: ChildProcess = spawn(workerd, ['serve', join(directory, 'config.capnp')], { stdio: 'ignore', env });
  const base = `http://127.0.0.1:${port}/`;
  const close = (): void => {
    child.kill();
    rmSync(directory, { recursive: true, force: true });
  };
  for (let tries = 0; ; tries++) {
    try {
      await fetch(base, { method: 'HEAD' });
      break;
    } catch (error) {
      if (tries > 100 || child.exitCode !== null) {
        close();
        throw new Error(`workerd did not start: ${String(error)}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  return {
    async run<T>(job: unknown): Promise<T> {
      const response = await fetch(base, {
        method: 'POST',
        body: JSON.stringify(job),
        signal: AbortSignal.timeout(options.requestTimeoutMs),
      });
      const text = await response.text();
      if (response.status !== 200) throw new Error(`the Worker answered ${response.status}: ${text}`);
      return JSON.parse(text) as T;
    },
    close,
  };
}
