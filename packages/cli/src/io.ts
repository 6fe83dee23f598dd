/** Where a command reads and writes: the real process, or a test's buffers. */
export interface CliIo {
  readonly stdout: { write(text: string): unknown; readonly isTTY?: boolean | undefined };
  readonly stderr: { write(text: string): unknown; readonly isTTY?: boolean | undefined };
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Working directory for relative paths. */
  readonly cwd: string;
  /** Aborted on Ctrl-C: commands stop starting work and finish what is in flight. */
  readonly signal: AbortSignal;
}

/** The process's own streams, environment and Ctrl-C. */
export function processIo(): CliIo {
  const controller = new AbortController();
  let interrupts = 0;
  process.on('SIGINT', () => {
    interrupts++;
    // A second Ctrl-C means now.
    if (interrupts > 1) process.exit(130);
    controller.abort(new Error('interrupted'));
  });
  return { stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd(), signal: controller.signal };
}

/** An io that records everything, for tests. */
export function memoryIo(options: { env?: Record<string, string | undefined>; cwd?: string; signal?: AbortSignal } = {}): CliIo & {
  readonly out: () => string;
  readonly err: () => string;
} {
  let out = '';
  let err = '';
  return {
    stdout: { write: (text: string) => (out += text), isTTY: false },
    stderr: { write: (text: string) => (err += text), isTTY: false },
    env: options.env ?? {},
    cwd: options.cwd ?? process.cwd(),
    signal: options.signal ?? new AbortController().signal,
    out: () => out,
    err: () => err,
  };
}
