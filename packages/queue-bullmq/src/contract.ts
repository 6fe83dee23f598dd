/**
 * The engine-neutral queue contract. `@mailport/queue-bullmq` implements it on BullMQ and Redis;
 * a pg-boss or SQS adapter implements the same interfaces, so an application (and the CLI) changes
 * only the factory it calls. Nothing here names BullMQ or Redis.
 */
import type { EmailMessage, MailErrorCode, MailerInput, SendReceipt, SentLookup } from '@mailport/core';

/** Options of one {@link MailQueue.enqueue}. */
export interface EnqueueOptions {
  /** The worker route to send through (a key of the worker's `routes`). Default: the worker's choice (`default`). */
  readonly route?: string | undefined;
  /** Wait this long before the first attempt. Default `0`. */
  readonly delayMs?: number | undefined;
  /** 1 (highest) to 2,097,152; lower numbers go first. Default: none (first in, first out). */
  readonly priority?: number | undefined;
  /** Give up, as an `expired` dead letter, on a message still unsent this long after it was enqueued. Default: the queue's `maxAgeMs`. */
  readonly maxAgeMs?: number | undefined;
}

/** What {@link MailQueue.enqueue} returns at once, before anything is sent. */
export interface EnqueueResult {
  /** The job's id: derived from the Message-ID, so the same message enqueued twice is one job. */
  readonly jobId: string;
  /** The RFC 5322 Message-ID, with angle brackets: what the receipt, the ledger and the dead letters use. */
  readonly messageId: string;
  /**
   * From {@link MailQueue.enqueueMany}: a job with this id was already there (enqueued before and
   * not yet removed: waiting, sent within the deduplication window, or dead), so nothing new was stored.
   */
  readonly duplicate?: boolean | undefined;
}

/** The producer side: puts messages in the queue; sends nothing. */
export interface MailQueue extends AsyncDisposable {
  readonly name: string;
  /** Validates the message (assigning its Message-ID), stores it and returns at once. `from` may come from the queue's defaults. */
  enqueue(message: MailerInput | EmailMessage, options?: EnqueueOptions): Promise<EnqueueResult>;
  /** The same for a list, in one round trip per `batchSize` messages; results in input order. */
  enqueueMany(
    messages: Iterable<MailerInput | EmailMessage> | AsyncIterable<MailerInput | EmailMessage>,
    options?: EnqueueOptions & { readonly batchSize?: number | undefined },
  ): Promise<EnqueueResult[]>;
  /** Counts of jobs by state. */
  counts(): Promise<QueueCounts>;
  /** What became of one message, by its Message-ID. */
  status(messageId: string): Promise<MessageStatus>;
  /** The shared limiter's state, per limit key that has any (for `mailport queue`). */
  limits(): Promise<LimitKeyState[]>;
  readonly deadLetters: DeadLetters;
  close(): Promise<void>;
}

/** Jobs by state; `dead` counts the dead letters. */
export interface QueueCounts {
  readonly waiting: number;
  readonly delayed: number;
  readonly active: number;
  readonly completed: number;
  readonly dead: number;
}

/** One message's state, as {@link MailQueue.status} reports it. */
export interface MessageStatus {
  readonly messageId: string;
  readonly jobId: string;
  /** `unknown`: no job with this id (never enqueued, or removed after the deduplication window). */
  readonly state: 'waiting' | 'delayed' | 'active' | 'sent' | 'dead' | 'unknown';
  /** What the send ledger says. */
  readonly ledger: LedgerEntry | undefined;
  readonly deadLetter: DeadLetter | undefined;
}

/** The consumer side: sends what the queue holds. */
export interface MailWorker extends AsyncDisposable {
  /** This worker's id (host, pid and a random part): written in ledger entries and leases. */
  readonly id: string;
  /** Resolves once the worker is connected and its safety checks passed; rejects when they refuse. */
  readonly ready: Promise<void>;
  /** Stops taking jobs, lets every send in flight finish (and be recorded), then disconnects. Safe to call twice. */
  close(): Promise<void>;
}

/** What the send ledger knows of a Message-ID. */
export type LedgerState = 'attempting' | 'sent' | 'uncertain';

/** One ledger entry. Holds no message content and no secret. */
export interface LedgerEntry {
  readonly state: LedgerState;
  /** The attempt that wrote it: a random token per provider call. */
  readonly attempt: string;
  readonly worker: string;
  readonly jobId: string;
  /** When it was written, in ms since the epoch (the store's clock). */
  readonly at: number;
  /** For `sent`: the transport id and the provider's message id, when it gave one. */
  readonly transport?: string | undefined;
  readonly providerMessageId?: string | undefined;
}

/** What {@link SendLedger.begin} found and did. */
export type LedgerBegin =
  /** Nothing was recorded: `attempting` is now written for this attempt; send. */
  | { readonly outcome: 'begun' }
  /** Already sent: complete the job without sending. */
  | { readonly outcome: 'sent'; readonly entry: LedgerEntry }
  /** Another attempt began and never finished (a crash, a lost lock) or ended without an answer: it may be out. */
  | { readonly outcome: 'uncertain'; readonly entry: LedgerEntry };

/**
 * The send ledger, by Message-ID: `attempting` written before the provider call, `sent` after it,
 * each in one atomic step. It is what turns the queue's at-least-once delivery into at-most-once
 * sending, except in one window (see docs/scale-out.md).
 */
export interface SendLedger {
  peek(messageId: string): Promise<LedgerEntry | undefined>;
  /** Writes `attempting` unless an entry exists, atomically. `force` overwrites an `attempting` or `uncertain` entry (the `resend` policy). */
  begin(
    messageId: string,
    attempt: { readonly attempt: string; readonly worker: string; readonly jobId: string },
    options?: { readonly force?: boolean | undefined },
  ): Promise<LedgerBegin>;
  /** `attempting` -> `sent`, only for the attempt that began it. */
  markSent(
    messageId: string,
    attempt: string,
    receipt: { readonly transport?: string | undefined; readonly providerMessageId?: string | undefined },
  ): Promise<boolean>;
  /** `attempting` -> `uncertain`, only for the attempt that began it. */
  markUncertain(messageId: string, attempt: string): Promise<boolean>;
  /** Removes the entry of an attempt that certainly handed nothing over, so the retry is clean. */
  clear(messageId: string, attempt: string): Promise<boolean>;
  /** Removes the entry whatever it holds: the user's decision (requeue with `force`). */
  forget(messageId: string): Promise<void>;
}

/**
 * One rate: at most `max` sends arriving in any window of `perMs` (finished and in-flight sends are
 * counted), spaced evenly at (perMs + marginMs) / max, with no burst.
 */
export interface RateLimit {
  readonly max: number;
  readonly perMs: number;
  /** Widens the spacing (not the window). Default `0`. */
  readonly marginMs?: number | undefined;
  /** What this send counts for (its recipients, for a limit on recipients). Default `1`. */
  readonly cost?: number | undefined;
}

/** A quota: at most `max` sends in any rolling window of `windowMs` (counted in 24 buckets, conservatively). */
export interface Quota {
  readonly max: number;
  readonly windowMs: number;
  /** What this send counts for. Default `1`. */
  readonly cost?: number | undefined;
}

/** Every limit of one key, checked together. */
export interface KeyLimits {
  readonly rates?: readonly RateLimit[] | undefined;
  readonly quotas?: readonly Quota[] | undefined;
  /** Sends in flight at once for this key, across every worker. */
  readonly concurrency?: number | undefined;
}

/** One limit key's state, as {@link MailQueue.limits} reports it. Times are the store's, relative to now. */
export interface LimitKeyState {
  readonly key: string;
  /** A provider's push-back still holds the key for this long. `0`: none. */
  readonly throttledForMs: number;
  /** The next send may go in this long, by the key's rates. `0`: now. */
  readonly nextSlotInMs: number;
  /** Concurrency leases held (sends in flight under the key). */
  readonly leases: number;
  /** Used so far in each quota's rolling window, in the quota's unit. */
  readonly quotaUsed: readonly number[];
}

/** Why a send waits. */
export type WaitReason = 'rate' | 'quota' | 'concurrency' | 'throttled';

/** What {@link Limiter.acquire} answers. */
export type LimiterAnswer =
  | { readonly ok: true; readonly lease: string | undefined }
  | { readonly ok: false; readonly waitMs: number; readonly reason: WaitReason };

/**
 * Limits shared by every worker: rates, quotas, a concurrency semaphore with expiring leases, and
 * push-backs after a throttling answer. Everything is checked and taken in one atomic step, on the
 * store's clock, so workers' clocks do not matter.
 */
export interface Limiter {
  acquire(key: string, limits: KeyLimits, options: { readonly leaseId: string; readonly leaseMs: number }): Promise<LimiterAnswer>;
  /** Ends the lease an `ok` answer gave (for a concurrency limit or a rate): call it once the send has finished, sent or not. */
  release(key: string, leaseId: string): Promise<void>;
  /** Holds every send for `key` (and only that key) for `ms`: the provider said to slow down. */
  pushBack(key: string, ms: number): Promise<void>;
}

/** The four kinds of dead letter. */
export type DeadLetterKind =
  /** The provider refused, or the message cannot be sent as it is: retrying will not help. */
  | 'permanent'
  /** Every attempt failed with a retryable error. */
  | 'exhausted'
  /** It may have been sent: a worker died, or lost its answer, after handing it over. Never resent blindly. */
  | 'uncertain'
  /** It waited longer than its maximum age. */
  | 'expired';

/** The last error of a dead letter, without stack, cause or anything secret. */
export interface DeadLetterError {
  readonly code: MailErrorCode;
  readonly message: string;
  readonly retryable: boolean;
  readonly remediation?: string | undefined;
  readonly providerCode?: string | undefined;
  readonly statusCode?: number | undefined;
  readonly transport?: string | undefined;
}

/** One dead letter. */
export interface DeadLetter {
  readonly jobId: string;
  readonly messageId: string;
  readonly kind: DeadLetterKind;
  readonly error: DeadLetterError;
  readonly route: string | undefined;
  /** Attempts that reached the provider call, as the queue counted them. */
  readonly attempts: number;
  /** When the message was enqueued, and when it died (ms since the epoch). */
  readonly enqueuedAt: number;
  readonly diedAt: number;
  /** Subject and recipients, for a human looking at the list (no bodies). */
  readonly summary: { readonly subject: string; readonly to: readonly string[] };
}

/** Dead letters: list, inspect, requeue and purge. */
export interface DeadLetters {
  list(options?: { readonly kind?: DeadLetterKind | undefined; readonly offset?: number; readonly limit?: number }): Promise<DeadLetter[]>;
  get(jobId: string): Promise<DeadLetter | undefined>;
  /**
   * Puts a dead letter back in the queue with fresh attempts. An `uncertain` one is refused unless
   * `force` (the user has checked that it was not sent, or accepts a duplicate): `force` removes
   * the ledger entry that would otherwise stop it.
   */
  requeue(jobId: string, options?: { readonly force?: boolean | undefined }): Promise<void>;
  /** Removes dead letters (one, one kind, or all) and their jobs. Returns how many. */
  purge(target?: { readonly jobId?: string | undefined; readonly kind?: DeadLetterKind | undefined }): Promise<number>;
}

/** What to do with a message the ledger finds `attempting` or `uncertain` (it may have been sent). */
export type UncertainPolicy =
  /** Do not send; put it in the `uncertain` dead letters for a human (default). */
  | 'dead-letter'
  /** Send it again with the same Message-ID: at-least-once; recipients may get it twice. */
  | 'resend'
  /**
   * Ask the provider (the route transport's `lookup`, or the worker's `lookup` hook): `sent`
   * completes the job without sending; `not-found`, once the attempt began longer ago than the
   * grace period, sends it again; anything else (`unknown`, `not-found` within the grace period,
   * a transport without a lookup) is an `uncertain` dead letter.
   */
  | 'lookup';

/**
 * Asks the provider whether a message with this Message-ID went out, to settle an uncertain
 * send without a human: `sent`, `not-found` (no proof soon after a send) or `unknown`. The
 * built-in lookups (a transport's `lookup`) need read scopes the send itself does not:
 * Gmail's `rfc822msgid:<id>` search in the sender's mailbox needs `gmail.readonly` (`gmail.metadata`
 * does not allow a search); Graph's `GET /users/{mailbox}/mailFolders/sentitems/messages?$filter=internetMessageId eq '<id>'`
 * needs `Mail.ReadBasic` (or `Mail.Read`), and finds only what was saved to Sent Items.
 * SES and plain SMTP offer no lookup.
 */
export type ProviderLookup = (request: {
  readonly messageId: string;
  readonly route: string;
  readonly transport: string;
  readonly signal: AbortSignal;
}) => Promise<SentLookup>;

/** A finished job's result, as the queue keeps it for the deduplication window. */
export interface SentRecord {
  readonly messageId: string;
  readonly transport: string;
  readonly providerMessageId: string | undefined;
  readonly accepted: number;
  readonly rejected: number;
  /** True when the ledger said it was already sent and this job sent nothing. */
  readonly alreadySent: boolean;
}

/** @internal A receipt as the worker summarises it. */
export type ReceiptSummary = Pick<SendReceipt, 'messageId' | 'transport' | 'providerMessageId'>;
