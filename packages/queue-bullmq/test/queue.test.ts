import { MailError } from '@mailport/core';
import { createMemorySendLog, createMemorySuppressionStore, suppressionFilter } from '@mailport/events';
import { startSandbox } from '@mailport/sandbox';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMailQueue, createMailWorker, type MailWorkerOptions } from '../src/index.js';
import { createRedisLedger } from '../src/ledger.js';
import { createRedisLimiter } from '../src/limiter.js';
import { findRedis, skipUnlessFound } from './find-redis.js';
import { type RedisServer, startRedis } from './redis-server.js';

const redisFound = findRedis();
const fast = { lockDurationMs: 4000, stalledIntervalMs: 2000, handleSignals: false } as const;

/** The most arrivals in any window of `windowMs`, from sorted times. */
export function maxInWindow(times: readonly number[], windowMs: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let best = 0;
  let start = 0;
  for (let end = 0; end < sorted.length; end += 1) {
    while ((sorted[end] as number) - (sorted[start] as number) >= windowMs) start += 1;
    best = Math.max(best, end - start + 1);
  }
  return best;
}

describe.skipIf(skipUnlessFound(redisFound))('queue, ledger and limiter on a real Redis', () => {
  let server: RedisServer;
  let redis: Redis;
  let sandbox: Awaited<ReturnType<typeof startSandbox>>;
  let queueCount = 0;
  const nextName = () => `q${++queueCount}`;

  beforeAll(async () => {
    server = await startRedis((redisFound as { path: string }).path);
    redis = new Redis(server.url);
    sandbox = await startSandbox();
  });
  afterAll(async () => {
    await redis?.quit();
    await sandbox?.close();
    await server?.stop();
  });

  it('the ledger begins once, records sent, and clears only its own attempt', async () => {
    const ledger = createRedisLedger(redis, { prefix: 't1' });
    const attempt = { attempt: 'a1', worker: 'w1', jobId: 'j1' };
    expect(await ledger.begin('<x@example.com>', attempt)).toEqual({ outcome: 'begun' });
    const again = await ledger.begin('<x@example.com>', { ...attempt, attempt: 'a2' });
    expect(again).toMatchObject({ outcome: 'uncertain', entry: { state: 'attempting', attempt: 'a1', worker: 'w1' } });
    expect(await ledger.clear('<x@example.com>', 'a2')).toBe(false);
    expect(await ledger.markSent('<x@example.com>', 'a1', { transport: 'smtp://h', providerMessageId: 'p1' })).toBe(true);
    expect(await ledger.begin('<x@example.com>', { ...attempt, attempt: 'a3' }, { force: true })).toMatchObject({ outcome: 'sent' });
    expect(await ledger.begin('<y@example.com>', attempt)).toEqual({ outcome: 'begun' });
    expect(await ledger.clear('<y@example.com>', 'a1')).toBe(true);
    expect(await ledger.peek('<y@example.com>')).toBeUndefined();
  });

  it('the limiter spaces sends, counts quotas, leases expire, and a push-back holds one key only', async () => {
    const limiter = createRedisLimiter(redis, { prefix: 't2' });
    const lease = { leaseId: 'l1', leaseMs: 300 };
    const rate = { rates: [{ max: 10, perMs: 1000 }] };
    // A rate leases too: a send in flight counts as arriving until it is released.
    expect(await limiter.acquire('a', rate, lease)).toEqual({ ok: true, lease: 'l1' });
    const second = await limiter.acquire('a', rate, lease);
    expect(second).toMatchObject({ ok: false, reason: 'rate' });
    expect((second as { waitMs: number }).waitMs).toBeGreaterThan(50);
    expect((second as { waitMs: number }).waitMs).toBeLessThanOrEqual(100);
    expect(await limiter.acquire('b', rate, lease)).toMatchObject({ ok: true });

    const quota = { quotas: [{ max: 3, windowMs: 86_400_000 }] };
    for (let index = 0; index < 3; index += 1) expect(await limiter.acquire('q', quota, lease)).toMatchObject({ ok: true });
    expect(await limiter.acquire('q', quota, lease)).toMatchObject({ ok: false, reason: 'quota' });

    const semaphore = { concurrency: 1 };
    expect(await limiter.acquire('c', semaphore, { leaseId: 'dead-worker', leaseMs: 200 })).toEqual({ ok: true, lease: 'dead-worker' });
    expect(await limiter.acquire('c', semaphore, { leaseId: 'other', leaseMs: 200 })).toMatchObject({ ok: false, reason: 'concurrency' });
    await new Promise((resolve) => setTimeout(resolve, 250));
    expect(await limiter.acquire('c', semaphore, { leaseId: 'other', leaseMs: 200 })).toMatchObject({ ok: true });
    await limiter.release('c', 'other');

    await limiter.pushBack('p', 500);
    expect(await limiter.acquire('p', {}, lease)).toMatchObject({ ok: false, reason: 'throttled' });
    expect(await limiter.acquire('other-key', {}, lease)).toMatchObject({ ok: true });
  });

  it('a rate counts the sends in flight and those finished within the window, whatever the spacing allows', async () => {
    const limiter = createRedisLimiter(redis, { prefix: 't3' });
    // 2 per second, spaced 200 ms apart (perMs / max = 500 ms, so the spacing is not what holds it here).
    const rate = { rates: [{ max: 2, perMs: 400, marginMs: 0 }] };
    const take = (leaseId: string) => limiter.acquire('k', rate, { leaseId, leaseMs: 10_000 });
    expect(await take('a')).toMatchObject({ ok: true });
    await new Promise((resolve) => setTimeout(resolve, 210));
    expect(await take('b')).toMatchObject({ ok: true });
    await new Promise((resolve) => setTimeout(resolve, 210));
    // The spacing allows a third, but two are still in flight: they may arrive inside this window.
    expect(await take('c')).toMatchObject({ ok: false, reason: 'rate' });
    await limiter.release('k', 'a');
    await limiter.release('k', 'b');
    // Both finished just now: the window must pass from the older one.
    const held = await take('c');
    expect(held).toMatchObject({ ok: false, reason: 'rate' });
    expect((held as { waitMs: number }).waitMs).toBeGreaterThan(300);
    await new Promise((resolve) => setTimeout(resolve, (held as { waitMs: number }).waitMs + 5));
    expect(await take('c')).toMatchObject({ ok: true });
    // A send that alone costs more than the rate allows still goes when nothing else counts.
    const big = { rates: [{ max: 2, perMs: 400, cost: 5 }] };
    expect(await limiter.acquire('big', big, { leaseId: 'x', leaseMs: 10_000 })).toMatchObject({ ok: true });
  });

  it('refuses a Redis that evicts keys', async () => {
    await redis.config('SET', 'maxmemory-policy', 'allkeys-lru');
    try {
      const worker = createMailWorker({ connection: server.url, name: nextName(), routes: { default: 'memory://refuse' }, ...fast });
      await expect(worker.ready).rejects.toThrow(/maxmemory-policy is allkeys-lru/);
      await worker.close();
      const queue = createMailQueue({ connection: server.url, name: nextName() });
      await expect(queue.enqueue({ from: 'a@example.com', to: 'b@example.org', text: 'x' })).rejects.toThrow(
        /maxmemory-policy is allkeys-lru/,
      );
      await queue.close();
    } finally {
      await redis.config('SET', 'maxmemory-policy', 'noeviction');
    }
  });

  it('enqueues once per Message-ID, sends through the sandbox, and dead-letters a refusal as permanent', async () => {
    const name = nextName();
    const warnings: string[] = [];
    await using queue = createMailQueue({
      connection: server.url,
      name,
      defaults: { from: 'sender@contoso.example' },
      onWarning: (w) => warnings.push(w),
    });
    const refused = await queue.enqueue({ to: 'refused@example.org', subject: 'refused', text: 'x' });
    const first = await queue.enqueue({
      to: 'ana@example.org',
      subject: 'one',
      text: 'hello',
      attachments: [{ filename: 'a.txt', content: 'attached' }],
    });
    const again = await queue.enqueue({ messageId: first.messageId, to: 'ana@example.org', subject: 'one', text: 'hello' });
    expect(again.jobId).toBe(first.jobId);
    const many = await queue.enqueueMany(
      Array.from({ length: 5 }, (_, index) => ({ to: `r${index}@example.org`, subject: `bulk ${index}`, text: 'x' })),
    );
    expect(new Set(many.map((result) => result.jobId)).size).toBe(5);
    sandbox.faults.inject({ endpoint: 'graph.sendMail', status: 400, code: 'ErrorInvalidRecipients', message: 'refused' });

    const settled: string[] = [];
    const options: MailWorkerOptions = {
      connection: server.url,
      name,
      routes: { default: { transport: sandbox.urls.graph, limits: false } },
      concurrency: 1,
      hooks: { settled: (event) => settled.push(`${event.outcome}`) },
      ...fast,
    };
    // The refusal is first in line: enqueue order is send order with concurrency 1.
    await using worker = createMailWorker(options);
    await worker.ready;
    await waitFor(async () => (await queue.counts()).completed + (await queue.counts()).dead === 7);
    const arrived = sandbox.store.list({ api: 'graph' });
    expect(arrived).toHaveLength(6);
    expect(arrived.filter((message) => message.raw.toString().includes(first.messageId))).toHaveLength(1);
    const dead = await queue.deadLetters.list();
    expect(dead).toHaveLength(1);
    expect(dead[0]).toMatchObject({
      jobId: refused.jobId,
      kind: 'permanent',
      error: { retryable: false },
      summary: { subject: expect.any(String) },
    });
    const status = await queue.status(first.messageId);
    expect(status).toMatchObject({ state: 'sent', ledger: { state: 'sent' } });
    expect(JSON.stringify(dead)).not.toContain(sandbox.accounts.microsoft.clientSecret);
    expect(await queue.deadLetters.purge({ kind: 'permanent' })).toBe(1);
    expect(await queue.deadLetters.list()).toHaveLength(0);
  });

  it('workers check suppression before each send and record what they sent in the send log', async () => {
    const name = nextName();
    const store = createMemorySuppressionStore();
    await store.add({ address: 'gone@example.org', scope: '*', reason: 'hard-bounce', createdAt: new Date().toISOString() });
    const sendLog = createMemorySendLog();
    await using queue = createMailQueue({ connection: server.url, name, defaults: { from: 'sender@contoso.example' } });
    const before = sandbox.store.size;
    const requestsBefore = sandbox.requests.entries.filter((entry) => entry.path.includes('sendMail')).length;
    const onlySuppressed = await queue.enqueue({ to: 'Gone@Example.org', subject: 'nobody left', text: 'x' });
    const mixed = await queue.enqueue({ to: ['ana@example.org'], bcc: ['gone@example.org'], subject: 'one left', text: 'x' });
    await using worker = createMailWorker({
      connection: server.url,
      name,
      routes: { default: { transport: sandbox.urls.graph, limits: false } },
      concurrency: 1,
      suppression: suppressionFilter(store),
      sendLog,
      ...fast,
    });
    await worker.ready;
    await waitFor(async () => (await queue.counts()).completed + (await queue.counts()).dead === 2);
    // One request, for the message with a recipient left; its envelope lacks the suppressed Bcc.
    expect(sandbox.requests.entries.filter((entry) => entry.path.includes('sendMail')).length - requestsBefore).toBe(1);
    expect(sandbox.store.size - before).toBe(1);
    expect(sandbox.store.last()?.envelope.to).toEqual(['ana@example.org']);
    const dead = await queue.deadLetters.list();
    expect(dead.find((letter) => letter.jobId === onlySuppressed.jobId)).toMatchObject({
      kind: 'permanent',
      error: { code: 'recipient-rejected', retryable: false },
    });
    expect(await queue.status(mixed.messageId)).toMatchObject({ state: 'sent' });
    expect(sendLog.get(mixed.messageId)).toMatchObject({ messageId: mixed.messageId, recipients: ['ana@example.org'] });
    expect(sendLog.get(onlySuppressed.messageId)).toBeUndefined();
  });

  it('a worker with a malformed DKIM key fails when it is created, not at its first job', () => {
    expect(() =>
      createMailWorker({
        connection: server.url,
        name: nextName(),
        routes: { default: sandbox.urls.smtp },
        dkim: { keys: [{ domain: 'shop.example', selector: 's1', privateKey: 'not a key' }] },
        ...fast,
      }),
    ).toThrow(expect.objectContaining({ code: 'configuration' }));
  });

  it('a 429 with Retry-After pauses that key only and uses no attempt; two mailboxes keep their own rates', async () => {
    const name = nextName();
    sandbox.store.clear();
    await using queue = createMailQueue({ connection: server.url, name, attempts: 1 });
    const graphOther = sandbox.urls.graph.replace('graph://sender@', 'graph://other@');
    const slow = Array.from({ length: 6 }, (_, index) => ({
      from: 'sender@contoso.example',
      to: `s${index}@example.org`,
      subject: `slow ${index}`,
      text: 'x',
    }));
    const quick = Array.from({ length: 20 }, (_, index) => ({
      from: 'other@contoso.example',
      to: `f${index}@example.org`,
      subject: `fast ${index}`,
      text: 'x',
    }));
    const gmail = Array.from({ length: 3 }, (_, index) => ({
      from: 'user@example.com',
      to: `g${index}@example.org`,
      subject: `gmail ${index}`,
      text: 'x',
    }));
    const throttledAt: number[] = [];
    await using worker = createMailWorker({
      connection: server.url,
      name,
      concurrency: 8,
      hooks: { settled: (event) => event.outcome === 'deferred' && event.reason === 'throttled' && throttledAt.push(Date.now()) },
      routes: {
        // The sandbox shares this process's event loop with the worker, so arrivals lag their slots by up to a few
        // hundred ms on a busy machine: a wider margin than the default 100 ms keeps the check about the limiter.
        slow: { transport: sandbox.urls.graph, limits: { rates: [{ max: 2, perMs: 1000, marginMs: 250 }], concurrency: 4 } },
        fast: { transport: graphOther, limits: { rates: [{ max: 10, perMs: 1000, marginMs: 250 }], concurrency: 4 } },
        gmail: { transport: sandbox.urls.gmail, limits: { concurrency: 1 } },
      },
      ...fast,
    });
    await worker.ready;
    // One message per Graph mailbox first: the first send fetches a token, which would delay its arrival.
    await queue.enqueue({ from: 'sender@contoso.example', to: 'w@example.org', text: 'warm' }, { route: 'slow' });
    await queue.enqueue({ from: 'other@contoso.example', to: 'w@example.org', text: 'warm' }, { route: 'fast' });
    await waitFor(async () => (await queue.counts()).completed === 2);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    sandbox.store.clear();
    await queue.enqueueMany(slow, { route: 'slow' });
    await queue.enqueueMany(quick, { route: 'fast' });
    sandbox.faults.inject({ endpoint: 'gmail.messages.send', status: 429, code: 'rateLimitExceeded', message: 'slow down', retryAfter: 2 });
    await queue.enqueueMany(gmail, { route: 'gmail' });
    await waitFor(async () => (await queue.counts()).completed === 31, 20_000);
    const times = (from: string) =>
      sandbox.store
        .list()
        .filter((message) => message.envelope.from === from)
        .map((message) => Date.parse(message.receivedAt));
    const slowTimes = times('sender@contoso.example');
    const fastTimes = times('other@contoso.example');
    const gmailTimes = times('user@example.com');
    expect(slowTimes).toHaveLength(6);
    expect(fastTimes).toHaveLength(20);
    expect(maxInWindow(slowTimes, 1000)).toBeLessThanOrEqual(2);
    expect(maxInWindow(fastTimes, 1000)).toBeLessThanOrEqual(10);
    // Held back to the slow mailbox's pace, the fast one's 20 would take over 9 s; on their own key they take about 2.
    const span = (times: readonly number[]) => Math.max(...times) - Math.min(...times);
    expect(span(fastTimes)).toBeLessThan(4000);
    expect(span(slowTimes)).toBeGreaterThanOrEqual(2500);
    // Gmail answered 429 with Retry-After: 2 once: its key waited 2 s while the Graph mailboxes went on, and no
    // attempt was used (attempts: 1, no dead letter).
    expect(throttledAt.length).toBeGreaterThanOrEqual(1);
    const pausedUntil = (throttledAt[0] as number) + 1900;
    expect(gmailTimes).toHaveLength(3);
    expect(Math.min(...gmailTimes)).toBeGreaterThanOrEqual(pausedUntil);
    expect([...fastTimes, ...slowTimes].filter((time) => time > (throttledAt[0] as number) && time < pausedUntil).length).toBeGreaterThan(
      3,
    );
    expect((await queue.counts()).dead).toBe(0);
  });
});

async function waitFor(check: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

void MailError;
