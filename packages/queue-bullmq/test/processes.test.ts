/**
 * Several worker processes on one queue, as separate machines would run them, sending through the
 * sandbox: a worker killed after the provider accepted a message, one killed before the provider
 * call, one stopped with SIGTERM, and Redis restarted under them. What arrived is read from the
 * sandbox, by Message-ID, never from what the workers say.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { startSandbox } from '@mailport/sandbox';
import { QueueEvents } from 'bullmq';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createMailQueue, type MailQueue } from '../src/index.js';
import { findRedis, skipUnlessFound } from './find-redis.js';
import { type RedisServer, startRedis } from './redis-server.js';

const redisFound = findRedis();
const script = fileURLToPath(new URL('./worker-process.ts', import.meta.url));
const built = fileURLToPath(new URL('../dist/index.js', import.meta.url));

interface WorkerChild {
  readonly process: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly settled: { outcome: string; messageId: string }[];
}

describe.skipIf(skipUnlessFound(redisFound))('worker processes on one queue', () => {
  let server: RedisServer;
  let sandbox: Awaited<ReturnType<typeof startSandbox>>;
  const children: WorkerChild[] = [];
  let count = 0;

  beforeAll(async () => {
    if (!existsSync(built)) throw new Error(`${built} is missing: run \`npm run build\` first`);
    server = await startRedis((redisFound as { path: string }).path);
    sandbox = await startSandbox();
  });
  afterEach(async () => {
    for (const child of children.splice(0)) {
      if (child.process.exitCode === null && child.process.signalCode === null) child.process.kill('SIGKILL');
      await child.exited;
    }
    sandbox.store.clear();
  });
  afterAll(async () => {
    await sandbox?.close();
    await server?.stop();
  });

  function spawnWorker(queue: string, extra: Record<string, unknown> = {}): Promise<WorkerChild> {
    const config = {
      redisUrl: server.url,
      queue,
      routes: { default: sandbox.urls.smtp },
      concurrency: 1,
      lockDurationMs: 4000,
      stalledIntervalMs: 2000,
      ...extra,
    };
    const child = fork(script, [], {
      env: { ...process.env, MAILPORT_TEST_WORKER: JSON.stringify(config) },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const settled: WorkerChild['settled'] = [];
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.once('exit', (code, signal) => resolve({ code, signal })),
    );
    const worker: WorkerChild = { process: child, exited, settled };
    children.push(worker);
    child.on('message', (message: { type: string; outcome?: string; messageId?: string }) => {
      if (message.type === 'settled') settled.push({ outcome: message.outcome ?? '', messageId: message.messageId ?? '' });
    });
    return new Promise((resolve, reject) => {
      child.on('message', (message: { type: string }) => message.type === 'ready' && resolve(worker));
      void exited.then(({ code }) => reject(new Error(`worker exited (${code}) before it was ready`)));
    });
  }

  /** Message-ID -> how many times it arrived at the sandbox. */
  function arrivals(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const message of sandbox.store.list()) {
      const id = /^Message-ID:\s*(<[^>]+>)/im.exec(message.raw.toString('latin1'))?.[1] ?? '?';
      counts.set(id, (counts.get(id) ?? 0) + 1);
    }
    return counts;
  }

  function messages(total: number, marked: Record<number, string> = {}) {
    const run = ++count;
    return Array.from({ length: total }, (_, index) => ({
      messageId: `<run${run}-m${index}@shop.example>`,
      from: 'shop@shop.example',
      to: `r${index}@example.org`,
      subject: marked[index] ?? `message ${index}`,
      text: `body ${index}`,
    }));
  }

  async function settle(queue: MailQueue, total: number, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const counts = await queue.counts();
      if (counts.completed + counts.dead >= total) return;
      if (Date.now() > deadline) throw new Error(`not settled in ${timeoutMs} ms: ${JSON.stringify(counts)}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  it('SIGKILL after the provider accepted: at most once, none lost, the crashed one uncertain; SIGKILL before the call: sent once', async () => {
    const name = `crash${count}`;
    await using queue = createMailQueue({ connection: server.url, name });
    const list = messages(24, { 5: 'crash-after-accept', 11: 'crash-before-send' });
    const afterAccept = list[5]?.messageId as string;
    const beforeSend = list[11]?.messageId as string;
    const subjects = { [afterAccept]: 'crash-after-accept', [beforeSend]: 'crash-before-send' };
    const workers = await Promise.all([0, 1, 2].map(() => spawnWorker(name, { subjects })));
    const killed: string[] = [];
    for (const worker of workers) {
      worker.process.on('message', (message: { type: string; stage?: string }) => {
        if (message.type !== 'hold') return;
        const subject = message.stage === 'after-accept' ? 'crash-after-accept' : 'crash-before-send';
        for (const other of children) other.process.connected && other.process.send({ type: 'disarm', subject });
        killed.push(message.stage ?? '');
        worker.process.kill('SIGKILL');
        // A replacement machine, which never holds.
        void spawnWorker(name, {});
      });
    }
    await queue.enqueueMany(list);
    await settle(queue, 24, 40_000);

    expect(killed.sort()).toEqual(['after-accept', 'before-send']);
    const arrived = arrivals();
    const duplicates = [...arrived.values()].filter((times) => times > 1).length;
    const lost = list.filter((message) => !arrived.has(message.messageId)).length;
    expect({ duplicates, lost }).toEqual({ duplicates: 0, lost: 0 });
    expect(arrived.get(afterAccept)).toBe(1);
    expect(arrived.get(beforeSend)).toBe(1);
    const dead = await queue.deadLetters.list();
    expect(dead.map((letter) => [letter.kind, letter.messageId])).toEqual([['uncertain', afterAccept]]);
    expect(dead[0]?.error).toMatchObject({ code: 'unknown-outcome', retryable: false, remediation: expect.stringContaining('force') });
    expect((await queue.status(beforeSend)).state).toBe('sent');

    // Requeue without force is refused; with force (the user checked) it is sent again, same Message-ID.
    await expect(queue.deadLetters.requeue(dead[0]?.jobId as string)).rejects.toThrow(/may already have been sent/);
    await queue.deadLetters.requeue(dead[0]?.jobId as string, { force: true });
    await settle(queue, 24, 10_000);
    expect((await queue.counts()).dead).toBe(0);
    expect(arrivals().get(afterAccept)).toBe(2);
  });

  describe('the lookup policy, through Graph (Sent Items by internetMessageId)', () => {
    const lookupWorker = (queue: string, extra: Record<string, unknown> = {}) =>
      spawnWorker(queue, {
        routes: { default: { transport: sandbox.urls.graph, limits: false } },
        uncertain: 'lookup',
        lookupGraceMs: 1000,
        ...extra,
      });
    const graphMessages = (total: number, marked: Record<number, string> = {}) => {
      const url = new URL(sandbox.urls.graph);
      const sender = `${decodeURIComponent(url.username)}@${url.hostname}`;
      return messages(total, marked).map((message) => ({ ...message, from: sender }));
    };

    it('SIGKILL after the provider accepted: found in Sent Items, completed without sending again', async () => {
      const name = `lookup-found${count}`;
      sandbox.requests.clear();
      await using queue = createMailQueue({ connection: server.url, name });
      const list = graphMessages(6, { 2: 'crash-after-accept' });
      const afterAccept = list[2]?.messageId as string;
      const workers = await Promise.all([0, 1].map(() => lookupWorker(name, { subjects: { [afterAccept]: 'crash-after-accept' } })));
      const killed: string[] = [];
      let replacement: Promise<WorkerChild> | undefined;
      for (const worker of workers) {
        worker.process.on('message', (message: { type: string; stage?: string }) => {
          if (message.type !== 'hold') return;
          for (const other of children) other.process.connected && other.process.send({ type: 'disarm', subject: 'crash-after-accept' });
          killed.push(message.stage ?? '');
          worker.process.kill('SIGKILL');
          replacement = lookupWorker(name);
        });
      }
      await queue.enqueueMany(list);
      await settle(queue, 6, 40_000);

      expect(killed).toEqual(['after-accept']);
      const arrived = arrivals();
      expect(list.map((message) => arrived.get(message.messageId))).toEqual([1, 1, 1, 1, 1, 1]);
      expect(await queue.deadLetters.list()).toEqual([]);
      const status = await queue.status(afterAccept);
      expect(status).toMatchObject({ state: 'sent', ledger: { state: 'sent' } });
      expect(sandbox.requests.count('graph.listSentItems')).toBeGreaterThan(0);
      const settledBy = [...children.flatMap((child) => child.settled)].filter((event) => event.messageId === afterAccept);
      expect(settledBy.map((event) => event.outcome)).toEqual(['already-sent']);
      await replacement;
    });

    it('SIGKILL while the provider had not accepted it: not found after the grace period, sent exactly once', async () => {
      const name = `lookup-missing${count}`;
      sandbox.requests.clear();
      await using queue = createMailQueue({ connection: server.url, name });
      const [message] = graphMessages(1);
      const messageId = message?.messageId as string;
      // The provider reads the request and never answers: nothing is stored, the ledger says `attempting`.
      sandbox.faults.inject({ endpoint: 'graph.sendMail', action: 'stall' });
      try {
        const first = await lookupWorker(name);
        await queue.enqueue(message as NonNullable<typeof message>);
        for (;;) {
          const status = await queue.status(messageId);
          if (status.ledger?.state === 'attempting' && sandbox.faults.pending().length === 0) break;
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
        first.process.kill('SIGKILL');
        await first.exited;
        expect(arrivals().get(messageId)).toBeUndefined();
        await lookupWorker(name);
        await settle(queue, 1, 30_000);

        expect(arrivals().get(messageId)).toBe(1);
        expect(await queue.deadLetters.list()).toEqual([]);
        expect(await queue.status(messageId)).toMatchObject({ state: 'sent', ledger: { state: 'sent' } });
        expect(sandbox.requests.count('graph.listSentItems')).toBeGreaterThan(0);
      } finally {
        sandbox.faults.clear();
      }
    });
  });

  it('SIGTERM lets the sends in flight finish: exit 0, nothing stalled, each message once', async () => {
    const name = `term${count}`;
    await using queue = createMailQueue({ connection: server.url, name });
    const events = new QueueEvents(name, { connection: { url: server.url } });
    const stalled: string[] = [];
    events.on('stalled', ({ jobId }) => stalled.push(jobId));
    try {
      const stopping = await spawnWorker(name, { concurrency: 4, slowMs: 400 });
      const staying = await spawnWorker(name, { concurrency: 2, slowMs: 50 });
      const list = messages(30);
      await queue.enqueueMany(list);
      while (stopping.settled.length < 2) await new Promise((resolve) => setTimeout(resolve, 20));
      stopping.process.kill('SIGTERM');
      const exit = await stopping.exited;
      expect(exit).toEqual({ code: 0, signal: null });
      await settle(queue, 30, 20_000);
      // Past a stalled check, so a job abandoned by the stopped worker would have been seen.
      await new Promise((resolve) => setTimeout(resolve, 2500));
      expect(stalled).toEqual([]);
      const arrived = arrivals();
      expect(list.filter((message) => arrived.get(message.messageId) !== 1)).toEqual([]);
      expect((await queue.counts()).dead).toBe(0);
      expect(staying.settled.length).toBeGreaterThan(0);
    } finally {
      await events.close();
    }
  });

  it('Redis restarted mid-run (same directory, append-only): nothing lost, nothing sent twice', async () => {
    const name = `restart${count}`;
    await using queue = createMailQueue({ connection: server.url, name });
    await Promise.all([spawnWorker(name, { concurrency: 2, slowMs: 100 }), spawnWorker(name, { concurrency: 2, slowMs: 100 })]);
    const list = messages(40);
    await queue.enqueueMany(list);
    while (sandbox.store.size < 10) await new Promise((resolve) => setTimeout(resolve, 20));
    await server.restart({ downMs: 500 });
    await settle(queue, 40, 30_000);
    const arrived = arrivals();
    expect(list.filter((message) => arrived.get(message.messageId) !== 1)).toEqual([]);
    expect((await queue.counts()).dead).toBe(0);
  });
});
