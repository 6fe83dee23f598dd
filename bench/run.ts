/**
 * `npm run bench -- <name>`: runs a benchmark and prints its report.
 *
 *   smtp    SMTP throughput (mailport vs nodemailer) and the large-message memory benchmark;
 *           writes bench/results/smtp.json
 *   memory  the large-message memory benchmark alone (prints only)
 *   http    SES, Gmail and Graph throughput against the sandbox (mailport vs the raw SDKs);
 *           writes bench/results/http.json
 *   bulk    `mailport send --csv` (the built CLI) at 1,000, 100,000 and 1,000,000 rows: rows/s
 *           and peak RSS; writes bench/results/bulk.json (`--quick`: 1,000 rows, prints only;
 *           `--rows N,N,...`: those sizes, prints only)
 *   cli     the CLI's start-up (`mailport --help` and other short commands) against `node -e 0`;
 *           writes bench/results/cli.json
 *   docs    docs/benchmarks.md from the saved results, without running anything (smtp, http
 *           and bulk also rewrite it once their results are saved)
 *
 * This process only orchestrates and prints: the SMTP sink, the sandbox and every sender run in
 * child processes, so none of their work or memory is counted here.
 */
import { fileURLToPath } from 'node:url';
import { concurrency, largeMessageRuns, measuredRounds, messagesPerRound, warmUpRounds } from './bench-content.ts';
import { describeMachine, formatMachine, type MachineInfo, megabytes, writeResults } from './bench-report.ts';
import { bulkQuickSizes, bulkRssGoal, bulkSizes } from './bulk-content.ts';
import { type BulkResult, formatBulk, runBulk } from './bulk-throughput.ts';
import {
  type CliStartupResult,
  cliMeasuredRounds,
  cliStartupGoalMs,
  cliWarmUpRounds,
  formatCliStartup,
  runCliStartup,
} from './cli-startup.ts';
import { writeDocsPage } from './docs-page.ts';
import { httpConcurrency, httpMeasuredRounds, httpMessagesPerRound, httpWarmUpRounds } from './http-content.ts';
import { formatHttpGoals, formatHttpProvider, type HttpResult, httpResultsJson, runHttp } from './http-throughput.ts';
import { formatMemory, type MemoryResult, memoryGoal, runMemory } from './smtp-memory.ts';
import { formatThroughput, runThroughput, type ThroughputResult, throughputGoal } from './smtp-throughput.ts';

const usage = `usage: npm run bench -- <benchmark>

  smtp    SMTP throughput against nodemailer, then the 40 MB memory benchmark;
          saves the numbers to bench/results/smtp.json
  memory  only the 40 MB memory benchmark
  http    SES, Gmail and Graph throughput against the sandbox, mailport against the raw SDKs;
          saves the numbers to bench/results/http.json
  bulk    mailport send --csv (the built CLI) at 1,000, 100,000 and 1,000,000 rows to a loopback
          SMTP sink: rows/s and peak RSS; saves the numbers to bench/results/bulk.json
          (about 10 minutes). --quick: 1,000 rows only; --rows 1000,10000: those sizes
          (neither saves anything)
  cli     the CLI's start-up: mailport --help and other short commands against node -e 0
          (about 20 seconds); saves the numbers to bench/results/cli.json
  dkim    DKIM signing time and peak memory by message size (10 KB to 40 MB) and key type
          (RSA 2048, Ed25519, both), each case in its own process; prints only
  edge    bundle size per transport in a Worker, and ms/message for ses://, gmail://, graph:// on
          Node, Bun, Deno and workerd against the sandbox; saves bench/results/edge.json
          (--count N: sends per case, default 200)
  events  SNS notifications verified per second (@mailport/events/ses against AWS's sns-validator)
          and bounce reports parsed per second (parseReport against mailparser's simpleParser),
          with peak RSS (about 20 seconds); saves bench/results/events.json
  docs    writes docs/benchmarks.md from the saved results; runs nothing`;

/** Prints the heading every report starts with: what ran, where and when. */
function printHeading(title: string, machine: MachineInfo, date: Date): void {
  console.log(title);
  console.log(`Machine: ${formatMachine(machine)}`);
  console.log(`Date:    ${date.toISOString()}`);
  console.log('');
}

async function memoryBenchmark(): Promise<MemoryResult> {
  console.log(`Memory: one message of about 40 MB through mailport's SMTP transport, ${largeMessageRuns} runs`);
  const result = await runMemory();
  console.log(formatMemory(result));
  return result;
}

async function smtpBenchmark(): Promise<void> {
  const machine = describeMachine();
  const date = new Date();
  printHeading('mailport SMTP benchmark', machine, date);

  console.log(
    `Throughput: ${messagesPerRound.toLocaleString('en-US')} messages of about 5 KB (text + HTML) per round to a loopback smtp-server ` +
      `in its own process, ${concurrency} in flight; ${warmUpRounds} warm-up rounds, then ${measuredRounds} rounds with the order rotated`,
  );
  const throughput = await runThroughput((line) => console.log(`  ${line}`));
  console.log('');
  console.log(formatThroughput(throughput));
  console.log('');
  const memory = await memoryBenchmark();
  await saveResults(machine, date, throughput, memory);
  console.log('');
  console.log('Saved to bench/results/smtp.json');
  console.log(`Wrote ${await writeDocsPage()}`);
}

async function httpBenchmark(): Promise<void> {
  const machine = describeMachine();
  const date = new Date();
  printHeading('mailport HTTP transports benchmark', machine, date);
  console.log(
    `Throughput: ${httpMessagesPerRound.toLocaleString('en-US')} messages of about 5 KB (text + HTML) per round and variant, through ` +
      'SES v2, the Gmail API and Microsoft Graph to the mailport sandbox in its own process; mailport (sendMany) against the raw SDK ' +
      `at the same concurrency (SES ${httpConcurrency.ses}, Gmail ${httpConcurrency.gmail}, Graph ${httpConcurrency.graph} in flight) ` +
      `and one message at a time; ${httpWarmUpRounds} warm-up rounds, then ${httpMeasuredRounds} rounds with the order rotated`,
  );
  const result: HttpResult = await runHttp((line) => console.log(`  ${line}`));
  for (const provider of result.providers) {
    console.log('');
    console.log(formatHttpProvider(provider));
  }
  console.log('');
  console.log(formatHttpGoals(result));
  await writeResults('http', machine, date, httpResultsJson(result));
  console.log('');
  console.log('Saved to bench/results/http.json');
  console.log(`Wrote ${await writeDocsPage()}`);
}

async function bulkBenchmark(options: readonly string[]): Promise<void> {
  const quick = options.includes('--quick');
  const rowsOption = options[options.indexOf('--rows') + 1];
  const sizes = quick ? bulkQuickSizes : options.includes('--rows') ? parseSizes(rowsOption) : bulkSizes;
  const machine = describeMachine();
  const date = new Date();
  printHeading('mailport bulk sending benchmark', machine, date);
  console.log(
    `mailport send --csv FILE --url smtp://127.0.0.1:PORT (the built CLI, a child process) at ${sizes.map((size) => size.toLocaleString('en-US')).join(', ')} rows, ` +
      'one templated message (text + HTML) per row to a loopback smtp-server in its own process; peak RSS of the command from GNU time',
  );
  const result: BulkResult = await runBulk(sizes, (line) => console.log(`  ${line}`));
  console.log('');
  console.log(formatBulk(result));
  if (sizes !== bulkSizes) {
    console.log('');
    console.log('Not saved: only a full run (npm run bench -- bulk) writes bench/results/bulk.json.');
    return;
  }
  await writeResults('bulk', machine, date, {
    concurrency: result.concurrency,
    runs: result.runs.map((run) => ({
      rows: run.rows,
      csvMb: Math.round(run.csvBytes / 10_000) / 100,
      rowsPerSecond: Math.round(run.rowsPerSecond),
      wallSeconds: round(run.wallMs / 1000, 1),
      commandSeconds: round(run.commandElapsedMs / 1000, 1),
      cpuSeconds: round(run.cpuSeconds, 1),
      peakRssMb: megabytes(run.peakRssBytes),
      journalMb: megabytes(run.journalBytes),
      bytesPerMessage: Math.round(run.bytesPerMessage),
    })),
    rssGrowth: round(result.rssGrowth, 2),
    rssGrowthFromSmallest: round(result.rssGrowthFromSmallest, 2),
    goal: { description: `peak RSS at the largest size <= ${bulkRssGoal}x the size before it`, pass: result.pass },
  });
  console.log('');
  console.log('Saved to bench/results/bulk.json');
  console.log(`Wrote ${await writeDocsPage()}`);
}

async function cliBenchmark(): Promise<void> {
  const machine = describeMachine();
  const date = new Date();
  printHeading('mailport CLI start-up benchmark', machine, date);
  console.log(
    `Each command from spawn to exit, on this Node (${process.execPath}); the commands alternate within every round; ` +
      `${cliWarmUpRounds} warm-up rounds, then ${cliMeasuredRounds} measured`,
  );
  const result: CliStartupResult = runCliStartup((line) => console.log(`  ${line}`));
  console.log('');
  console.log(formatCliStartup(result));
  await writeResults('cli', machine, date, {
    warmUpRounds: result.warmUpRounds,
    measuredRounds: result.measuredRounds,
    commands: result.commands.map((command) => ({
      id: command.id,
      label: command.label,
      medianMs: round(command.medianMs, 1),
      overNodeMs: round(command.overNodeMs, 1),
      toNode: round(command.toNode, 2),
      roundsMs: command.roundsMs.map((ms) => round(ms, 1)),
    })),
    helpOverNodeMs: round(result.helpOverNodeMs, 1),
    goal: { description: `mailport --help <= ${cliStartupGoalMs} ms over node -e 0 (medians)`, pass: result.pass },
  });
  console.log('');
  console.log('Saved to bench/results/cli.json');
  console.log(`Wrote ${await writeDocsPage()}`);
}

/** `1000,10000` as sizes. */
function parseSizes(text: string | undefined): readonly number[] {
  const sizes = (text ?? '').split(',').map(Number);
  if (sizes.length === 0 || sizes.some((size) => !Number.isInteger(size) || size < 1)) {
    throw new Error(`--rows needs sizes like 1000,10000, not ${text}`);
  }
  return sizes;
}

/** Writes the run's numbers for the docs to quote, replacing the file only once it is complete. */
async function saveResults(machine: MachineInfo, date: Date, throughput: ThroughputResult, memory: MemoryResult): Promise<void> {
  await writeResults('smtp', machine, date, {
    throughput: {
      messagesPerRound: throughput.messagesPerRound,
      concurrency: throughput.concurrency,
      warmUpRounds: throughput.warmUpRounds,
      measuredRounds: throughput.measuredRounds,
      variants: throughput.variants.map((variant) => ({
        id: variant.id,
        label: variant.label,
        medianMessagesPerSecond: Math.round(variant.medianPerSecond),
        roundsMessagesPerSecond: variant.roundsPerSecond.map(Math.round),
        senderCpuMsPerMessage: round(variant.cpuMsPerMessage, 3),
        bytesPerMessage: Math.round(variant.bytesPerMessage),
        peakRssMb: megabytes(variant.peakRssBytes),
      })),
      ratios: {
        mailportToNodemailerPooled: round(throughput.mailportToNodemailerPooled, 3),
        mailportToNodemailerPerMessage: round(throughput.mailportToNodemailerPerMessage, 3),
        senderCpuMailportToNodemailerPooled: round(throughput.cpuMailportToNodemailerPooled, 3),
      },
      goal: { description: `mailport >= ${throughputGoal}x nodemailer pooled`, pass: throughput.pass },
    },
    memory: {
      messageBytes: memory.messageBytes,
      attachmentBytes: memory.attachmentBytes,
      runs: memory.runs.map((run) => ({
        baselineRssMb: megabytes(run.baselineRssBytes),
        peakRssMb: megabytes(run.peakRssBytes),
        growthMb: megabytes(run.growthBytes),
        growthPerMessageSize: round(run.growthPerMessageSize, 2),
        sendSeconds: round(run.elapsedMs / 1000, 2),
      })),
      median: {
        baselineRssMb: megabytes(memory.median.baselineRssBytes),
        peakRssMb: megabytes(memory.median.peakRssBytes),
        growthMb: megabytes(memory.median.growthBytes),
        growthPerMessageSize: round(memory.median.growthPerMessageSize, 2),
      },
      goal: { description: `growth <= ${memoryGoal}x the message size`, pass: memory.pass },
    },
  });
}

function round(value: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

const benchmark = process.argv[2];
try {
  if (benchmark === 'smtp') {
    await smtpBenchmark();
  } else if (benchmark === 'http') {
    await httpBenchmark();
  } else if (benchmark === 'cli') {
    await cliBenchmark();
  } else if (benchmark === 'bulk') {
    await bulkBenchmark(process.argv.slice(3));
  } else if (benchmark === 'docs') {
    console.log(`Wrote ${await writeDocsPage()} from the saved bench/results/*.json`);
  } else if (benchmark === 'queue') {
    // @mailport/queue-bullmq: enqueue rate, 1/2/4 worker processes vs sendMany, the limiter's accuracy (bench/queue.ts).
    await (await import('./queue.ts')).main(process.argv.slice(3));
  } else if (benchmark === 'edge') {
    // Bundle size per transport and ms/message on Node, Bun, Deno and workerd (bench/edge.ts).
    await (await import('./edge.ts')).main(process.argv.slice(3));
  } else if (benchmark === 'dkim') {
    // DKIM signing time and memory by message size and key type, each case in its own process (bench/dkim.ts).
    await (await import('./dkim.ts')).main();
  } else if (benchmark === 'events') {
    // SNS verification and report parsing against sns-validator and simpleParser, each case in its own process (bench/events.ts).
    await (await import('./events.ts')).main();
  } else if (benchmark === 'memory') {
    printHeading('mailport memory benchmark', describeMachine(), new Date());
    await memoryBenchmark();
  } else {
    console.error(benchmark === undefined ? usage : `Unknown benchmark "${benchmark}".\n\n${usage}`);
    process.exitCode = 1;
  }
} catch (error) {
  console.error(`\n${fileURLToPath(import.meta.url)}: the benchmark did not complete`);
  console.error(error);
  process.exitCode = 1;
}
