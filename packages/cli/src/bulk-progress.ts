import type { CliIo } from './io.js';

/** Counts a bulk run keeps as it goes. */
export interface BulkCounts {
  sent: number;
  failed: number;
  unknown: number;
  skipped: number;
}

/**
 * A one-line progress bar on stderr, redrawn at most every 100 ms: done/total, rate and ETA.
 * When stderr is not a terminal it prints nothing until the summary, so logs stay clean.
 */
export function createProgress(
  io: CliIo,
  total: number,
  now: () => number = Date.now,
): { update(counts: BulkCounts): void; finish(): void } {
  const started = now();
  let lastDraw = 0;
  let drawn = false;
  const tty = io.stderr.isTTY === true;
  const draw = (counts: BulkCounts): void => {
    const done = counts.sent + counts.failed + counts.unknown;
    const seconds = Math.max((now() - started) / 1000, 0.001);
    const rate = done / seconds;
    const left = Math.max(total - counts.skipped - done, 0);
    const eta = rate > 0 ? formatSeconds(left / rate) : '?';
    const width = 24;
    const fraction = total === 0 ? 1 : (done + counts.skipped) / total;
    const bar = `${'#'.repeat(Math.round(fraction * width))}${'-'.repeat(width - Math.round(fraction * width))}`;
    io.stderr.write(
      `\r[${bar}] ${done + counts.skipped}/${total} ${(fraction * 100).toFixed(0)}%  ${rate.toFixed(1)} msg/s  ETA ${eta}  ` +
        `sent ${counts.sent}  failed ${counts.failed}${counts.unknown > 0 ? `  unknown ${counts.unknown}` : ''}   `,
    );
    drawn = true;
  };
  return {
    update(counts) {
      if (!tty) return;
      const time = now();
      if (time - lastDraw < 100) return;
      lastDraw = time;
      draw(counts);
    },
    finish() {
      if (drawn) io.stderr.write('\n');
    },
  };
}

/** `1m 05s`, `12s`. */
export function formatSeconds(seconds: number): string {
  const whole = Math.round(seconds);
  if (whole < 60) return `${whole}s`;
  const minutes = Math.floor(whole / 60);
  if (minutes < 60) return `${minutes}m ${String(whole % 60).padStart(2, '0')}s`;
  return `${Math.floor(minutes / 60)}h ${String(minutes % 60).padStart(2, '0')}m`;
}
