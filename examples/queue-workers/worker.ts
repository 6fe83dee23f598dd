/**
 * One worker machine: `node worker.ts`. Run as many as you like, on as many hosts; they share the
 * queue, the send ledger and the limits through Redis. The transport URLs (and their secrets) are
 * here, on the workers, never in the jobs.
 *
 *   REDIS_URL        redis://127.0.0.1:6379
 *   MAILPORT_ROUTES  JSON: { "default": "graph://...", "newsletter": "graph://..." }
 */
import { createMailWorker } from '@mailport/queue-bullmq';

const routes = JSON.parse(process.env.MAILPORT_ROUTES ?? '{}') as Record<string, string>;

const worker = createMailWorker({
  connection: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
  name: process.env.MAILPORT_QUEUE ?? 'mail',
  routes: {
    // Transactional mail from one mailbox; Graph's defaults (30 a minute per mailbox) would make a slow demo.
    default: { transport: routes.default ?? 'memory://', limits: { rates: [{ max: 20, perMs: 1000 }], concurrency: 4 } },
    // The newsletter mailbox, held to 5 a second, on its own key: it never slows the transactional one.
    newsletter: { transport: routes.newsletter ?? 'memory://', limits: { rates: [{ max: 5, perMs: 1000 }], concurrency: 2 } },
  },
  concurrency: 4,
  hooks: {
    settled: (event) => process.send?.({ pid: process.pid, route: event.route, outcome: event.outcome }),
  },
});
await worker.ready;
process.send?.({ pid: process.pid, ready: true });
// The IPC channel (when started by demo.ts) must not keep the process alive after SIGTERM closed the worker.
process.channel?.unref();
