import {
  type CreateMessageOptions,
  createMessage,
  type EmailMessage,
  MailError,
  type MailerInput,
  type MessageInput,
} from '@mailport/core';
import { type JobsOptions, Queue } from 'bullmq';
import type { EnqueueOptions, EnqueueResult, MailQueue, MessageStatus } from './contract.js';
import { createDeadLetters, deadLetterKey } from './dead-letters.js';
import { createRedisLedger, defaultLedgerTtlMs } from './ledger.js';
import { inspectLimits } from './limiter.js';
import {
  buildPayload,
  defaultMaxJobBytes,
  type EncryptionKey,
  type JobPayload,
  jobIdFor,
  normalizeKeys,
  serializeMessage,
} from './message-codec.js';
import { checkRedis, openRedis, type RedisConnection } from './redis.js';

/** Options of {@link createMailQueue}. */
export interface MailQueueOptions {
  /** Redis: a URL, ioredis options, or a client you own. */
  readonly connection: RedisConnection;
  /** The queue's name; workers of the same name send its messages. Default `mail`. */
  readonly name?: string | undefined;
  /** BullMQ's key prefix; the ledger and limits live under it too. Default `bull`. */
  readonly prefix?: string | undefined;
  /** Fields every message gets unless it sets them (typically `from`). */
  readonly defaults?: Partial<MessageInput> | undefined;
  /** Attempts per message that reach the provider; waiting for a limit never counts. Default `5`. */
  readonly attempts?: number | undefined;
  /** The first retry's backoff cap; it doubles per attempt, with full jitter, never under the provider's Retry-After. Default `1000`. */
  readonly retryDelayMs?: number | undefined;
  /** How long a sent message's job (and its ledger entry) is kept, so enqueuing it again is a no-op. Default 7 days. */
  readonly dedupWindowMs?: number | undefined;
  /** A message still unsent this long after it was enqueued becomes an `expired` dead letter. Default 24 hours; `0`: no limit. */
  readonly maxAgeMs?: number | undefined;
  /** Largest job, in bytes of JSON (attachments in base64). Default 10 MiB. */
  readonly maxJobBytes?: number | undefined;
  /** Encrypts job data at rest with AES-256-GCM; the first key seals, workers need it (or the list) to open. Default: none. */
  readonly encryptionKey?: EncryptionKey | readonly EncryptionKey[] | undefined;
  /** Passed to `createMessage`: attachments from paths or URLs are read at enqueue time. */
  readonly allowFileAccess?: boolean | undefined;
  readonly allowUrlAccess?: boolean | undefined;
  /** Warnings (Redis without persistence). Default: `process.emitWarning`. */
  readonly onWarning?: ((message: string) => void) | undefined;
}

/** Defaults, as documented on {@link MailQueueOptions}. */
export const queueDefaults: {
  readonly name: string;
  readonly prefix: string;
  readonly attempts: number;
  readonly retryDelayMs: number;
  readonly dedupWindowMs: number;
  readonly maxAgeMs: number;
} = Object.freeze({
  name: 'mail',
  prefix: 'bull',
  attempts: 5,
  retryDelayMs: 1000,
  dedupWindowMs: defaultLedgerTtlMs,
  maxAgeMs: 86_400_000,
});

/**
 * The producer: validates each message (assigning its Message-ID), stores it as a job whose id
 * derives from the Message-ID, and returns at once. It never sends and holds no transport URL or
 * credential: those are the workers' configuration.
 *
 * @example
 * ```ts
 * await using queue = createMailQueue({ connection: 'redis://127.0.0.1:6379', defaults: { from: 'shop@example.com' } });
 * const { jobId, messageId } = await queue.enqueue({ to: 'ana@example.org', subject: 'Hi', text: 'Hello' }, { route: 'bulk' });
 * ```
 */
export function createMailQueue(options: MailQueueOptions): MailQueue {
  const name = options.name ?? queueDefaults.name;
  const prefix = options.prefix ?? queueDefaults.prefix;
  const attempts = options.attempts ?? queueDefaults.attempts;
  const dedupWindowMs = options.dedupWindowMs ?? queueDefaults.dedupWindowMs;
  const maxAgeMs = options.maxAgeMs ?? queueDefaults.maxAgeMs;
  const maxJobBytes = options.maxJobBytes ?? defaultMaxJobBytes;
  const keys = normalizeKeys(options.encryptionKey);
  const onWarning = options.onWarning ?? ((message: string) => process.emitWarning(message, 'MailportQueueWarning'));
  const messageOptions: CreateMessageOptions = { allowFileAccess: options.allowFileAccess, allowUrlAccess: options.allowUrlAccess };
  if (!(Number.isInteger(attempts) && attempts >= 1))
    throw new MailError('configuration', `attempts must be a whole number >= 1, not ${attempts}`);

  const { redis, owned } = openRedis(options.connection, 'producer');
  const queue = new Queue<JobPayload>(name, { connection: redis, prefix });
  // A lost connection is reported by the operation that needs it; BullMQ would print each reconnect attempt.
  queue.on('error', () => {});
  const ledger = createRedisLedger(redis, { prefix, ttlMs: dedupWindowMs });
  const deadLetters = createDeadLetters({ redis, queue, prefix, ledger });
  let checked: Promise<unknown> | undefined;
  const ready = () => {
    checked ??= checkRedis(redis, onWarning);
    return checked;
  };
  let closed: Promise<void> | undefined;

  async function prepare(input: MailerInput | EmailMessage, enqueueOptions: EnqueueOptions) {
    const message = isMessage(input) ? input : createMessage({ ...options.defaults, ...input } as MessageInput, messageOptions);
    const jobId = jobIdFor(message.messageId);
    const data = buildPayload(await serializeMessage(message), {
      jobId,
      keys,
      maxJobBytes,
      route: enqueueOptions.route,
      maxAgeMs: enqueueOptions.maxAgeMs ?? (maxAgeMs > 0 ? maxAgeMs : undefined),
    });
    const jobOptions: JobsOptions = {
      jobId,
      attempts,
      backoff: { type: 'mailport', delay: options.retryDelayMs ?? queueDefaults.retryDelayMs },
      // BullMQ's options take no explicit undefined.
      ...(enqueueOptions.delayMs === undefined ? {} : { delay: enqueueOptions.delayMs }),
      ...(enqueueOptions.priority === undefined ? {} : { priority: enqueueOptions.priority }),
      // Completed jobs stay for the deduplication window: the same Message-ID enqueued again is the same job.
      removeOnComplete: { age: Math.ceil(dedupWindowMs / 1000) },
      // Failed jobs are the dead letters: kept until purged.
      removeOnFail: false,
    };
    return { result: { jobId, messageId: message.messageId }, data, jobOptions };
  }

  const mailQueue: MailQueue = {
    name,
    deadLetters,
    async enqueue(input, enqueueOptions = {}): Promise<EnqueueResult> {
      if (closed !== undefined) throw new MailError('configuration', 'The queue is closed');
      const [prepared] = await Promise.all([prepare(input, enqueueOptions), ready()]);
      await queue.add('send', prepared.data, prepared.jobOptions);
      return prepared.result;
    },
    async enqueueMany(inputs, enqueueOptions = {}): Promise<EnqueueResult[]> {
      if (closed !== undefined) throw new MailError('configuration', 'The queue is closed');
      await ready();
      const batchSize = enqueueOptions.batchSize ?? 500;
      const results: EnqueueResult[] = [];
      let batch: Awaited<ReturnType<typeof prepare>>[] = [];
      const flush = async () => {
        if (batch.length === 0) return;
        // Which ids exist already, so the caller can count what is new (BullMQ returns an existing job for an existing id).
        const pipeline = redis.pipeline();
        for (const entry of batch) pipeline.exists(queue.toKey(entry.result.jobId));
        const existing = ((await pipeline.exec()) ?? []).map(([, count]) => count === 1);
        await queue.addBulk(batch.map((entry) => ({ name: 'send', data: entry.data, opts: entry.jobOptions })));
        const seen = new Set<string>();
        batch.forEach((entry, index) => {
          // The same message twice in one batch is one job too.
          const duplicate = existing[index] === true || seen.has(entry.result.jobId);
          seen.add(entry.result.jobId);
          results.push({ ...entry.result, duplicate });
        });
        batch = [];
      };
      for await (const input of inputs) {
        batch.push(await prepare(input, enqueueOptions));
        if (batch.length >= batchSize) await flush();
      }
      await flush();
      return results;
    },
    async counts() {
      const counts = await queue.getJobCounts('waiting', 'prioritized', 'delayed', 'active', 'completed', 'failed');
      return {
        waiting: (counts.waiting ?? 0) + (counts.prioritized ?? 0),
        delayed: counts.delayed ?? 0,
        active: counts.active ?? 0,
        completed: counts.completed ?? 0,
        dead: counts.failed ?? 0,
      };
    },
    async status(messageId): Promise<MessageStatus> {
      const jobId = jobIdFor(messageId);
      const [job, entry, letter] = await Promise.all([
        queue.getJob(jobId),
        ledger.peek(messageId),
        redis.hget(deadLetterKey(prefix, name), jobId),
      ]);
      const state = job === undefined ? 'unknown' : await job.getState();
      const mapped: MessageStatus['state'] =
        state === 'completed'
          ? 'sent'
          : state === 'failed'
            ? 'dead'
            : state === 'active'
              ? 'active'
              : state === 'delayed'
                ? 'delayed'
                : state === 'unknown'
                  ? 'unknown'
                  : 'waiting';
      return {
        messageId,
        jobId,
        state: mapped,
        ledger: entry,
        deadLetter: letter === null ? (mapped === 'dead' ? await deadLetters.get(jobId) : undefined) : JSON.parse(letter),
      };
    },
    limits() {
      return inspectLimits(redis, { prefix });
    },
    close() {
      closed ??= (async () => {
        await queue.close();
        if (owned) await redis.quit().catch(() => redis.disconnect());
      })();
      return closed;
    },
    [Symbol.asyncDispose]() {
      return mailQueue.close();
    },
  };
  return mailQueue;
}

function isMessage(value: MailerInput | EmailMessage): value is EmailMessage {
  return (value as unknown as Record<symbol, unknown>)[Symbol.for('mailport.EmailMessage')] === true;
}
