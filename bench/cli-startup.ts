/**
 * The CLI's start-up: how long `mailport --help` and a few other short commands take, from
 * spawning the process until it exited, against a bare `node -e 0` on the same Node. Rounds
 * alternate the commands (rotated each round), so that load on the machine hits every one of
 * them alike; the goal compares medians.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { median } from './bench-process.ts';
import { formatTable, verdict } from './bench-report.ts';

const mainScript = fileURLToPath(new URL('../packages/cli/dist/main.js', import.meta.url));

/** The goal: `mailport --help` at most this many ms slower than `node -e 0` (medians). */
export const cliStartupGoalMs = 60;

/** Unmeasured rounds first: the disk cache, and Node's compile cache for the CLI's modules. */
export const cliWarmUpRounds = 3;

/** Measured rounds; odd, so the median is a real round. */
export const cliMeasuredRounds = 21;

interface Command {
  readonly id: string;
  readonly label: string;
  readonly args: readonly string[];
  readonly env?: Readonly<Record<string, string>> | undefined;
}

const dryRun = ['send', '--dry-run', '--from', 'orders@shop.example', '--to', 'ana@example.com', '--subject', 'Hello', '--text', 'Hi'];

const commands: readonly Command[] = [
  { id: 'node', label: 'node -e 0 (the floor)', args: ['-e', '0'] },
  { id: 'help', label: 'mailport --help', args: [mainScript, '--help'] },
  { id: 'version', label: 'mailport --version', args: [mainScript, '--version'] },
  { id: 'send-help', label: 'mailport send --help', args: [mainScript, 'send', '--help'] },
  { id: 'usage-error', label: 'mailport send --no-such-flag', args: [mainScript, 'send', '--no-such-flag'] },
  { id: 'dry-run', label: 'mailport send --dry-run (renders a message)', args: [mainScript, ...dryRun] },
  {
    id: 'dry-run-no-cache',
    label: 'the same, compile cache off',
    args: [mainScript, ...dryRun],
    env: { NODE_DISABLE_COMPILE_CACHE: '1' },
  },
];

/** One command's numbers. */
export interface StartupResult {
  readonly id: string;
  readonly label: string;
  readonly roundsMs: readonly number[];
  readonly medianMs: number;
  /** Median minus the median of `node -e 0`. */
  readonly overNodeMs: number;
  /** Median over the median of `node -e 0`. */
  readonly toNode: number;
}

/** Everything the start-up benchmark measured. */
export interface CliStartupResult {
  readonly warmUpRounds: number;
  readonly measuredRounds: number;
  readonly commands: readonly StartupResult[];
  /** `mailport --help` over `node -e 0`, in ms (medians). */
  readonly helpOverNodeMs: number;
  readonly pass: boolean;
}

function timeOnce(command: Command): number {
  const environment: NodeJS.ProcessEnv = { ...process.env, ...command.env };
  delete environment.NODE_OPTIONS;
  delete environment.MAILPORT_URL;
  const started = performance.now();
  const child = spawnSync(process.execPath, command.args, { env: environment, stdio: 'ignore' });
  const elapsed = performance.now() - started;
  const expected = command.id === 'usage-error' ? 2 : 0;
  if (child.status !== expected) throw new Error(`${command.label} exited with ${child.status ?? child.signal}, not ${expected}`);
  return elapsed;
}

/** Runs the warm-up and measured rounds; writes a line per measured round to `log`. */
export function runCliStartup(log: (line: string) => void): CliStartupResult {
  if (!existsSync(mainScript)) throw new Error(`${mainScript} is missing: run \`npm run build\` first`);
  const rounds = new Map<string, number[]>(commands.map((command) => [command.id, []]));
  for (let round = 0; round < cliWarmUpRounds + cliMeasuredRounds; round++) {
    const order = commands.map((_, index) => commands[(index + round) % commands.length] as Command);
    const times = new Map(order.map((command) => [command.id, timeOnce(command)]));
    if (round < cliWarmUpRounds) continue;
    for (const [id, ms] of times) rounds.get(id)?.push(ms);
    if ((round - cliWarmUpRounds) % 5 === 4) {
      log(
        `round ${round - cliWarmUpRounds + 1}/${cliMeasuredRounds}: ${commands.map((command) => `${command.id} ${times.get(command.id)?.toFixed(0)}`).join('  ')} ms`,
      );
    }
  }
  const nodeMedian = median(rounds.get('node') ?? []);
  const results = commands.map((command): StartupResult => {
    const roundsMs = rounds.get(command.id) ?? [];
    const medianMs = median(roundsMs);
    return { id: command.id, label: command.label, roundsMs, medianMs, overNodeMs: medianMs - nodeMedian, toNode: medianMs / nodeMedian };
  });
  const helpOverNodeMs = results.find((result) => result.id === 'help')?.overNodeMs ?? Number.NaN;
  return {
    warmUpRounds: cliWarmUpRounds,
    measuredRounds: cliMeasuredRounds,
    commands: results,
    helpOverNodeMs,
    pass: helpOverNodeMs <= cliStartupGoalMs,
  };
}

/** The table and the goal line. */
export function formatCliStartup(result: CliStartupResult): string {
  const table = formatTable(
    ['Command', 'Median ms', 'Over node -e 0, ms', 'x node -e 0', 'Fastest..slowest ms'],
    result.commands.map((command) => [
      command.label,
      command.medianMs.toFixed(1),
      command.id === 'node' ? '' : command.overNodeMs.toFixed(1),
      command.toNode.toFixed(2),
      `${Math.min(...command.roundsMs).toFixed(0)}..${Math.max(...command.roundsMs).toFixed(0)}`,
    ]),
    [1, 2, 3, 4],
  );
  return [
    table,
    '',
    `Goal: mailport --help <= ${cliStartupGoalMs} ms over node -e 0: ${verdict(result.pass)} (${result.helpOverNodeMs.toFixed(1)} ms)`,
  ].join('\n');
}
