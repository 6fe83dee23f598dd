import { describe, expect, it } from 'vitest';
import { findRedis, installRedis } from './find-redis.js';

function machine(executables: readonly string[], env: NodeJS.ProcessEnv = {}) {
  return { env: { PATH: '/usr/local/bin:/usr/bin:/bin', ...env }, isExecutable: (path: string) => executables.includes(path) };
}

describe('findRedis', () => {
  it('takes MAILPORT_REDIS_SERVER first, and fails rather than skips when it is not an executable file', () => {
    expect(
      findRedis(machine(['/opt/redis/redis-server', '/usr/bin/redis-server'], { MAILPORT_REDIS_SERVER: '/opt/redis/redis-server' })),
    ).toEqual({
      path: '/opt/redis/redis-server',
    });
    expect(() => findRedis(machine(['/usr/bin/redis-server'], { MAILPORT_REDIS_SERVER: '/nonexistent' }))).toThrow(
      'MAILPORT_REDIS_SERVER=/nonexistent is not an executable file',
    );
  });

  it("then Debian's /usr/bin/redis-server, then redis-server on PATH", () => {
    expect(findRedis(machine(['/usr/local/bin/redis-server', '/usr/bin/redis-server']))).toEqual({ path: '/usr/bin/redis-server' });
    expect(findRedis(machine(['/usr/local/bin/redis-server']))).toEqual({ path: '/usr/local/bin/redis-server' });
  });

  it('finds none without one, or when MAILPORT_TEST_WITHOUT names redis, and says how to install it', () => {
    expect(findRedis(machine([]))).toEqual({ skip: expect.stringContaining(`Install it with: ${installRedis}`) });
    expect(findRedis(machine(['/usr/bin/redis-server'], { MAILPORT_TEST_WITHOUT: 'chromium, Redis' }))).toEqual({
      skip: expect.stringContaining('MAILPORT_TEST_WITHOUT=chromium, Redis pretends it is not installed'),
    });
  });
});
