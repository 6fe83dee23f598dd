import { type EmailMessage, parseTransportUrl } from '@mailport/core';
import type { KeyLimits } from './contract.js';
import { hashId } from './message-codec.js';

/** What a limit counts: sends, or recipients (SES quotas, Exchange's daily recipient limit). */
export type LimitUnit = 'message' | 'recipient';

/** Limits of one key, as configured: {@link KeyLimits}, each rate and quota with its unit. */
export interface LimitConfig {
  /**
   * Rates: at most `max` sends arriving in any window of `perMs`, spaced evenly. The limit holds
   * by counting sends that finished within the window plus those in flight, so a slow first
   * connection or a token refresh never lets an extra one in. `marginMs` (default 0) only widens
   * the spacing, to (perMs + marginMs) / max. Meant for windows of seconds to minutes (each
   * check reads the window's sends); use quotas for hours and days.
   */
  readonly rates?:
    | readonly {
        readonly max: number;
        readonly perMs: number;
        readonly unit?: LimitUnit | undefined;
        readonly marginMs?: number | undefined;
      }[]
    | undefined;
  readonly quotas?: readonly { readonly max: number; readonly windowMs: number; readonly unit?: LimitUnit | undefined }[] | undefined;
  readonly concurrency?: number | undefined;
}

const day = 86_400_000;
/** Default `marginMs` of a rate: none, since the arrivals check keeps the limit (docs/scale-out.md). */
export const defaultMarginMs = 0;
const minute = 60_000;

/**
 * Default limits per provider, for one key (see {@link defaultLimitKey}). They are the documented
 * defaults of new accounts; raise them to what your account has (SES GetAccount, your Workspace
 * plan). Sources are in docs/scale-out.md and docs/provider-facts.md.
 *
 * | scheme | key | rates | quotas | concurrency |
 * | --- | --- | --- | --- | --- |
 * | `ses` | region + access key (hashed) | 14 recipients/s | 50,000 recipients / 24 h | none |
 * | `gmail` | the user | 60 sends/min (6,000 quota units/min at 100 a send) | 2,000 messages / 24 h | 4 |
 * | `graph` | tenant + mailbox | 30 messages/min | 10,000 recipients / 24 h | 4 |
 * | `smtp`, `smtps` | host, port and user | none (set yours; Exchange Online: 30/min, 3 connections) | none | none |
 */
export const providerDefaults: Readonly<Record<string, LimitConfig>> = Object.freeze({
  // SES: MaxSendRate and Max24HourSend count recipients; 14/s and 50,000/day for a new production account.
  ses: { rates: [{ max: 14, perMs: 1000, unit: 'recipient' }], quotas: [{ max: 50_000, windowMs: day, unit: 'recipient' }] },
  // Gmail API: messages.send costs 100 units of 6,000/user/min (projects from 2026-05-01); Workspace: 2,000 messages a day.
  gmail: { rates: [{ max: 60, perMs: minute }], quotas: [{ max: 2_000, windowMs: day }], concurrency: 4 },
  // Exchange Online: 30 messages a minute and 10,000 recipients a day per mailbox; Graph: 4 concurrent requests per mailbox.
  graph: { rates: [{ max: 30, perMs: minute }], quotas: [{ max: 10_000, windowMs: day, unit: 'recipient' }], concurrency: 4 },
  smtp: {},
  smtps: {},
});

/**
 * The key a route's limits are counted under, from its transport URL: every worker sending as the
 * same account shares it, whatever the route is called. No credential goes into it.
 *
 * | scheme | key |
 * | --- | --- |
 * | `ses` | `ses:REGION:HASH` (a hash of the access key id, or `env` when credentials come from the environment) |
 * | `gmail` | `gmail:USER` |
 * | `graph` | `graph:TENANT:MAILBOX` |
 * | `smtp`, `smtps` | `smtp:HOST:PORT:USER` |
 * | other | `SCHEME:HOST` |
 */
export function defaultLimitKey(url: string): string {
  const parsed = parseTransportUrl(url);
  const mailbox = parsed.username === undefined ? parsed.host : `${parsed.username}@${parsed.host}`;
  switch (parsed.scheme) {
    case 'ses':
      return `ses:${parsed.params.get('region') ?? parsed.host}:${parsed.username === undefined ? 'env' : hashId(parsed.username)}`;
    case 'gmail':
      return `gmail:${mailbox.toLowerCase()}`;
    case 'graph':
      return `graph:${(parsed.params.get('tenant') ?? 'env').toLowerCase()}:${mailbox.toLowerCase()}`;
    case 'smtp':
    case 'smtps':
      return `smtp:${parsed.host}:${parsed.port ?? ''}:${parsed.username ?? ''}`;
    default:
      return `${parsed.scheme}:${parsed.host}`;
  }
}

/** The scheme of a transport URL, for {@link providerDefaults}. */
export function schemeOf(url: string): string {
  return parseTransportUrl(url).scheme;
}

/**
 * Checks a limit configuration at start: a zero or negative number is a mistake, not "unlimited".
 * Returns the message of the first problem, or undefined.
 */
export function limitProblem(config: LimitConfig): string | undefined {
  for (const rate of config.rates ?? []) {
    if (!(rate.max > 0) || !(rate.perMs > 0)) return `rate ${rate.max} per ${rate.perMs} ms: both must be positive`;
  }
  for (const quota of config.quotas ?? []) {
    if (!(quota.max > 0) || !(quota.windowMs >= 24))
      return `quota ${quota.max} per ${quota.windowMs} ms: max must be positive, window at least 24 ms`;
  }
  if (config.concurrency !== undefined && !(Number.isInteger(config.concurrency) && config.concurrency > 0)) {
    return `concurrency ${config.concurrency}: must be a positive integer`;
  }
  return undefined;
}

/** The cost of one message under each limit: 1, or its envelope recipients. */
export function limitsFor(config: LimitConfig, message: EmailMessage): KeyLimits {
  const recipients = Math.max(1, message.envelope.to.length);
  const cost = (unit: LimitUnit | undefined) => (unit === 'recipient' ? recipients : 1);
  return {
    rates: (config.rates ?? []).map((rate) => ({
      max: rate.max,
      perMs: rate.perMs,
      marginMs: rate.marginMs ?? defaultMarginMs,
      cost: cost(rate.unit),
    })),
    quotas: (config.quotas ?? []).map((quota) => ({ max: quota.max, windowMs: quota.windowMs, cost: cost(quota.unit) })),
    concurrency: config.concurrency,
  };
}
