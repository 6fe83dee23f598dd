import type { Redis } from 'ioredis';
import type { Limiter, LimitKeyState, WaitReason } from './contract.js';
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
 * 4. rates, two checks:
 *    - arrivals: the sends that finished within the last `perMs` (their release time) plus those in
 *      flight (their leases) must leave room for this one. A provider sees a send arrive before its
 *      answer comes back, so whatever the delays between taking a slot and arriving (a first
 *      connection, a token fetch, a busy machine), no window of `perMs` sees more than `max`;
 *    - spacing: GCRA with no burst: a theoretical arrival time (TAT) per rate; a send may go when
 *      TAT <= now, and moves TAT to max(TAT, now) + cost * (perMs + marginMs) / max, so sends are
 *      spread over the window rather than sent in bursts.
 *
 * KEYS[1] state hash (TATs, until, window), KEYS[2] lease set, KEYS[3] lease costs hash,
 * KEYS[4] finished sends (scored by release time), KEYS[5..] one hash per quota.
 * ARGV: nRates, then interval cost max perMs per rate; nQuotas, then max window cost per quota;
 *       concurrency (0: none), lease id, lease ms.
 * Returns {'ok'} or {reason, waitMs as a string}.
 */
const acquireScript = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local i = 1
local nrates = tonumber(ARGV[i]); i = i + 1
local rates = {}
for r = 1, nrates do rates[r] = { tonumber(ARGV[i]), tonumber(ARGV[i + 1]), tonumber(ARGV[i + 2]), tonumber(ARGV[i + 3]) }; i = i + 4 end
local nquotas = tonumber(ARGV[i]); i = i + 1
local quotas = {}
for q = 1, nquotas do quotas[q] = { tonumber(ARGV[i]), tonumber(ARGV[i + 1]), tonumber(ARGV[i + 2]) }; i = i + 3 end
local concurrency = tonumber(ARGV[i]); local lease = ARGV[i + 1]; local leaseMs = tonumber(ARGV[i + 2])
local state = KEYS[1]
local leases = KEYS[2]
local costs = KEYS[3]
local finished = KEYS[4]

local untilMs = tonumber(redis.call('HGET', state, 'until') or '0')
if untilMs > now then return { 'throttled', tostring(untilMs - now) } end

local expired = redis.call('ZRANGEBYSCORE', leases, '-inf', now)
for e = 1, #expired do redis.call('HDEL', costs, expired[e]) end
redis.call('ZREMRANGEBYSCORE', leases, '-inf', now)
if concurrency > 0 then
  if not redis.call('ZSCORE', leases, lease) and redis.call('ZCARD', leases) >= concurrency then
    local first = redis.call('ZRANGE', leases, 0, 0, 'WITHSCORES')
    return { 'concurrency', tostring(math.min(tonumber(first[2]) - now, 200)) }
  end
end

local buckets = {}
for q = 1, nquotas do
  local max, window, cost = quotas[q][1], quotas[q][2], quotas[q][3]
  local size = window / 24
  local current = math.floor(now / size)
  local fields = redis.call('HGETALL', KEYS[4 + q])
  local used, oldest = 0, current
  for f = 1, #fields, 2 do
    local b = tonumber(fields[f])
    if b < current - 24 then
      redis.call('HDEL', KEYS[4 + q], fields[f])
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

local function costsOf(text)
  local list = {}
  for c in string.gmatch(text or '', '[^,]+') do list[#list + 1] = tonumber(c) end
  return list
end
local wait = 0
if nrates > 0 then
  local window = 0
  for r = 1, nrates do if rates[r][4] > window then window = rates[r][4] end end
  redis.call('ZREMRANGEBYSCORE', finished, '-inf', now - window)
  local done = redis.call('ZRANGE', finished, 0, -1, 'WITHSCORES')
  local flying = redis.call('ZRANGE', leases, 0, -1)
  local flyingCosts = {}
  for f = 1, #flying do
    if flying[f] ~= lease then flyingCosts[#flyingCosts + 1] = costsOf(redis.call('HGET', costs, flying[f])) end
  end
  for r = 1, nrates do
    local cost, max, perMs = rates[r][2], rates[r][3], rates[r][4]
    local used = 0
    for f = 1, #flyingCosts do used = used + (flyingCosts[f][r] or 1) end
    local oldest = nil
    for d = 1, #done, 2 do
      local at = tonumber(done[d + 1])
      if at > now - perMs then
        used = used + (costsOf(string.match(done[d], '[^|]*$'))[r] or 1)
        if oldest == nil then oldest = at end
      end
    end
    -- A send that alone costs more than max (recipients) goes when nothing else is counted.
    if used > 0 and used + cost > max then
      local hold = 20
      if oldest ~= nil then hold = math.max(1, oldest + perMs - now) end
      if hold > wait then wait = hold end
    end
  end
  if wait > 0 then return { 'rate', tostring(wait) } end
end

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
  if rates[r][4] + 60000 > ttl then ttl = rates[r][4] + 60000 end
end
if nrates > 0 then
  local list = {}
  for r = 1, nrates do list[r] = tostring(rates[r][2]) end
  redis.call('HSET', costs, lease, table.concat(list, ','))
  redis.call('HSET', state, 'window', tostring(ttl))
  redis.call('PEXPIRE', state, math.ceil(ttl))
  redis.call('PEXPIRE', costs, math.ceil(leaseMs + 60000))
end
for q = 1, nquotas do
  redis.call('HINCRBY', KEYS[4 + q], tostring(buckets[q]), quotas[q][3])
  redis.call('PEXPIRE', KEYS[4 + q], math.ceil(quotas[q][2] * 25 / 24))
end
if concurrency > 0 or nrates > 0 then
  redis.call('ZADD', leases, now + leaseMs, lease)
  redis.call('PEXPIRE', leases, leaseMs + 60000)
end
return { 'ok' }`;

/**
 * KEYS[1] lease set, KEYS[2] lease costs, KEYS[3] finished sends, KEYS[4] state; ARGV lease id.
 * Ends a lease; a send under a rate is recorded as finished now, for the arrivals check.
 */
const releaseScript = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local removed = redis.call('ZREM', KEYS[1], ARGV[1])
local costs = redis.call('HGET', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
if removed == 1 and costs then
  redis.call('ZADD', KEYS[3], now, ARGV[1] .. '|' .. tostring(now) .. '|' .. costs)
  redis.call('PEXPIRE', KEYS[3], math.ceil(tonumber(redis.call('HGET', KEYS[4], 'window') or '120000')))
end
return removed`;

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
  mailportLimitRelease(leases: string, costs: string, finished: string, state: string, leaseId: string): Promise<number>;
  mailportLimitPushBack(key: string, ms: number): Promise<number>;
}

/**
 * The shared limiter in Redis. Keys live under `PREFIX:mailport:limit:{KEY}:...`; the braces make
 * every key of one limit key hash to one Redis Cluster slot, so the script can touch them all.
 */
export function createRedisLimiter(redis: Redis, options: { readonly prefix: string }): Limiter {
  defineOnce(redis, 'mailportLimitAcquire', acquireScript);
  defineOnce(redis, 'mailportLimitPushBack', pushBackScript, 1);
  defineOnce(redis, 'mailportLimitRelease', releaseScript, 4);
  const commands = redis as unknown as LimiterCommands;
  const base = (key: string) => `${options.prefix}:mailport:limit:{${key.replaceAll(/[{}]/g, '_')}}`;

  return {
    async acquire(key, limits, acquireOptions) {
      const rates = limits.rates ?? [];
      const quotas = limits.quotas ?? [];
      const keys = [
        `${base(key)}:state`,
        `${base(key)}:leases`,
        `${base(key)}:costs`,
        `${base(key)}:finished`,
        ...quotas.map((_, index) => `${base(key)}:quota${index + 1}`),
      ];
      const args: (string | number)[] = [rates.length];
      for (const rate of rates) args.push((rate.perMs + (rate.marginMs ?? 0)) / rate.max, rate.cost ?? 1, rate.max, rate.perMs);
      args.push(quotas.length);
      for (const quota of quotas) args.push(quota.max, quota.windowMs, quota.cost ?? 1);
      args.push(limits.concurrency ?? 0, acquireOptions.leaseId, acquireOptions.leaseMs);
      const reply = await commands.mailportLimitAcquire(keys.length, ...keys, ...args);
      const leased = (limits.concurrency ?? 0) > 0 || rates.length > 0;
      if (reply[0] === 'ok') return { ok: true, lease: leased ? acquireOptions.leaseId : undefined };
      return { ok: false, reason: reply[0] as WaitReason, waitMs: Math.max(1, Math.ceil(Number(reply[1]))) };
    },
    async release(key, leaseId) {
      const at = base(key);
      await commands.mailportLimitRelease(`${at}:leases`, `${at}:costs`, `${at}:finished`, `${at}:state`, leaseId);
    },
    async pushBack(key, ms) {
      await commands.mailportLimitPushBack(`${base(key)}:state`, Math.max(1, Math.ceil(ms)));
    },
  };
}

/**
 * Every limit key with state in Redis (a rate's next slot, a push-back, leases, quota counts), read
 * with SCAN, for `mailport queue`. Times are relative to Redis's clock. Limits themselves live in
 * the workers' configuration, so this says how much is used, not how much is allowed.
 */
export async function inspectLimits(redis: Redis, options: { readonly prefix: string }): Promise<LimitKeyState[]> {
  const head = `${options.prefix}:mailport:limit:{`;
  const found = new Map<string, { state: boolean; leases: boolean; quotas: string[] }>();
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${head.replaceAll(/[*?[\]\\]/g, '\\$&')}*`, 'COUNT', 500);
    cursor = next;
    for (const full of keys) {
      const match = /^(.*)\}:(state|leases|costs|finished|quota\d+)$/.exec(full.slice(head.length));
      if (match === null) continue;
      const [, key = '', part = ''] = match;
      const entry = found.get(key) ?? { state: false, leases: false, quotas: [] };
      if (part === 'state') entry.state = true;
      else if (part === 'leases') entry.leases = true;
      else if (part.startsWith('quota')) entry.quotas.push(part);
      found.set(key, entry);
    }
  } while (cursor !== '0');
  const [seconds, micros] = await redis.time();
  const now = Number(seconds) * 1000 + Number(micros) / 1000;
  const states: LimitKeyState[] = [];
  for (const [key, parts] of [...found].sort(([a], [b]) => a.localeCompare(b))) {
    const base = `${head}${key}}`;
    const state = parts.state ? await redis.hgetall(`${base}:state`) : {};
    const tats = Object.entries(state)
      .filter(([field]) => /^tat\d+$/.test(field))
      .map(([, value]) => Number(value));
    const leases = parts.leases ? await redis.zcount(`${base}:leases`, `(${now}`, '+inf') : 0;
    const quotaUsed: number[] = [];
    for (const quota of parts.quotas.sort()) {
      const buckets = await redis.hvals(`${base}:${quota}`);
      quotaUsed.push(buckets.reduce((sum, value) => sum + Number(value), 0));
    }
    states.push({
      key,
      throttledForMs: Math.max(0, Math.ceil(Number(state.until ?? 0) - now)),
      nextSlotInMs: Math.max(0, Math.ceil(Math.max(0, ...tats) - now)),
      leases,
      quotaUsed,
    });
  }
  return states;
}
