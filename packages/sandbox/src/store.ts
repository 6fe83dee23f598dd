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

/** Every message the sandbox accepted, through any protocol. */
export interface MessageStore {
  /** Oldest first; optionally only one API's. */
  list(filter?: { api?: SandboxApi | undefined }): readonly StoredMessage[];
  get(id: string): StoredMessage | undefined;
  /** The newest message, or undefined. */
  last(): StoredMessage | undefined;
  readonly size: number;
  clear(): void;
  /** Used by the emulators. */
  add(message: NewMessage): StoredMessage;
  /** Calls `listener` for every new message, and `onClear` whenever the store is cleared; returns the unsubscribe function. */
  subscribe(listener: (message: StoredMessage) => void, onClear?: () => void): () => void;
  /** Resolves with the first message (already stored or arriving) that matches. */
  waitFor(predicate: (message: StoredMessage) => boolean, timeoutMs?: number): Promise<StoredMessage>;
}

/** Creates an empty store. */
export function createMessageStore(): MessageStore {
  const messages: StoredMessage[] = [];
  const events = new EventEmitter();
  events.setMaxListeners(0);
  let counter = 0;
  const store: MessageStore = {
    list: (filter = {}) => (filter.api === undefined ? [...messages] : messages.filter((message) => message.api === filter.api)),
    get: (id) => messages.find((message) => message.id === id),
    last: () => messages.at(-1),
    get size() {
      return messages.length;
    },
    clear() {
      messages.length = 0;
      events.emit('clear');
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
      messages.push(stored);
      events.emit('message', stored);
      return stored;
    },
    subscribe(listener, onClear) {
      events.on('message', listener);
      if (onClear !== undefined) events.on('clear', onClear);
      return () => {
        events.off('message', listener);
        if (onClear !== undefined) events.off('clear', onClear);
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
