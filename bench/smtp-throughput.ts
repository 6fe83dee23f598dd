/**
 * The throughput benchmark: the same 1,000 messages through mailport (a mailer from an smtp://
 * URL, `sendMany`), a pooled nodemailer and a nodemailer with one connection per message, to a
 * sink that requires STARTTLS and AUTH; each sender and the sink in a process of its own.
 */
import { concurrency, measuredRounds, messagesPerRound, warmUpRounds } from './bench-content.ts';
import { type BenchChild, median, startChild } from './bench-process.ts';
import {
  type RoundReply,
  type RoundRequest,
  type SenderVariant,
  type SinkCounters,
  type SinkReady,
  senderVariants,
} from './bench-protocol.ts';
import { formatCount, formatMegabytes, formatTable, verdict } from './bench-report.ts';

/** The goal (issue 9): mailport at least as fast as a pooled nodemailer configured alike (parity). */
export const throughputGoal = 1.0;

const variantLabels: Record<SenderVariant, string> = {
  'mailport-pooled': `mailport, smtp:// URL, sendMany (${concurrency} connections)`,
  'nodemailer-pooled': `nodemailer, pooled (${concurrency} connections)`,
  'nodemailer-per-message': 'nodemailer, one connection per message',
};

/** One variant's numbers. */
export interface VariantResult {
  readonly id: SenderVariant;
  readonly label: string;
  /** Messages per second of each measured round, in the order they ran. */
  readonly roundsPerSecond: readonly number[];
  readonly medianPerSecond: number;
  /** The sender process's CPU time per message (user and system), the median over the measured rounds, in ms. */
  readonly cpuMsPerMessage: number;
  /** The sender process's peak RSS over the warm-up and every round, in bytes. */
  readonly peakRssBytes: number;
  /** Mean size of this variant's messages as the sink received them, in bytes. */
  readonly bytesPerMessage: number;
}

/** Everything the throughput benchmark measured. */
export interface ThroughputResult {
  readonly messagesPerRound: number;
  readonly concurrency: number;
  readonly warmUpRounds: number;
  readonly measuredRounds: number;
  readonly variants: readonly VariantResult[];
  /** mailport's median over nodemailer pooled's median. */
  readonly mailportToNodemailerPooled: number;
  /** mailport's median over the median of nodemailer with one connection per message. */
  readonly mailportToNodemailerPerMessage: number;
  /** mailport's sender CPU per message over nodemailer pooled's (medians): below 1, mailport costs less. */
  readonly cpuMailportToNodemailerPooled: number;
  readonly pass: boolean;
}

type Sender = BenchChild<unknown, RoundRequest, RoundReply>;

/** Node flags for the senders: `--cpu-prof` into MAILPORT_BENCH_CPU_PROF when it names a directory. */
function senderExecArgv(): string[] {
  const directory = process.env.MAILPORT_BENCH_CPU_PROF;
  return directory === undefined || directory === '' ? [] : ['--cpu-prof', `--cpu-prof-dir=${directory}`];
}
type Sink = BenchChild<SinkReady, 'counters', SinkCounters>;

/**
 * Runs {@link warmUpRounds} unmeasured rounds per variant, then {@link measuredRounds} rounds
 * with the order of the variants rotated each round, so that none of them always runs first or
 * after the same neighbour. Writes a progress line per round to `log`.
 *
 * Throws if any message fails or if the sink did not receive every message, since a round that
 * lost messages would look faster than it was.
 */
export async function runThroughput(log: (line: string) => void): Promise<ThroughputResult> {
  // STARTTLS and AUTH, as a real submission server asks for; the senders trust its CA file.
  const sink: Sink = await startChild(new URL('./smtp-sink.ts', import.meta.url), ['secure']);
  const senders = new Map<SenderVariant, Sender>();
  try {
    for (const variant of senderVariants) {
      senders.set(
        variant,
        await startChild(new URL('./smtp-sender.ts', import.meta.url), [variant, JSON.stringify(sink.ready)], {
          execArgv: senderExecArgv(),
        }),
      );
    }
    const rounds = new Map<SenderVariant, number[]>(senderVariants.map((variant) => [variant, []]));
    const received = new Map<SenderVariant, { messages: number; bytes: number }>(
      senderVariants.map((variant) => [variant, { messages: 0, bytes: 0 }]),
    );
    const peakRss = new Map<SenderVariant, number>();
    const cpuPerMessage = new Map<SenderVariant, number[]>(senderVariants.map((variant) => [variant, []]));
    let measuring = false;

    const runRound = async (variant: SenderVariant): Promise<number> => {
      const sender = senders.get(variant) as Sender;
      const before = await sink.request('counters');
      const reply = await sender.request({ messages: messagesPerRound, concurrency });
      const after = await sink.request('counters');
      if (reply.failed > 0 || reply.sent !== messagesPerRound) {
        throw new Error(`${variant}: ${reply.failed} of ${messagesPerRound} messages failed, the first with: ${reply.firstError}`);
      }
      if (after.messages - before.messages !== messagesPerRound) {
        throw new Error(`${variant}: the sink received ${after.messages - before.messages} messages, not ${messagesPerRound}`);
      }
      const total = received.get(variant) as { messages: number; bytes: number };
      total.messages += after.messages - before.messages;
      total.bytes += after.bytes - before.bytes;
      peakRss.set(variant, reply.peakRssBytes);
      if (measuring) cpuPerMessage.get(variant)?.push(reply.cpuMs / messagesPerRound);
      return (messagesPerRound / reply.elapsedMs) * 1000;
    };

    const runAll = async (label: string, order: readonly SenderVariant[]): Promise<Map<SenderVariant, number>> => {
      const perSecond = new Map<SenderVariant, number>();
      for (const variant of order) perSecond.set(variant, await runRound(variant));
      log(`${label.padEnd(11)}  ${order.map((variant) => `${variant} ${formatCount(perSecond.get(variant) ?? 0)}`).join('  ')}  msg/s`);
      return perSecond;
    };

    // Warm-up: lets V8 optimise the hot paths and size its heaps, in the senders and the sink; not kept.
    for (let round = 0; round < warmUpRounds; round++) await runAll(`warm-up ${round + 1}/${warmUpRounds}`, senderVariants);
    measuring = true;
    for (let round = 0; round < measuredRounds; round++) {
      const order = senderVariants.map((_, index) => senderVariants[(index + round) % senderVariants.length] as SenderVariant);
      const perSecond = await runAll(`round ${round + 1}/${measuredRounds}`, order);
      for (const [variant, value] of perSecond) rounds.get(variant)?.push(value);
    }

    const variants = senderVariants.map((variant): VariantResult => {
      const roundsPerSecond = rounds.get(variant) ?? [];
      const total = received.get(variant) ?? { messages: 0, bytes: 0 };
      return {
        id: variant,
        label: variantLabels[variant],
        roundsPerSecond,
        medianPerSecond: median(roundsPerSecond),
        cpuMsPerMessage: median(cpuPerMessage.get(variant) ?? []),
        peakRssBytes: peakRss.get(variant) ?? 0,
        bytesPerMessage: total.bytes / total.messages,
      };
    });
    const medianOf = (variant: SenderVariant): number => variants.find((result) => result.id === variant)?.medianPerSecond ?? Number.NaN;
    const cpuOf = (variant: SenderVariant): number => variants.find((result) => result.id === variant)?.cpuMsPerMessage ?? Number.NaN;
    const mailportToNodemailerPooled = medianOf('mailport-pooled') / medianOf('nodemailer-pooled');
    return {
      messagesPerRound,
      concurrency,
      warmUpRounds,
      measuredRounds,
      variants,
      mailportToNodemailerPooled,
      mailportToNodemailerPerMessage: medianOf('mailport-pooled') / medianOf('nodemailer-per-message'),
      cpuMailportToNodemailerPooled: cpuOf('mailport-pooled') / cpuOf('nodemailer-pooled'),
      pass: mailportToNodemailerPooled >= throughputGoal,
    };
  } finally {
    await Promise.all([sink, ...senders.values()].map((child) => child.stop()));
  }
}

/** The throughput table, the ratios and the goal line. */
export function formatThroughput(result: ThroughputResult): string {
  const table = formatTable(
    ['Variant', 'Median msg/s', 'Each round, msg/s', 'Sender CPU ms/msg', 'KB/msg', 'Peak RSS MB'],
    result.variants.map((variant) => [
      variant.label,
      formatCount(variant.medianPerSecond),
      variant.roundsPerSecond.map(formatCount).join(' '),
      variant.cpuMsPerMessage.toFixed(2),
      (variant.bytesPerMessage / 1000).toFixed(1),
      formatMegabytes(variant.peakRssBytes),
    ]),
    [1, 3, 4, 5],
  );
  const mailport = result.variants.find((variant) => variant.id === 'mailport-pooled')?.roundsPerSecond ?? [];
  const nodemailerPooled = result.variants.find((variant) => variant.id === 'nodemailer-pooled')?.roundsPerSecond ?? [];
  const roundByRound = mailport.map((perSecond, index) => perSecond / (nodemailerPooled[index] ?? Number.NaN));
  return [
    table,
    '',
    `mailport / nodemailer pooled:       ${result.mailportToNodemailerPooled.toFixed(2)}x`,
    `  round by round (the two ran one after the other): ${roundByRound.map((value) => value.toFixed(2)).join(' ')}, median ${median(roundByRound).toFixed(2)}x`,
    `mailport / nodemailer per message:  ${result.mailportToNodemailerPerMessage.toFixed(2)}x`,
    `Sender CPU per message, mailport / nodemailer pooled: ${result.cpuMailportToNodemailerPooled.toFixed(2)}x`,
    `Goal: mailport >= ${throughputGoal}x nodemailer pooled: ${verdict(result.pass)} (${result.mailportToNodemailerPooled.toFixed(2)}x)`,
  ].join('\n');
}
