/**
 * The HTTP benchmark: per provider (SES v2, the Gmail API, Microsoft Graph), the same 1,000
 * messages per round through mailport (`createMailer` with the sandbox's transport URL,
 * `sendMany` with N in flight), the raw SDK with N in flight and the raw SDK one message at a
 * time, each variant and the sandbox in a process of its own.
 */
import { type BenchChild, median, startChild } from './bench-process.ts';
import { formatCount, formatMegabytes, formatTable, megabytes, verdict } from './bench-report.ts';
import {
  type HttpProvider,
  httpConcurrency,
  httpGoal,
  httpMeasuredRounds,
  httpMessagesPerRound,
  httpProviders,
  httpRecipient,
  httpSenders,
  httpWarmUpRounds,
} from './http-content.ts';
import {
  type HttpRoundReply,
  type HttpRoundRequest,
  type HttpVariant,
  httpVariants,
  type SandboxRequest,
  type SandboxRoundStats,
  type SandboxTarget,
} from './http-protocol.ts';

/** How each provider is named in the report. */
export const httpProviderTitles: Readonly<Record<HttpProvider, string>> = Object.freeze({
  ses: 'Amazon SES v2',
  gmail: 'Gmail API',
  graph: 'Microsoft Graph',
});

/** One variant's numbers. */
export interface HttpVariantResult {
  readonly id: HttpVariant;
  readonly label: string;
  /** Messages per second of each measured round, in the order they ran. */
  readonly roundsPerSecond: readonly number[];
  readonly medianPerSecond: number;
  /** Median over the measured rounds of the sender's CPU time per message, in ms. */
  readonly senderCpuMsPerMessage: number;
  /** Median over the measured rounds of the sandbox's CPU time over the round's wall time (1 = one core busy). */
  readonly sandboxCpuShare: number;
  /** The sender process's peak RSS over the warm-up and every round, in bytes. */
  readonly peakRssBytes: number;
  /** Mean size of this variant's messages as the sandbox stored them (the MIME recipients get), in bytes. */
  readonly bytesPerMessage: number;
  /** Over the measured rounds: requests the sandbox did not answer with a 2xx, and messages mailport sent on a second attempt. */
  readonly refusedRequests: number;
  readonly retriedMessages: number;
}

/** One provider's numbers. */
export interface HttpProviderResult {
  readonly provider: HttpProvider;
  readonly title: string;
  /** Sends in flight for mailport and the concurrent raw SDK variant. */
  readonly concurrency: number;
  readonly variants: readonly HttpVariantResult[];
  /** mailport's median over the concurrent raw SDK's median: the goal's ratio. */
  readonly mailportToSdkConcurrent: number;
  /** mailport's median over the sequential raw SDK's median. */
  readonly mailportToSdkSequential: number;
  readonly pass: boolean;
}

/** Everything the HTTP benchmark measured. */
export interface HttpResult {
  readonly messagesPerRound: number;
  readonly warmUpRounds: number;
  readonly measuredRounds: number;
  readonly providers: readonly HttpProviderResult[];
}

type Sandbox = BenchChild<SandboxTarget, SandboxRequest, SandboxRoundStats>;
type Sender = BenchChild<unknown, HttpRoundRequest, HttpRoundReply>;

/** What one round of one variant measured. */
interface RoundNumbers {
  readonly perSecond: number;
  readonly senderCpuMsPerMessage: number;
  readonly sandboxCpuShare: number;
}

/** A message as `GET /sandbox/messages` lists it. */
interface ListedMessage {
  readonly api: string;
  readonly from: string;
  readonly to: readonly string[];
  readonly size: number;
}

function variantLabel(variant: HttpVariant, concurrency: number): string {
  if (variant === 'mailport') return `mailport, sendMany (${concurrency} in flight)`;
  if (variant === 'sdk-concurrent') return `raw SDK, ${concurrency} in flight`;
  return 'raw SDK, one message at a time';
}

/** Node flags for the senders: `--cpu-prof` into MAILPORT_BENCH_CPU_PROF when it names a directory. */
function senderExecArgv(): string[] {
  const directory = process.env.MAILPORT_BENCH_CPU_PROF;
  return directory === undefined || directory === '' ? [] : ['--cpu-prof', `--cpu-prof-dir=${directory}`];
}

/**
 * Runs every provider in turn against one sandbox process. Writes a progress line per round to
 * `log`. Throws if any message fails, or if the sandbox did not store exactly the messages of a
 * round, since a round that lost messages would look faster than it was.
 */
export async function runHttp(log: (line: string) => void): Promise<HttpResult> {
  // --expose-gc: the sandbox collects the previous round's garbage before each round starts.
  const sandbox: Sandbox = await startChild(new URL('./http-sandbox.ts', import.meta.url), [], { execArgv: ['--expose-gc'] });
  try {
    await clearStore(sandbox.ready);
    const providers: HttpProviderResult[] = [];
    for (const provider of httpProviders) {
      log(`${httpProviderTitles[provider]}, ${httpConcurrency[provider]} in flight:`);
      providers.push(await runProvider(provider, sandbox, log));
    }
    return {
      messagesPerRound: httpMessagesPerRound,
      warmUpRounds: httpWarmUpRounds,
      measuredRounds: httpMeasuredRounds,
      providers,
    };
  } finally {
    await sandbox.stop();
  }
}

/**
 * One provider: {@link httpWarmUpRounds} unmeasured rounds per variant, then
 * {@link httpMeasuredRounds} rounds with the order of the variants rotated each round, so that
 * none of them always runs first or after the same neighbour.
 */
async function runProvider(provider: HttpProvider, sandbox: Sandbox, log: (line: string) => void): Promise<HttpProviderResult> {
  const target = sandbox.ready;
  const concurrency = httpConcurrency[provider];
  const senders = new Map<HttpVariant, Sender>();
  try {
    for (const variant of httpVariants) {
      senders.set(
        variant,
        await startChild(new URL('./http-sender.ts', import.meta.url), [provider, variant], { execArgv: senderExecArgv() }),
      );
    }
    const rounds = new Map<HttpVariant, RoundNumbers[]>(httpVariants.map((variant) => [variant, []]));
    const stored = new Map<HttpVariant, { messages: number; bytes: number }>(
      httpVariants.map((variant) => [variant, { messages: 0, bytes: 0 }]),
    );
    const anomalies = new Map<HttpVariant, { refused: number; retried: number }>(
      httpVariants.map((variant) => [variant, { refused: 0, retried: 0 }]),
    );
    const peakRss = new Map<HttpVariant, number>();

    const runRound = async (variant: HttpVariant, measured: boolean): Promise<RoundNumbers> => {
      const sender = senders.get(variant) as Sender;
      await sandbox.request('begin');
      const reply = await sender.request({ messages: httpMessagesPerRound, concurrency, target });
      const stats = await sandbox.request('end');
      if (reply.failed > 0 || reply.sent !== httpMessagesPerRound) {
        throw new Error(
          `${provider} ${variant}: ${reply.failed} of ${httpMessagesPerRound} messages failed, the first with: ${reply.firstError}`,
        );
      }
      const messages = await listStore(target, provider);
      checkStored(provider, variant, messages);
      await clearStore(target);
      const total = stored.get(variant) as { messages: number; bytes: number };
      total.messages += messages.length;
      total.bytes += messages.reduce((sum, message) => sum + message.size, 0);
      peakRss.set(variant, reply.peakRssBytes);
      if (measured) {
        const counts = anomalies.get(variant) as { refused: number; retried: number };
        counts.refused += stats.refused;
        counts.retried += reply.retried;
      }
      if (stats.refused > 0) {
        log(
          `    ${variant}: the sandbox refused ${stats.refused} requests (first: ${stats.firstRefusal}); ${reply.retried} messages retried`,
        );
      }
      return {
        perSecond: (httpMessagesPerRound / reply.elapsedMs) * 1000,
        senderCpuMsPerMessage: reply.cpuMs / httpMessagesPerRound,
        sandboxCpuShare: stats.cpuMs / reply.elapsedMs,
      };
    };

    const runAll = async (label: string, order: readonly HttpVariant[], measured: boolean): Promise<Map<HttpVariant, RoundNumbers>> => {
      const numbers = new Map<HttpVariant, RoundNumbers>();
      for (const variant of order) numbers.set(variant, await runRound(variant, measured));
      log(
        `  ${label.padEnd(11)}  ${order.map((variant) => `${variant} ${formatCount(numbers.get(variant)?.perSecond ?? 0)}`).join('  ')}  msg/s`,
      );
      return numbers;
    };

    // Warm-up: loads the SDKs, lets V8 optimise the hot paths and size its heaps, in the senders and the sandbox; not kept.
    for (let round = 0; round < httpWarmUpRounds; round++) await runAll(`warm-up ${round + 1}/${httpWarmUpRounds}`, httpVariants, false);
    for (let round = 0; round < httpMeasuredRounds; round++) {
      const order = httpVariants.map((_, index) => httpVariants[(index + round) % httpVariants.length] as HttpVariant);
      const numbers = await runAll(`round ${round + 1}/${httpMeasuredRounds}`, order, true);
      for (const [variant, value] of numbers) rounds.get(variant)?.push(value);
    }

    const variants = httpVariants.map((variant): HttpVariantResult => {
      const measured = rounds.get(variant) ?? [];
      const total = stored.get(variant) ?? { messages: 0, bytes: 0 };
      const counts = anomalies.get(variant) ?? { refused: 0, retried: 0 };
      return {
        id: variant,
        label: variantLabel(variant, concurrency),
        roundsPerSecond: measured.map((round) => round.perSecond),
        medianPerSecond: median(measured.map((round) => round.perSecond)),
        senderCpuMsPerMessage: median(measured.map((round) => round.senderCpuMsPerMessage)),
        sandboxCpuShare: median(measured.map((round) => round.sandboxCpuShare)),
        peakRssBytes: peakRss.get(variant) ?? 0,
        bytesPerMessage: total.bytes / total.messages,
        refusedRequests: counts.refused,
        retriedMessages: counts.retried,
      };
    });
    const medianOf = (variant: HttpVariant): number => variants.find((result) => result.id === variant)?.medianPerSecond ?? Number.NaN;
    const mailportToSdkConcurrent = medianOf('mailport') / medianOf('sdk-concurrent');
    return {
      provider,
      title: httpProviderTitles[provider],
      concurrency,
      variants,
      mailportToSdkConcurrent,
      mailportToSdkSequential: medianOf('mailport') / medianOf('sdk-sequential'),
      pass: mailportToSdkConcurrent >= httpGoal,
    };
  } finally {
    await Promise.all([...senders.values()].map((sender) => sender.stop()));
  }
}

/** The messages the sandbox stored for `api`, through its HTTP API. */
async function listStore(target: SandboxTarget, api: HttpProvider): Promise<ListedMessage[]> {
  const response = await fetch(`${target.httpUrl}/sandbox/messages?api=${api}`, {
    headers: { authorization: `Bearer ${target.controlToken}` },
  });
  if (!response.ok) throw new Error(`GET /sandbox/messages answered ${response.status}`);
  return ((await response.json()) as { messages: ListedMessage[] }).messages;
}

/** Empties the sandbox's store, through its HTTP API. */
async function clearStore(target: SandboxTarget): Promise<void> {
  const response = await fetch(`${target.httpUrl}/sandbox/messages`, {
    method: 'DELETE',
    headers: { authorization: `Bearer ${target.controlToken}` },
  });
  await response.arrayBuffer();
  if (response.status !== 204) throw new Error(`DELETE /sandbox/messages answered ${response.status}`);
}

/** Throws unless the sandbox stored exactly one round of messages, from the provider's sender to the one recipient. */
function checkStored(provider: HttpProvider, variant: HttpVariant, messages: readonly ListedMessage[]): void {
  if (messages.length !== httpMessagesPerRound) {
    throw new Error(`${provider} ${variant}: the sandbox stored ${messages.length} messages, not ${httpMessagesPerRound}`);
  }
  const from = httpSenders[provider].address.toLowerCase();
  const to = (/<([^>]+)>/.exec(httpRecipient)?.[1] ?? httpRecipient).toLowerCase();
  const stray = messages.find(
    (message) => message.from.toLowerCase() !== from || message.to.length !== 1 || message.to[0]?.toLowerCase() !== to,
  );
  if (stray !== undefined) {
    throw new Error(`${provider} ${variant}: the sandbox stored a message from ${stray.from} to ${stray.to.join(', ')}`);
  }
}

/** One provider's table, its ratios and its goal line. */
export function formatHttpProvider(result: HttpProviderResult): string {
  const table = formatTable(
    ['Variant', 'Median msg/s', 'Each round, msg/s', 'KB/msg', 'Sender CPU ms/msg', 'Sandbox CPU', 'Peak RSS MB'],
    result.variants.map((variant) => [
      variant.label,
      formatCount(variant.medianPerSecond),
      variant.roundsPerSecond.map(formatCount).join(' '),
      (variant.bytesPerMessage / 1000).toFixed(1),
      variant.senderCpuMsPerMessage.toFixed(2),
      `${Math.round(variant.sandboxCpuShare * 100)}%`,
      formatMegabytes(variant.peakRssBytes),
    ]),
    [1, 3, 4, 5, 6],
  );
  const notes = result.variants
    .filter((variant) => variant.refusedRequests > 0 || variant.retriedMessages > 0)
    .map(
      (variant) =>
        `Note: ${variant.label}: the sandbox refused ${variant.refusedRequests} requests over the measured rounds; ${variant.retriedMessages} messages were sent on a second attempt.`,
    );
  const ratios: [string, number][] = [
    [`mailport / raw SDK, ${result.concurrency} in flight:`, result.mailportToSdkConcurrent],
    ['mailport / raw SDK, one message at a time:', result.mailportToSdkSequential],
  ];
  const width = Math.max(...ratios.map(([label]) => label.length)) + 2;
  return [
    `${result.title}: ${result.concurrency} in flight`,
    table,
    ...notes,
    '',
    ...ratios.map(([label, ratio]) => `${label.padEnd(width)}${ratio.toFixed(2)}x`),
    `Goal: mailport >= ${httpGoal}x raw SDK at the same concurrency: ${verdict(result.pass)} (${result.mailportToSdkConcurrent.toFixed(2)}x)`,
  ].join('\n');
}

/** The goal line of every provider, for the end of the report. */
export function formatHttpGoals(result: HttpResult): string {
  return [
    `Goal: mailport >= ${httpGoal}x raw SDK at the same concurrency`,
    ...result.providers.map(
      (provider) =>
        `  ${provider.title.padEnd(16)} ${verdict(provider.pass)}  ${provider.mailportToSdkConcurrent.toFixed(2)}x  (${provider.concurrency} in flight)`,
    ),
  ].join('\n');
}

/** The results file's `providers` section. */
export function httpResultsJson(result: HttpResult): Record<string, unknown> {
  const round = (value: number, digits: number): number => Math.round(value * 10 ** digits) / 10 ** digits;
  return {
    messagesPerRound: result.messagesPerRound,
    warmUpRounds: result.warmUpRounds,
    measuredRounds: result.measuredRounds,
    goal: `mailport >= ${httpGoal}x raw SDK at the same concurrency`,
    providers: result.providers.map((provider) => ({
      provider: provider.provider,
      title: provider.title,
      concurrency: provider.concurrency,
      variants: provider.variants.map((variant) => ({
        id: variant.id,
        label: variant.label,
        medianMessagesPerSecond: Math.round(variant.medianPerSecond),
        roundsMessagesPerSecond: variant.roundsPerSecond.map(Math.round),
        bytesPerMessage: Math.round(variant.bytesPerMessage),
        senderCpuMsPerMessage: round(variant.senderCpuMsPerMessage, 3),
        sandboxCpuShare: round(variant.sandboxCpuShare, 2),
        peakRssMb: megabytes(variant.peakRssBytes),
        refusedRequests: variant.refusedRequests,
        retriedMessages: variant.retriedMessages,
      })),
      ratios: {
        mailportToSdkConcurrent: round(provider.mailportToSdkConcurrent, 3),
        mailportToSdkSequential: round(provider.mailportToSdkSequential, 3),
      },
      pass: provider.pass,
    })),
  };
}
