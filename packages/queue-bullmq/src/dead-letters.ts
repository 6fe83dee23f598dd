import { MailError } from '@mailport/core';
import type { Job, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { DeadLetter, DeadLetterError, DeadLetterKind, DeadLetters, SendLedger } from './contract.js';
import type { JobPayload } from './message-codec.js';

/** Where a queue's dead-letter records live: one hash, job id -> JSON {@link DeadLetter}. */
export function deadLetterKey(prefix: string, queue: string): string {
  return `${prefix}:${queue}:mailport:dead`;
}

/** A MailError as a dead letter keeps it: no stack, no cause, no recipients' details, nothing secret. */
export function deadLetterError(error: MailError): DeadLetterError {
  return {
    code: error.code,
    message: error.message,
    retryable: error.retryable,
    remediation: error.remediation,
    providerCode: error.providerCode,
    statusCode: error.statusCode,
    transport: error.transport,
  };
}

/** The reason BullMQ fails a job that stalled more times than `maxStalledCount` allows (it never reaches a processor). */
const stalledTooOften = 'job stalled more than allowable limit';

/**
 * Dead letters over BullMQ's failed set: the job (and its message) stays there, and a record next to
 * it says which kind it is and the last error. A job BullMQ failed on its own (it stalled too often)
 * has no record; it is classified here from the ledger: `uncertain` if an attempt began, else `exhausted`.
 */
export function createDeadLetters(options: {
  readonly redis: Redis;
  readonly queue: Queue;
  readonly prefix: string;
  readonly ledger: SendLedger;
}): DeadLetters {
  const { redis, queue, ledger } = options;
  const key = deadLetterKey(options.prefix, queue.name);

  async function records(): Promise<Map<string, DeadLetter>> {
    const raw = await redis.hgetall(key);
    return new Map(Object.entries(raw).map(([jobId, json]) => [jobId, JSON.parse(json) as DeadLetter]));
  }

  async function unrecorded(known: Map<string, DeadLetter>): Promise<DeadLetter[]> {
    const failed = (await queue.getFailed(0, -1)) as Job<JobPayload>[];
    const result: DeadLetter[] = [];
    for (const job of failed) {
      if (job?.id === undefined || known.has(job.id)) continue;
      result.push(await classify(job));
    }
    return result;
  }

  async function classify(job: Job<JobPayload>): Promise<DeadLetter> {
    const messageId = job.data?.messageId ?? '';
    const entry = messageId === '' ? undefined : await ledger.peek(messageId);
    const began = entry !== undefined && entry.state !== 'sent';
    const stalled = (job.failedReason ?? '').includes(stalledTooOften);
    const error = new MailError(
      began ? 'unknown-outcome' : 'transient',
      stalled
        ? `Workers stopped while processing this job more than maxStalledCount times${began ? '; an attempt had begun, so it may have been sent' : ''}`
        : `The job failed outside mailport: ${job.failedReason ?? 'no reason given'}`,
      { retryable: !began },
    );
    return {
      jobId: job.id ?? '',
      messageId,
      kind: began ? 'uncertain' : 'exhausted',
      error: deadLetterError(error),
      route: job.data?.route,
      attempts: job.attemptsMade ?? 0,
      enqueuedAt: job.timestamp,
      diedAt: job.finishedOn ?? job.timestamp,
      summary: { subject: '', to: [] },
    };
  }

  async function all(kind: DeadLetterKind | undefined): Promise<DeadLetter[]> {
    const known = await records();
    const letters = [...known.values(), ...(await unrecorded(known))];
    return letters.filter((letter) => kind === undefined || letter.kind === kind).sort((a, b) => b.diedAt - a.diedAt);
  }

  return {
    async list(listOptions = {}) {
      const offset = listOptions.offset ?? 0;
      const limit = listOptions.limit ?? 100;
      return (await all(listOptions.kind)).slice(offset, offset + limit);
    },
    async get(jobId) {
      const json = await redis.hget(key, jobId);
      if (json !== null) return JSON.parse(json) as DeadLetter;
      const job = (await queue.getJob(jobId)) as Job<JobPayload> | undefined;
      if (job === undefined || (await job.getState()) !== 'failed') return undefined;
      return classify(job);
    },
    async requeue(jobId, requeueOptions = {}) {
      const job = (await queue.getJob(jobId)) as Job<JobPayload> | undefined;
      if (job === undefined) throw new Error(`No job ${jobId} in queue ${queue.name} (purged, or never there)`);
      const state = await job.getState();
      if (state !== 'failed') throw new Error(`Job ${jobId} is ${state}, not a dead letter`);
      const letter = (await this.get(jobId)) as DeadLetter;
      if (letter.kind === 'uncertain' && requeueOptions.force !== true) {
        throw new Error(
          `Job ${jobId} (${letter.messageId}) may already have been sent. Check the recipient's mailbox or the provider's logs for this Message-ID; ` +
            'requeue it with { force: true } only if it was not sent, or if a duplicate is acceptable.',
        );
      }
      if (requeueOptions.force === true && letter.messageId !== '') await ledger.forget(letter.messageId);
      // The maximum age counts from now, or an expired message would expire again at once.
      await job.updateData({ ...job.data, ageFrom: Date.now() } as JobPayload);
      await job.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
      await redis.hdel(key, jobId);
    },
    async purge(target = {}) {
      const letters = target.jobId !== undefined ? [await this.get(target.jobId)] : await all(target.kind);
      let count = 0;
      for (const letter of letters) {
        if (letter === undefined || (target.kind !== undefined && letter.kind !== target.kind)) continue;
        const job = await queue.getJob(letter.jobId);
        if (job !== undefined && (await job.getState()) === 'failed') await job.remove();
        await redis.hdel(key, letter.jobId);
        count += 1;
      }
      return count;
    },
  };
}
