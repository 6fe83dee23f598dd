/** Where a command reads and writes: the real process, or a test's buffers. */
export interface CliIo {
  readonly stdout: { write(text: string): unknown; readonly isTTY?: boolean | undefined };
  readonly stderr: { write(text: string): unknown; readonly isTTY?: boolean | undefined };
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Working directory for relative paths. */
  readonly cwd: string;
  /**
   * Aborted on Ctrl-C (SIGINT) or SIGTERM, with an {@link Interrupted} reason: commands stop
   * starting work and finish what is in flight. A second signal exits at once.
   */
  readonly signal: AbortSignal;
}

/** The reason `io.signal` aborts with: which signal the process received. */
export class Interrupted extends Error {
  override readonly name = 'Interrupted';
  readonly signal: 'SIGINT' | 'SIGTERM';
  constructor(signal: 'SIGINT' | 'SIGTERM') {
    super(signal === 'SIGINT' ? 'interrupted (Ctrl-C)' : 'terminated (SIGTERM)');
    this.signal = signal;
  }
}

/**
 * The process's own streams, environment and signals. SIGINT and SIGTERM are handled only once a
 * command reads `signal` (every long command does): a command that never looks keeps Node's
 * default, dying at once. The second signal exits at once, with 130 (SIGINT) or 143 (SIGTERM).
 */
export function processIo(): CliIo {
  const controller = new AbortController();
  let listening = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (controller.signal.aborted) process.exit(signal === 'SIGTERM' ? 143 : 130);
    controller.abort(new Interrupted(signal === 'SIGTERM' ? 'SIGTERM' : 'SIGINT'));
  };
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    cwd: process.cwd(),
    get signal() {
      if (!listening) {
        listening = true;
        process.on('SIGINT', onSignal);
        process.on('SIGTERM', onSignal);
      }
      return controller.signal;
    },
  };
}

/** An io that records everything, for tests. */
export function memoryIo(
  options: { env?: Record<string, string | undefined> | undefined; cwd?: string | undefined; signal?: AbortSignal | undefined } = {},
): CliIo & {
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
