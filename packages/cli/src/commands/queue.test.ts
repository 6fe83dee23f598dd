import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMailQueue, createRedisLedger } from '@mailport/queue-bullmq';
import { type Sandbox, startSandbox } from '@mailport/sandbox';
import { Redis } from 'ioredis';
import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findRedis, skipUnlessFound } from '../../../queue-bullmq/test/find-redis.js';
import { type RedisServer, startRedis } from '../../../queue-bullmq/test/redis-server.js';
import { mailport, people } from '../../test/bulk-harness.js';
import { exitCodes } from '../exit-codes.js';

const redisFound = findRedis();

/**
 * `mailport send --csv --queue`, `mailport worker` and `mailport queue`, in this process through
 * `run(argv, io)`, against a throwaway redis-server and the sandbox. What arrived is read from the
 * sandbox with mailparser.
 */
describe.skipIf(skipUnlessFound(redisFound))('mailport worker, queue and send --queue', () => {
  let server: RedisServer;
  let sandbox: Sandbox;
  let directory: string;
  let env: Record<string, string>;
  let count = 0;
  const nextQueue = () => `cli${++count}`;

  beforeAll(async () => {
    server = await startRedis((redisFound as { path: string }).path);
    sandbox = await startSandbox();
    directory = await mkdtemp(join(tmpdir(), 'mailport-queue-cli-'));
    env = { MAILPORT_REDIS_URL: server.url, TEST_SMTP_URL: sandbox.urls.smtp };
  });
  afterAll(async () => {
    await sandbox?.close();
    await server?.stop();
  });

  async function writeConfig(name: string, extra: Record<string, unknown> = {}): Promise<string> {
    const file = join(directory, `${name}.json`);
    await writeFile(
      file,
      JSON.stringify({ redis: 'env:MAILPORT_REDIS_URL', queue: name, routes: { default: 'env:TEST_SMTP_URL' }, ...extra }),
    );
    return file;
  }

  /** Runs `mailport worker` in this process until `done` says so, then stops it as SIGTERM would. */
  async function runWorker(config: string, done: () => Promise<boolean>) {
    const controller = new AbortController();
    const running = mailport(['worker', '--config', config, '--json'], { cwd: directory, env, signal: controller.signal });
    const deadline = Date.now() + 20_000;
    while (!(await done())) {
      if (Date.now() > deadline) throw new Error('timed out waiting for the worker');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    controller.abort(Object.assign(new Error('terminated (SIGTERM)'), { signal: 'SIGTERM' }));
    return running;
  }

  async function arrivedIds(): Promise<string[]> {
    return Promise.all(sandbox.store.list().map(async (message) => (await simpleParser(message.raw)).messageId ?? ''));
  }

  it('send --csv --queue enqueues each valid row once, however often it runs; a worker sends them and stops on SIGTERM with 0', async () => {
    const name = nextQueue();
    sandbox.store.clear();
    const csv = join(directory, `${name}.csv`);
    await writeFile(csv, `${people(6)}\nBroken,not-an-address,gold\n`);
    const send = ['send', '--csv', csv, '--queue', server.url, '--queue-name', name, '--from', 'shop@example.com'];
    const argv = [...send, '--subject', 'Hi {{name}}', '--text', 'Your plan: {{plan}}', '--json'];
    const first = await mailport(argv, { cwd: directory, env });
    expect(first.code).toBe(exitCodes.partial);
    expect(JSON.parse(first.out)).toMatchObject({ rows: 7, enqueued: 6, alreadyQueued: 0, invalid: 1, complete: true });
    expect(JSON.parse(first.out).problems[0].message).toMatch(/^row 7, column "email"/);
    // Again: the same Message-IDs, so nothing new.
    const again = await mailport(argv, { cwd: directory, env });
    expect(JSON.parse(again.out)).toMatchObject({ enqueued: 0, alreadyQueued: 6, invalid: 1 });
    // Another subject is another message.
    const other = await mailport([...send, '--subject', 'Other {{name}}', '--text', 'x', '--json'], { cwd: directory, env });
    expect(JSON.parse(other.out)).toMatchObject({ enqueued: 6, alreadyQueued: 0 });

    const status = await mailport(['queue', '--name', name, '--json'], { cwd: directory, env });
    expect(status.code).toBe(exitCodes.ok);
    expect(JSON.parse(status.out)).toMatchObject({ queue: name, counts: { waiting: 12, dead: 0 } });

    const config = await writeConfig(name);
    const worker = await runWorker(config, async () => sandbox.store.list().length >= 12);
    expect(worker.err).toMatch(/sending queue ".+" from redis:\/\/127\.0\.0\.1:\d+/);
    expect(worker.err).toMatch(/stopping: no new jobs/);
    expect(worker.code).toBe(exitCodes.ok);
    const events = worker.out
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { outcome: string; messageId: string });
    expect(events.filter((event) => event.outcome === 'sent')).toHaveLength(12);
    const ids = await arrivedIds();
    expect(new Set(ids).size).toBe(12);
    expect(ids.every((id) => /^<mailport\.[0-9a-f]{32}@example\.com>$/.test(id))).toBe(true);
    const after = JSON.parse((await mailport(['queue', '--name', name, '--json'], { cwd: directory, env })).out);
    expect(after.counts).toMatchObject({ waiting: 0, active: 0, completed: 12 });
    // Sent: enqueuing the list again is still a no-op for the deduplication window.
    expect(JSON.parse((await mailport(argv, { cwd: directory, env })).out)).toMatchObject({ enqueued: 0, alreadyQueued: 6 });
  });

  it('queue dead lists dead letters with their last error; requeue needs --force for an uncertain one; purge by kind', async () => {
    const name = nextQueue();
    sandbox.store.clear();
    sandbox.faults.clear();
    await using queue = createMailQueue({ connection: server.url, name, defaults: { from: 'shop@example.com' } });
    const refused = await queue.enqueue({ to: 'refused@example.org', subject: 'refused', text: 'x' });
    const uncertain = await queue.enqueue({ to: 'maybe@example.org', subject: 'maybe', text: 'x' });
    const unrouted = await queue.enqueue({ to: 'lost@example.org', subject: 'no route', text: 'x' }, { route: 'nowhere' });
    // An attempt that began and never finished: a worker died after handing it over.
    const redis = new Redis(server.url);
    await createRedisLedger(redis, { prefix: 'bull' }).begin(uncertain.messageId, {
      attempt: 'gone',
      worker: 'dead-worker',
      jobId: uncertain.jobId,
    });
    await redis.quit();
    sandbox.faults.inject({ endpoint: 'smtp.DATA', status: 554, message: '5.7.1 Message rejected by policy' });

    const config = await writeConfig(name, { concurrency: 1 });
    const worker = await runWorker(config, async () => (await queue.counts()).dead === 3);
    expect(worker.code).toBe(exitCodes.ok);
    expect(sandbox.store.list()).toHaveLength(0);

    const dead = await mailport(['queue', 'dead', '--name', name, '--json'], { cwd: directory, env });
    const letters = JSON.parse(dead.out) as { jobId: string; kind: string; error: { code: string } }[];
    expect(letters.map((letter) => [letter.jobId, letter.kind, letter.error.code]).sort()).toEqual(
      [
        [refused.jobId, 'permanent', 'message-rejected'],
        [uncertain.jobId, 'uncertain', 'unknown-outcome'],
        [unrouted.jobId, 'permanent', 'configuration'],
      ].sort(),
    );
    const text = await mailport(['queue', 'dead', '--kind', 'uncertain', '--name', name], { cwd: directory, env });
    expect(text.out).toMatch(
      /^uncertain +m[0-9a-f]{32} <.+>\n {2}died .+after \d+ attempts?, route default\n {2}message {2}to maybe@example\.org: maybe\n {2}error {4}unknown-outcome: An attempt began/,
    );
    expect(text.out).toMatch(/what to do: Look for this Message-ID/);

    const status = await mailport(['queue', '--name', name], { cwd: directory, env });
    expect(status.out).toMatch(/dead +3 {3}2 permanent, 0 exhausted, 1 uncertain, 0 expired/);
    expect(status.out).toMatch(/1 may have been sent: mailport queue dead --kind uncertain/);

    const refusedRequeue = await mailport(['queue', 'requeue', uncertain.jobId, '--name', name], { cwd: directory, env });
    expect(refusedRequeue.code).toBe(exitCodes.unknownOutcome);
    expect(refusedRequeue.err).toMatch(/not requeued .+ may have been sent; check, then --force/);
    const missing = await mailport(['queue', 'requeue', 'm0000', '--name', name], { cwd: directory, env });
    expect(missing.code).toBe(exitCodes.invalidInput);
    // By Message-ID, with --force: the ledger entry is cleared and the message is sent.
    const forced = await mailport(['queue', 'requeue', uncertain.messageId, '--force', '--name', name], { cwd: directory, env });
    expect(forced.code).toBe(exitCodes.ok);
    expect(forced.out).toBe(`requeued ${uncertain.jobId}\n`);
    const show = await mailport(['queue', 'show', uncertain.messageId, '--name', name, '--json'], { cwd: directory, env });
    const shown = JSON.parse(show.out);
    expect(shown.state).toBe('waiting');
    expect(shown.ledger).toBeUndefined();
    const resent = await runWorker(config, async () => (await queue.counts()).completed === 1);
    expect(resent.code).toBe(exitCodes.ok);
    expect(await arrivedIds()).toEqual([uncertain.messageId]);

    const purged = await mailport(['queue', 'purge', '--kind', 'permanent', '--name', name], { cwd: directory, env });
    expect(purged.out).toBe('purged 2 dead letters\n');
    expect((await queue.counts()).dead).toBe(0);
  });

  it('send --queue enqueues one message, sealed with MAILPORT_QUEUE_KEY; a worker with the key in encryptionKeys sends it', async () => {
    const name = nextQueue();
    sandbox.store.clear();
    const key = Buffer.alloc(32, 9).toString('base64');
    const sealed = { ...env, MAILPORT_QUEUE_KEY: key };
    const sent = await mailport(
      ['send', '--to', 'ana@example.org', '--from', 'shop@example.com', '--subject', 'Private', '--text', 'x'].concat([
        '--queue',
        server.url,
        '--queue-name',
        name,
        '--json',
      ]),
      { cwd: directory, env: sealed },
    );
    expect(sent.code).toBe(exitCodes.ok);
    const { jobId, messageId } = JSON.parse(sent.out) as { jobId: string; messageId: string };
    expect(jobId).toMatch(/^m[0-9a-f]{32}$/);
    // At rest, the job holds no subject and no recipient.
    const redis = new Redis(server.url);
    const stored = JSON.stringify(await redis.hgetall(`bull:${name}:${jobId}`));
    await redis.quit();
    expect(stored).not.toContain('Private');
    expect(stored).not.toContain('ana@example.org');
    const config = await writeConfig(name, { encryptionKeys: ['env:MAILPORT_QUEUE_KEY'] });
    const controller = new AbortController();
    const running = mailport(['worker', '--config', config, '--quiet'], { cwd: directory, env: sealed, signal: controller.signal });
    const deadline = Date.now() + 15_000;
    while (sandbox.store.list().length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    controller.abort();
    expect((await running).code).toBe(exitCodes.ok);
    expect(await arrivedIds()).toEqual([messageId]);
    expect((await mailport(['send', '--to', 'a@example.org', '--route', 'bulk'], { cwd: directory, env })).code).toBe(exitCodes.usage);
  });

  it('usage and configuration errors', async () => {
    expect((await mailport(['queue', 'purge', '--name', 'x'], { cwd: directory, env })).code).toBe(exitCodes.usage);
    expect((await mailport(['queue', 'frobnicate'], { cwd: directory, env })).code).toBe(exitCodes.usage);
    expect((await mailport(['queue'], { cwd: directory, env: {} })).err).toMatch(/--redis URL or set MAILPORT_REDIS_URL/);
    expect((await mailport(['worker'], { cwd: directory, env })).code).toBe(exitCodes.usage);
    const config = await writeConfig('bad-url', { routes: { default: 'nosuch://x' } });
    const bad = await mailport(['worker', '--config', config], { cwd: directory, env });
    expect(bad.code).toBe(exitCodes.configuration);
    expect(bad.err).toMatch(/route default: /);
    const missing = await mailport(['worker', '--config', 'missing.json'], { cwd: directory, env });
    expect(missing.code).toBe(exitCodes.configuration);
    expect(missing.err).toMatch(/--config missing\.json: ENOENT/);
  });
});
