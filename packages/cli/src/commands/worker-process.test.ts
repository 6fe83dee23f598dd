import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMailQueue } from '@mailport/queue-bullmq';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { findRedis, skipUnlessFound } from '../../../queue-bullmq/test/find-redis.js';
import { type RedisServer, startRedis } from '../../../queue-bullmq/test/redis-server.js';
import { people, type SmtpChild, spawnCli, startSmtpChild } from '../../test/bulk-harness.js';
import { exitCodes } from '../exit-codes.js';

const redisFound = findRedis();

/** `mailport worker` and `mailport send --csv` as real processes (dist/main.js), stopped by signals. */
describe.skipIf(skipUnlessFound(redisFound))('mailport worker and send --csv, stopped by SIGTERM', () => {
  let redis: RedisServer;
  let smtp: SmtpChild;
  let directory: string;
  let env: Record<string, string>;
  let count = 0;

  beforeAll(async () => {
    redis = await startRedis((redisFound as { path: string }).path);
    smtp = await startSmtpChild();
    directory = await mkdtemp(join(tmpdir(), 'mailport-worker-process-'));
    env = { MAILPORT_REDIS_URL: redis.url, TEST_SMTP_URL: smtp.url };
  });
  afterAll(async () => {
    await smtp?.close();
    await redis?.stop();
  });
  beforeEach(() => smtp.clear());

  async function queueWithMessages(messages: number) {
    const name = `proc${++count}`;
    const queue = createMailQueue({ connection: redis.url, name, defaults: { from: 'shop@example.com' } });
    await queue.enqueueMany(
      Array.from({ length: messages }, (_, index) => ({ to: `r${index}@example.org`, subject: `m${index}`, text: 'x' })),
    );
    const config = join(directory, `${name}.json`);
    await writeFile(config, JSON.stringify({ queue: name, concurrency: 2, routes: { default: 'env:TEST_SMTP_URL' } }));
    return { queue, config };
  }

  async function until(check: () => Promise<boolean>, what: string): Promise<void> {
    const deadline = Date.now() + 20_000;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  it('the first SIGTERM lets the sends in flight finish and be recorded, then exits 0; the rest stays queued', async () => {
    const { queue, config } = await queueWithMessages(6);
    await smtp.delay(800);
    const child = spawnCli(['worker', '--config', config, '--quiet'], { cwd: directory, env });
    // The test SMTP server stores a message when it answers its DATA, 800 ms after receiving it.
    await until(async () => (await queue.counts()).active === 2, 'two sends in flight');
    expect(await smtp.count()).toBe(0);
    child.process.kill('SIGTERM');
    const exited = await child.exited;
    expect(child.err()).toMatch(/stopping: no new jobs; waiting for the sends in flight/);
    expect(exited).toEqual({ code: exitCodes.ok, signal: null });
    expect(await queue.counts()).toMatchObject({ active: 0, completed: 2, waiting: 4, dead: 0 });
    expect(await smtp.count()).toBe(2);
    await queue.close();
  });

  it('a second signal exits at once with 143', async () => {
    const { queue, config } = await queueWithMessages(2);
    await smtp.delay(10_000);
    const child = spawnCli(['worker', '--config', config, '--quiet'], { cwd: directory, env });
    await until(async () => (await queue.counts()).active === 2, 'two sends in flight');
    child.process.kill('SIGTERM');
    await until(async () => child.err().includes('stopping'), 'the worker to stop taking jobs');
    child.process.kill('SIGTERM');
    expect(await child.exited).toEqual({ code: exitCodes.terminated, signal: null });
    await smtp.delay(0);
    await queue.close();
  });

  it('send --csv stops the same way on SIGTERM: in-flight rows finish, exit code 143', async () => {
    const csv = join(directory, 'sigterm.csv');
    await writeFile(csv, people(40));
    await smtp.delay(300);
    const child = spawnCli(
      [
        'send',
        '--csv',
        csv,
        '--url',
        '$TEST_SMTP_URL',
        '--from',
        'shop@example.com',
        '--subject',
        'Hi',
        '--text',
        'x',
        '--concurrency',
        '2',
      ].map((arg) => (arg === '$TEST_SMTP_URL' ? smtp.url : arg)),
      { cwd: directory, env },
    );
    await until(async () => (await smtp.count()) >= 2, 'the first rows');
    child.process.kill('SIGTERM');
    const exited = await child.exited;
    expect(exited.code).toBe(exitCodes.terminated);
    expect(child.out()).toMatch(/stopped: terminated \(SIGTERM\); row \d+ and every row after it were not sent/);
    expect(child.out()).toMatch(/unknown outcome +0/);
  });
});
