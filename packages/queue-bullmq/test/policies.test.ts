/**
 * The paths a healthy run never takes: the `resend` and `lookup` policies, retries that run out (`exhausted`),
 * requeueing an `expired` message, and the telemetry, recorded by the real OpenTelemetry SDK
 * into memory. The transport is core's memory transport, with staged failures.
 */
import { createMemoryTransport, MailError, type MemoryTransport, type SentLookup, type Transport } from '@mailport/core';
import { type DataPoint, type Histogram, MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMailQueue, createMailWorker, createRedisLedger, type MailWorkerOptions, type SettledEvent } from '../src/index.js';
import { findRedis, skipUnlessFound } from './find-redis.js';
import { type RedisServer, startRedis } from './redis-server.js';

const redisFound = findRedis();
const fast = { lockDurationMs: 4000, stalledIntervalMs: 2000, handleSignals: false } as const;

/** Collects on demand, for the test. */
class TestReader extends MetricReader {
  protected override async onShutdown(): Promise<void> {}
  protected override async onForceFlush(): Promise<void> {}
}

describe.skipIf(skipUnlessFound(redisFound))('policies, dead letter kinds and telemetry', () => {
  let server: RedisServer;
  let redis: Redis;
  let count = 0;
  const nextName = () => `p${++count}`;

  beforeAll(async () => {
    server = await startRedis((redisFound as { path: string }).path);
    redis = new Redis(server.url);
  });
  afterAll(async () => {
    await redis?.quit();
    await server?.stop();
  });

  function start(name: string, transport: MemoryTransport, extra: Partial<MailWorkerOptions> = {}) {
    const settled: SettledEvent[] = [];
    const worker = createMailWorker({
      connection: server.url,
      name,
      routes: { default: transport },
      concurrency: 1,
      onWarning: () => {},
      hooks: { settled: (event) => settled.push(event) },
      ...fast,
      ...extra,
    });
    return { worker, settled };
  }

  it('resend: an attempt found begun is sent again with the same Message-ID, and unknown-outcome is retried', async () => {
    const name = nextName();
    await using queue = createMailQueue({ connection: server.url, name, retryDelayMs: 10, defaults: { from: 'a@example.com' } });
    const crashed = await queue.enqueue({ to: 'b@example.org', subject: 'crashed', text: 'x' });
    // A worker died after writing `attempting`: it may or may not have sent.
    await createRedisLedger(redis, { prefix: 'bull' }).begin(crashed.messageId, { attempt: 'gone', worker: 'dead', jobId: crashed.jobId });
    const transport = createMemoryTransport({ id: 'memory://resend' });
    const { worker, settled } = start(name, transport, { uncertain: 'resend' });
    await worker.ready;
    await waitFor(async () => (await queue.counts()).completed === 1);
    expect(transport.sent.map((sent) => sent.message.messageId)).toEqual([crashed.messageId]);
    expect((await queue.status(crashed.messageId)).ledger).toMatchObject({ state: 'sent' });

    // The provider's answer was lost: with resend, a retry (an attempt used), then sent.
    transport.failNext(1, 'unknown-outcome');
    const lost = await queue.enqueue({ to: 'c@example.org', subject: 'lost', text: 'x' });
    await waitFor(async () => (await queue.counts()).completed === 2);
    expect(settled.filter((event) => event.messageId === lost.messageId).map((event) => [event.outcome, event.attempt])).toEqual([
      ['retry', 1],
      ['sent', 2],
    ]);
    expect((await queue.counts()).dead).toBe(0);
    await worker.close();
  });

  it('lookup: found completes unsent; not found sends after the grace period, waits it out within it; unknown and no lookup are uncertain', async () => {
    const name = nextName();
    await using queue = createMailQueue({ connection: server.url, name, retryDelayMs: 10, defaults: { from: 'a@example.com' } });
    const ledger = createRedisLedger(redis, { prefix: 'bull' });
    const crashed = async (subject: string) => {
      const job = await queue.enqueue({ to: 'b@example.org', subject, text: 'x' });
      // A worker died after writing `attempting`: it may or may not have sent.
      await ledger.begin(job.messageId, { attempt: 'gone', worker: 'dead', jobId: job.jobId });
      return job;
    };
    const found = await crashed('found');
    const missing = await crashed('missing');
    const unsure = await crashed('unsure');
    const answers = new Map<string, SentLookup>([
      [found.messageId, 'sent'],
      [missing.messageId, 'not-found'],
      [unsure.messageId, 'unknown'],
    ]);
    const memory = createMemoryTransport({ id: 'memory://lookup' });
    const asked: string[] = [];
    const transport: Transport = {
      id: memory.id,
      capabilities: memory.capabilities,
      send: (message, options) => memory.send(message, options),
      lookup: async (messageId) => {
        asked.push(messageId);
        return answers.get(messageId) ?? 'unknown';
      },
    };
    // Past the grace period of 300 ms since the attempts began.
    await new Promise((resolve) => setTimeout(resolve, 400));
    const { worker, settled } = start(name, memory, { routes: { default: transport }, uncertain: 'lookup', lookupGraceMs: 300 });
    await worker.ready;
    await waitFor(async () => {
      const counts = await queue.counts();
      return counts.completed === 2 && counts.dead === 1;
    });
    expect(memory.sent.map((sent) => sent.message.messageId)).toEqual([missing.messageId]);
    expect((await queue.status(found.messageId)).ledger).toMatchObject({ state: 'sent', attempt: 'gone' });
    expect(settled.find((event) => event.messageId === found.messageId)?.outcome).toBe('already-sent');
    expect(await queue.deadLetters.get(unsure.jobId)).toMatchObject({
      kind: 'uncertain',
      error: { code: 'unknown-outcome', message: expect.stringContaining('The provider lookup could not tell.') },
    });

    // The provider's answer was lost: the job comes back after the grace period and asks.
    memory.failNext(1, 'unknown-outcome');
    const lost = await queue.enqueue({ to: 'c@example.org', subject: 'lost', text: 'x' });
    answers.set(lost.messageId, 'sent');
    await waitFor(async () => (await queue.counts()).completed === 3);
    expect(settled.filter((event) => event.messageId === lost.messageId).map((event) => event.outcome)).toEqual([
      'deferred',
      'already-sent',
    ]);
    expect(memory.sent).toHaveLength(1);
    await worker.close();

    // Not found soon after the attempt began is no proof: the job waits out the rest of the grace period
    // (using no attempt), asks again, and only then sends.
    const soon = await crashed('soon');
    answers.set(soon.messageId, 'not-found');
    const strict = start(name, memory, { routes: { default: transport }, uncertain: 'lookup', lookupGraceMs: 1_500 });
    await strict.worker.ready;
    await waitFor(async () => (await queue.counts()).completed === 4);
    expect(strict.settled.filter((event) => event.messageId === soon.messageId).map((event) => event.outcome)).toEqual([
      'deferred',
      'sent',
    ]);
    expect(asked.filter((messageId) => messageId === soon.messageId)).toHaveLength(2);
    expect(memory.sent.map((sent) => sent.message.messageId)).toEqual([missing.messageId, soon.messageId]);
    await strict.worker.close();
    const blind = await crashed('blind');
    const plain = start(name, memory, { uncertain: 'lookup' });
    await plain.worker.ready;
    await waitFor(async () => (await queue.counts()).dead === 2);
    expect((await queue.deadLetters.get(blind.jobId))?.error.message).toContain('memory://lookup has no lookup.');
    expect(memory.sent).toHaveLength(2);
    expect(asked).not.toContain(blind.messageId);
    await plain.worker.close();
  });

  it('exhausted: a temporary failure on every attempt ends as an exhausted dead letter with the last error', async () => {
    const name = nextName();
    await using queue = createMailQueue({
      connection: server.url,
      name,
      attempts: 3,
      retryDelayMs: 10,
      defaults: { from: 'a@example.com' },
    });
    const transport = createMemoryTransport({ id: 'memory://exhausted' });
    transport.failNext(3, () => new MailError('transient', 'memory: try later', { retryable: true }));
    const { worker, settled } = start(name, transport);
    await worker.ready;
    const { jobId, messageId } = await queue.enqueue({ to: 'b@example.org', subject: 'flaky', text: 'x' });
    await waitFor(async () => (await queue.counts()).dead === 1);
    expect(settled.map((event) => event.outcome)).toEqual(['retry', 'retry', 'dead']);
    expect(await queue.deadLetters.get(jobId)).toMatchObject({
      kind: 'exhausted',
      attempts: 3,
      error: { code: 'transient', message: 'memory: try later', retryable: true },
      summary: { subject: 'flaky', to: ['b@example.org'] },
    });
    // Nothing was handed over: no ledger entry stands in the way of a requeue.
    expect((await queue.status(messageId)).ledger).toBeUndefined();
    await queue.deadLetters.requeue(jobId);
    await waitFor(async () => (await queue.counts()).completed === 1);
    expect(transport.sent).toHaveLength(1);
    await worker.close();
  });

  it('expired: a message older than its maximum age is not sent; requeued, its age counts from the requeue', async () => {
    const name = nextName();
    await using queue = createMailQueue({ connection: server.url, name, defaults: { from: 'a@example.com' } });
    const transport = createMemoryTransport({ id: 'memory://expired' });
    const { worker } = start(name, transport);
    await worker.ready;
    // Ready 400 ms after enqueueing, with 300 ms to live.
    const { jobId } = await queue.enqueue({ to: 'b@example.org', subject: 'late', text: 'x' }, { delayMs: 400, maxAgeMs: 300 });
    await waitFor(async () => (await queue.counts()).dead === 1);
    expect(transport.sent).toHaveLength(0);
    expect(await queue.deadLetters.get(jobId)).toMatchObject({
      kind: 'expired',
      error: { code: 'timeout', message: expect.stringMatching(/^Not sent within its maximum age/) },
    });
    await queue.deadLetters.requeue(jobId);
    await waitFor(async () => (await queue.counts()).completed === 1);
    expect(transport.sent).toHaveLength(1);
    expect(await queue.deadLetters.list()).toHaveLength(0);
    await worker.close();
  });

  it('telemetry: a consumer span per job by the messaging conventions, counters and the limiter histogram; no address or Message-ID in clear', async () => {
    const name = nextName();
    const exporter = new InMemorySpanExporter();
    const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    const reader = new TestReader();
    const meterProvider = new MeterProvider({ readers: [reader] });
    await using queue = createMailQueue({ connection: server.url, name, attempts: 1, defaults: { from: 'secret-sender@example.com' } });
    const transport = createMemoryTransport({ id: 'memory://telemetry' });
    transport.failNext(1, () => new MailError('recipient-rejected', '550 5.1.1 <refused@example.org>: no such user', { retryable: false }));
    const { worker } = start(name, transport, {
      telemetry: { tracer: tracerProvider.getTracer('test'), meter: meterProvider.getMeter('test') },
      routes: { default: { transport, limitKey: 'telemetry', limits: { rates: [{ max: 2, perMs: 1000 }] } } },
      concurrency: 2,
    });
    await worker.ready;
    const refused = await queue.enqueue({ to: 'refused@example.org', subject: 'refused', text: 'x' });
    const sent = await queue.enqueueMany([
      { to: 'ana@example.org', subject: 'one', text: 'x' },
      { to: 'bo@example.org', subject: 'two', text: 'x' },
    ]);
    await waitFor(async () => (await queue.counts()).completed === 2 && (await queue.counts()).dead === 1);
    // The queue's depth by state, read from Redis when metrics are collected: all done by now.
    const live = await reader.collect();
    const depth = live.resourceMetrics.scopeMetrics
      .flatMap((scope) => scope.metrics)
      .find((metric) => metric.descriptor.name === 'mailport.queue.depth');
    expect(
      ((depth?.dataPoints ?? []) as DataPoint<number>[]).map((point) => [point.attributes['mailport.job.state'], point.value]).sort(),
    ).toEqual([
      ['active', 0],
      ['delayed', 0],
      ['prioritized', 0],
      ['waiting', 0],
    ]);
    expect(depth?.dataPoints.every((point) => point.attributes['messaging.destination.name'] === name)).toBe(true);
    await worker.close();
    // The limiter's state for `mailport queue`: the key, nothing in flight once the worker closed.
    expect(await queue.limits()).toContainEqual(expect.objectContaining({ key: 'telemetry', leases: 0, throttledForMs: 0 }));

    const spans = exporter.getFinishedSpans();
    expect(new Set(spans.map((span) => span.name))).toEqual(new Set([`process ${name}`]));
    for (const span of spans) {
      expect(span.kind).toBe(4); // SpanKind.CONSUMER
      expect(span.attributes).toMatchObject({
        'messaging.system': 'bullmq',
        'messaging.operation.type': 'process',
        'messaging.operation.name': 'process',
        'messaging.destination.name': name,
        'mailport.route': 'default',
        'mailport.transport': 'memory://telemetry',
        'mailport.message_id.hash': expect.stringMatching(/^[0-9a-f]{16}$/),
      });
    }
    const outcomes = (jobId: string) =>
      spans.filter((span) => span.attributes['messaging.message.id'] === jobId).map((span) => span.attributes['mailport.outcome']);
    expect(outcomes(refused.jobId)).toEqual(['dead-permanent']);
    const refusedSpan = spans.find((span) => span.attributes['messaging.message.id'] === refused.jobId);
    expect(refusedSpan?.attributes['error.type']).toBe('recipient-rejected');
    expect(refusedSpan?.status).toEqual({ code: 2, message: 'UnrecoverableError' });
    for (const { jobId } of sent) expect(outcomes(jobId).at(-1)).toBe('sent');
    // Nothing a span carries names a person: no address, no Message-ID, no subject.
    const recorded = JSON.stringify(
      spans.map((span) => ({ name: span.name, attributes: span.attributes, status: span.status, events: span.events })),
    );
    expect(recorded).not.toMatch(/@/);
    expect(recorded).not.toContain('refused');

    const { resourceMetrics } = await reader.collect();
    const metrics = new Map(
      resourceMetrics.scopeMetrics.flatMap((scope) => scope.metrics).map((metric) => [metric.descriptor.name, metric]),
    );
    const sum = (metricName: string, match: Record<string, string> = {}) =>
      ((metrics.get(metricName)?.dataPoints ?? []) as DataPoint<number>[])
        .filter((point) => Object.entries(match).every(([key, value]) => point.attributes[key] === value))
        .reduce((total, point) => total + point.value, 0);
    expect(sum('mailport.queue.sent', { 'mailport.route': 'default' })).toBe(2);
    expect(sum('mailport.queue.dead_letters', { 'mailport.dead_letter.kind': 'permanent' })).toBe(1);
    expect(metrics.get('mailport.queue.limiter.wait')?.descriptor.unit).toBe('s');
    const waits = (metrics.get('mailport.queue.limiter.wait')?.dataPoints ?? []) as DataPoint<Histogram>[];
    // Three sends under 2 per second: at least one waited, for the rate.
    expect(waits.reduce((total, point) => total + point.value.count, 0)).toBeGreaterThanOrEqual(1);
    expect(waits.every((point) => point.attributes['mailport.wait.reason'] === 'rate')).toBe(true);
    expect(JSON.stringify([...metrics.values()].map((metric) => metric.dataPoints.map((point) => point.attributes)))).not.toMatch(/@/);
    await meterProvider.shutdown();
    await tracerProvider.shutdown();
  });
});

async function waitFor(check: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
