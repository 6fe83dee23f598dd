/**
 * Writes docs/benchmarks.md from the saved results (bench/results/smtp.json, http.json, bulk.json, cli.json, events.json):
 * the machine, the date, what was measured, the tables and the goals. `run.ts` calls it after
 * saving results; `npm run bench -- docs` calls it alone, without running anything.
 *
 * The page is generated: edit this file, not the page.
 */
import { readFile, rename, writeFile } from 'node:fs/promises';

/** The machine as saved in a results file. */
interface SavedMachine {
  readonly cpu: string;
  readonly cores: number;
  readonly memoryMb: number;
  readonly node: string;
  readonly platform: string;
}

/** `results/smtp.json`, as `run.ts` writes it. */
interface SmtpResults {
  readonly date: string;
  readonly machine: SavedMachine;
  readonly throughput: {
    readonly messagesPerRound: number;
    readonly concurrency: number;
    readonly warmUpRounds: number;
    readonly measuredRounds: number;
    readonly variants: readonly {
      readonly label: string;
      readonly medianMessagesPerSecond: number;
      readonly roundsMessagesPerSecond: readonly number[];
      /** Absent from results saved before it was measured. */
      readonly senderCpuMsPerMessage?: number | undefined;
      readonly bytesPerMessage: number;
      readonly peakRssMb: number;
    }[];
    readonly ratios: {
      readonly mailportToNodemailerPooled: number;
      readonly mailportToNodemailerPerMessage: number;
      readonly senderCpuMailportToNodemailerPooled?: number | undefined;
    };
    readonly goal: { readonly description: string; readonly pass: boolean };
  };
  readonly memory: {
    readonly messageBytes: number;
    readonly attachmentBytes: number;
    readonly runs: readonly {
      readonly baselineRssMb: number;
      readonly peakRssMb: number;
      readonly growthMb: number;
      readonly growthPerMessageSize: number;
    }[];
    readonly median: {
      readonly baselineRssMb: number;
      readonly peakRssMb: number;
      readonly growthMb: number;
      readonly growthPerMessageSize: number;
    };
    readonly goal: { readonly description: string; readonly pass: boolean };
  };
}

/** `results/http.json`, as `run.ts` writes it. */
interface HttpResults {
  readonly date: string;
  readonly machine: SavedMachine;
  readonly messagesPerRound: number;
  readonly warmUpRounds: number;
  readonly measuredRounds: number;
  readonly goal: string;
  readonly providers: readonly {
    readonly title: string;
    readonly concurrency: number;
    readonly variants: readonly {
      readonly label: string;
      readonly medianMessagesPerSecond: number;
      readonly roundsMessagesPerSecond: readonly number[];
      readonly bytesPerMessage: number;
      readonly senderCpuMsPerMessage: number;
      readonly sandboxCpuShare: number;
      readonly peakRssMb: number;
      readonly refusedRequests: number;
      readonly retriedMessages: number;
    }[];
    readonly ratios: { readonly mailportToSdkConcurrent: number; readonly mailportToSdkSequential: number };
    readonly pass: boolean;
  }[];
}

/** `results/bulk.json`, as `run.ts` writes it. */
interface BulkResults {
  readonly date: string;
  readonly machine: SavedMachine;
  readonly concurrency: string;
  readonly runs: readonly {
    readonly rows: number;
    readonly csvMb: number;
    readonly rowsPerSecond: number;
    readonly wallSeconds: number;
    readonly cpuSeconds: number;
    readonly peakRssMb: number;
    readonly journalMb: number;
    readonly bytesPerMessage: number;
  }[];
  readonly rssGrowth: number;
  readonly rssGrowthFromSmallest: number;
  readonly goal: { readonly description: string; readonly pass: boolean };
}

/** `results/cli.json`, as `run.ts` writes it. */
interface CliResults {
  readonly date: string;
  readonly machine: SavedMachine;
  readonly warmUpRounds: number;
  readonly measuredRounds: number;
  readonly commands: readonly {
    readonly id: string;
    readonly label: string;
    readonly medianMs: number;
    readonly overNodeMs: number;
    readonly toNode: number;
  }[];
  readonly helpOverNodeMs: number;
  readonly goal: { readonly description: string; readonly pass: boolean };
}

/** `results/events.json`, as `events.ts` writes it. */
interface EventsResults {
  readonly date: string;
  readonly machine: SavedMachine;
  readonly sns: {
    readonly messagesSent: number;
    readonly passesPerRound: number;
    readonly rounds: number;
    readonly results: readonly {
      readonly signatureVersion: string;
      readonly verifier: string;
      readonly notifications: number;
      readonly perSecond: number;
      readonly ratioToSnsValidator: number;
      readonly peakRssMb: number;
    }[];
  };
  readonly reports: {
    readonly passesPerRound: number;
    readonly rounds: number;
    readonly results: readonly {
      readonly parser: string;
      readonly reports: number;
      readonly perSecond: number;
      readonly ratioToSimpleParser: number;
      readonly ratioToLeanSimpleParser: number;
      readonly peakRssMb: number;
    }[];
  };
}

const resultsDirectory = new URL('./results/', import.meta.url);
const page = new URL('../docs/benchmarks.md', import.meta.url);

/** Reads a results file; undefined when the benchmark has not been run (no file yet). */
async function readResults<T>(name: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(new URL(`${name}.json`, resultsDirectory), 'utf8')) as T;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/**
 * A Markdown table with padded columns, so the source reads as a table too. Columns listed in
 * `rightAligned` are numbers: right-aligned in the source and when rendered.
 */
export function markdownTable(
  headers: readonly string[],
  rows: readonly (readonly string[])[],
  rightAligned: readonly number[] = [],
): string {
  const widths = headers.map((header, column) => Math.max(3, header.length, ...rows.map((row) => (row[column] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    `| ${cells.map((cell, column) => (rightAligned.includes(column) ? cell.padStart(widths[column] ?? 0) : cell.padEnd(widths[column] ?? 0))).join(' | ')} |`;
  const rule = `| ${widths.map((width, column) => (rightAligned.includes(column) ? `${'-'.repeat(width - 1)}:` : '-'.repeat(width))).join(' | ')} |`;
  return [line(headers), rule, ...rows.map(line)].join('\n');
}

/** `AMD EPYC, 2 cores, 25.3 GB RAM, Node v24.21.0, linux x64`, as the console report prints it. */
function machineLine(machine: SavedMachine): string {
  return `${machine.cpu}, ${machine.cores} cores, ${(machine.memoryMb / 1000).toFixed(1)} GB RAM, Node ${machine.node}, ${machine.platform}`;
}

/** `2026-11-21 10:32 UTC` */
function dateLine(iso: string): string {
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;
}

const count = (value: number): string => Math.round(value).toLocaleString('en-US');
const ratio = (value: number): string => `${value.toFixed(2)}x`;
const verdict = (pass: boolean): string => (pass ? '**PASS**' : '**FAIL**');

function goalsSection(
  smtp: SmtpResults | undefined,
  http: HttpResults | undefined,
  bulk: BulkResults | undefined,
  cli: CliResults | undefined,
): string {
  const rows: string[][] = [];
  if (smtp !== undefined) {
    rows.push([
      'SMTP throughput',
      smtp.throughput.goal.description,
      ratio(smtp.throughput.ratios.mailportToNodemailerPooled),
      verdict(smtp.throughput.goal.pass),
    ]);
    rows.push([
      'SMTP memory, one large message',
      smtp.memory.goal.description,
      ratio(smtp.memory.median.growthPerMessageSize),
      verdict(smtp.memory.goal.pass),
    ]);
  }
  for (const provider of http?.providers ?? []) {
    rows.push([
      `${provider.title} throughput`,
      `${http?.goal} (${provider.concurrency} in flight)`,
      ratio(provider.ratios.mailportToSdkConcurrent),
      verdict(provider.pass),
    ]);
  }
  if (bulk !== undefined) {
    rows.push(['Bulk sending (`mailport send --csv`), memory', bulk.goal.description, ratio(bulk.rssGrowth), verdict(bulk.goal.pass)]);
  }
  if (cli !== undefined) {
    rows.push(['CLI start-up', cli.goal.description, `${cli.helpOverNodeMs.toFixed(0)} ms`, verdict(cli.goal.pass)]);
  }
  if (rows.length === 0) return 'No results saved yet: run `npm run bench -- smtp` and `npm run bench -- http`.';
  return markdownTable(['Benchmark', 'Goal', 'Measured', 'Result'], rows, [2]);
}

/** mailport's msg/s over nodemailer pooled's in each measured round (the first two variants, as saved). */
function roundByRound(variants: SmtpResults['throughput']['variants']): number[] {
  const [mailport, nodemailer] = variants;
  return (mailport?.roundsMessagesPerSecond ?? []).map(
    (perSecond, index) => perSecond / (nodemailer?.roundsMessagesPerSecond[index] ?? Number.NaN),
  );
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((left, right) => left - right);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] ?? Number.NaN)
    : ((sorted[middle - 1] ?? Number.NaN) + (sorted[middle] ?? Number.NaN)) / 2;
}

function smtpSection(smtp: SmtpResults | undefined): string {
  if (smtp === undefined) return '## SMTP\n\nNot run yet: `npm run bench -- smtp` writes `bench/results/smtp.json`.';
  const { throughput, memory } = smtp;
  const variants = markdownTable(
    ['Variant', 'Median msg/s', 'Rounds, msg/s', 'Sender CPU ms/msg', 'KB/msg', 'Peak RSS MB'],
    throughput.variants.map((variant) => [
      variant.label,
      count(variant.medianMessagesPerSecond),
      variant.roundsMessagesPerSecond.map(count).join(' '),
      variant.senderCpuMsPerMessage?.toFixed(2) ?? '',
      (variant.bytesPerMessage / 1000).toFixed(1),
      variant.peakRssMb.toFixed(1),
    ]),
    [1, 3, 4, 5],
  );
  const runs = markdownTable(
    ['Run', 'Baseline RSS MB', 'Peak RSS MB', 'Growth MB', 'Growth / message size'],
    [
      ...memory.runs.map((run, index) => [
        String(index + 1),
        run.baselineRssMb.toFixed(1),
        run.peakRssMb.toFixed(1),
        run.growthMb.toFixed(1),
        ratio(run.growthPerMessageSize),
      ]),
      [
        'median',
        memory.median.baselineRssMb.toFixed(1),
        memory.median.peakRssMb.toFixed(1),
        memory.median.growthMb.toFixed(1),
        ratio(memory.median.growthPerMessageSize),
      ],
    ],
    [1, 2, 3, 4],
  );
  return `## SMTP

Run on ${machineLine(smtp.machine)}, ${dateLine(smtp.date)} (\`bench/results/smtp.json\`).

### Throughput

${count(throughput.messagesPerRound)} messages of about 5 KB (text and HTML) per round to a loopback \`smtp-server\` in its own process that requires STARTTLS and AUTH, as a submission server does, ${throughput.concurrency} sends in flight. Each variant runs in its own process: ${throughput.warmUpRounds} warm-up rounds that are not counted, then ${throughput.measuredRounds} measured rounds with the order of the variants rotated every round. Each round does what an application's batch job does: mailport creates a fresh mailer from a transport URL (\`createMailer({ transport: 'smtp://user:pass@127.0.0.1:PORT?max_connections=${throughput.concurrency}&require_tls=true&ca_file=...' })\`, then \`sendMany\` with plain inputs, so validating and rendering every message is part of its time); nodemailer a fresh transporter with the same pool size, TLS requirement, CA and credentials. **Sender CPU ms/msg** is the sending process's CPU time per message, the median over the rounds: the client's own cost, and the steadiest figure when the machine is busy.

${variants}

- mailport / nodemailer pooled: **${ratio(throughput.ratios.mailportToNodemailerPooled)}**. Goal (${throughput.goal.description}): ${verdict(throughput.goal.pass)}.
- Round by round (within a round the variants run one after the other, so each pair saw the same load): ${roundByRound(throughput.variants).map(ratio).join(' ')}; median ${ratio(median(roundByRound(throughput.variants)))}.
${throughput.ratios.senderCpuMailportToNodemailerPooled === undefined ? '' : `- Sender CPU per message, mailport / nodemailer pooled: ${ratio(throughput.ratios.senderCpuMailportToNodemailerPooled)} (below 1: mailport costs less).\n`}- mailport / nodemailer with one connection per message: ${ratio(throughput.ratios.mailportToNodemailerPerMessage)}. The sink holds its greeting 100 ms on every new connection, so that variant shows what pooling is worth, not a speed limit of nodemailer.

### Memory

One message of ${(memory.messageBytes / 1_000_000).toFixed(1)} MB of rendered MIME (a ${(memory.attachmentBytes / 1_000_000).toFixed(0)} MB attachment) through mailport's SMTP transport, from a fresh process per run. Baseline: the process's RSS just before the attachment is created (after one small message, so that code loaded on first use is counted in it). Peak: the process's maximum RSS. Growth includes the attachment buffer itself, which a caller holds anyway.

${runs}

Goal (${memory.goal.description}, median run): ${verdict(memory.goal.pass)}.`;
}

function httpSection(http: HttpResults | undefined): string {
  if (http === undefined) return '## HTTP APIs\n\nNot run yet: `npm run bench -- http` writes `bench/results/http.json`.';
  const providers = http.providers.map((provider) => {
    const table = markdownTable(
      ['Variant', 'Median msg/s', 'Rounds, msg/s', 'KB/msg', 'Sender CPU ms/msg', 'Sandbox CPU', 'Peak RSS MB'],
      provider.variants.map((variant) => [
        variant.label,
        count(variant.medianMessagesPerSecond),
        variant.roundsMessagesPerSecond.map(count).join(' '),
        (variant.bytesPerMessage / 1000).toFixed(1),
        variant.senderCpuMsPerMessage.toFixed(2),
        `${Math.round(variant.sandboxCpuShare * 100)}%`,
        variant.peakRssMb.toFixed(1),
      ]),
      [1, 3, 4, 5, 6],
    );
    const refused = provider.variants.reduce((sum, variant) => sum + variant.refusedRequests, 0);
    const retried = provider.variants.reduce((sum, variant) => sum + variant.retriedMessages, 0);
    return `### ${provider.title}, ${provider.concurrency} in flight

${table}

- mailport / raw SDK at ${provider.concurrency} in flight: **${ratio(provider.ratios.mailportToSdkConcurrent)}**. Goal: ${verdict(provider.pass)}.
- mailport / raw SDK one message at a time: ${ratio(provider.ratios.mailportToSdkSequential)}.
- Requests the sandbox refused: ${refused}; messages mailport sent on a second attempt: ${retried}.`;
  });
  return `## HTTP APIs

Run on ${machineLine(http.machine)}, ${dateLine(http.date)} (\`bench/results/http.json\`).

${count(http.messagesPerRound)} messages of about 5 KB (text and HTML) per round and variant through Amazon SES v2, the Gmail API and Microsoft Graph, to the mailport sandbox running in its own process. For each provider, mailport (\`sendMany\`) is compared with the provider's own SDK at the same concurrency, and with the SDK sending one message at a time. ${http.warmUpRounds} warm-up rounds, then ${http.measuredRounds} measured rounds with the order of the variants rotated every round; every round builds a fresh client and pays for its own token and connections. Goal: ${http.goal}.

- **Sender CPU ms/msg**: the sending process's CPU time per message, the median over the rounds.
- **Sandbox CPU**: the sandbox process's CPU time over the round's wall time (100% is one core). Near 100%, the sandbox is the bottleneck, not the client.
- **Graph** is bounded by the sandbox on purpose: it holds every Graph request 10 ms (Exchange's answers take tens of ms) and allows 4 in flight per mailbox, as Graph does, so 4 in flight cannot pass 400 msg/s.
- The raw Graph variant sends a JSON message with the HTML body only (the SDK's usual way), hence fewer KB per message; mailport sends MIME with both bodies.

${providers.join('\n\n')}`;
}

function bulkSection(bulk: BulkResults | undefined): string {
  if (bulk === undefined) return '## Bulk sending\n\nNot run yet: `npm run bench -- bulk` writes `bench/results/bulk.json`.';
  const table = markdownTable(
    ['Rows', 'CSV MB', 'Rows/s', 'Wall s', 'CPU s', 'Peak RSS MB', 'Journal MB', 'KB/msg'],
    bulk.runs.map((run) => [
      count(run.rows),
      run.csvMb.toFixed(2),
      count(run.rowsPerSecond),
      run.wallSeconds.toFixed(1),
      run.cpuSeconds.toFixed(1),
      run.peakRssMb.toFixed(1),
      run.journalMb.toFixed(1),
      (run.bytesPerMessage / 1000).toFixed(1),
    ]),
    [0, 1, 2, 3, 4, 5, 6, 7],
  );
  return `## Bulk sending

Run on ${machineLine(bulk.machine)}, ${dateLine(bulk.date)} (\`bench/results/bulk.json\`).

The real command, \`mailport send --csv FILE --url smtp://127.0.0.1:PORT\` with subject, text and HTML templates (the built CLI, in a process of its own), one message per row of a generated CSV, to a loopback \`smtp-server\` in another process (plain SMTP: the CLI requires STARTTLS only off loopback). Concurrency: ${bulk.concurrency}. **Rows/s** counts the whole command (start-up, reading the CSV, the journal, the summary); **peak RSS** is the command's, from the kernel (GNU \`time\`). The journal is written to the same disk; each row's start is on it before the row's message is sent (one flush per batch of rows).

${table}

Goal (${bulk.goal.description}): ${verdict(bulk.goal.pass)} (${ratio(bulk.rssGrowth)}; ${ratio(bulk.rssGrowthFromSmallest)} from the smallest size, which ends before V8's heap has grown to its working size).`;
}

function cliSection(cli: CliResults | undefined): string {
  if (cli === undefined) return '## CLI start-up\n\nNot run yet: `npm run bench -- cli` writes `bench/results/cli.json`.';
  const table = markdownTable(
    ['Command', 'Median ms', 'Over node -e 0, ms', 'x node -e 0'],
    cli.commands.map((command) => [
      command.label,
      command.medianMs.toFixed(1),
      command.id === 'node' ? '' : command.overNodeMs.toFixed(1),
      ratio(command.toNode),
    ]),
    [1, 2, 3],
  );
  return `## CLI start-up

Run on ${machineLine(cli.machine)}, ${dateLine(cli.date)} (\`bench/results/cli.json\`).

Each command from spawning the process until it exited, against a bare \`node -e 0\` on the same Node; the commands alternate within every round. ${cli.warmUpRounds} warm-up rounds (they also fill Node's compile cache, which the CLI enables), then ${cli.measuredRounds} measured rounds; medians.

${table}

Goal, ${cli.goal.description}: ${verdict(cli.goal.pass)} (${cli.helpOverNodeMs.toFixed(1)} ms).`;
}

function eventsSection(events: EventsResults | undefined): string {
  if (events === undefined)
    return '## After the send: events\n\nNot run yet: `npm run bench -- events` writes `bench/results/events.json`.';
  const sns = markdownTable(
    ['Signature', 'Verifier', 'Per second', 'x sns-validator', 'Peak RSS MB'],
    events.sns.results.map((result) => [
      `v${result.signatureVersion}`,
      result.verifier,
      count(result.perSecond),
      ratio(result.ratioToSnsValidator),
      result.peakRssMb.toFixed(0),
    ]),
    [2, 3, 4],
  );
  const reports = markdownTable(
    ['Parser', 'Per second', 'x simpleParser', 'x lean simpleParser', 'Peak RSS MB'],
    events.reports.results.map((result) => [
      result.parser,
      count(result.perSecond),
      ratio(result.ratioToSimpleParser),
      ratio(result.ratioToLeanSimpleParser),
      result.peakRssMb.toFixed(0),
    ]),
    [1, 2, 3, 4],
  );
  const corpus = events.reports.results[0]?.reports ?? 0;
  return `## After the send: events

Run on ${machineLine(events.machine)}, ${dateLine(events.date)} (\`bench/results/events.json\`).

SNS notifications verified per second, one at a time, by \`verifySnsMessage\` and the whole \`createSesWebhook\` handler (a Fetch \`Request\` read, verified and mapped to events) against AWS's \`sns-validator\`, over the same notifications: ${events.sns.messagesSent} messages to the mailbox simulator, signed by the sandbox, the certificate served over https on loopback and cached (the first pass is not measured). Each in its own process; the better of two runs of ${events.sns.rounds} rounds.

${sns}

Reports parsed per second by \`parseReport\` over the fixture corpus (${corpus} reports: Postfix, Exim, Exchange Online, Gmail, SES, ARF, auto-replies, malformed MIME), against mailparser's \`simpleParser\` alone with its defaults, and with the options \`parseReport\` gives mailparser ("lean": no HTML to text, no links, the returned message not parsed). Against the lean run, the ratio is the cost of the report layer itself.

${reports}`;
}

/** The whole page, from whatever results are saved. */
export async function renderDocsPage(): Promise<string> {
  const smtp = await readResults<SmtpResults>('smtp');
  const http = await readResults<HttpResults>('http');
  const bulk = await readResults<BulkResults>('bulk');
  const cli = await readResults<CliResults>('cli');
  const events = await readResults<EventsResults>('events');
  return `# Benchmarks

What mailport costs compared with the libraries an application would use without it: nodemailer for SMTP, and the official SDKs for Amazon SES, the Gmail API and Microsoft Graph. Every number on this page comes from the last saved run; the page is generated by [\`bench/docs-page.ts\`](../bench/docs-page.ts) from [\`bench/results/\`](../bench/results), so edit that script, not this page.

On a machine with 2 cores, rounds vary by 20 to 30%: compare medians, and distrust a change of a few percent between two runs. How each benchmark works, and what the first runs found, is in [bench/README.md](../bench/README.md).

## Goals

${goalsSection(smtp, http, bulk, cli)}

${smtpSection(smtp)}

${httpSection(http)}

${bulkSection(bulk)}

${cliSection(cli)}

${eventsSection(events)}

## Reproduce

\`\`\`sh
npm ci && npm run build     # the benchmarks import the built packages (packages/*/dist)
npm run bench -- smtp       # SMTP throughput and memory, about 3 minutes; writes bench/results/smtp.json
npm run bench -- http       # SES, Gmail and Graph against the sandbox, about 4 minutes; writes bench/results/http.json
npm run bench -- bulk       # mailport send --csv at 1,000, 100,000 and 1,000,000 rows; writes bench/results/bulk.json
npm run bench -- cli        # the CLI's start-up against node -e 0, about 20 seconds; writes bench/results/cli.json
npm run bench -- events     # SNS verification and report parsing, about 20 seconds; writes bench/results/events.json
npm run bench -- docs       # this page again, from the saved results, without running anything
\`\`\`

Node 24 or later (the benchmarks run as TypeScript through Node's type stripping). Close everything else on the machine first: the sender and the sandbox share its cores. A full run of \`smtp\`, \`http\`, \`bulk\` or \`cli\` rewrites this page when it finishes. A missed goal prints FAIL but does not change the exit status; a lost or failed message aborts the run.
`;
}

/** Writes docs/benchmarks.md, replacing it only once complete. Returns the page's path. */
export async function writeDocsPage(): Promise<string> {
  const text = await renderDocsPage();
  const temporary = new URL('../docs/benchmarks.md.tmp', import.meta.url);
  await writeFile(temporary, text);
  await rename(temporary, page);
  return 'docs/benchmarks.md';
}
