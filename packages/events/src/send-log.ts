import { verpToken } from '@mailport/core/verp';
import type { SendLog, SendLogEntry } from './model.js';

/** Options of {@link createMemorySendLog}. */
export interface MemorySendLogOptions {
  /** Most messages kept; past it the oldest are forgotten. Default 100,000. */
  readonly maxEntries?: number | undefined;
}

/** A {@link SendLog} in memory, with its size; its lookups answer at once. */
export interface MemorySendLog extends SendLog {
  record(entry: SendLogEntry): void;
  get(messageId: string): SendLogEntry | undefined;
  getByProviderId(providerMessageId: string): SendLogEntry | undefined;
  getByVerpToken(token: string): SendLogEntry | undefined;
  /** Messages held now. */
  readonly size: number;
}

const longestId = 998;

/**
 * A bounded in-memory {@link SendLog}: finds a sent message by its Message-ID (with or without
 * `<>`; the one it was built with too, when the provider replaced it), by the provider's id, and
 * by the VERP token of its Message-ID. Past `maxEntries` the
 * oldest messages are forgotten, so a report about one of them counts for nothing. It lives as
 * long as the process: a queue's ledger or a database can implement {@link SendLog} to outlast it.
 *
 * @example
 * ```ts
 * const sendLog = createMemorySendLog({ maxEntries: 50_000 });
 * const mailer = createMailer({ transport, sendLog });
 * ```
 */
export function createMemorySendLog(options: MemorySendLogOptions = {}): MemorySendLog {
  const maxEntries = options.maxEntries ?? 100_000;
  if (!Number.isSafeInteger(maxEntries) || maxEntries < 1)
    throw new RangeError('createMemorySendLog: maxEntries must be a positive integer');
  const index = new SendLogIndex(maxEntries);

  return {
    record(entry) {
      const messageId = normalizeMessageId(entry?.messageId);
      if (messageId === undefined) throw new TypeError('send log: an entry needs a Message-ID');
      const providerMessageId =
        typeof entry.providerMessageId === 'string' && entry.providerMessageId !== '' && entry.providerMessageId.length <= longestId
          ? entry.providerMessageId
          : undefined;
      const submittedMessageId = normalizeMessageId(entry.submittedMessageId);
      index.add(
        Object.freeze({
          messageId,
          providerMessageId,
          transport: String(entry.transport),
          recipients: Object.freeze([...(entry.recipients ?? [])]),
          tags: Object.freeze([...(entry.tags ?? [])]),
          metadata: Object.freeze({ ...entry.metadata }),
          envelopeFrom: entry.envelopeFrom,
          sentAt: entry.sentAt,
          ...(submittedMessageId === undefined || submittedMessageId === messageId ? {} : { submittedMessageId }),
        }),
      );
    },
    get(messageId) {
      const key = normalizeMessageId(messageId);
      return key === undefined ? undefined : index.get(key);
    },
    getByProviderId: (providerMessageId) => (validKey(providerMessageId) ? index.getByProviderId(providerMessageId) : undefined),
    getByVerpToken: (token) => (validKey(token) ? index.getByVerpToken(token) : undefined),
    get size() {
      return index.size;
    },
  };
}

const validKey = (key: unknown): key is string => typeof key === 'string' && key.length <= longestId;

/**
 * The lookups of a send log over its newest `maxEntries` messages: by Message-ID (and the one a
 * provider replaced), by provider id and by VERP token. What the memory and file send logs share;
 * entries come in checked and with their Message-ID in brackets.
 */
export class SendLogIndex {
  // Insertion order is age order: the first key is the oldest.
  readonly #byMessageId = new Map<string, SendLogEntry>();
  readonly #byProviderId = new Map<string, string>();
  // The Message-ID a message was built with, when the provider answered its own (SES).
  readonly #bySubmittedId = new Map<string, string>();
  readonly #byVerpToken = new Map<string, string>();
  readonly #maxEntries: number;

  constructor(maxEntries: number) {
    this.#maxEntries = maxEntries;
  }

  /** Adds `entry`, replacing (and making the newest) an entry of the same Message-ID, and forgets the oldest past `maxEntries`. */
  add(entry: SendLogEntry): void {
    const { messageId, providerMessageId, submittedMessageId } = entry;
    this.#forget(messageId);
    this.#byMessageId.set(messageId, entry);
    if (providerMessageId !== undefined) this.#byProviderId.set(providerMessageId, messageId);
    this.#byVerpToken.set(verpToken(messageId), messageId);
    // SES replaces the Message-ID: its events and the VERP token name the one the message was built with.
    if (submittedMessageId !== undefined) {
      this.#bySubmittedId.set(submittedMessageId, messageId);
      this.#byVerpToken.set(verpToken(submittedMessageId), messageId);
    }
    while (this.#byMessageId.size > this.#maxEntries) this.#forget(this.#byMessageId.keys().next().value as string);
  }

  /** By the bracketed Message-ID it was sent with, or the one it was built with. */
  get(messageId: string): SendLogEntry | undefined {
    return this.#byMessageId.get(messageId) ?? this.#find(this.#bySubmittedId, messageId);
  }

  getByProviderId(providerMessageId: string): SendLogEntry | undefined {
    return this.#find(this.#byProviderId, providerMessageId);
  }

  /** VERP tokens are lower-case: `token` is compared lower-cased. */
  getByVerpToken(token: string): SendLogEntry | undefined {
    return this.#find(this.#byVerpToken, token.toLowerCase());
  }

  get size(): number {
    return this.#byMessageId.size;
  }

  #find(index: ReadonlyMap<string, string>, key: string): SendLogEntry | undefined {
    const messageId = index.get(key);
    return messageId === undefined ? undefined : this.#byMessageId.get(messageId);
  }

  #forget(messageId: string): void {
    const entry = this.#byMessageId.get(messageId);
    if (entry === undefined) return;
    this.#byMessageId.delete(messageId);
    const { providerMessageId, submittedMessageId } = entry;
    if (providerMessageId !== undefined && this.#byProviderId.get(providerMessageId) === messageId) {
      this.#byProviderId.delete(providerMessageId);
    }
    for (const id of [messageId, submittedMessageId]) {
      if (id === undefined) continue;
      const token = verpToken(id);
      if (this.#byVerpToken.get(token) === messageId) this.#byVerpToken.delete(token);
    }
    if (submittedMessageId !== undefined && this.#bySubmittedId.get(submittedMessageId) === messageId) {
      this.#bySubmittedId.delete(submittedMessageId);
    }
  }
}

/** `<id@domain>` from `id@domain` or `<id@domain>` (surrounding space trimmed); undefined for anything else. */
export function normalizeMessageId(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const trimmed = value.trim();
  if (trimmed === '' || trimmed.length > longestId) return undefined;
  const bare = trimmed.startsWith('<') && trimmed.endsWith('>') ? trimmed.slice(1, -1) : trimmed;
  if (bare === '' || /[<>\s]/.test(bare)) return undefined;
  return `<${bare}>`;
}
