/**
 * What the `mailport send --csv` tests share: an SMTP server in a child process
 * (`bulk-smtp-server.ts`), the CLI run in-process through `run(argv, io)` or as a real child
 * process (`dist/main.js`), and an independent reading of what arrived (mailparser).
 */
import { type ChildProcess, fork, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { simpleParser } from 'mailparser';
import { run } from '../src/cli.js';
import { memoryIo } from '../src/io.js';

/** A message as the server received it. */
export interface Received {
  readonly raw: Buffer;
  readonly from: string;
  readonly to: readonly string[];
}

/** The SMTP server child; see `bulk-smtp-server.ts` for the faults it can stage. */
export interface SmtpChild {
  /** `smtp://bulk:bulk-password@127.0.0.1:PORT` */
  readonly url: string;
  readonly port: number;
  count(): Promise<number>;
  messages(): Promise<Received[]>;
  /** Forgets the messages, faults and delay. */
  clear(): Promise<void>;
  fault(stage: 'mail' | 'rcpt' | 'data', action: 'drop' | { code: number; message: string }, count?: number): Promise<void>;
  delay(ms: number): Promise<void>;
  /** Resolves once `count()` reaches `count`, polling. */
  waitFor(count: number, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

/** Starts the SMTP server in a child process. */
export async function startSmtpChild(): Promise<SmtpChild> {
  const child = fork(fileURLToPath(new URL('./bulk-smtp-server.ts', import.meta.url)), [], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    execArgv: [],
  });
  const pending = new Map<number, (result: unknown) => void>();
  let ready: ((value: { port: number; user: string; password: string }) => void) | undefined;
  const started = new Promise<{ port: number; user: string; password: string }>((resolve, reject) => {
    ready = resolve;
    child.once('exit', (code) => reject(new Error(`the SMTP server child exited (${code}) before it was ready`)));
  });
  child.on('message', (message: { ready?: boolean; id?: number; result?: unknown; port: number; user: string; password: string }) => {
    if (message.ready === true) ready?.(message);
    else if (message.id !== undefined) {
      pending.get(message.id)?.(message.result);
      pending.delete(message.id);
    }
  });
  let next = 0;
  const request = <T>(op: string, fields: Record<string, unknown> = {}): Promise<T> =>
    new Promise<T>((resolve) => {
      const id = next++;
      pending.set(id, resolve as (result: unknown) => void);
      child.send({ id, op, ...fields });
    });
  const { port, user, password } = await started;
  const server: SmtpChild = {
    url: `smtp://${user}:${password}@127.0.0.1:${port}`,
    port,
    count: () => request<number>('count'),
    async messages() {
      const stored = await request<{ raw: string; from: string; to: string[] }[]>('messages');
      return stored.map((message) => ({ ...message, raw: Buffer.from(message.raw, 'base64') }));
    },
    clear: () => request<void>('clear'),
    fault: (stage, action, count = 1) => request<void>('fault', { stage, action, count }),
    delay: (ms) => request<void>('delay', { ms }),
    async waitFor(count, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      while ((await server.count()) < count) {
        if (Date.now() > deadline) throw new Error(`fewer than ${count} messages arrived in ${timeoutMs} ms`);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    },
    async close() {
      if (child.exitCode !== null) return;
      const exited = once(child, 'exit');
      child.disconnect();
      await exited;
    },
  };
  return server;
}

/** Row number -> how many times it arrived, read from the Message-IDs (`<mailport.RUN.ROW@domain>`) by mailparser. */
export async function deliveries(server: SmtpChild): Promise<Map<number, number>> {
  const counts = new Map<number, number>();
  for (const message of await server.messages()) {
    const id = (await simpleParser(message.raw)).messageId ?? '';
    const row = Number(/\.(\d+)@/.exec(id)?.[1]);
    counts.set(row, (counts.get(row) ?? 0) + 1);
  }
  return counts;
}

/** Runs `mailport ARGV` in this process; resolves with the exit code and what it printed. */
export async function mailport(
  argv: readonly string[],
  options: { cwd: string; signal?: AbortSignal | undefined; env?: Record<string, string | undefined> },
): Promise<{ code: number; out: string; err: string }> {
  const io = memoryIo(options);
  const code = await run(argv, io);
  return { code, out: io.out(), err: io.err() };
}

/** `packages/cli/dist/main.js`, which the process-level tests run (`npm run build` makes it). */
export function cliMain(): string {
  const main = fileURLToPath(new URL('../dist/main.js', import.meta.url));
  if (!existsSync(main)) throw new Error(`${main} is missing: run \`npm run build\` first`);
  return main;
}

/** A `mailport` child process, as a user runs it. */
export interface CliChild {
  readonly process: ChildProcess;
  /** Everything it printed so far. */
  readonly out: () => string;
  readonly err: () => string;
  /** Resolves when it exits. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts `node dist/main.js ARGV` in `cwd`, with its own stdout and stderr (pipes, not a terminal). */
export function spawnCli(argv: readonly string[], options: { cwd: string; env?: Record<string, string> }): CliChild {
  const child = spawn(process.execPath, [cliMain(), ...argv], {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString('utf8')));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('close', (code, signal) => resolve({ code, signal })),
  );
  return { process: child, out: () => out, err: () => err, exited };
}

/** A CSV of `count` people: `name,email,plan`. */
export function people(count: number): string {
  return [
    'name,email,plan',
    ...Array.from(
      { length: count },
      (_, index) => `Person ${index + 1},person${index + 1}@example.org,${index % 2 === 0 ? 'gold' : '<b>basic</b>'}`,
    ),
  ].join('\n');
}
