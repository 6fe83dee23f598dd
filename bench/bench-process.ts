/**
 * The plumbing shared by the benchmark's processes: the parent forks one child per role (the
 * SMTP sink, each sender variant, the large message) and talks to it over the IPC channel,
 * one request and one reply at a time.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

/** A forked benchmark process: its first message, and a way to ask it for more. */
export interface BenchChild<Ready, Request, Reply> {
  /** The first message the child sent, once it was ready (a port, or a whole result). */
  readonly ready: Ready;
  /** Sends one request and resolves with the child's reply; rejects if the child exits first. */
  request(message: Request): Promise<Reply>;
  /** Closes the IPC channel, which tells the child to exit, and waits until it has. */
  stop(): Promise<void>;
}

/**
 * Forks `file` (a .ts file run by Node's type stripping) and waits for its first message.
 * The child's stdout and stderr go to ours, so a crash shows its stack trace. `execArgv` adds
 * Node flags to the child's (default: none beyond this process's own).
 *
 * @example
 * ```ts
 * const sink = await startChild<{ port: number }, 'counters', SinkCounters>(new URL('./smtp-sink.ts', import.meta.url), []);
 * ```
 */
export async function startChild<Ready, Request, Reply>(
  file: URL,
  args: readonly string[],
  options: { readonly execArgv?: readonly string[] | undefined } = {},
): Promise<BenchChild<Ready, Request, Reply>> {
  const name = fileURLToPath(file).split('/').at(-1) ?? String(file);
  const child = fork(fileURLToPath(file), args, {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    // Node flags for the child (`--expose-gc`, `--cpu-prof`), after this process's own.
    execArgv: [...process.execArgv, ...(options.execArgv ?? [])],
  });
  let waiting: { resolve: (reply: unknown) => void; reject: (error: Error) => void } | undefined;
  let exited = false;

  child.on('message', (message: unknown) => {
    const current = waiting;
    waiting = undefined;
    current?.resolve(message);
  });
  child.on('exit', (code, signal) => {
    exited = true;
    const current = waiting;
    waiting = undefined;
    current?.reject(new Error(`bench child ${name} exited (${signal ?? `code ${code}`}) before it answered`));
  });

  const next = (): Promise<unknown> =>
    new Promise((resolve, reject) => {
      if (exited) reject(new Error(`bench child ${name} is not running`));
      else waiting = { resolve, reject };
    });

  const ready = (await next()) as Ready;
  return {
    ready,
    async request(message: Request): Promise<Reply> {
      const reply = next();
      child.send(message as Parameters<ChildProcess['send']>[0]);
      return (await reply) as Reply;
    },
    async stop(): Promise<void> {
      if (exited) return;
      const exit = once(child, 'exit');
      child.disconnect();
      await exit;
    },
  };
}

/**
 * The child's side of {@link startChild}: announces `ready`, then answers each request with
 * `handle`. The child exits when the parent closes the channel, or when the parent dies, so no
 * benchmark process outlives a run.
 */
export function serveParent<Request, Reply>(ready: unknown, handle?: (request: Request) => Promise<Reply>): void {
  const send = process.send?.bind(process);
  if (send === undefined) {
    throw new Error(`${process.argv[1]} is one process of a benchmark; run it with: npm run bench -- smtp`);
  }
  send(ready);
  process.on('message', (request: Request) => {
    if (handle === undefined) return;
    handle(request).then(
      (reply) => send(reply),
      (error: unknown) => {
        // A failed request means the numbers are meaningless: crash loudly, the parent reports the exit.
        console.error(error);
        process.exit(1);
      },
    );
  });
  process.on('disconnect', () => process.exit(0));
}

/** The median of `values` (the mean of the two middle ones for an even count). */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error('median of no values');
  const sorted = [...values].sort((left, right) => left - right);
  const middle = Math.floor(sorted.length / 2);
  const upper = sorted[middle] as number;
  return sorted.length % 2 === 1 ? upper : ((sorted[middle - 1] as number) + upper) / 2;
}

/** This process's peak resident set size so far, in bytes (`maxRSS` is in kibibytes). */
export function peakRssBytes(): number {
  return process.resourceUsage().maxRSS * 1024;
}
