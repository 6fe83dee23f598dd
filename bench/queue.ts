/**
 * `npm run bench -- queue`: @mailport/queue-bullmq against a throwaway redis-server (the one the
 * tests use: MAILPORT_REDIS_SERVER, /usr/bin/redis-server or redis-server on PATH) and the sandbox's
 * SMTP server, each in a process of its own:
 *
 * - the producer: messages/s through `enqueue` (one at a time) and `enqueueMany`;
 * - messages/s through 1, 2 and 4 worker processes, 8 sends in flight in all, next to one process
 *   sending the same messages with `sendMany` at concurrency 8 (no queue, no ledger, no limits);
 * - the limiter: two worker processes on one key limited to 20/s: the most sends the sandbox saw in
 *   any sliding second, and the rate reached (with the default margin, none, and with 100 ms).
 *
 * Rates come from the sandbox's arrival times (first to last), not from what the senders say.
 * Writes bench/results/queue.json. `npm run bench -- queue limiter` runs the limiter part alone
 * (MAILPORT_BENCH_MARGINS=0,100,150 picks the margins) and replaces only that part of the file.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { createMailQueue } from '@mailport/queue-bullmq';
import { findRedis } from '../packages/queue-bullmq/test/find-redis.ts';
import { startRedis } from '../packages/queue-bullmq/test/redis-server.ts';
import { startChild } from './bench-process.ts';
import { describeMachine, formatMachine } from './bench-report.ts';
import {
  enqueueMessages,
  limiterMessages,
  limiterRate,
  queueBenchMessage,
  queueConcurrency,
  queueMessages,
  queueWorkerCounts,
} from './queue-content.ts';

type Sandbox = Awaited<ReturnType<typeof startChild<{ smtp: string }, 'arrivals' | 'clear', { times?: number[] }>>>;

function rateOf(times: readonly number[]): number {
  const sorted = [...times].sort((a, b) => a - b);
  const span = (sorted.at(-1) ?? 0) - (sorted[0] ?? 0);
  return span > 0 ? ((sorted.length - 1) * 1000) / span : 0;
}

function maxInWindow(times: readonly number[], windowMs: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let best = 0;
  let start = 0;
  for (let end = 0; end < sorted.length; end += 1) {
    while ((sorted[end] as number) - (sorted[start] as number) >= windowMs) start += 1;
    best = Math.max(best, end - start + 1);
  }
  return best;
}

async function arrivals(sandbox: Sandbox, expected: number): Promise<number[]> {
  for (;;) {
    const { times = [] } = await sandbox.request('arrivals');
    if (times.length >= expected) return times;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function throughThe(
  redisUrl: string,
  sandbox: Sandbox,
  options: {
    workers: number;
    messages: number;
    limits: false | { rates: { max: number; perMs: number; marginMs?: number }[] };
    run: string;
  },
): Promise<number[]> {
  await sandbox.request('clear');
  const queueName = `bench-${options.run}`;
  await using queue = createMailQueue({ connection: redisUrl, name: queueName });
  await queue.enqueueMany(Array.from({ length: options.messages }, (_, index) => queueBenchMessage(options.run, index)));
  const workers = await Promise.all(
    Array.from({ length: options.workers }, () =>
      startChild<{ ready: true }, 'close', { closed: true }>(new URL('./queue-worker.ts', import.meta.url), [
        JSON.stringify({
          redisUrl,
          queue: queueName,
          transport: sandbox.ready.smtp,
          concurrency: Math.max(1, queueConcurrency / options.workers),
          limits: options.limits,
        }),
      ]),
    ),
  );
  const times = await arrivals(sandbox, options.messages);
  for (const worker of workers) {
    await worker.request('close');
    await worker.stop();
  }
  return times;
}

/** Two worker processes x 4 on one key limited to 20/s, with each margin: the most arrivals in any sliding second, and the rate. */
async function limiterPart(redisUrl: string, sandbox: Sandbox) {
  const margins = (process.env.MAILPORT_BENCH_MARGINS ?? '0,100').split(',').map(Number);
  const limiter: { marginMs: number; limit: string; maxInAnySecond: number; messagesPerSecond: number }[] = [];
  for (const marginMs of margins) {
    const times = await throughThe(redisUrl, sandbox, {
      workers: 2,
      messages: limiterMessages,
      limits: { rates: [{ ...limiterRate, marginMs }] },
      run: `limit${marginMs}-${Date.now()}`,
    });
    limiter.push({
      marginMs,
      limit: `${limiterRate.max}/s`,
      maxInAnySecond: maxInWindow(times, 1000),
      messagesPerSecond: Math.round(rateOf(times) * 10) / 10,
    });
  }
  console.log(`\nLimiter: ${limiterMessages} messages on one key limited to ${limiterRate.max}/s, 2 worker processes x 4`);
  for (const row of limiter) {
    console.log(
      `  margin ${String(row.marginMs).padStart(3)} ms: at most ${row.maxInAnySecond} in any sliding second (limit ${limiterRate.max}), ${row.messagesPerSecond.toFixed(1)} messages/s`,
    );
  }
  return limiter;
}

async function save(file: string, results: unknown): Promise<void> {
  await mkdir(fileURLToPath(new URL('./results/', import.meta.url)), { recursive: true });
  await writeFile(`${file}.tmp`, `${JSON.stringify(results, null, 2)}\n`);
  await rename(`${file}.tmp`, file);
  console.log(`\nSaved ${file}`);
}

export async function main(parts: readonly string[] = []): Promise<void> {
  const only = parts[0];
  if (only !== undefined && only !== 'limiter') throw new Error(`unknown part of the queue benchmark: ${only} (known: limiter)`);
  const found = findRedis();
  if (!('path' in found)) throw new Error(found.skip);
  const machine = describeMachine();
  const date = new Date();
  console.log('mailport queue benchmark (@mailport/queue-bullmq on BullMQ and Redis)');
  console.log(`Machine: ${formatMachine(machine)}`);
  console.log(`Date:    ${date.toISOString()}`);
  console.log('');
  const redis = await startRedis(found.path);
  const sandbox: Sandbox = await startChild(new URL('./queue-sandbox.ts', import.meta.url), []);
  try {
    const file = fileURLToPath(new URL('./results/queue.json', import.meta.url));
    if (only === 'limiter') {
      const limiter = await limiterPart(redis.url, sandbox);
      const saved = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
      await save(file, { ...saved, date: date.toISOString(), machine, limiter });
      return;
    }
    // The producer.
    await using producer = createMailQueue({ connection: redis.url, name: 'bench-enqueue' });
    let started = performance.now();
    for (let index = 0; index < 1000; index += 1) await producer.enqueue(queueBenchMessage('single', index));
    const enqueueOne = 1000 / ((performance.now() - started) / 1000);
    started = performance.now();
    await producer.enqueueMany(Array.from({ length: enqueueMessages }, (_, index) => queueBenchMessage('bulk', index)));
    const enqueueBulk = enqueueMessages / ((performance.now() - started) / 1000);
    console.log(
      `Enqueue: ${Math.round(enqueueOne)} messages/s one at a time, ${Math.round(enqueueBulk)} messages/s with enqueueMany (batches of 500)`,
    );

    // Throughput: queue vs sendMany.
    const throughput: { senders: string; messagesPerSecond: number }[] = [];
    await sandbox.request('clear');
    const direct = await startChild<{ sent: number; failed: number }, never, never>(new URL('./queue-direct.ts', import.meta.url), [
      JSON.stringify({ transport: sandbox.ready.smtp, count: queueMessages, concurrency: queueConcurrency, run: 'direct' }),
    ]);
    await direct.stop();
    throughput.push({
      senders: `sendMany, 1 process, concurrency ${queueConcurrency}`,
      messagesPerSecond: rateOf(await arrivals(sandbox, queueMessages)),
    });
    for (const workers of queueWorkerCounts) {
      const times = await throughThe(redis.url, sandbox, { workers, messages: queueMessages, limits: false, run: `w${workers}` });
      throughput.push({
        senders: `queue, ${workers} worker process${workers > 1 ? 'es' : ''} x ${queueConcurrency / workers}`,
        messagesPerSecond: rateOf(times),
      });
    }
    console.log(`\nThroughput: ${queueMessages} messages of about 1 KB to the sandbox's SMTP server, ${queueConcurrency} in flight in all`);
    for (const row of throughput) console.log(`  ${row.senders.padEnd(44)} ${row.messagesPerSecond.toFixed(0).padStart(6)} messages/s`);

    const limiter = await limiterPart(redis.url, sandbox);

    const results = {
      date: date.toISOString(),
      machine,
      enqueue: { oneAtATimePerSecond: Math.round(enqueueOne), enqueueManyPerSecond: Math.round(enqueueBulk) },
      throughput: throughput.map((row) => ({ ...row, messagesPerSecond: Math.round(row.messagesPerSecond) })),
      limiter,
    };
    await save(file, results);
  } finally {
    await sandbox.stop();
    await redis.stop();
  }
}
