import { UsageError } from './exit-codes.js';
import type { CliIo } from './io.js';

/** Counts a bulk run keeps as it goes. */
export interface BulkCounts {
  sent: number;
  failed: number;
  unknown: number;
  /** Rows not sent again: sent by an earlier run, or left failed or unknown by one. */
  skipped: number;
}

/** Where a run stands, read by the progress display whenever it draws. */
export interface ProgressSnapshot {
  readonly counts: Readonly<BulkCounts>;
  /**
   * Rows parsed from the CSV so far, and whether that is all of them. The file is streamed, so
   * until then the total is estimated from the share of its bytes read.
   */
  readonly parsedRows: number;
  readonly parsedAll: boolean;
  /** File bytes parsed so far, and the file's size. */
  readonly bytesParsed: number;
  readonly size: number;
}

/** A progress display; {@link Progress.finish} stops it. */
export interface Progress {
  /** Call after each row: redraws the terminal bar (at most every 100 ms). */
  update(): void;
  finish(): void;
}

/** Options of {@link createProgress}. */
export interface ProgressOptions {
  /** JSON progress events instead of text. */
  readonly json: boolean;
  /** How often to print outside a terminal, in milliseconds. */
  readonly intervalMs: number;
  readonly snapshot: () => ProgressSnapshot;
  readonly now?: (() => number) | undefined;
}

/** Default interval of the progress lines printed outside a terminal. */
export const defaultProgressIntervalMs = 10_000;

/**
 * Progress on stderr, where the summary on stdout does not mix with it:
 *
 * - on a terminal, a one-line bar redrawn at most every 100 ms: rows, share of the file, rate, ETA;
 * - elsewhere (cron, CI, `| tee`), a plain line every `intervalMs`, so a log shows the run alive;
 * - with `--json`, a JSON object per line every `intervalMs`:
 *   `{"type":"progress","rows":1200,"totalRows":100000,"totalExact":false,"sent":1100,"failed":3,"unknown":0,"skipped":97,"ratePerSecond":120.5,"etaSeconds":820,"elapsedMs":9960}`.
 *
 * `rows` counts the rows dealt with (sent, failed, unknown or skipped). Until the whole file is
 * parsed, the total is estimated from the share of its bytes read (`totalExact: false`).
 */
export function createProgress(io: CliIo, options: ProgressOptions): Progress {
  const now = options.now ?? Date.now;
  const started = now();
  const bar = io.stderr.isTTY === true && !options.json;
  let lastDraw = 0;
  let drawn = false;

  const measure = () => {
    const snapshot = options.snapshot();
    const { counts } = snapshot;
    const done = counts.sent + counts.failed + counts.unknown;
    const handled = done + counts.skipped;
    const elapsedMs = now() - started;
    const rate = done / Math.max(elapsedMs / 1000, 0.001);
    const total = snapshot.parsedAll
      ? snapshot.parsedRows
      : snapshot.bytesParsed > 0
        ? Math.max(Math.round((snapshot.parsedRows * snapshot.size) / snapshot.bytesParsed), snapshot.parsedRows)
        : undefined;
    const fraction = total === undefined || total === 0 ? (snapshot.parsedAll ? 1 : 0) : Math.min(handled / total, 1);
    const eta = rate > 0 && total !== undefined ? Math.max(total - handled, 0) / rate : undefined;
    const of = total === undefined ? '' : ` of ${snapshot.parsedAll ? '' : 'about '}${total}`;
    return { counts, handled, elapsedMs, rate, total, fraction, eta, of, exact: snapshot.parsedAll };
  };

  const line = (): void => {
    const { counts, handled, elapsedMs, rate, total, fraction, eta, of, exact } = measure();
    if (options.json) {
      io.stderr.write(
        `${JSON.stringify({
          type: 'progress',
          rows: handled,
          totalRows: total ?? null,
          totalExact: exact,
          sent: counts.sent,
          failed: counts.failed,
          unknown: counts.unknown,
          skipped: counts.skipped,
          ratePerSecond: Math.round(rate * 10) / 10,
          etaSeconds: eta === undefined ? null : Math.round(eta),
          elapsedMs,
        })}\n`,
      );
      return;
    }
    io.stderr.write(
      `progress: ${handled}${of} rows (${(fraction * 100).toFixed(0)}%), sent ${counts.sent}, failed ${counts.failed}, ` +
        `unknown ${counts.unknown}, skipped ${counts.skipped}; ${rate.toFixed(1)} msg/s, ${eta === undefined ? 'time left unknown' : `about ${formatSeconds(eta)} left`}\n`,
    );
  };

  const draw = (): void => {
    const { counts, handled, rate, fraction, eta, of } = measure();
    const width = 24;
    const filled = Math.round(fraction * width);
    io.stderr.write(
      `\r[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${handled}${of} rows ${(fraction * 100).toFixed(0)}%  ` +
        `${rate.toFixed(1)} msg/s  ETA ${eta === undefined ? '?' : formatSeconds(eta)}  sent ${counts.sent}  failed ${counts.failed}` +
        `${counts.unknown > 0 ? `  unknown ${counts.unknown}` : ''}   `,
    );
    drawn = true;
  };

  const timer = bar ? undefined : setInterval(line, Math.max(options.intervalMs, 1));
  // Progress must never keep a finished run alive.
  timer?.unref();
  return {
    update() {
      if (!bar) return;
      const time = now();
      if (time - lastDraw < 100) return;
      lastDraw = time;
      draw();
    },
    finish() {
      if (timer !== undefined) clearInterval(timer);
      if (drawn) io.stderr.write('\n');
    },
  };
}

/** Reads `--progress-interval`: `10s`, `500ms`, `2m`, or a number of seconds. */
export function parseInterval(value: string | undefined): number {
  if (value === undefined) return defaultProgressIntervalMs;
  const match = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(value.trim());
  const amount = match === null ? Number.NaN : Number(match[1]);
  const ms = match?.[2] === 'ms' ? amount : match?.[2] === 'm' ? amount * 60_000 : amount * 1000;
  if (!Number.isFinite(ms) || ms < 10)
    throw new UsageError(`--progress-interval needs a duration such as 10s, 500ms or 2m (at least 10ms), not ${value}`);
  return Math.round(ms);
}

/** `1m 05s`, `12s`. */
export function formatSeconds(seconds: number): string {
  const whole = Math.round(seconds);
  if (whole < 60) return `${whole}s`;
  const minutes = Math.floor(whole / 60);
  if (minutes < 60) return `${minutes}m ${String(whole % 60).padStart(2, '0')}s`;
  return `${Math.floor(minutes / 60)}h ${String(minutes % 60).padStart(2, '0')}m`;
}
