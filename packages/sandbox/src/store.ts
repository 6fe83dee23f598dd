import { EventEmitter } from 'node:events';

/** Which of the sandbox's protocols a message came through. */
export type SandboxApi = 'smtp' | 'ses' | 'gmail' | 'graph';

/** One accepted message, as the recipients would receive it. */
export interface StoredMessage {
  /** `m-000001`, in order of arrival. */
  readonly id: string;
  readonly api: SandboxApi;
  /** The call that carried it: `SMTP DATA`, `SendEmail (Raw)`, `messages.send (upload)`, `sendMail (MIME)`, ... */
  readonly operation: string;
  /** ISO 8601. */
  readonly receivedAt: string;
  /** Sender and the recipients it was delivered to, Bcc included. */
  readonly envelope: { readonly from: string; readonly to: readonly string[] };
  /** RFC 5322 bytes as delivered (no Bcc header). */
  readonly raw: Buffer;
  readonly size: number;
  /** The id the API answered with (SES MessageId, Gmail id, SMTP queue id). */
  readonly providerMessageId: string | undefined;
  /** Provider extras: tags, configuration set, threadId, saveToSentItems, the authenticated account, ... */
  readonly metadata: Readonly<Record<string, unknown>>;
}

/** What an emulator hands to {@link MessageStore.add}. */
export type NewMessage = Omit<StoredMessage, 'id' | 'receivedAt' | 'size' | 'providerMessageId'> & {
  readonly providerMessageId?: string | undefined;
};

/** How much the store keeps; past either limit the oldest messages are evicted. */
export interface StoreLimits {
  /** Most messages kept. Default 10,000. */
  readonly maxMessages: number;
  /** Most bytes of raw messages kept. Default 256 MB. One message larger than this is still kept, alone. */
  readonly maxBytes: number;
}

/** The default {@link StoreLimits}: 10,000 messages, 256 MB. */
export const defaultStoreLimits: StoreLimits = Object.freeze({ maxMessages: 10_000, maxBytes: 256 * 1024 * 1024 });

/** Something that happened to the store, in order. */
export type StoreChange =
  | { readonly type: 'message'; readonly message: StoredMessage }
  /** `deleted`: by a reader (the inbox, the API); `evicted`: the oldest, to stay within the limits. */
  | { readonly type: 'remove'; readonly ids: readonly string[]; readonly reason: 'deleted' | 'evicted' }
  | { readonly type: 'read'; readonly ids: readonly string[]; readonly read: boolean }
  | { readonly type: 'clear' };

/** Every message the sandbox accepted, through any protocol. */
export interface MessageStore {
  /** Oldest first; optionally only one API's. */
  list(filter?: { api?: SandboxApi | undefined }): readonly StoredMessage[];
  get(id: string): StoredMessage | undefined;
  /** The newest message, or undefined. */
  last(): StoredMessage | undefined;
  /** How many messages it holds. */
  readonly size: number;
  /** Bytes of the raw messages it holds. */
  readonly bytes: number;
  readonly limits: StoreLimits;
  /** Messages evicted to stay within {@link limits} since the store was created or last cleared. */
  readonly evicted: number;
  clear(): void;
  /** Removes one message; false when the store does not hold it. */
  delete(id: string): boolean;
  /** Whether a reader opened it in the inbox (or marked it read). New messages are unread. */
  isRead(id: string): boolean;
  /** Marks messages read or unread; returns the ids it holds and changed. */
  markRead(ids: readonly string[], read: boolean): string[];
  /** Used by the emulators. Evicts the oldest messages when a limit is passed. */
  add(message: NewMessage): StoredMessage;
  /** Calls `listener` for every new message, and `onClear` whenever the store is cleared; returns the unsubscribe function. */
  subscribe(listener: (message: StoredMessage) => void, onClear?: () => void): () => void;
  /** Calls `listener` for every change (new, removed, read state, clear), in order; returns the unsubscribe function. */
  watch(listener: (change: StoreChange) => void): () => void;
  /** Resolves with the first message (already stored or arriving) that matches. */
  waitFor(predicate: (message: StoredMessage) => boolean, timeoutMs?: number): Promise<StoredMessage>;
}

/** Creates an empty store that keeps at most `limits` (default {@link defaultStoreLimits}; an undefined limit takes its default). */
export function createMessageStore(limits: { readonly [K in keyof StoreLimits]?: StoreLimits[K] | undefined } = {}): MessageStore {
  const resolved: StoreLimits = Object.freeze({
    maxMessages: positive('maxMessages', limits.maxMessages ?? defaultStoreLimits.maxMessages),
    maxBytes: positive('maxBytes', limits.maxBytes ?? defaultStoreLimits.maxBytes),
  });
  // Oldest first. `byId` makes get/delete O(1); `messages` keeps the order (removal from the front is cheap enough at these sizes).
  let messages: StoredMessage[] = [];
  const byId = new Map<string, StoredMessage>();
  const read = new Set<string>();
  const events = new EventEmitter();
  events.setMaxListeners(0);
  let counter = 0;
  let bytes = 0;
  let evicted = 0;
  const emit = (change: StoreChange): void => {
    events.emit('change', change);
  };
  const forget = (message: StoredMessage): void => {
    byId.delete(message.id);
    read.delete(message.id);
    bytes -= message.size;
  };
  const store: MessageStore = {
    list: (filter = {}) => (filter.api === undefined ? [...messages] : messages.filter((message) => message.api === filter.api)),
    get: (id) => byId.get(id),
    last: () => messages.at(-1),
    get size() {
      return messages.length;
    },
    get bytes() {
      return bytes;
    },
    limits: resolved,
    get evicted() {
      return evicted;
    },
    clear() {
      messages = [];
      byId.clear();
      read.clear();
      bytes = 0;
      evicted = 0;
      emit({ type: 'clear' });
    },
    delete(id) {
      const message = byId.get(id);
      if (message === undefined) return false;
      forget(message);
      messages.splice(messages.indexOf(message), 1);
      emit({ type: 'remove', ids: [id], reason: 'deleted' });
      return true;
    },
    isRead: (id) => read.has(id),
    markRead(ids, state) {
      const changed = ids.filter((id) => byId.has(id) && read.has(id) !== state);
      for (const id of changed) {
        if (state) read.add(id);
        else read.delete(id);
      }
      if (changed.length > 0) emit({ type: 'read', ids: changed, read: state });
      return changed;
    },
    add(message) {
      counter++;
      const stored: StoredMessage = Object.freeze({
        ...message,
        id: `m-${String(counter).padStart(6, '0')}`,
        receivedAt: new Date().toISOString(),
        size: message.raw.length,
        providerMessageId: message.providerMessageId,
        envelope: Object.freeze({ from: message.envelope.from, to: Object.freeze([...message.envelope.to]) }),
        metadata: Object.freeze({ ...message.metadata }),
      });
      // Make room first, so the store never holds more than its limits (a message larger than maxBytes is kept alone).
      let drop = 0;
      let freed = 0;
      while (
        drop < messages.length &&
        (messages.length - drop + 1 > resolved.maxMessages || bytes - freed + stored.size > resolved.maxBytes)
      ) {
        freed += (messages[drop] as StoredMessage).size;
        drop++;
      }
      const gone = drop === 0 ? [] : messages.splice(0, drop);
      for (const old of gone) forget(old);
      evicted += gone.length;
      messages.push(stored);
      byId.set(stored.id, stored);
      bytes += stored.size;
      if (gone.length > 0) emit({ type: 'remove', ids: gone.map((old) => old.id), reason: 'evicted' });
      emit({ type: 'message', message: stored });
      return stored;
    },
    subscribe(listener, onClear) {
      return store.watch((change) => {
        if (change.type === 'message') listener(change.message);
        else if (change.type === 'clear') onClear?.();
      });
    },
    watch(listener) {
      events.on('change', listener);
      return () => {
        events.off('change', listener);
      };
    },
    waitFor(predicate, timeoutMs = 5_000) {
      const found = messages.find(predicate);
      if (found !== undefined) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          unsubscribe();
          reject(new Error(`no matching message arrived within ${timeoutMs} ms`));
        }, timeoutMs);
        const unsubscribe = store.subscribe((message) => {
          if (!predicate(message)) return;
          clearTimeout(timer);
          unsubscribe();
          resolve(message);
        });
      });
    },
  };
  return store;
}

function positive(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) throw new RangeError(`${name} must be a whole number of at least 1, not ${value}`);
  return value;
}
