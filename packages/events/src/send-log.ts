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
  // Insertion order is age order: the first key is the oldest.
  const byMessageId = new Map<string, SendLogEntry>();
  const byProviderId = new Map<string, string>();
  // The Message-ID a message was built with, when the provider answered its own (SES).
  const bySubmittedId = new Map<string, string>();
  const byVerpToken = new Map<string, string>();

  const forget = (messageId: string): void => {
    const entry = byMessageId.get(messageId);
    if (entry === undefined) return;
    byMessageId.delete(messageId);
    if (entry.providerMessageId !== undefined && byProviderId.get(entry.providerMessageId) === messageId) {
      byProviderId.delete(entry.providerMessageId);
    }
    for (const id of [messageId, entry.submittedMessageId]) {
      if (id === undefined) continue;
      const token = verpToken(id);
      if (byVerpToken.get(token) === messageId) byVerpToken.delete(token);
    }
    if (entry.submittedMessageId !== undefined && bySubmittedId.get(entry.submittedMessageId) === messageId) {
      bySubmittedId.delete(entry.submittedMessageId);
    }
  };

  const lookup = (index: ReadonlyMap<string, string>, key: unknown): SendLogEntry | undefined => {
    if (typeof key !== 'string' || key.length > longestId) return undefined;
    const messageId = index.get(key);
    return messageId === undefined ? undefined : byMessageId.get(messageId);
  };

  return {
    record(entry) {
      const messageId = normalizeMessageId(entry?.messageId);
      if (messageId === undefined) throw new TypeError('send log: an entry needs a Message-ID');
      const providerMessageId =
        typeof entry.providerMessageId === 'string' && entry.providerMessageId !== '' && entry.providerMessageId.length <= longestId
          ? entry.providerMessageId
          : undefined;
      const submittedMessageId = normalizeMessageId(entry.submittedMessageId);
      forget(messageId);
      const stored: SendLogEntry = Object.freeze({
        messageId,
        providerMessageId,
        transport: String(entry.transport),
        recipients: Object.freeze([...(entry.recipients ?? [])]),
        tags: Object.freeze([...(entry.tags ?? [])]),
        metadata: Object.freeze({ ...entry.metadata }),
        envelopeFrom: entry.envelopeFrom,
        sentAt: entry.sentAt,
        ...(submittedMessageId === undefined || submittedMessageId === messageId ? {} : { submittedMessageId }),
      });
      byMessageId.set(messageId, stored);
      if (providerMessageId !== undefined) byProviderId.set(providerMessageId, messageId);
      byVerpToken.set(verpToken(messageId), messageId);
      if (stored.submittedMessageId !== undefined) {
        bySubmittedId.set(stored.submittedMessageId, messageId);
        byVerpToken.set(verpToken(stored.submittedMessageId), messageId);
      }
      while (byMessageId.size > maxEntries) forget(byMessageId.keys().next().value as string);
    },
    get(messageId) {
      const key = normalizeMessageId(messageId);
      return key === undefined ? undefined : (byMessageId.get(key) ?? lookup(bySubmittedId, key));
    },
    getByProviderId: (providerMessageId) => lookup(byProviderId, providerMessageId),
    getByVerpToken: (token) => lookup(byVerpToken, typeof token === 'string' ? token.toLowerCase() : token),
    get size() {
      return byMessageId.size;
    },
  };
}

/** `<id@domain>` from `id@domain` or `<id@domain>` (surrounding space trimmed); undefined for anything else. */
function normalizeMessageId(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const trimmed = value.trim();
  if (trimmed === '' || trimmed.length > longestId) return undefined;
  const bare = trimmed.startsWith('<') && trimmed.endsWith('>') ? trimmed.slice(1, -1) : trimmed;
  if (bare === '' || /[<>\s]/.test(bare)) return undefined;
  return `<${bare}>`;
}
