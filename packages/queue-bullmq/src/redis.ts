import { MailError } from '@mailport/core';
import { Redis, type RedisOptions } from 'ioredis';

/** Where Redis is: a `redis://` / `rediss://` URL, ioredis options, or an ioredis client you own (never closed by mailport). */
export type RedisConnection = string | RedisOptions | Redis;

/**
 * Opens the client a queue or worker uses. Workers wait for Redis as long as it takes
 * (`maxRetriesPerRequest: null`, as BullMQ requires): a send in flight must be able to record its
 * outcome after Redis restarts. Producers fail fast (one retry), so an API request does not hang.
 */
export function openRedis(connection: RedisConnection, role: 'worker' | 'producer'): { redis: Redis; owned: boolean } {
  if (connection instanceof Redis) return { redis: connection, owned: false };
  const roleOptions: RedisOptions = role === 'worker' ? { maxRetriesPerRequest: null } : { maxRetriesPerRequest: 1 };
  const redis =
    typeof connection === 'string'
      ? new Redis(connection, { ...roleOptions, lazyConnect: false })
      : new Redis({ ...connection, ...roleOptions });
  // Errors are reported through the operations that fail; without a listener ioredis prints each one.
  redis.on('error', () => {});
  return { redis, owned: true };
}

/** What {@link checkRedis} found. */
export interface RedisReport {
  readonly version: string;
  readonly maxmemoryPolicy: string;
  readonly appendonly: boolean;
  readonly rdbSnapshots: boolean;
}

function infoField(info: string, name: string): string | undefined {
  const match = new RegExp(`^${name}:(.*)$`, 'm').exec(info);
  return match?.[1]?.trim();
}

/**
 * Refuses a Redis that would lose jobs or ledger entries: `maxmemory-policy` must be `noeviction`
 * (an evicted ledger entry would let a message be sent twice; BullMQ requires it too), and the
 * version at least 6.2. Warns (`onWarning`) when neither append-only nor RDB persistence is on: a
 * restart then loses every queued message. Reads `INFO`, which managed services that disable
 * `CONFIG` still answer.
 */
export async function checkRedis(redis: Redis, onWarning: (message: string) => void): Promise<RedisReport> {
  const [server, memory, persistence] = await Promise.all([redis.info('server'), redis.info('memory'), redis.info('persistence')]);
  const version = infoField(server, 'redis_version') ?? '0';
  const maxmemoryPolicy = infoField(memory, 'maxmemory_policy') ?? 'unknown';
  const appendonly = infoField(persistence, 'aof_enabled') === '1';
  let rdbSnapshots = false;
  try {
    const save = (await redis.config('GET', 'save')) as string[];
    rdbSnapshots = (save[1] ?? '').trim() !== '';
  } catch {
    // CONFIG is disabled (managed Redis): assume the provider persists; say nothing.
    rdbSnapshots = true;
  }
  const [major = 0, minor = 0] = version.split('.').map(Number);
  if (major < 6 || (major === 6 && minor < 2)) {
    throw new MailError('configuration', `Redis ${version} is too old: mailport's queue needs Redis 6.2 or later`, {
      remediation: 'Upgrade Redis (or Valkey) to 6.2 or later.',
    });
  }
  if (maxmemoryPolicy !== 'noeviction') {
    throw new MailError(
      'configuration',
      `Redis maxmemory-policy is ${maxmemoryPolicy}: under memory pressure it would drop queued messages and send-ledger entries`,
      {
        remediation:
          'Set maxmemory-policy noeviction (redis.conf, or CONFIG SET maxmemory-policy noeviction; on a managed service, its parameter group).',
      },
    );
  }
  if (!appendonly && !rdbSnapshots) {
    onWarning('Redis has no persistence (appendonly no, no save points): a Redis restart loses every queued message. Set appendonly yes.');
  } else if (!appendonly) {
    onWarning('Redis persists by RDB snapshots only: a crash loses what was queued since the last snapshot. Set appendonly yes.');
  }
  return { version, maxmemoryPolicy, appendonly, rdbSnapshots };
}
