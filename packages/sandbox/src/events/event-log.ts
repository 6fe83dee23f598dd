import { EventEmitter } from 'node:events';

/** What the sandbox did after accepting a message: an SNS notification posted, a bounce mailed back. */
export interface SandboxEvent {
  /** `e-000001`, in order. */
  readonly id: string;
  /** ISO 8601. */
  readonly at: string;
  /** The store id of the message it is about (`m-000001`), when the sandbox still has it. */
  readonly storeId: string | undefined;
  /** The Message-ID of the message it is about, `<...>`. */
  readonly messageId: string | undefined;
  /** mailport's event type: `delivered`, `bounced`, `complained`, `deferred`, `auto-replied`, ... */
  readonly type: string;
  readonly recipient: string | undefined;
  /** How it was reported: `sns` (SES event destination), `smtp` (a DSN to the bounce receiver), `gmail-mailbox`, `graph-mailbox`. */
  readonly channel: string;
  /** Where it went and what came back: `POST http://127.0.0.1:5000/ses -> 200 (attempt 2)`. */
  readonly detail: string;
}

/** The sandbox's record of the events it generated, bounded (oldest dropped past 10,000). */
export interface SandboxEventLog {
  record(event: Omit<SandboxEvent, 'id' | 'at'>): SandboxEvent;
  /** Oldest first; only those about one store id when given. */
  list(filter?: { storeId?: string | undefined; messageId?: string | undefined }): readonly SandboxEvent[];
  clear(): void;
  /** Emits `event` with each {@link SandboxEvent} as it is recorded. */
  readonly emitter: EventEmitter;
}

export function createSandboxEventLog(max = 10_000): SandboxEventLog {
  let events: SandboxEvent[] = [];
  let next = 1;
  const emitter = new EventEmitter();
  emitter.setMaxListeners(0);
  return {
    record(event) {
      const entry: SandboxEvent = Object.freeze({ id: `e-${String(next++).padStart(6, '0')}`, at: new Date().toISOString(), ...event });
      events.push(entry);
      if (events.length > max) events = events.slice(events.length - max);
      emitter.emit('event', entry);
      return entry;
    },
    list(filter = {}) {
      return events.filter(
        (event) =>
          (filter.storeId === undefined || event.storeId === filter.storeId) &&
          (filter.messageId === undefined || event.messageId === filter.messageId),
      );
    },
    clear() {
      events = [];
    },
    emitter,
  };
}
