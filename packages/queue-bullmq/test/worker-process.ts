/**
 * One worker process for the multi-process tests: a separate "machine" that the test starts with
 * `fork`, talks to over IPC, and stops with SIGTERM or SIGKILL. It runs the built package
 * (`npm run build` makes dist/), through Node's type stripping.
 *
 * Configuration: MAILPORT_TEST_WORKER, JSON `{ redisUrl, queue, routes, concurrency, lockDurationMs,
 * stalledIntervalMs, slowMs, uncertain, lookupGraceMs }`. Messages to the parent: `{ type: 'ready' }`, `{ type: 'settled', ... }`,
 * `{ type: 'hold', stage, messageId }` (a message whose subject asks for it is held at that stage,
 * for the parent to kill this process; the parent disarms a marker with `{ type: 'disarm', subject }`).
 */
import { createMailWorker } from '@mailport/queue-bullmq';

interface Config {
  readonly redisUrl: string;
  readonly queue: string;
  readonly routes: Record<string, string | { transport: string; limits?: false }>;
  readonly concurrency: number;
  readonly lockDurationMs: number;
  readonly stalledIntervalMs: number;
  readonly slowMs?: number;
  readonly subjects?: Record<string, string>;
  readonly uncertain?: 'dead-letter' | 'resend' | 'lookup';
  readonly lookupGraceMs?: number;
}

const config = JSON.parse(process.env.MAILPORT_TEST_WORKER ?? '{}') as Config;
const armed = new Set(['crash-before-send', 'crash-after-accept']);
const subjects = new Map<string, string>(Object.entries(config.subjects ?? {}));
const send = (message: unknown) => process.send?.(message);
// The IPC channel must not keep this process alive once the worker has closed.
process.channel?.unref();
process.on('message', (message: { type: string; subject?: string }) => {
  if (message.type === 'disarm' && message.subject !== undefined) armed.delete(message.subject);
});
const hold = (stage: string, messageId: string) => {
  send({ type: 'hold', stage, messageId });
  return new Promise<void>(() => {});
};

const worker = createMailWorker({
  connection: config.redisUrl,
  name: config.queue,
  routes: config.routes,
  concurrency: config.concurrency,
  lockDurationMs: config.lockDurationMs,
  stalledIntervalMs: config.stalledIntervalMs,
  uncertain: config.uncertain,
  lookupGraceMs: config.lookupGraceMs,
  onWarning: () => {},
  hooks: {
    async beforeAttempt(event) {
      if (armed.has('crash-before-send') && subjects.get(event.messageId) === 'crash-before-send')
        await hold('before-send', event.messageId);
      if (config.slowMs) await new Promise((resolve) => setTimeout(resolve, config.slowMs));
    },
    async accepted(event) {
      if (armed.has('crash-after-accept') && subjects.get(event.messageId) === 'crash-after-accept')
        await hold('after-accept', event.messageId);
    },
    settled(event) {
      send({ type: 'settled', jobId: event.jobId, messageId: event.messageId, outcome: event.outcome, pid: process.pid });
    },
  },
});
await worker.ready;
send({ type: 'ready', pid: process.pid });
// SIGTERM and SIGINT close the worker (handleSignals); then nothing keeps this process alive.
process.on('beforeExit', () => send({ type: 'closed', pid: process.pid }));
