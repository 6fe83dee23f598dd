import { randomBytes, randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import {
  type CreateTransportOptions,
  checkCapabilities,
  createMailer,
  createMessage,
  createTransport,
  type DkimOptions,
  type EmailMessage,
  MailError,
  type Mailer,
  type MailerOptions,
  type RecipientFilter,
  type SendLogWriter,
  type SendReceipt,
  type SentLookup,
  type Transport,
  toMailError,
} from '@mailport/core';
import { resolveDkimOptions } from '@mailport/core/dkim';
import type { Attributes } from '@opentelemetry/api';
import { DelayedError, type Job, Queue, UnrecoverableError, Worker } from 'bullmq';
import type {
  DeadLetter,
  DeadLetterKind,
  KeyLimits,
  LedgerEntry,
  LimiterAnswer,
  MailWorker,
  ProviderLookup,
  SentRecord,
  UncertainPolicy,
} from './contract.js';
import { deadLetterError, deadLetterKey } from './dead-letters.js';
import { createRedisLedger, defaultLedgerTtlMs } from './ledger.js';
import { createRedisLimiter } from './limiter.js';
import { defaultLimitKey, type LimitConfig, limitProblem, limitsFor, providerDefaults, schemeOf } from './limits.js';
import { deserializeMessage, type EncryptionKey, hashId, type JobPayload, normalizeKeys, openPayload, summarize } from './message-codec.js';
import { queueDefaults } from './queue.js';
import { checkRedis, openRedis, type RedisConnection } from './redis.js';
import { createTelemetry, type TelemetryOptions } from './telemetry.js';

/** One route: a transport (URL or instance), and the limits of the key it sends under. */
export interface RouteOptions {
  /** A transport URL (created with core's `createTransport` on the worker, where its secrets stay) or a Transport. */
  readonly transport: string | Transport;
  /**
   * The key its limits are counted under, shared by every worker. Default: from the URL, per provider
   * account ({@link defaultLimitKey}); for a Transport instance, its id. A function picks per message.
   */
  readonly limitKey?: string | ((message: EmailMessage) => string) | undefined;
  /** Limits of that key; merged over the provider's defaults ({@link providerDefaults}). `false`: none. */
  readonly limits?: LimitConfig | false | undefined;
}

/** Events the worker reports, for logs and for tests. Payloads hold no message content and no secret. */
export interface WorkerHooks {
  /** Right before the ledger is written and the provider called (after every limit was taken). */
  readonly beforeAttempt?: ((event: AttemptEvent) => void | Promise<void>) | undefined;
  /**
   * The provider accepted the message; the ledger does not say `sent` yet. A crash here is the one
   * window in which a message is sent but not recorded (it then ends in the `uncertain` dead letters).
   */
  readonly accepted?: ((event: AttemptEvent & { readonly receipt: SendReceipt }) => void | Promise<void>) | undefined;
  /** A job was settled: sent, deferred, retried or dead-lettered. */
  readonly settled?: ((event: SettledEvent) => void) | undefined;
}

export interface AttemptEvent {
  readonly jobId: string;
  readonly messageId: string;
  readonly route: string;
  readonly attempt: number;
}

export type SettledEvent = AttemptEvent &
  (
    | { readonly outcome: 'sent' | 'already-sent' }
    | { readonly outcome: 'deferred'; readonly reason: string; readonly waitMs: number }
    | { readonly outcome: 'retry'; readonly error: MailError }
    | { readonly outcome: 'dead'; readonly kind: DeadLetterKind; readonly error: MailError }
  );

/** Options of {@link createMailWorker}. */
export interface MailWorkerOptions {
  readonly connection: RedisConnection;
  /** The queue to work. Default `mail`. */
  readonly name?: string | undefined;
  /** BullMQ's key prefix, as the queue's. Default `bull`. */
  readonly prefix?: string | undefined;
  /** Routes by name: `{ default: 'smtp://...', bulk: { transport: 'ses://...', limits: {...} } }`. */
  readonly routes: Readonly<Record<string, string | Transport | RouteOptions>>;
  /**
   * The route for a message enqueued without one. Default: `default` if there is such a route,
   * else the first route whose transport can carry the message (size, recipients, headers, ...).
   */
  readonly chooseRoute?: ((message: EmailMessage, routes: readonly string[]) => string | Promise<string>) | undefined;
  /** Sends in flight at once in this process. Default `8`. */
  readonly concurrency?: number | undefined;
  /** Limits by limit key, over the routes' and the providers' defaults: `{ 'graph:tenant:ana@contoso.com': { rates: [...] } }`. */
  readonly limits?: Readonly<Record<string, LimitConfig>> | undefined;
  /**
   * A message the ledger finds begun and unfinished: `dead-letter` (default), `resend`
   * (at-least-once), or `lookup` (ask the provider through the route transport's `lookup`: the
   * Gmail API and Graph have one; found completes the job unsent, not found after `lookupGraceMs`
   * sends it again, anything else is an `uncertain` dead letter).
   */
  readonly uncertain?: UncertainPolicy | undefined;
  /**
   * Asks the provider whether an uncertain message went out, before the policy applies, instead of
   * the transport's own `lookup`. Default: none (with the `lookup` policy, the transport's).
   */
  readonly lookup?: ProviderLookup | undefined;
  /**
   * A lookup's `not-found` counts only once the attempt began at least this long ago (by Redis's
   * clock); sooner it is no proof (Graph files a message in Sent Items a little after its 202)
   * and the job waits out the rest of it (using no attempt), then asks again. Default `60000`.
   */
  readonly lookupGraceMs?: number | undefined;
  /** Retry backoff: full jitter up to min(retryDelayMs * 2^(attempt-1), maxRetryDelayMs), never under Retry-After. Default 5 minutes. */
  readonly maxRetryDelayMs?: number | undefined;
  /** Push-back after a throttling answer without Retry-After. Default `1000`. */
  readonly throttleMs?: number | undefined;
  /**
   * A rate wait up to this long is waited here, holding the job's slot, and the limits are checked
   * again right before sending; a longer wait (or a quota, a concurrency limit, a push-back) moves the
   * job to BullMQ's delayed set instead. At most half the slots (`concurrency`) wait on one key at a
   * time, so other keys' jobs still run. Default `250`; `0`: always defer.
   */
  readonly limitWaitMs?: number | undefined;
  /** For jobs without their own: default the queue's (24 hours). */
  readonly maxAgeMs?: number | undefined;
  /** The job lock; a worker that stops renewing it (crashed, frozen) loses its job after this. Default `30000`. */
  readonly lockDurationMs?: number | undefined;
  /** How often workers look for stalled jobs. Default `30000`. */
  readonly stalledIntervalMs?: number | undefined;
  /** A job found stalled more often fails (classified from the ledger). Default `3`. */
  readonly maxStalledCount?: number | undefined;
  /** As the queue's: how long ledger entries are kept. Default 7 days. */
  readonly dedupWindowMs?: number | undefined;
  /** Keys to open encrypted jobs (newest first). */
  readonly encryptionKey?: EncryptionKey | readonly EncryptionKey[] | undefined;
  /** Passed to `createTransport` for URL routes (adapter options, token provider, env). */
  readonly transportOptions?: CreateTransportOptions | undefined;
  /**
   * Recipients to leave out, checked before each send as `createMailer({ suppression })` does
   * (`suppressionFilter(store)` of `@mailport/events`): suppressed recipients are dropped and listed
   * in the receipt's `rejected` with code `suppressed`; a job with no recipient left is a `permanent`
   * dead letter (`recipient-rejected`) and nothing is sent.
   */
  readonly suppression?: RecipientFilter | undefined;
  /** Records every message sent, as `createMailer({ sendLog })` does, so events can be joined to it. */
  readonly sendLog?: SendLogWriter | undefined;
  /** DKIM-sign every message, as `createMailer({ dkim })` does (keys checked when the worker is created). */
  readonly dkim?: DkimOptions | undefined;
  /** Close on SIGTERM and SIGINT (a second signal exits at once). Default `true`. */
  readonly handleSignals?: boolean | undefined;
  readonly hooks?: WorkerHooks | undefined;
  readonly telemetry?: TelemetryOptions | undefined;
  /** Warnings (Redis without persistence, a hook that threw). Default `process.emitWarning`. */
  readonly onWarning?: ((message: string) => void) | undefined;
}

interface Route {
  readonly name: string;
  readonly mailer: Mailer;
  readonly transport: () => Promise<Transport>;
  readonly limitKey: (message: EmailMessage) => string;
  readonly limits: (key: string) => LimitConfig;
}

/** A job deferred by a limit: moved to delayed without using an attempt. */
class Deferral extends Error {
  readonly reason: string;
  readonly waitMs: number;
  constructor(reason: string, waitMs: number) {
    super(`deferred (${reason}) for ${waitMs} ms`);
    this.reason = reason;
    this.waitMs = waitMs;
  }
}

/** A job that ends as a dead letter. */
class Death extends Error {
  readonly kind: DeadLetterKind;
  readonly error: MailError;
  constructor(kind: DeadLetterKind, error: MailError) {
    super(`${kind}: ${error.message}`);
    this.kind = kind;
    this.error = error;
  }
}

/**
 * A worker: takes jobs from the queue, at most `concurrency` at a time, and sends each through its
 * route's transport with one attempt per job (core's retries are off: the queue owns attempts and
 * backoff, so a retry is visible, bounded and survives a crash). Around each send:
 *
 * 1. the maximum age (else an `expired` dead letter);
 * 2. the ledger: `sent` completes the job without sending; a begun attempt is uncertain (policy);
 * 3. the shared limits of the route's key (rates, quotas, concurrency, push-backs): a wait moves the
 *    job to delayed, and uses no attempt;
 * 4. `attempting` in the ledger, the provider call, `sent` in the ledger;
 * 5. on failure, by the MailError: `rate-limited` pushes back that key only and defers; an error that
 *    handed nothing over clears the ledger and retries (`retryable`) or dead-letters (`permanent`);
 *    `unknown-outcome` is `uncertain`.
 *
 * Refuses to start (`ready` rejects, nothing is processed) when Redis evicts keys.
 */
export function createMailWorker(options: MailWorkerOptions): MailWorker {
  const name = options.name ?? queueDefaults.name;
  const prefix = options.prefix ?? queueDefaults.prefix;
  const keys = normalizeKeys(options.encryptionKey);
  const policy = options.uncertain ?? 'dead-letter';
  if (policy !== 'dead-letter' && policy !== 'resend' && policy !== 'lookup') {
    throw new MailError('configuration', `uncertain: "${String(policy)}" is not a policy (dead-letter, resend or lookup)`);
  }
  const lookupGraceMs = options.lookupGraceMs ?? 60_000;
  if (!Number.isFinite(lookupGraceMs) || lookupGraceMs < 0) {
    throw new MailError('configuration', `lookupGraceMs: ${lookupGraceMs} is not a duration in ms`);
  }
  const throttleMs = options.throttleMs ?? 1000;
  const maxRetryDelayMs = options.maxRetryDelayMs ?? 300_000;
  const lockDurationMs = options.lockDurationMs ?? 30_000;
  const concurrency = options.concurrency ?? 8;
  const limitWaitMs = options.limitWaitMs ?? 250;
  // Slots of this process waiting in-process on one key; the rest of a key's jobs are deferred.
  const maxWaitersPerKey = Math.max(1, Math.ceil(concurrency / 2));
  const waiters = new Map<string, number>();
  const defaultMaxAgeMs = options.maxAgeMs ?? queueDefaults.maxAgeMs;
  const onWarning = options.onWarning ?? ((message: string) => process.emitWarning(message, 'MailportWorkerWarning'));
  const workerId = `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  const telemetry = createTelemetry(options.telemetry);
  const hooks = options.hooks ?? {};
  for (const [key, config] of Object.entries(options.limits ?? {})) {
    const problem = limitProblem(config);
    if (problem !== undefined) throw new MailError('configuration', `limits of ${key}: ${problem}`);
  }
  const routes = buildRoutes(options);
  const routeNames = [...routes.keys()];
  if (routeNames.length === 0) throw new MailError('configuration', 'A worker needs at least one route');

  const { redis, owned } = openRedis(options.connection, 'worker');
  const ledger = createRedisLedger(redis, { prefix, ttlMs: options.dedupWindowMs ?? defaultLedgerTtlMs });
  const limiter = createRedisLimiter(redis, { prefix });
  const deadKey = deadLetterKey(prefix, name);

  // Only for the queue-depth gauge, read when the application's metrics are collected.
  const counter = new Queue(name, { connection: redis, prefix });
  const stopDepth = telemetry.observeDepth(name, () => counter.getJobCounts('waiting', 'prioritized', 'delayed', 'active'));

  const worker = new Worker<JobPayload, SentRecord>(name, (job, token) => processJob(job, token as string), {
    connection: redis,
    prefix,
    autorun: false,
    concurrency,
    lockDuration: lockDurationMs,
    stalledInterval: options.stalledIntervalMs ?? 30_000,
    maxStalledCount: options.maxStalledCount ?? 3,
    settings: { backoffStrategy: (attemptsMade, _type, error, job) => backoff(attemptsMade, error, job) },
  });
  // Connection errors are retried by ioredis and BullMQ; keep them from becoming unhandled 'error' events.
  worker.on('error', () => {});

  const ready = (async () => {
    await checkRedis(redis, onWarning);
    void worker.run().catch((error: unknown) => onWarning(`The worker stopped: ${error instanceof Error ? error.message : String(error)}`));
  })();
  ready.catch(() => {
    void close();
  });

  function backoff(attemptsMade: number, error: Error | undefined, job: { opts?: { backoff?: unknown } } | undefined): number {
    const base = (job?.opts?.backoff as { delay?: number } | undefined)?.delay ?? queueDefaults.retryDelayMs;
    const cap = Math.min(maxRetryDelayMs, base * 2 ** Math.max(0, attemptsMade - 1));
    const floor = MailError.isInstance(error) ? (error.retryAfterMs ?? 0) : 0;
    return Math.max(floor, Math.round(Math.random() * cap));
  }

  async function processJob(job: Job<JobPayload, SentRecord>, token: string): Promise<SentRecord> {
    const jobId = job.id ?? '';
    const messageId = job.data?.messageId ?? '';
    const attempt = job.attemptsMade + 1;
    const base: Attributes = {
      'messaging.message.id': jobId,
      'mailport.message_id.hash': hashId(messageId),
      'mailport.attempt': attempt,
    };
    return telemetry.inSpan(name, base, async (span) => {
      let routeName = job.data?.route ?? '';
      const event = () => ({ jobId, messageId, route: routeName, attempt });
      try {
        const stored = (() => {
          try {
            return openPayload(job.data, jobId, keys);
          } catch (error) {
            throw new Death('permanent', asMailError(error));
          }
        })();
        const maxAgeMs = job.data.maxAgeMs ?? (defaultMaxAgeMs > 0 ? defaultMaxAgeMs : undefined);
        const waitedMs = Date.now() - (job.data.ageFrom ?? job.timestamp);
        if (maxAgeMs !== undefined && waitedMs > maxAgeMs) {
          throw new Death(
            'expired',
            new MailError(
              'timeout',
              `Not sent within its maximum age: waited ${Math.round(waitedMs / 1000)} s, limit ${Math.round(maxAgeMs / 1000)} s`,
              {
                retryable: false,
                remediation:
                  "Raise maxAgeMs, or the route's limits if they are below what the provider allows; requeue it if it is still worth sending.",
              },
            ),
          );
        }
        let message: EmailMessage;
        try {
          message = createMessage(deserializeMessage(stored));
        } catch (error) {
          throw new Death('permanent', asMailError(error));
        }
        if (routeName === '') routeName = await pickRoute(message);
        const route = routes.get(routeName);
        if (route === undefined) {
          throw new Death(
            'permanent',
            new MailError('configuration', `No route "${routeName}" on this worker (routes: ${routeNames.join(', ')})`, {
              remediation: 'Enqueue with a route the workers have, or add it to their routes.',
            }),
          );
        }
        span.setAttribute('mailport.route', routeName);
        const transport = await route.transport();
        span.setAttribute('mailport.transport', transport.id);

        // An attempt that began and never finished may have sent the message.
        const existing = await ledger.peek(messageId);
        let force = false;
        if (existing?.state === 'sent') return alreadySent(existing, event(), transport.id);
        if (existing !== undefined) {
          if ((await settleUncertain(existing, routeName, transport)) === 'sent') {
            span.setAttribute('mailport.outcome', 'found-sent');
            return alreadySent(existing, event(), transport.id);
          }
          force = true;
        }

        const key = route.limitKey(message);
        const limits = limitsFor(route.limits(key), message);
        const leaseId = `${workerId}:${jobId}`;
        const answer = await acquire(key, limits, leaseId, routeName);
        if (!answer.ok) throw new Deferral(answer.reason, answer.waitMs);
        try {
          await runHook('beforeAttempt', () => hooks.beforeAttempt?.(event()));
          const attemptToken = randomUUID();
          const begun = await ledger.begin(messageId, { attempt: attemptToken, worker: workerId, jobId }, { force });
          if (begun.outcome === 'sent') return alreadySent(begun.entry, event(), transport.id);
          if (begun.outcome === 'uncertain') throw uncertainDeath(begun.entry);

          let receipt: SendReceipt;
          try {
            receipt = await route.mailer.send(message);
          } catch (caught) {
            const error = toMailError(caught, transport.id);
            if (error.code === 'unknown-outcome') {
              await ledger.markUncertain(messageId, attemptToken);
              telemetry.uncertain({ 'mailport.route': routeName });
              if (policy === 'resend') throw retryOrExhausted(job, error);
              // Ask the provider once a lookup can tell: the job comes back after the grace period, uses no attempt, and finds `uncertain`.
              if (policy === 'lookup' && lookupFor(transport, routeName) !== undefined) throw new Deferral('lookup', lookupGraceMs);
              throw new Death('uncertain', error);
            }
            // Nothing was handed over: the retry starts clean.
            await ledger.clear(messageId, attemptToken);
            if (error.code === 'rate-limited') {
              const waitMs = error.retryAfterMs ?? throttleMs;
              await limiter.pushBack(key, waitMs);
              throw new Deferral('throttled', waitMs);
            }
            if (error.retryable) throw retryOrExhausted(job, error);
            throw new Death('permanent', error);
          }
          await runHook('accepted', () => hooks.accepted?.({ ...event(), receipt }));
          await ledger.markSent(messageId, attemptToken, { transport: receipt.transport, providerMessageId: receipt.providerMessageId });
          telemetry.sent({ 'mailport.route': routeName, 'mailport.transport': receipt.transport });
          span.setAttribute('mailport.outcome', 'sent');
          hooks.settled?.({ ...event(), outcome: 'sent' });
          return {
            messageId,
            transport: receipt.transport,
            providerMessageId: receipt.providerMessageId,
            accepted: receipt.accepted.length,
            rejected: receipt.rejected.length,
            alreadySent: false,
          };
        } finally {
          if (answer.lease !== undefined) await limiter.release(key, answer.lease).catch(() => {});
        }
      } catch (caught) {
        const attributes = { 'mailport.route': routeName };
        if (caught instanceof Deferral) {
          span.setAttribute('mailport.outcome', `deferred-${caught.reason}`);
          telemetry.deferred(caught.reason as 'rate', attributes);
          telemetry.limiterWait(caught.waitMs / 1000, { ...attributes, 'mailport.wait.reason': caught.reason });
          hooks.settled?.({ ...event(), outcome: 'deferred', reason: caught.reason, waitMs: caught.waitMs });
          // A little jitter, so jobs deferred together do not all wake on the same tick.
          await job.moveToDelayed(Date.now() + caught.waitMs + Math.floor(Math.random() * 20), token);
          throw new DelayedError();
        }
        if (caught instanceof Death) {
          span.setAttribute('mailport.outcome', `dead-${caught.kind}`);
          span.setAttribute('error.type', caught.error.code);
          await recordDeath(job, caught, routeName);
          telemetry.deadLetter(caught.kind, attributes);
          hooks.settled?.({ ...event(), outcome: 'dead', kind: caught.kind, error: caught.error });
          throw new UnrecoverableError(caught.message);
        }
        if (MailError.isInstance(caught)) {
          span.setAttribute('mailport.outcome', 'retry');
          span.setAttribute('error.type', caught.code);
          hooks.settled?.({ ...event(), outcome: 'retry', error: caught });
        }
        throw caught;
      }
    });

    /**
     * A begun, unfinished attempt: ask the provider if there is a lookup, else apply the policy.
     * `send` means begin again, forcing past the entry.
     */
    async function settleUncertain(entry: LedgerEntry, routeName: string, transport: Transport): Promise<'sent' | 'send'> {
      telemetry.uncertain({ 'mailport.route': routeName });
      const ask = lookupFor(transport, routeName);
      let found: string | undefined;
      if (ask !== undefined) {
        const answer = await ask(messageId, AbortSignal.timeout(30_000)).catch(() => 'unknown' as const);
        if (answer === 'sent') {
          await ledger.markSent(messageId, entry.attempt, { transport: transport.id });
          return 'sent';
        }
        if (answer === 'not-found') {
          const sinceMs = (await redisNow()) - entry.at;
          if (sinceMs >= lookupGraceMs) return 'send';
          // Too soon to be proof (a provider may list a message late): ask again once the grace period is over.
          // A stalled job comes back after the lock expires, often inside the default grace period.
          throw new Deferral('lookup', lookupGraceMs - sinceMs);
        } else {
          found = 'The provider lookup could not tell.';
        }
      } else if (policy === 'lookup') {
        found = `${transport.id} has no lookup.`;
      }
      if (policy === 'resend') return 'send';
      throw uncertainDeath(entry, found);
    }
  }

  /** How to ask the provider about a Message-ID on this route: the worker's hook, else (policy `lookup`) the transport's own. */
  function lookupFor(
    transport: Transport,
    routeName: string,
  ): ((messageId: string, signal: AbortSignal) => Promise<SentLookup>) | undefined {
    const hook = options.lookup;
    if (hook !== undefined) return (messageId, signal) => hook({ messageId, route: routeName, transport: transport.id, signal });
    if (policy !== 'lookup' || typeof transport.lookup !== 'function') return undefined;
    const own = transport.lookup.bind(transport);
    return (messageId, signal) => own(messageId, { signal });
  }

  /** Redis's clock, which stamped the ledger entry. */
  async function redisNow(): Promise<number> {
    const [seconds, micros] = await redis.time();
    return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
  }

  /**
   * Takes the key's limits. A short rate wait is slept here and checked again, rather than sent
   * through BullMQ's delayed set: delayed jobs are promoted on Redis's 100 ms tick, which left a
   * key held at 20/s at about 11/s. The re-check keeps the limit exact whatever the timers do.
   */
  async function acquire(key: string, limits: KeyLimits, leaseId: string, routeName: string): Promise<LimiterAnswer> {
    let waitedMs = 0;
    for (;;) {
      const answer = await limiter.acquire(key, limits, { leaseId, leaseMs: lockDurationMs * 2 });
      if (answer.ok || answer.reason !== 'rate' || answer.waitMs > limitWaitMs || waitedMs + answer.waitMs > limitWaitMs * 4) return answer;
      const waiting = waiters.get(key) ?? 0;
      if (waiting >= maxWaitersPerKey) return answer;
      waiters.set(key, waiting + 1);
      try {
        await new Promise((resolve) => setTimeout(resolve, answer.waitMs));
      } finally {
        const left = (waiters.get(key) ?? 1) - 1;
        if (left === 0) waiters.delete(key);
        else waiters.set(key, left);
      }
      waitedMs += answer.waitMs;
      telemetry.limiterWait(answer.waitMs / 1000, { 'mailport.route': routeName, 'mailport.wait.reason': 'rate' });
    }
  }

  function alreadySent(entry: LedgerEntry, event: AttemptEvent, transport: string): SentRecord {
    hooks.settled?.({ ...event, outcome: 'already-sent' });
    return {
      messageId: event.messageId,
      transport: entry.transport ?? transport,
      providerMessageId: entry.providerMessageId,
      accepted: 0,
      rejected: 0,
      alreadySent: true,
    };
  }

  function uncertainDeath(entry: LedgerEntry, lookedUp?: string): Death {
    return new Death(
      'uncertain',
      new MailError(
        'unknown-outcome',
        `An attempt began at ${new Date(entry.at).toISOString()} (worker ${entry.worker}) and never recorded its outcome: the worker stopped or lost its job after, or while, handing the message over. It may have been sent.${lookedUp === undefined ? '' : ` ${lookedUp}`}`,
        {
          retryable: false,
          remediation:
            "Look for this Message-ID in the recipient's mailbox or the provider's logs; requeue with force only if it was not sent, else purge it.",
        },
      ),
    );
  }

  function retryOrExhausted(job: Job, error: MailError): Error {
    const attempts = job.opts.attempts ?? 1;
    if (job.attemptsMade + 1 >= attempts) return new Death('exhausted', error);
    return error;
  }

  async function recordDeath(job: Job<JobPayload>, death: Death, route: string): Promise<void> {
    let summary: DeadLetter['summary'] = { subject: '', to: [] };
    // An encrypted job's subject and recipients stay encrypted: the record holds none.
    if (job.data?.message !== undefined) summary = summarize(job.data.message);
    const letter: DeadLetter = {
      jobId: job.id ?? '',
      messageId: job.data?.messageId ?? '',
      kind: death.kind,
      error: deadLetterError(death.error),
      route: route === '' ? undefined : route,
      attempts: job.attemptsMade + 1,
      enqueuedAt: job.timestamp,
      diedAt: Date.now(),
      summary,
    };
    await redis.hset(deadKey, letter.jobId, JSON.stringify(letter));
  }

  async function pickRoute(message: EmailMessage): Promise<string> {
    if (options.chooseRoute !== undefined) return options.chooseRoute(message, routeNames);
    if (routes.has('default')) return 'default';
    for (const [routeName, route] of routes) {
      const problem = await checkCapabilities(message, await route.transport());
      if (problem === undefined) return routeName;
    }
    return routeNames[0] as string;
  }

  async function runHook(hookName: string, call: () => void | Promise<void> | undefined): Promise<void> {
    try {
      await call();
    } catch (error) {
      onWarning(`The ${hookName} hook threw: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  let closing: Promise<void> | undefined;
  function close(): Promise<void> {
    closing ??= (async () => {
      removeSignals();
      await worker.close();
      stopDepth();
      await counter.close().catch(() => {});
      await Promise.all([...routes.values()].map((route) => route.mailer.close().catch(() => {})));
      if (owned) await redis.quit().catch(() => redis.disconnect());
    })();
    return closing;
  }

  const onSignal = (signal: NodeJS.Signals) => {
    if (closing !== undefined) process.exit(signal === 'SIGINT' ? 130 : 143);
    void close();
  };
  const removeSignals = () => {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  };
  if (options.handleSignals !== false) {
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  }

  const mailWorker: MailWorker = {
    id: workerId,
    ready,
    close,
    [Symbol.asyncDispose]: close,
  };
  return mailWorker;
}

function buildRoutes(options: MailWorkerOptions): Map<string, Route> {
  // Bad keys are a configuration error now, not at the first job (the mailers are made on first use).
  if (options.dkim !== undefined) resolveDkimOptions(options.dkim);
  const routes = new Map<string, Route>();
  for (const [routeName, config] of Object.entries(options.routes)) {
    const route: RouteOptions = typeof config === 'string' || isTransport(config) ? { transport: config } : config;
    const url = typeof route.transport === 'string' ? route.transport : undefined;
    let transportPromise: Promise<Transport> | undefined;
    const transport = () => {
      transportPromise ??= createTransport(route.transport, options.transportOptions);
      return transportPromise;
    };
    const fixedKey = typeof route.limitKey === 'string' ? route.limitKey : undefined;
    const keyFunction = typeof route.limitKey === 'function' ? route.limitKey : undefined;
    const urlKey = url === undefined ? `transport:${(route.transport as Transport).id}` : defaultLimitKey(url);
    const scheme = url === undefined ? '' : schemeOf(url);
    const routeLimits = route.limits;
    if (routeLimits !== undefined && routeLimits !== false) {
      const problem = limitProblem(routeLimits);
      if (problem !== undefined) throw new MailError('configuration', `limits of route ${routeName}: ${problem}`);
    }
    routes.set(routeName, {
      name: routeName,
      mailer: createLazyMailer(transport, { suppression: options.suppression, sendLog: options.sendLog, dkim: options.dkim }),
      transport,
      limitKey: (message) => fixedKey ?? keyFunction?.(message) ?? urlKey,
      limits: (key) => {
        if (routeLimits === false) return options.limits?.[key] ?? {};
        return { ...(providerDefaults[scheme] ?? {}), ...(routeLimits ?? {}), ...(options.limits?.[key] ?? {}) };
      },
    });
  }
  return routes;
}

/** A mailer over a transport created on first use, with core's retries off. */
function createLazyMailer(transport: () => Promise<Transport>, extras: Pick<MailerOptions, 'suppression' | 'sendLog' | 'dkim'>): Mailer {
  let mailer: Promise<Mailer> | undefined;
  const get = () => {
    mailer ??= transport().then((instance) => createMailer({ ...extras, transport: instance, retry: false }));
    return mailer;
  };
  return {
    send: async (input, sendOptions) => (await get()).send(input, sendOptions),
    sendMany: (() => {
      throw new Error('not used');
    }) as never,
    verify: async (verifyOptions) => (await get()).verify(verifyOptions),
    close: async () => {
      if (mailer !== undefined) await (await mailer).close();
    },
    [Symbol.asyncDispose]: async () => {
      if (mailer !== undefined) await (await mailer).close();
    },
  };
}

function isTransport(value: unknown): value is Transport {
  return typeof value === 'object' && value !== null && typeof (value as Transport).send === 'function';
}

/** A failure before any send (opening the job, rebuilding the message) as a MailError: nothing was sent. */
function asMailError(error: unknown): MailError {
  if (MailError.isInstance(error)) return error;
  return new MailError('invalid-message', `The job could not be read: ${error instanceof Error ? error.message : String(error)}`, {
    retryable: false,
  });
}
