import type { EmailMessage, RecipientFilter } from '@mailport/core';
import { type Suppression, type SuppressionReason, type SuppressionStore, suppressionKey } from './model.js';

const reasons: ReadonlySet<string> = new Set<SuppressionReason>(['hard-bounce', 'soft-bounces', 'complaint', 'unsubscribe', 'manual']);

/** The longest address (RFC 5321: 64 + 1 + 255), scope and detail kept. */
const limits = { address: 320, scope: 128, detail: 1000, eventId: 200 } as const;

/**
 * A checked, frozen copy of a suppression, or `undefined` when it is not one: a wrong type, an
 * unknown reason, a date that does not parse, or a field past its limit. Used on everything a
 * store takes in, from callers and from files alike.
 */
export function toSuppression(value: unknown): Suppression | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const input = value as Record<string, unknown>;
  const { address, scope, reason, createdAt, expiresAt, eventId, detail } = input;
  if (typeof address !== 'string' || typeof scope !== 'string' || typeof reason !== 'string' || typeof createdAt !== 'string') {
    return undefined;
  }
  const key = suppressionKey(address);
  if (!isAddressKey(key)) return undefined;
  if (!isScope(scope)) return undefined;
  if (!reasons.has(reason) || !isDate(createdAt)) return undefined;
  if (expiresAt !== undefined && (typeof expiresAt !== 'string' || !isDate(expiresAt))) return undefined;
  if (eventId !== undefined && (typeof eventId !== 'string' || eventId.length > limits.eventId)) return undefined;
  if (detail !== undefined && typeof detail !== 'string') return undefined;
  return Object.freeze({
    address: key,
    scope,
    reason: reason as SuppressionReason,
    createdAt,
    ...(expiresAt === undefined ? {} : { expiresAt }),
    ...(eventId === undefined ? {} : { eventId }),
    ...(detail === undefined ? {} : { detail: detail.slice(0, limits.detail) }),
  });
}

/** Whether `key` (a {@link suppressionKey}) can be a suppressed address: an "@", one line, no space, at most 320 characters. */
export function isAddressKey(key: string): boolean {
  return key.length <= limits.address && key.includes('@') && !/[\s\u0000-\u001f\u007f]/.test(key);
}

/** Whether `value` can be a suppression's scope: `*` or a stream name of one short line. */
export function isScope(value: unknown): value is string {
  return typeof value === 'string' && value !== '' && value.length <= limits.scope && !/[\u0000-\u001f\u007f]/.test(value);
}

function isDate(value: string): boolean {
  return value.length <= 40 && !Number.isNaN(Date.parse(value));
}

/** True when `entry` has expired by `now` (epoch ms). */
export function isExpired(entry: Suppression, now: number): boolean {
  return entry.expiresAt !== undefined && Date.parse(entry.expiresAt) <= now;
}

/** The map key of (address, scope). */
export function entryKey(address: string, scope: string): string {
  return `${scope}\u0000${address}`;
}

/**
 * Suppressions held in a map: what {@link createMemorySuppressionStore} and the file store share.
 * `check` answers a stream's own entry before the `*` one.
 */
export class SuppressionTable {
  readonly entries: Map<string, Suppression> = new Map();

  add(entry: Suppression): void {
    this.entries.set(entryKey(entry.address, entry.scope), entry);
  }

  remove(address: string, scope: string | undefined): boolean {
    const key = suppressionKey(address);
    if (scope !== undefined) return this.entries.delete(entryKey(key, scope));
    let removed = false;
    for (const [mapKey, entry] of this.entries) {
      if (entry.address === key) removed = this.entries.delete(mapKey) || removed;
    }
    return removed;
  }

  check(addresses: readonly string[], stream: string | undefined, now: number): Map<string, Suppression> {
    const found = new Map<string, Suppression>();
    if (!Array.isArray(addresses)) return found;
    for (const address of addresses) {
      if (typeof address !== 'string') continue;
      const key = suppressionKey(address);
      // A stream's own entry first: it says exactly what was asked for that stream (an unsubscribe's idempotence needs it).
      for (const scope of stream === undefined || stream === '*' ? ['*'] : [stream, '*']) {
        const entry = this.entries.get(entryKey(key, scope));
        if (entry !== undefined && !isExpired(entry, now)) {
          found.set(address, entry);
          break;
        }
      }
    }
    return found;
  }

  *live(now: number): Iterable<Suppression> {
    for (const entry of this.entries.values()) if (!isExpired(entry, now)) yield entry;
  }
}

/** Checks an entry given to `add`, throwing a `TypeError` that names what is wrong. */
export function checkedSuppression(entry: Suppression): Suppression {
  const checked = toSuppression(entry);
  if (checked === undefined) {
    throw new TypeError(
      'suppression: an entry needs an address with "@", a scope ("*" or a stream name), a known reason and ISO 8601 dates',
    );
  }
  return checked;
}

/**
 * A {@link SuppressionStore} in memory: for tests, and for one process that can afford to forget
 * on restart (use {@link createFileSuppressionStore} or a database otherwise). Addresses compare
 * lower-cased ({@link suppressionKey}); expired entries are never answered.
 *
 * @example
 * ```ts
 * const store = createMemorySuppressionStore();
 * await store.add({ address: 'ana@example.com', scope: '*', reason: 'manual', createdAt: new Date().toISOString() });
 * ```
 */
export function createMemorySuppressionStore(): SuppressionStore {
  const table = new SuppressionTable();
  return {
    async add(entry) {
      table.add(checkedSuppression(entry));
    },
    async remove(address, scope) {
      return typeof address === 'string' && table.remove(address, scope);
    },
    async check(addresses, stream) {
      return table.check(addresses, stream, Date.now());
    },
    async *list() {
      yield* [...table.live(Date.now())];
    },
  };
}

/** Options of {@link suppressionFilter}. */
export interface SuppressionFilterOptions {
  /**
   * The stream a message belongs to, which decides whether a complaint or an unsubscribe from
   * another stream stops it. Default: `message.metadata.stream` (`undefined` means only `*`
   * suppressions apply).
   */
  readonly stream?: ((message: EmailMessage) => string | undefined) | undefined;
}

/**
 * What `createMailer({ suppression })` takes: checks every recipient of each message against
 * `store` on the message's stream before the send. A message's stream is `metadata.stream` unless
 * `options.stream` says otherwise, so `{ metadata: { stream: 'newsletter' } }` is not sent to
 * someone who unsubscribed from the newsletter, while their receipts still go out.
 *
 * @example
 * ```ts
 * const mailer = createMailer({ transport, suppression: suppressionFilter(store) });
 * await mailer.send({ to: 'ana@example.com', subject: 'News', text: '...', metadata: { stream: 'newsletter' } });
 * ```
 */
export function suppressionFilter(store: SuppressionStore, options: SuppressionFilterOptions = {}): RecipientFilter {
  const streamOf = options.stream ?? ((message: EmailMessage) => message.metadata.stream);
  return {
    check: (recipients, message) => store.check(recipients, streamOf(message)),
  };
}
