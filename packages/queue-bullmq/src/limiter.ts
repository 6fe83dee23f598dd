import type { Redis } from 'ioredis';
import type { Limiter, WaitReason } from './contract.js';
import { defineOnce } from './ledger.js';

/*
 * One script checks every limit of a key and takes them all, or takes nothing and says how long to
 * wait. It reads Redis's clock (TIME), never a worker's. In order:
 *
 * 1. push-back: a throttling answer from the provider holds the key until `until`;
 * 2. concurrency: a sorted set of leases scored by expiry; expired leases (a dead worker's) are
 *    dropped first, so they free themselves;
 * 3. quotas: a rolling window counted in 24 buckets; the current bucket and the 24 before it are all
 *    counted, so the count covers at least the whole window (it errs towards waiting);
 * 4. rates: GCRA with no burst: a theoretical arrival time (TAT) per rate; a send may go when
 *    TAT <= now, and moves TAT to max(TAT, now) + cost * perMs / max. Sends are then at least
 *    perMs / max apart, so no window of perMs holds more than max of them.
 *
 * KEYS[1] state hash (TATs, until), KEYS[2] lease set, KEYS[3..] one hash per quota.
 * ARGV: nRates, then interval cost per rate; nQuotas, then max window cost per quota;
 *       concurrency (0: none), lease id, lease ms.
 * Returns {'ok'} or {reason, waitMs as a string}.
 */
const acquireScript = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local i = 1
local nrates = tonumber(ARGV[i]); i = i + 1
local rates = {}
for r = 1, nrates do rates[r] = { tonumber(ARGV[i]), tonumber(ARGV[i + 1]) }; i = i + 2 end
local nquotas = tonumber(ARGV[i]); i = i + 1
local quotas = {}
for q = 1, nquotas do quotas[q] = { tonumber(ARGV[i]), tonumber(ARGV[i + 1]), tonumber(ARGV[i + 2]) }; i = i + 3 end
local concurrency = tonumber(ARGV[i]); local lease = ARGV[i + 1]; local leaseMs = tonumber(ARGV[i + 2])
local state = KEYS[1]

local untilMs = tonumber(redis.call('HGET', state, 'until') or '0')
if untilMs > now then return { 'throttled', tostring(untilMs - now) } end

if concurrency > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
  if not redis.call('ZSCORE', KEYS[2], lease) and redis.call('ZCARD', KEYS[2]) >= concurrency then
    local first = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
    return { 'concurrency', tostring(math.min(tonumber(first[2]) - now, 200)) }
  end
end

local buckets = {}
for q = 1, nquotas do
  local max, window, cost = quotas[q][1], quotas[q][2], quotas[q][3]
  local size = window / 24
  local current = math.floor(now / size)
  local fields = redis.call('HGETALL', KEYS[2 + q])
  local used, oldest = 0, current
  for f = 1, #fields, 2 do
    local b = tonumber(fields[f])
    if b < current - 24 then
      redis.call('HDEL', KEYS[2 + q], fields[f])
    else
      used = used + tonumber(fields[f + 1])
      if b < oldest then oldest = b end
    end
  end
  if used + cost > max then
    return { 'quota', tostring((oldest + 25) * size - now) }
  end
  buckets[q] = current
end

local wait = 0
local tats = {}
for r = 1, nrates do
  local tat = tonumber(redis.call('HGET', state, 'tat' .. r) or '0')
  if tat < now then tat = now end
  tats[r] = tat
  if tat - now > wait then wait = tat - now end
end
if wait > 0 then return { 'rate', tostring(wait) } end

local ttl = 60000
for r = 1, nrates do
  local interval = rates[r][1] * rates[r][2]
  redis.call('HSET', state, 'tat' .. r, tostring(tats[r] + interval))
  if interval + 60000 > ttl then ttl = interval + 60000 end
end
if nrates > 0 then redis.call('PEXPIRE', state, math.ceil(ttl)) end
for q = 1, nquotas do
  redis.call('HINCRBY', KEYS[2 + q], tostring(buckets[q]), quotas[q][3])
  redis.call('PEXPIRE', KEYS[2 + q], math.ceil(quotas[q][2] * 25 / 24))
end
if concurrency > 0 then
  redis.call('ZADD', KEYS[2], now + leaseMs, lease)
  redis.call('PEXPIRE', KEYS[2], leaseMs + 60000)
end
return { 'ok' }`;

/** KEYS[1] state hash; ARGV ms. Holds the key for ms from now (never shortens a longer hold). */
const pushBackScript = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local untilMs = now + tonumber(ARGV[1])
local current = tonumber(redis.call('HGET', KEYS[1], 'until') or '0')
if untilMs > current then
  redis.call('HSET', KEYS[1], 'until', tostring(untilMs))
  local ttl = redis.call('PTTL', KEYS[1])
  if ttl < tonumber(ARGV[1]) + 60000 then redis.call('PEXPIRE', KEYS[1], math.ceil(tonumber(ARGV[1]) + 60000)) end
end
return 1`;

interface LimiterCommands {
  mailportLimitAcquire(numberOfKeys: number, ...args: (string | number)[]): Promise<string[]>;
  mailportLimitPushBack(key: string, ms: number): Promise<number>;
}

/**
 * The shared limiter in Redis. Keys live under `PREFIX:mailport:limit:{KEY}:...`; the braces make
 * every key of one limit key hash to one Redis Cluster slot, so the script can touch them all.
 */
export function createRedisLimiter(redis: Redis, options: { readonly prefix: string }): Limiter {
  defineOnce(redis, 'mailportLimitAcquire', acquireScript);
  defineOnce(redis, 'mailportLimitPushBack', pushBackScript, 1);
  const commands = redis as unknown as LimiterCommands;
  const base = (key: string) => `${options.prefix}:mailport:limit:{${key.replaceAll(/[{}]/g, '_')}}`;

  return {
    async acquire(key, limits, acquireOptions) {
      const rates = limits.rates ?? [];
      const quotas = limits.quotas ?? [];
      const keys = [`${base(key)}:state`, `${base(key)}:leases`, ...quotas.map((_, index) => `${base(key)}:quota${index + 1}`)];
      const args: (string | number)[] = [rates.length];
      for (const rate of rates) args.push(rate.perMs / rate.max, rate.cost ?? 1);
      args.push(quotas.length);
      for (const quota of quotas) args.push(quota.max, quota.windowMs, quota.cost ?? 1);
      args.push(limits.concurrency ?? 0, acquireOptions.leaseId, acquireOptions.leaseMs);
      const reply = await commands.mailportLimitAcquire(keys.length, ...keys, ...args);
      if (reply[0] === 'ok') return { ok: true, lease: (limits.concurrency ?? 0) > 0 ? acquireOptions.leaseId : undefined };
      return { ok: false, reason: reply[0] as WaitReason, waitMs: Math.max(1, Math.ceil(Number(reply[1]))) };
    },
    async release(key, leaseId) {
      await redis.zrem(`${base(key)}:leases`, leaseId);
    },
    async pushBack(key, ms) {
      await commands.mailportLimitPushBack(`${base(key)}:state`, Math.max(1, Math.ceil(ms)));
    },
  };
}
