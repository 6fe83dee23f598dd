import { Readable } from 'node:stream';
import type { SandboxEvent, SandboxEventLog } from '../events/event-log.js';
import type { MessageStore, StoredMessage } from '../store.js';
import type { InboxSummary, ParsedMessages } from './inbox-messages.js';

const heartbeatMs = 15_000;
/** Unsent bytes a client may fall behind by; past it the stream is closed, and EventSource reconnects to a fresh snapshot. */
const maxBacklogBytes = 16 * 1024 * 1024;
const batchWindowMs = 50;
const firstSnapshotPiece = 200;
const snapshotPiece = 1000;
const maxBatch = 500;

/** What the page needs to say about the store's limits. */
export function storeState(store: MessageStore): { total: number; bytes: number; evicted: number; limits: MessageStore['limits'] } {
  return { total: store.size, bytes: store.bytes, evicted: store.evicted, limits: store.limits };
}

/**
 * The inbox's live feed as Server-Sent Events: first `snapshot` (the newest 200 summaries, the
 * store's size and limits, and `mailEvents`: the event types recorded for each message) and `older` (the rest, 1,000 at a time, newest first); then, in the
 * order they happened, `message` (one new summary) or `messages` (several, oldest first), `remove`
 * (ids deleted or evicted), `read` (ids marked read or unread), `clear`, and `mail-event` (one
 * event the sandbox recorded about a message: a bounce mailed back, an SNS notification). A client that
 * reconnects gets a fresh snapshot, so nothing is missed between a list request and a subscription.
 *
 * Summaries are cheap outlines (no parse), so no message can hold the feed up; a client that reads
 * too slowly is cut off rather than buffered without bound.
 */
export function inboxEventStream(store: MessageStore, parsed: ParsedMessages, events?: SandboxEventLog): Readable {
  const stream = new Readable({ read() {} });
  const push = (text: string): void => {
    if (stream.destroyed) return;
    if (stream.readableLength > maxBacklogBytes) {
      stream.destroy();
      return;
    }
    stream.push(text);
  };
  // EventSource reconnects after `retry` ms when the connection drops. The snapshot comes in
  // pieces, newest first: the page draws the first screen from the first piece, and takes the
  // older ones a piece at a time, never parsing megabytes of JSON in one go.
  const summaries = parsed.summaries();
  const first = summaries.slice(0, firstSnapshotPiece);
  push(
    `retry: 1000\n\n${event('snapshot', { messages: first, more: summaries.length > first.length, ...storeState(store), mailEvents: eventTypesByMessage(events, summaries) })}`,
  );
  for (let start = first.length; start < summaries.length; start += snapshotPiece) {
    const end = Math.min(summaries.length, start + snapshotPiece);
    push(event('older', { messages: summaries.slice(start, end), more: end < summaries.length }));
  }
  // New messages are sent in batches: one `message` event when one arrived, one `messages` event
  // (an array) when several arrived within the batch window. A burst of thousands then costs the page
  // a few dozen events rather than thousands. Other changes flush the batch first, so order holds.
  // Evictions (the oldest, to make room) ride along with the batch: a message evicted within the
  // window is never sent at all.
  let batch: StoredMessage[] = [];
  let evicted: string[] = [];
  let timer: NodeJS.Timeout | undefined;
  const flush = (): void => {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    if (batch.length === 0 && evicted.length === 0) return;
    const gone = new Set(evicted);
    const added = batch.filter((message) => !gone.has(message.id));
    const fresh = new Set(batch.map((message) => message.id));
    const removed = evicted.filter((id) => !fresh.has(id));
    batch = [];
    evicted = [];
    const state = storeState(store);
    if (removed.length > 0) push(event('remove', { ids: removed, reason: 'evicted', ...state }));
    if (added.length === 1) push(event('message', { ...parsed.summary(added[0] as StoredMessage), state }));
    else if (added.length > 1) push(event('messages', { messages: added.map((message) => parsed.summary(message)), state }));
  };
  const later = (): void => {
    timer ??= setTimeout(flush, batchWindowMs);
    if (batch.length + evicted.length >= maxBatch) flush();
  };
  const unsubscribe = store.watch((change) => {
    if (change.type === 'message') {
      batch.push(change.message);
      later();
      return;
    }
    if (change.type === 'remove' && change.reason === 'evicted') {
      evicted.push(...change.ids);
      later();
      return;
    }
    flush();
    switch (change.type) {
      case 'remove':
        push(event('remove', { ids: change.ids, reason: change.reason, ...storeState(store) }));
        return;
      case 'read':
        push(event('read', { ids: change.ids, read: change.read }));
        return;
      case 'clear':
        push(event('clear', storeState(store)));
        return;
    }
  });
  // Events about messages: after the pending batch, so a message comes before the events about it.
  const onMailEvent = (mailEvent: SandboxEvent): void => {
    flush();
    push(event('mail-event', mailEvent));
  };
  events?.emitter.on('event', onMailEvent);
  // A comment line now and then: proxies keep the connection, and a dead client is noticed.
  const heartbeat = setInterval(() => push(': keep-alive\n\n'), heartbeatMs);
  heartbeat.unref();
  stream.once('close', () => {
    clearInterval(heartbeat);
    if (timer !== undefined) clearTimeout(timer);
    unsubscribe();
    events?.emitter.off('event', onMailEvent);
  });
  return stream;
}

/** The types of the events recorded about each stored message, in order, each once: `{ "m-000001": ["delivered", "complained"] }`. */
function eventTypesByMessage(log: SandboxEventLog | undefined, summaries: readonly InboxSummary[]): Record<string, string[]> {
  const types = new Map<string, string[]>();
  if (log === undefined) return {};
  const byMessageId = new Map<string, string>();
  for (const summary of summaries) if (summary.messageId !== undefined) byMessageId.set(summary.messageId, summary.id);
  for (const recorded of log.list()) {
    const id = recorded.storeId ?? (recorded.messageId === undefined ? undefined : byMessageId.get(recorded.messageId));
    if (id === undefined) continue;
    const known = types.get(id) ?? [];
    if (!known.includes(recorded.type)) known.push(recorded.type);
    types.set(id, known);
  }
  return Object.fromEntries(types);
}

function event(name: string, data: object): string {
  // JSON.stringify escapes line breaks, so the data fits on one `data:` line. It leaves U+2028 and
  // U+2029 as they are, which some readers take for line ends (a recipient or a diagnostic can
  // carry them): they are escaped too, and JSON reads them back the same.
  const json = JSON.stringify(data).replace(/[\u2028\u2029]/g, (character) => `\\u${character.charCodeAt(0).toString(16)}`);
  return `event: ${name}\ndata: ${json}\n\n`;
}
