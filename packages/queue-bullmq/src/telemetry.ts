import { type Attributes, type Meter, metrics, type Span, SpanKind, SpanStatusCode, type Tracer, trace } from '@opentelemetry/api';
import type { DeadLetterKind, WaitReason } from './contract.js';

const scope = '@mailport/queue-bullmq';

/** Where spans and metrics go. Default: the global OpenTelemetry providers, which are no-ops until an SDK registers. */
export interface TelemetryOptions {
  readonly tracer?: Tracer | undefined;
  readonly meter?: Meter | undefined;
}

/** The instruments a worker records into. Names follow OpenTelemetry's messaging conventions where they have one. */
export interface WorkerTelemetry {
  /** Runs `work` in a `process QUEUE` consumer span (messaging semantic conventions). */
  inSpan<T>(queue: string, attributes: Attributes, work: (span: Span) => Promise<T>): Promise<T>;
  sent(attributes: Attributes): void;
  deferred(reason: WaitReason, attributes: Attributes): void;
  uncertain(attributes: Attributes): void;
  deadLetter(kind: DeadLetterKind, attributes: Attributes): void;
  limiterWait(seconds: number, attributes: Attributes): void;
  /** Reports the queue's jobs by state as the gauge `mailport.queue.depth` whenever metrics are collected; returns the way to stop. */
  observeDepth(queue: string, read: () => Promise<Readonly<Record<string, number>>>): () => void;
}

export function createTelemetry(options: TelemetryOptions = {}): WorkerTelemetry {
  const tracer = options.tracer ?? trace.getTracer(scope);
  const meter = options.meter ?? metrics.getMeter(scope);
  const sent = meter.createCounter('mailport.queue.sent', { description: 'Messages the provider accepted', unit: '{message}' });
  const deferred = meter.createCounter('mailport.queue.deferred', {
    description: 'Sends put off without using an attempt, by reason (rate, quota, concurrency, throttled)',
    unit: '{message}',
  });
  const uncertain = meter.createCounter('mailport.queue.uncertain', {
    description: 'Sends whose outcome is unknown: a worker stopped, or lost the answer, after handing the message over',
    unit: '{message}',
  });
  const dead = meter.createCounter('mailport.queue.dead_letters', {
    description: 'Messages moved to the dead letters, by kind',
    unit: '{message}',
  });
  const wait = meter.createHistogram('mailport.queue.limiter.wait', {
    description: 'How long the shared limiter asked a send to wait',
    unit: 's',
    advice: { explicitBucketBoundaries: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600] },
  });
  const depth = meter.createObservableGauge('mailport.queue.depth', {
    description: 'Jobs in the queue by state (waiting, prioritized, delayed, active)',
    unit: '{job}',
  });
  return {
    observeDepth(queue, read) {
      const callback = async (result: { observe(value: number, attributes: Attributes): void }): Promise<void> => {
        // A Redis that does not answer now is no reason to fail the application's metrics export.
        const counts = await read().catch(() => undefined);
        for (const [state, value] of Object.entries(counts ?? {}))
          result.observe(value, { 'messaging.destination.name': queue, 'mailport.job.state': state });
      };
      depth.addCallback(callback);
      return () => depth.removeCallback(callback);
    },
    inSpan(queue, attributes, work) {
      return tracer.startActiveSpan(
        `process ${queue}`,
        {
          kind: SpanKind.CONSUMER,
          attributes: {
            'messaging.system': 'bullmq',
            'messaging.operation.type': 'process',
            'messaging.operation.name': 'process',
            'messaging.destination.name': queue,
            ...attributes,
          },
        },
        async (span) => {
          try {
            return await work(span);
          } catch (error) {
            // A deferral is not a failure. The status names the class only: an error's message may hold
            // addresses (a refused recipient); `error.type` and `mailport.outcome` say what happened.
            const name = error instanceof Error ? error.name : 'Error';
            if (name !== 'DelayedError') span.setStatus({ code: SpanStatusCode.ERROR, message: name });
            throw error;
          } finally {
            span.end();
          }
        },
      );
    },
    sent: (attributes) => sent.add(1, attributes),
    deferred: (reason, attributes) => deferred.add(1, { ...attributes, 'mailport.wait.reason': reason }),
    uncertain: (attributes) => uncertain.add(1, attributes),
    deadLetter: (kind, attributes) => dead.add(1, { ...attributes, 'mailport.dead_letter.kind': kind }),
    limiterWait: (seconds, attributes) => wait.record(seconds, attributes),
  };
}
