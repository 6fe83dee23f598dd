import type { MailEvent, SendLog, SendLogEntry, Suppression, SuppressionStore } from './model.js';
import { suppressionKey } from './model.js';
import { isScope, toSuppression } from './suppression.js';

/** Options of {@link createEventPipeline}. */
export interface EventPipelineOptions {
  /** Adds each event's message tags and metadata (by Message-ID, else by the provider's id). */
  readonly sendLog?: SendLog | undefined;
  /** Fed by the events: see {@link createEventPipeline}. */
  readonly suppression?: SuppressionStore | undefined;
  /** Called once per new event, in order, after suppression. When it throws, `handle` rejects and the event can come again. */
  readonly onEvent?: ((event: MailEvent) => void | Promise<void>) | undefined;
  /** Soft bounces of one address within `softBounceWindowMs` that suppress it. Default 3. */
  readonly softBounceLimit?: number | undefined;
  /** The window soft bounces are counted in. Default 7 days. */
  readonly softBounceWindowMs?: number | undefined;
  /** How long repeated soft bounces suppress an address. Default 30 days. */
  readonly softBounceSuppressMs?: number | undefined;
  /** Event ids remembered to drop repeats (an SNS retry, a mailbox read twice). Default 100,000. */
  readonly dedupeSize?: number | undefined;
  /**
   * The stream an event's message belongs to, which a complaint or an unsubscribe suppresses.
   * Default: `event.metadata.stream` (after the send log's metadata is added), else every stream (`*`).
   */
  readonly stream?: ((event: MailEvent) => string | undefined) | undefined;
  /** The clock, epoch milliseconds. Default `Date.now`. */
  readonly now?: (() => number) | undefined;
}

/** What every event source's `onEvents` takes. */
export interface EventPipeline {
  /**
   * Takes a batch of events from one source. Resolves once each new event was enriched, fed to
   * suppression and handed to `onEvent`; rejects when one of those failed, so that the source
   * answers 500 or 451 and the provider sends the batch again (the events already handled are
   * then dropped as repeats).
   */
  handle(events: readonly MailEvent[]): Promise<void>;
}

const day = 24 * 3600 * 1000;
const maxMetadataValue = 1024;

/**
 * Joins the event sources to the application: drops repeated events by id, adds the sent
 * message's tags and metadata from the send log, and feeds suppression.
 *
 * | event | suppression |
 * | --- | --- |
 * | `bounced`, hard | `hard-bounce`, every stream (`*`), for ever |
 * | `bounced`, soft or undetermined | `soft-bounces`, every stream, for `softBounceSuppressMs`, after `softBounceLimit` within `softBounceWindowMs` |
 * | `complained` | `complaint`, the message's stream (`metadata.stream`), else `*` |
 * | `unsubscribed` | `unsubscribe`, the message's stream, else `*` |
 * | anything else (`deferred`, `auto-replied`, `delivered`, ...) | none |
 *
 * @example
 * ```ts
 * const pipeline = createEventPipeline({ sendLog, suppression: store, onEvent: (event) => console.log(event.type, event.recipient) });
 * const webhook = createSesWebhook({ topics: [topicArn], onEvents: pipeline.handle });
 * ```
 */
export function createEventPipeline(options: EventPipelineOptions = {}): EventPipeline {
  const softBounceLimit = positive(options.softBounceLimit ?? 3, 'softBounceLimit');
  const softBounceWindowMs = positive(options.softBounceWindowMs ?? 7 * day, 'softBounceWindowMs');
  const softBounceSuppressMs = positive(options.softBounceSuppressMs ?? 30 * day, 'softBounceSuppressMs');
  const dedupeSize = positive(options.dedupeSize ?? 100_000, 'dedupeSize');
  const now = options.now ?? Date.now;
  const streamOf = options.stream ?? ((event: MailEvent) => event.metadata.stream);

  // Insertion order is age order for both: the first key is the oldest.
  const seen = new Set<string>();
  const inFlight = new Map<string, Promise<void>>();
  const softBounces = new Map<string, { at: number; id: string }[]>();

  const remember = (id: string): void => {
    seen.add(id);
    if (seen.size > dedupeSize) seen.delete(seen.values().next().value as string);
  };

  const enrich = async (event: MailEvent): Promise<MailEvent> => {
    const log = options.sendLog;
    if (log === undefined) return event;
    let entry: SendLogEntry | undefined;
    if (typeof event.messageId === 'string') entry = await log.get(event.messageId);
    if (entry === undefined && typeof event.providerMessageId === 'string') entry = await log.getByProviderId(event.providerMessageId);
    if (entry === undefined) return event;
    const eventTags = Array.isArray(event.tags) ? event.tags : [];
    return Object.freeze({
      ...event,
      messageId: event.messageId ?? entry.messageId,
      providerMessageId: event.providerMessageId ?? entry.providerMessageId,
      tags: Object.freeze([...new Set([...entry.tags, ...eventTags])]),
      // What we sent wins over what a provider echoes back.
      metadata: Object.freeze({ ...safeRecord(event.metadata), ...entry.metadata }),
    });
  };

  const suppress = async (event: MailEvent): Promise<void> => {
    const store = options.suppression;
    if (store === undefined || typeof event.recipient !== 'string' || !event.recipient.includes('@')) return;
    const address = suppressionKey(event.recipient);
    const at = now();
    const base = { address, createdAt: new Date(at).toISOString(), eventId: event.id };
    const stream = streamOf(event);
    // A stream no store could hold (too long, control characters) suppresses everywhere rather than nowhere.
    const scope = isScope(stream) ? stream : '*';
    let entry: Suppression | undefined;
    if (event.type === 'bounced' && event.bounce?.kind === 'hard') {
      entry = { ...base, scope: '*', reason: 'hard-bounce', detail: describe(event) };
    } else if (event.type === 'bounced') {
      const recent = (softBounces.get(address) ?? []).filter((bounce) => at - bounce.at < softBounceWindowMs && bounce.id !== event.id);
      recent.push({ at, id: event.id });
      softBounces.delete(address);
      softBounces.set(address, recent.slice(-softBounceLimit));
      if (softBounces.size > dedupeSize) softBounces.delete(softBounces.keys().next().value as string);
      if (recent.length >= softBounceLimit) {
        entry = {
          ...base,
          scope: '*',
          reason: 'soft-bounces',
          expiresAt: new Date(at + softBounceSuppressMs).toISOString(),
          detail: `${recent.length} soft bounces within ${Math.round(softBounceWindowMs / 3_600_000)} h; last: ${describe(event)}`,
        };
      }
    } else if (event.type === 'complained') {
      entry = { ...base, scope, reason: 'complaint', detail: event.complaint?.feedbackType };
    } else if (event.type === 'unsubscribed') {
      entry = { ...base, scope, reason: 'unsubscribe' };
    }
    if (entry === undefined) return;
    const checked = toSuppression(entry);
    if (checked === undefined) {
      // Not an address any store can hold, so none that mail could be sent to: rejecting would make the source retry for ever.
      globalThis.process.emitWarning(`mailport: event ${event.id} names a recipient that cannot be suppressed; skipped`, {
        type: 'MailportSuppressionWarning',
      });
      return;
    }
    await store.add(checked);
    // Counted afresh only once stored: when the store fails, the event comes again and must still find its count.
    if (checked.reason === 'soft-bounces') softBounces.delete(address);
  };

  const run = async (event: MailEvent): Promise<void> => {
    const enriched = await enrich(event);
    await suppress(enriched);
    await options.onEvent?.(enriched);
    remember(event.id);
  };

  const one = async (event: MailEvent): Promise<void> => {
    if (typeof event !== 'object' || event === null || typeof event.id !== 'string' || event.id === '') return;
    for (;;) {
      if (seen.has(event.id)) return;
      const running = inFlight.get(event.id);
      if (running === undefined) break;
      // The same event from another delivery is being handled: wait, then skip it or take over if that failed.
      await running.catch(() => undefined);
    }
    const running = run(event);
    inFlight.set(event.id, running);
    try {
      await running;
    } finally {
      inFlight.delete(event.id);
    }
  };

  return {
    // An arrow function: sources take `pipeline.handle` unbound.
    handle: async (events) => {
      if (!Array.isArray(events)) throw new TypeError('event pipeline: handle takes an array of events');
      for (const event of events) await one(event);
    },
  };
}

function describe(event: MailEvent): string {
  const details = event.bounce;
  return (
    [details?.status, details?.diagnostic]
      .filter((part) => typeof part === 'string' && part !== '')
      .join(' ')
      .slice(0, 500) || 'no diagnostic'
  );
}

function safeRecord(value: unknown): Record<string, string> {
  const result: Record<string, string> = {};
  if (typeof value !== 'object' || value === null) return result;
  for (const [key, item] of Object.entries(value))
    if (typeof item === 'string' && key !== '__proto__') result[key] = item.slice(0, maxMetadataValue);
  return result;
}

function positive(value: number, name: string): number {
  if (!Number.isSafeInteger(value) || value < 1) throw new RangeError(`createEventPipeline: ${name} must be a positive integer`);
  return value;
}
