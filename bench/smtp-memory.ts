/**
 * The memory benchmark: how much a process grows to send one large message through mailport's
 * SMTP transport, relative to the size of that message.
 */
import { largeMessageRuns } from './bench-content.ts';
import { median, startChild } from './bench-process.ts';
import type { LargeMessageReply, SinkCounters, SinkReady } from './bench-protocol.ts';
import { formatMegabytes, formatTable, verdict } from './bench-report.ts';

/** The goal: sending a message grows the process by at most this multiple of its size. */
export const memoryGoal = 3;

/** One fresh process sending the large message, in bytes. */
export interface MemoryRun {
  /** RSS just before the attachment buffer was created. */
  readonly baselineRssBytes: number;
  /** The process's peak RSS (maxRSS). */
  readonly peakRssBytes: number;
  /** Peak minus baseline. */
  readonly growthBytes: number;
  /** Growth over the message size. */
  readonly growthPerMessageSize: number;
  /** From creating the attachment to the server's reply. */
  readonly elapsedMs: number;
}

/** Everything the memory benchmark measured. */
export interface MemoryResult {
  /** The message as the sink received it: the rendered MIME, in bytes. */
  readonly messageBytes: number;
  readonly attachmentBytes: number;
  /** Every run, in the order they ran. */
  readonly runs: readonly MemoryRun[];
  /** The run with the median growth, the one the goal is judged on. */
  readonly median: MemoryRun;
  readonly pass: boolean;
}

/**
 * Sends the large message {@link largeMessageRuns} times, each time from a fresh process, to one
 * sink. Peak RSS depends on when V8 happens to collect the garbage of encoding, so a single run
 * can land anywhere in a wide range; the median run is the one reported.
 */
export async function runMemory(): Promise<MemoryResult> {
  const sink = await startChild<SinkReady, 'counters', SinkCounters>(new URL('./smtp-sink.ts', import.meta.url), []);
  try {
    const runs: MemoryRun[] = [];
    let messageBytes = 0;
    let attachmentBytes = 0;
    for (let run = 0; run < largeMessageRuns; run++) {
      const before = await sink.request('counters');
      const sender = await startChild<LargeMessageReply, never, never>(new URL('./smtp-large-message.ts', import.meta.url), [
        String(sink.ready.port),
      ]);
      await sender.stop();
      const after = await sink.request('counters');
      // The sender sends one small warm-up message first, so the large one is the last to arrive.
      if (after.messages - before.messages !== 2) throw new Error(`the sink received ${after.messages - before.messages} messages, not 2`);
      messageBytes = after.lastMessageBytes;
      attachmentBytes = sender.ready.attachmentBytes;
      const growthBytes = sender.ready.peakRssBytes - sender.ready.baselineRssBytes;
      runs.push({
        baselineRssBytes: sender.ready.baselineRssBytes,
        peakRssBytes: sender.ready.peakRssBytes,
        growthBytes,
        growthPerMessageSize: growthBytes / messageBytes,
        elapsedMs: sender.ready.elapsedMs,
      });
    }
    const medianGrowth = median(runs.map((run) => run.growthBytes));
    const medianRun = runs.find((run) => run.growthBytes === medianGrowth) ?? (runs[0] as MemoryRun);
    return { messageBytes, attachmentBytes, runs, median: medianRun, pass: medianRun.growthPerMessageSize <= memoryGoal };
  } finally {
    await sink.stop();
  }
}

/** The memory table and its goal line. */
export function formatMemory(result: MemoryResult): string {
  const growth = result.median.growthPerMessageSize.toFixed(2);
  const table = formatTable(
    ['Run', 'Baseline RSS MB', 'Peak RSS MB', 'Growth MB', 'Growth / message size', 'Send s'],
    result.runs.map((run, index) => [
      `${index + 1}${run === result.median ? ' (median)' : ''}`,
      formatMegabytes(run.baselineRssBytes),
      formatMegabytes(run.peakRssBytes),
      formatMegabytes(run.growthBytes),
      `${run.growthPerMessageSize.toFixed(2)}x`,
      (run.elapsedMs / 1000).toFixed(2),
    ]),
    [1, 2, 3, 4, 5],
  );
  return [
    `Message: ${formatMegabytes(result.messageBytes)} MB rendered MIME (a ${formatMegabytes(result.attachmentBytes)} MB random attachment, base64), ` +
      'each run from a fresh process; baseline RSS is taken just before the attachment buffer is created',
    '',
    table,
    '',
    `Goal: growth <= ${memoryGoal}x the message size: ${verdict(result.pass)} (median ${growth}x)`,
  ].join('\n');
}
