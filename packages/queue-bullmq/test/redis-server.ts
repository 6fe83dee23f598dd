/**
 * A throwaway redis-server for the tests: loopback, a free port chosen here (`--port 0` would turn
 * TCP off), append-only persistence in a temporary directory, `noeviction`, no RDB snapshots.
 * Stopped by its PID; `restart()` stops it gracefully and starts it again on the same port and
 * directory, which is what a Redis restart in production looks like.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { refusedPort } from '@mailport/core/testing';

export interface RedisServer {
  readonly url: string;
  readonly port: number;
  readonly pid: () => number | undefined;
  /** SIGTERM (Redis flushes the append-only file and exits), then start again on the same port and directory. */
  restart(options?: { readonly downMs?: number }): Promise<void>;
  stop(): Promise<void>;
}

export async function startRedis(binary: string, extraArgs: readonly string[] = []): Promise<RedisServer> {
  const port = await refusedPort();
  const directory = await mkdtemp(join(tmpdir(), 'mailport-redis-'));
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--dir',
    directory,
    '--appendonly',
    'yes',
    '--maxmemory-policy',
    'noeviction',
    '--save',
    '',
    ...extraArgs,
  ];
  let child: ChildProcess | undefined;

  async function launch(): Promise<void> {
    const started = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child = started;
    let output = '';
    await new Promise<void>((resolve, reject) => {
      const onData = (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes('Ready to accept connections')) {
          started.stdout?.off('data', onData);
          started.stdout?.resume();
          resolve();
        }
      };
      started.stdout?.on('data', onData);
      started.stderr?.resume();
      started.once('exit', (code) => reject(new Error(`redis-server exited (${code}) before it was ready:\n${output}`)));
      started.once('error', reject);
    });
  }

  async function halt(): Promise<void> {
    const running = child;
    child = undefined;
    if (running === undefined || running.exitCode !== null || running.pid === undefined) return;
    const exited = once(running, 'exit');
    process.kill(running.pid, 'SIGTERM');
    await exited;
  }

  await launch();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    pid: () => child?.pid,
    async restart(options = {}) {
      await halt();
      await new Promise((resolve) => setTimeout(resolve, options.downMs ?? 0));
      await launch();
    },
    async stop() {
      await halt();
      await rm(directory, { recursive: true, force: true });
    },
  };
}
