import { MailError } from '@mailport/core';
import { configString, holdsCredential, isObject } from './json-config.js';

/**
 * `mailport worker --config FILE`: a JSON file, so that it holds data and runs no code. Secrets
 * stay out of it: any string value may be `env:NAME`, read from the environment when the worker
 * starts (a transport URL with a password, the Redis URL, encryption keys).
 *
 * ```json
 * {
 *   "redis": "env:MAILPORT_REDIS_URL",
 *   "queue": "mail",
 *   "concurrency": 8,
 *   "routes": {
 *     "default": "env:MAILPORT_URL",
 *     "bulk": { "transport": "env:MAILPORT_BULK_URL", "limits": { "rates": [{ "max": 40, "perMs": 1000 }] } }
 *   },
 *   "limits": { "graph:contoso:news@contoso.com": { "rates": [{ "max": 30, "perMs": 60000 }] } },
 *   "uncertain": "dead-letter",
 *   "encryptionKeys": ["env:MAILPORT_QUEUE_KEY"]
 * }
 * ```
 */
export interface WorkerConfig {
  readonly redis: string;
  readonly queue: string | undefined;
  readonly prefix: string | undefined;
  readonly concurrency: number | undefined;
  readonly routes: Readonly<Record<string, RouteConfig>>;
  readonly limits: Readonly<Record<string, LimitsConfig>> | undefined;
  readonly uncertain: 'dead-letter' | 'resend' | 'lookup' | undefined;
  readonly lookupGraceMs: number | undefined;
  readonly maxAgeMs: number | undefined;
  readonly limitWaitMs: number | undefined;
  /** Each 32 bytes, decoded from base64 (`openssl rand -base64 32`), newest first. */
  readonly encryptionKeys: readonly Uint8Array[];
  /** Notes for the user: literal secrets in the file. */
  readonly notes: readonly string[];
}

/** One route as read from the file: its transport URL (resolved from `env:`), limit key and limits. */
export interface RouteConfig {
  readonly transport: string;
  readonly limitKey: string | undefined;
  readonly limits: LimitsConfig | false | undefined;
}

/** As `@mailport/queue-bullmq`'s `LimitConfig`; checked again (positive numbers) by the worker. */
export interface LimitsConfig {
  readonly rates?: readonly { max: number; perMs: number; unit?: 'message' | 'recipient'; marginMs?: number }[];
  readonly quotas?: readonly { max: number; windowMs: number; unit?: 'message' | 'recipient' }[];
  readonly concurrency?: number;
}

const topFields = new Set([
  'redis',
  'queue',
  'prefix',
  'concurrency',
  'routes',
  'limits',
  'uncertain',
  'maxAgeMs',
  'limitWaitMs',
  'lookupGraceMs',
  'encryptionKeys',
  '$schema',
]);

/** Reads the parsed JSON of a worker configuration; throws a `configuration` MailError naming the field at fault. */
export function parseWorkerConfig(
  raw: unknown,
  options: { readonly env: Readonly<Record<string, string | undefined>>; readonly file: string; readonly redis?: string | undefined },
): WorkerConfig {
  const where = options.file;
  const fail = (field: string, problem: string): never => {
    throw new MailError('configuration', `${where}: ${field}: ${problem}`, {
      remediation: 'Fix the worker configuration (see mailport worker --help for its fields), then start the worker again.',
    });
  };
  if (!isObject(raw)) return fail('(top)', 'must be a JSON object');
  for (const field of Object.keys(raw)) if (!topFields.has(field)) fail(field, `unknown field (known: ${[...topFields].join(', ')})`);
  const notes: string[] = [];

  const resolveValue = (field: string, value: unknown, secret: boolean): string => {
    const resolved = configString(field, value, options.env, fail);
    if (secret && resolved === value && holdsCredential(resolved))
      notes.push(`${field} holds a credential in the file: consider "env:NAME" and the environment`);
    return resolved;
  };
  const optionalString = (field: string, value: unknown): string | undefined =>
    value === undefined ? undefined : typeof value === 'string' && value !== '' ? value : fail(field, 'must be a non-empty string');
  const optionalNumber = (field: string, value: unknown, minimum: number): number | undefined =>
    value === undefined
      ? undefined
      : typeof value === 'number' && Number.isInteger(value) && value >= minimum
        ? value
        : fail(field, `must be a whole number of at least ${minimum}`);

  const redisSource = options.redis ?? raw.redis ?? (options.env.MAILPORT_REDIS_URL ? 'env:MAILPORT_REDIS_URL' : undefined);
  if (redisSource === undefined) fail('redis', 'missing: give "redis" (a redis:// URL or "env:NAME"), --redis, or MAILPORT_REDIS_URL');
  const redis = resolveValue('redis', redisSource, true);
  if (!/^rediss?:\/\//.test(redis)) fail('redis', 'must be a redis:// or rediss:// URL');

  if (!isObject(raw.routes) || Object.keys(raw.routes).length === 0)
    fail('routes', 'give at least one route: { "default": "smtp://..." } (a URL or "env:NAME")');
  const routes: Record<string, RouteConfig> = {};
  for (const [name, value] of Object.entries(raw.routes as Record<string, unknown>)) {
    const field = `routes.${name}`;
    if (typeof value === 'string') {
      routes[name] = { transport: resolveValue(field, value, true), limitKey: undefined, limits: undefined };
      continue;
    }
    if (!isObject(value)) fail(field, 'must be a transport URL, "env:NAME", or { "transport", "limitKey", "limits" }');
    const route = value as Record<string, unknown>;
    for (const key of Object.keys(route))
      if (!['transport', 'limitKey', 'limits'].includes(key)) fail(`${field}.${key}`, 'unknown field (known: transport, limitKey, limits)');
    routes[name] = {
      transport: resolveValue(`${field}.transport`, route.transport, true),
      limitKey: optionalString(`${field}.limitKey`, route.limitKey),
      limits: route.limits === false ? false : route.limits === undefined ? undefined : checkLimits(`${field}.limits`, route.limits, fail),
    };
  }

  let limits: Record<string, LimitsConfig> | undefined;
  if (raw.limits !== undefined) {
    if (!isObject(raw.limits)) fail('limits', 'must be an object of limit key -> limits');
    limits = {};
    for (const [key, value] of Object.entries(raw.limits as Record<string, unknown>))
      limits[key] = checkLimits(`limits.${key}`, value, fail);
  }

  if (raw.uncertain !== undefined && raw.uncertain !== 'dead-letter' && raw.uncertain !== 'resend' && raw.uncertain !== 'lookup')
    fail('uncertain', 'must be "dead-letter" (default), "resend" or "lookup"');

  const encryptionKeys: Uint8Array[] = [];
  if (raw.encryptionKeys !== undefined) {
    if (!Array.isArray(raw.encryptionKeys)) fail('encryptionKeys', 'must be a list of "env:NAME" (base64, 32 bytes each), newest first');
    (raw.encryptionKeys as unknown[]).forEach((value, index) => {
      const field = `encryptionKeys[${index}]`;
      if (typeof value === 'string' && !value.startsWith('env:'))
        notes.push(`${field} is written in the file: put it in the environment and write "env:NAME"`);
      const key = Buffer.from(resolveValue(field, value, false), 'base64');
      if (key.byteLength !== 32) fail(field, `must be 32 bytes in base64 (openssl rand -base64 32), not ${key.byteLength}`);
      encryptionKeys.push(key);
    });
  }

  return {
    redis,
    queue: optionalString('queue', raw.queue),
    prefix: optionalString('prefix', raw.prefix),
    concurrency: optionalNumber('concurrency', raw.concurrency, 1),
    routes,
    limits,
    uncertain: raw.uncertain as WorkerConfig['uncertain'],
    maxAgeMs: optionalNumber('maxAgeMs', raw.maxAgeMs, 0),
    limitWaitMs: optionalNumber('limitWaitMs', raw.limitWaitMs, 0),
    lookupGraceMs: optionalNumber('lookupGraceMs', raw.lookupGraceMs, 0),
    encryptionKeys,
    notes,
  };
}

function checkLimits(field: string, value: unknown, fail: (field: string, problem: string) => never): LimitsConfig {
  if (!isObject(value)) return fail(field, 'must be { "rates": [...], "quotas": [...], "concurrency": N } or false');
  for (const key of Object.keys(value))
    if (!['rates', 'quotas', 'concurrency'].includes(key)) fail(`${field}.${key}`, 'unknown field (known: rates, quotas, concurrency)');
  const list = (name: 'rates' | 'quotas', fields: readonly string[]) => {
    const items = value[name];
    if (items === undefined) return;
    if (!Array.isArray(items)) fail(`${field}.${name}`, 'must be a list');
    (items as unknown[]).forEach((item, index) => {
      const at = `${field}.${name}[${index}]`;
      if (!isObject(item)) fail(at, 'must be an object');
      for (const key of Object.keys(item as object))
        if (!fields.includes(key)) fail(`${at}.${key}`, `unknown field (known: ${fields.join(', ')})`);
      const entry = item as Record<string, unknown>;
      for (const key of fields.filter((name) => name !== 'unit')) {
        const number = entry[key];
        const required = key === 'max' || key === 'perMs' || key === 'windowMs';
        if (number === undefined && !required) continue;
        if (typeof number !== 'number' || !(number > 0 || (key === 'marginMs' && number === 0)))
          fail(`${at}.${key}`, 'must be a positive number');
      }
      if (entry.unit !== undefined && entry.unit !== 'message' && entry.unit !== 'recipient')
        fail(`${at}.unit`, 'must be "message" or "recipient"');
    });
  };
  list('rates', ['max', 'perMs', 'unit', 'marginMs']);
  list('quotas', ['max', 'windowMs', 'unit']);
  if (value.concurrency !== undefined && !(Number.isInteger(value.concurrency) && (value.concurrency as number) > 0))
    fail(`${field}.concurrency`, 'must be a whole number of at least 1');
  return value as LimitsConfig;
}

/** A URL with its password replaced, for messages. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    return parsed.toString();
  } catch {
    return url.replace(/\/\/[^@/]*@/, '//***@');
  }
}

/**
 * The key `send --queue` seals jobs with, from MAILPORT_QUEUE_KEY (base64, 32 bytes: `openssl rand
 * -base64 32`), or undefined when it is not set. Workers open them with the same key in `encryptionKeys`.
 */
export function queueKeyFromEnv(env: Readonly<Record<string, string | undefined>>): { key: Uint8Array } | undefined {
  const value = env.MAILPORT_QUEUE_KEY;
  if (value === undefined || value === '') return undefined;
  const key = Buffer.from(value, 'base64');
  if (key.byteLength !== 32) {
    throw new MailError('configuration', `MAILPORT_QUEUE_KEY must be 32 bytes in base64, not ${key.byteLength}`, {
      remediation: 'Generate one with `openssl rand -base64 32`; give the workers the same key in "encryptionKeys".',
    });
  }
  return { key };
}

/** ioredis's connection errors as a MailError that says where and what to do. */
export function redisError(error: unknown, url: string): unknown {
  if (MailError.isInstance(error)) return error;
  const code = (error as { code?: string }).code;
  const message = (error as Error)?.message ?? String(error);
  if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || /Connection is closed|max retries|ECONNREFUSED/i.test(message)) {
    return new MailError('transient', `Redis at ${redactUrl(url)} is not reachable: ${message}`, {
      remediation: 'Check the URL (--redis or MAILPORT_REDIS_URL) and that Redis is running.',
    });
  }
  return error;
}
