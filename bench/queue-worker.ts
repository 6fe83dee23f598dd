/**
 * One worker process of the queue benchmark. Argument: JSON `{ redisUrl, queue, transport, concurrency, limits }`.
 * Announces `{ ready: true }` once connected; `'close'` closes the worker gracefully and answers.
 */
import { createMailWorker } from '@mailport/queue-bullmq';
import { serveParent } from './bench-process.ts';

const config = JSON.parse(process.argv[2] ?? '{}') as {
  redisUrl: string;
  queue: string;
  transport: string;
  concurrency: number;
  limits: false | { rates: { max: number; perMs: number; marginMs?: number }[] };
};
const worker = createMailWorker({
  connection: config.redisUrl,
  name: config.queue,
  routes: { default: { transport: config.transport, limits: config.limits } },
  concurrency: config.concurrency,
  handleSignals: false,
  onWarning: () => {},
});
await worker.ready;
serveParent({ ready: true }, async (request: 'close') => {
  if (request === 'close') await worker.close();
  return { closed: true };
});
