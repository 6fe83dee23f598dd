/**
 * The bulk benchmark: the real `mailport send --csv` (the built CLI, a child process) sending
 * one message per row of a generated CSV to the SMTP sink in another process, at several sizes.
 * Per size: rows per second over the whole command (start-up, reading the CSV, the journal and
 * the summary included) and the command's peak RSS, read by GNU time from the kernel's account
 * of the finished process (`/usr/bin/time -f %M`, the same figure as `getrusage`'s `ru_maxrss`).
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { type BenchChild, startChild } from './bench-process.ts';
import type { SinkCounters, SinkReady } from './bench-protocol.ts';
import { formatCount, formatMegabytes, formatTable, verdict } from './bench-report.ts';
import { bulkFrom, bulkRssGoal, bulkSubject, writeBulkFiles } from './bulk-content.ts';

const mainScript = fileURLToPath(new URL('../packages/cli/dist/main.js', import.meta.url));
const gnuTime = '/usr/bin/time';

/** One size's numbers. */
export interface BulkRun {
  readonly rows: number;
  readonly csvBytes: number;
  /** From spawning the command until it exited. */
  readonly wallMs: number;
  /** The run's own `elapsedMs` from its JSON summary (reading the CSV to the summary, no start-up). */
  readonly commandElapsedMs: number;
  /** Rows over the wall time. */
  readonly rowsPerSecond: number;
  /** The command's peak RSS, in bytes. */
  readonly peakRssBytes: number;
  /** User and system CPU time of the command, in seconds. */
  readonly cpuSeconds: number;
  readonly journalBytes: number;
  /** Mean size of a message as the sink received it, in bytes. */
  readonly bytesPerMessage: number;
}

/** Everything the bulk benchmark measured. */
export interface BulkResult {
  readonly concurrency: string;
  readonly runs: readonly BulkRun[];
  /** Peak RSS at the largest size over the peak at the size before it (NaN with one size). */
  readonly rssGrowth: number;
  /** Peak RSS at the largest size over the smallest's. */
  readonly rssGrowthFromSmallest: number;
  readonly pass: boolean;
}

type Sink = BenchChild<SinkReady, 'counters', SinkCounters>;

/** The JSON summary `mailport send --csv --json` prints, the fields read here. */
interface Summary {
  readonly rows: number;
  readonly sent: number;
  readonly failed: number;
  readonly unknown: number;
  readonly elapsedMs: number;
  readonly failures: readonly { readonly row: number; readonly code: string; readonly message: string }[];
}

/**
 * Runs `mailport send --csv` once per size, smallest first, each on a fresh CSV in a temporary
 * directory that is removed afterwards. Writes a progress line every 10 s to `log`. Throws if
 * a row was not sent or the sink did not receive exactly one message per row.
 */
export async function runBulk(sizes: readonly number[], log: (line: string) => void): Promise<BulkResult> {
  if (!existsSync(mainScript)) throw new Error(`${mainScript} is missing: run \`npm run build\` first`);
  if (!existsSync(gnuTime))
    throw new Error(`${gnuTime} is missing: the bulk benchmark reads peak RSS with GNU time (apt-get install time)`);
  const sink: Sink = await startChild(new URL('./smtp-sink.ts', import.meta.url), []);
  try {
    const runs: BulkRun[] = [];
    for (const rows of sizes) {
      const run = await runSize(rows, sink, log);
      log(
        `${formatCount(rows).padStart(9)} rows: ${formatCount(run.rowsPerSecond)} rows/s, peak RSS ${formatMegabytes(run.peakRssBytes)} MB, ` +
          `${(run.wallMs / 1000).toFixed(1)} s`,
      );
      runs.push(run);
    }
    const first = runs[0];
    const previous = runs.at(-2);
    const last = runs.at(-1);
    const rssGrowth = previous === undefined || last === undefined ? Number.NaN : last.peakRssBytes / previous.peakRssBytes;
    const rssGrowthFromSmallest = first === undefined || last === undefined ? Number.NaN : last.peakRssBytes / first.peakRssBytes;
    return {
      concurrency: 'the SMTP transport default (5 connections)',
      runs,
      rssGrowth,
      rssGrowthFromSmallest,
      // One size compares with nothing: the goal is not met (NaN <= x is false), so a single run never claims it.
      pass: rssGrowth <= bulkRssGoal,
    };
  } finally {
    await sink.stop();
  }
}

async function runSize(rows: number, sink: Sink, log: (line: string) => void): Promise<BulkRun> {
  const directory = await mkdtemp(join(tmpdir(), 'mailport-bench-bulk-'));
  try {
    const files = await writeBulkFiles(directory, rows);
    const journal = join(directory, 'run.journal');
    const timeFile = join(directory, 'time.txt');
    const args = [
      '-f',
      '%M %U %S',
      '-o',
      timeFile,
      process.execPath,
      mainScript,
      'send',
      '--csv',
      files.csv,
      '--url',
      `smtp://127.0.0.1:${sink.ready.port}`,
      '--from',
      bulkFrom,
      '--subject',
      bulkSubject,
      '--text-file',
      files.textFile,
      '--html-file',
      files.htmlFile,
      '--journal',
      journal,
      '--json',
    ];
    const environment: NodeJS.ProcessEnv = { ...process.env };
    delete environment.MAILPORT_URL;
    delete environment.MAILPORT_FROM;
    delete environment.NODE_OPTIONS;

    const before = await sink.request('counters');
    const started = performance.now();
    const child = spawn(gnuTime, args, { cwd: directory, env: environment, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (text: string) => {
      stdout += text;
    });
    child.stderr.setEncoding('utf8').on('data', (text: string) => {
      // Only the end matters (an error); a long run must not collect megabytes of it.
      stderr = (stderr + text).slice(-20_000);
    });
    const progress = setInterval(() => {
      sink.request('counters').then(
        (now) => log(`  ${formatCount(rows)} rows: ${formatCount(now.messages - before.messages)} received so far`),
        () => {},
      );
    }, 10_000);
    let status: number | null;
    try {
      [status] = (await once(child, 'exit')) as [number | null];
    } finally {
      clearInterval(progress);
    }
    const wallMs = performance.now() - started;
    const after = await sink.request('counters');

    let summary: Summary;
    try {
      summary = JSON.parse(stdout) as Summary;
    } catch {
      throw new Error(`mailport send --csv (${rows} rows) exited with ${status} and printed no summary:\n${stdout}\n${stderr}`);
    }
    if (status !== 0 || summary.sent !== rows) {
      const firstFailure = summary.failures[0];
      throw new Error(
        `mailport send --csv (${rows} rows) exited with ${status}: sent ${summary.sent}, failed ${summary.failed}, unknown ${summary.unknown}` +
          (firstFailure === undefined ? '' : `; row ${firstFailure.row}: ${firstFailure.code}: ${firstFailure.message}`),
      );
    }
    const received = after.messages - before.messages;
    if (received !== rows) throw new Error(`the sink received ${received} messages for ${rows} rows`);

    const [maxRssKb, user, system] = (await readFile(timeFile, 'utf8')).trim().split(/\s+/).slice(-3).map(Number);
    if (maxRssKb === undefined || !Number.isFinite(maxRssKb)) throw new Error(`cannot read ${timeFile}`);
    return {
      rows,
      csvBytes: files.csvBytes,
      wallMs,
      commandElapsedMs: summary.elapsedMs,
      rowsPerSecond: (rows / wallMs) * 1000,
      peakRssBytes: maxRssKb * 1024,
      cpuSeconds: (user ?? 0) + (system ?? 0),
      journalBytes: (await stat(journal)).size,
      bytesPerMessage: (after.bytes - before.bytes) / received,
    };
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
}

/** The table and the goal line. */
export function formatBulk(result: BulkResult): string {
  const table = formatTable(
    ['Rows', 'CSV MB', 'Rows/s', 'Wall s', 'CPU s', 'Peak RSS MB', 'Journal MB', 'KB/msg'],
    result.runs.map((run) => [
      formatCount(run.rows),
      (run.csvBytes / 1_000_000).toFixed(2),
      formatCount(run.rowsPerSecond),
      (run.wallMs / 1000).toFixed(1),
      run.cpuSeconds.toFixed(1),
      formatMegabytes(run.peakRssBytes),
      formatMegabytes(run.journalBytes),
      (run.bytesPerMessage / 1000).toFixed(1),
    ]),
    [0, 1, 2, 3, 4, 5, 6, 7],
  );
  const sizes = result.runs.map((run) => formatCount(run.rows));
  if (sizes.length < 2) return `${table}\n\nOne size: no memory goal to judge (it compares the two largest sizes).`;
  return [
    table,
    '',
    `Peak RSS at ${sizes.at(-1)} rows / at ${sizes.at(-2)} rows: ${result.rssGrowth.toFixed(2)}x (/ at ${sizes[0]} rows: ${result.rssGrowthFromSmallest.toFixed(2)}x)`,
    `Goal: peak RSS at the largest size <= ${bulkRssGoal}x the size before it (flat memory): ${verdict(result.pass)}`,
  ].join('\n');
}
