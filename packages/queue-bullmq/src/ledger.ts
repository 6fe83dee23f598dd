import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { LedgerBegin, LedgerEntry, SendLedger } from './contract.js';

// Each script is one atomic step on the Redis server, stamped with Redis's own clock (TIME), so
// two workers can never both begin the same Message-ID, whatever their clocks say.
const now = `local t = redis.call('TIME') local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

/** KEYS[1] entry; ARGV attempt, worker, jobId, ttlMs, force. Returns {} when begun, else the entry. */
const beginScript = `${now}
local state = redis.call('HGET', KEYS[1], 'state')
if state == 'sent' or (state and ARGV[5] ~= '1') then
  return redis.call('HGETALL', KEYS[1])
end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'state', 'attempting', 'attempt', ARGV[1], 'worker', ARGV[2], 'jobId', ARGV[3], 'at', now)
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return {}`;

/** KEYS[1]; ARGV attempt, transport, providerMessageId, ttlMs. Records `sent` whoever began: it is the truth. Returns 1 when it was this attempt's. */
const sentScript = `${now}
local mine = redis.call('HGET', KEYS[1], 'attempt') == ARGV[1]
redis.call('HSET', KEYS[1], 'state', 'sent', 'attempt', ARGV[1], 'at', now, 'transport', ARGV[2], 'providerMessageId', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
if mine then return 1 end
return 0`;

/** KEYS[1]; ARGV attempt. `attempting` -> `uncertain`, for this attempt only. */
const uncertainScript = `${now}
if redis.call('HGET', KEYS[1], 'attempt') ~= ARGV[1] or redis.call('HGET', KEYS[1], 'state') ~= 'attempting' then return 0 end
redis.call('HSET', KEYS[1], 'state', 'uncertain', 'at', now)
return 1`;

/** KEYS[1]; ARGV attempt. Removes an `attempting` entry of this attempt. */
const clearScript = `
if redis.call('HGET', KEYS[1], 'attempt') ~= ARGV[1] or redis.call('HGET', KEYS[1], 'state') ~= 'attempting' then return 0 end
redis.call('DEL', KEYS[1])
return 1`;

interface LedgerCommands {
  mailportLedgerBegin(key: string, attempt: string, worker: string, jobId: string, ttlMs: number, force: string): Promise<string[]>;
  mailportLedgerSent(key: string, attempt: string, transport: string, providerMessageId: string, ttlMs: number): Promise<number>;
  mailportLedgerUncertain(key: string, attempt: string): Promise<number>;
  mailportLedgerClear(key: string, attempt: string): Promise<number>;
}

/** Default time an entry is kept: 7 days, as long as completed jobs are kept for deduplication. */
export const defaultLedgerTtlMs: number = 7 * 86_400_000;

/**
 * The send ledger in Redis: one hash per Message-ID, `PREFIX:mailport:ledger:HASH`, holding the
 * state, the attempt token, the worker, the job id and the time; never message content. Entries
 * expire after `ttlMs` (keep it at least as long as the deduplication window).
 */
export function createRedisLedger(redis: Redis, options: { readonly prefix: string; readonly ttlMs?: number | undefined }): SendLedger {
  const ttlMs = options.ttlMs ?? defaultLedgerTtlMs;
  defineOnce(redis, 'mailportLedgerBegin', beginScript, 1);
  defineOnce(redis, 'mailportLedgerSent', sentScript, 1);
  defineOnce(redis, 'mailportLedgerUncertain', uncertainScript, 1);
  defineOnce(redis, 'mailportLedgerClear', clearScript, 1);
  const commands = redis as unknown as LedgerCommands;
  const keyOf = (messageId: string) =>
    `${options.prefix}:mailport:ledger:${createHash('sha256').update(messageId).digest('hex').slice(0, 40)}`;

  return {
    async peek(messageId) {
      return toEntry(await redis.hgetall(keyOf(messageId)));
    },
    async begin(messageId, attempt, beginOptions = {}): Promise<LedgerBegin> {
      const reply = await commands.mailportLedgerBegin(
        keyOf(messageId),
        attempt.attempt,
        attempt.worker,
        attempt.jobId,
        ttlMs,
        beginOptions.force === true ? '1' : '0',
      );
      const entry = toEntry(pairs(reply));
      if (entry === undefined) return { outcome: 'begun' };
      return entry.state === 'sent' ? { outcome: 'sent', entry } : { outcome: 'uncertain', entry };
    },
    async markSent(messageId, attempt, receipt) {
      return (
        (await commands.mailportLedgerSent(keyOf(messageId), attempt, receipt.transport ?? '', receipt.providerMessageId ?? '', ttlMs)) ===
        1
      );
    },
    async markUncertain(messageId, attempt) {
      return (await commands.mailportLedgerUncertain(keyOf(messageId), attempt)) === 1;
    },
    async clear(messageId, attempt) {
      return (await commands.mailportLedgerClear(keyOf(messageId), attempt)) === 1;
    },
    async forget(messageId) {
      await redis.del(keyOf(messageId));
    },
  };
}

/** Defines a script command on a client once (several ledgers and limiters may share one client). */
export function defineOnce(redis: Redis, name: string, lua: string, numberOfKeys?: number): void {
  if (typeof (redis as unknown as Record<string, unknown>)[name] === 'function') return;
  redis.defineCommand(name, numberOfKeys === undefined ? { lua } : { lua, numberOfKeys });
}

function pairs(flat: readonly string[]): Record<string, string> {
  const result: Record<string, string> = {};
  for (let index = 0; index + 1 < flat.length; index += 2) result[flat[index] as string] = flat[index + 1] as string;
  return result;
}

function toEntry(hash: Record<string, string>): LedgerEntry | undefined {
  const state = hash.state;
  if (state !== 'attempting' && state !== 'sent' && state !== 'uncertain') return undefined;
  return {
    state,
    attempt: hash.attempt ?? '',
    worker: hash.worker ?? '',
    jobId: hash.jobId ?? '',
    at: Number(hash.at ?? 0),
    transport: hash.transport || undefined,
    providerMessageId: hash.providerMessageId || undefined,
  };
}
