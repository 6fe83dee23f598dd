/**
 * `npm start` (with Redis on REDIS_URL, default redis://127.0.0.1:6379): the sandbox, three worker
 * processes, and a producer that enqueues 30 messages for two Graph mailboxes. Prints who sent what,
 * then stops the workers with SIGTERM (each finishes what it has in flight).
 */
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createMailQueue } from '@mailport/queue-bullmq';
import { type Sandbox, startSandbox } from '@mailport/sandbox';

export async function runExample(sandbox: Sandbox, redisUrl: string, queueName = `demo-${Date.now()}`): Promise<string[]> {
  const routes = {
    default: sandbox.urls.graph,
    newsletter: sandbox.urls.graph.replace('graph://sender@', 'graph://other@'),
  };
  const workers: ChildProcess[] = [];
  const sentBy = new Map<number, number>();
  const ready: Promise<void>[] = [];
  for (let index = 0; index < 3; index += 1) {
    const child = fork(fileURLToPath(new URL('./worker.ts', import.meta.url)), [], {
      env: { ...process.env, REDIS_URL: redisUrl, MAILPORT_QUEUE: queueName, MAILPORT_ROUTES: JSON.stringify(routes) },
    });
    workers.push(child);
    ready.push(
      new Promise((resolve, reject) => {
        child.on('message', (message: { pid: number; ready?: boolean; outcome?: string }) => {
          if (message.ready) resolve();
          if (message.outcome === 'sent') sentBy.set(message.pid, (sentBy.get(message.pid) ?? 0) + 1);
        });
        child.once('exit', (code) => reject(new Error(`a worker exited (${code}) before it was ready`)));
      }),
    );
  }
  await Promise.all(ready);

  await using queue = createMailQueue({ connection: redisUrl, name: queueName });
  const orders = Array.from({ length: 20 }, (_, index) => ({
    from: 'sender@contoso.example',
    to: `customer${index}@example.org`,
    subject: `Order ${index} shipped`,
    text: 'It is on its way.',
  }));
  const newsletter = Array.from({ length: 10 }, (_, index) => ({
    from: 'other@contoso.example',
    to: `reader${index}@example.org`,
    subject: 'This week',
    text: 'News.',
  }));
  const enqueued = [...(await queue.enqueueMany(orders)), ...(await queue.enqueueMany(newsletter, { route: 'newsletter' }))];
  // The same message again is the same job: nothing more is sent.
  await queue.enqueue({ ...orders[0], messageId: enqueued[0]?.messageId } as (typeof orders)[number]);

  for (;;) {
    const counts = await queue.counts();
    if (counts.completed + counts.dead >= enqueued.length) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const stopped = workers.map((child) => new Promise((resolve) => child.once('exit', resolve)));
  for (const child of workers) child.kill('SIGTERM');
  await Promise.all(stopped);

  const counts = await queue.counts();
  const byMailbox = (from: string) => sandbox.store.list().filter((message) => message.envelope.from === from).length;
  return [
    `enqueued: ${enqueued.length} (one duplicate enqueue ignored)`,
    `sent: ${counts.completed}, dead letters: ${counts.dead}`,
    `sender@contoso.example: ${byMailbox('sender@contoso.example')}, other@contoso.example: ${byMailbox('other@contoso.example')}`,
    `workers that sent: ${[...sentBy.values()].filter((sent) => sent > 0).length} of 3`,
  ];
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await using sandbox = await startSandbox();
  for (const line of await runExample(sandbox, process.env.REDIS_URL ?? 'redis://127.0.0.1:6379')) console.log(line);
}
