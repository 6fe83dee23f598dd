import { startSandbox } from '@mailport/sandbox';
import { expect, it } from 'vitest';
import { findRedis, skipUnlessFound } from '../../packages/queue-bullmq/test/find-redis.ts';
import { startRedis } from '../../packages/queue-bullmq/test/redis-server.ts';
import { runExample } from './demo.ts';

const redis = findRedis();

it.skipIf(skipUnlessFound(redis))('three worker processes send 30 messages from two mailboxes, each once', async () => {
  const server = await startRedis((redis as { path: string }).path);
  try {
    await using sandbox = await startSandbox();
    const lines = await runExample(sandbox, server.url, 'example');
    expect(lines.slice(0, 3)).toEqual([
      'enqueued: 30 (one duplicate enqueue ignored)',
      'sent: 30, dead letters: 0',
      'sender@contoso.example: 20, other@contoso.example: 10',
    ]);
    expect(lines[3]).toMatch(/^workers that sent: [1-3] of 3$/);
  } finally {
    await server.stop();
  }
});
