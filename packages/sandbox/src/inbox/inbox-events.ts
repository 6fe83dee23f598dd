import { Readable } from 'node:stream';
import type { MessageStore } from '../store.js';
import type { ParsedMessages } from './inbox-messages.js';

const heartbeatMs = 15_000;

/**
 * The inbox's live feed as Server-Sent Events: first `snapshot` (every message's summary, newest
 * first), then `message` (one new summary) and `clear`, in the order they happened. A client that
 * reconnects gets a fresh snapshot, so nothing is missed between a list request and a subscription.
 */
export function inboxEventStream(store: MessageStore, parsed: ParsedMessages): Readable {
  const stream = new Readable({ read() {} });
  // Parsing is asynchronous; one chain keeps the events in the order the store saw them.
  let chain: Promise<void> = Promise.resolve();
  const enqueue = (produce: () => Promise<string> | string): void => {
    chain = chain
      .then(async () => {
        const text = await produce();
        if (!stream.destroyed) stream.push(text);
      })
      .catch((error: unknown) => {
        stream.destroy(error as Error);
      });
  };
  const snapshot = store.list();
  // EventSource reconnects after `retry` ms when the connection drops.
  enqueue(
    async () =>
      `retry: 1000\n\n${event('snapshot', { messages: (await Promise.all(snapshot.map(parsed.parse))).map((entry) => entry.summary).reverse() })}`,
  );
  const unsubscribe = store.subscribe(
    (message) => enqueue(async () => event('message', (await parsed.parse(message)).summary)),
    () => enqueue(() => event('clear', {})),
  );
  // A comment line now and then: proxies keep the connection, and a dead client is noticed.
  const heartbeat = setInterval(() => enqueue(() => ': keep-alive\n\n'), heartbeatMs);
  heartbeat.unref();
  stream.once('close', () => {
    clearInterval(heartbeat);
    unsubscribe();
  });
  return stream;
}

function event(name: string, data: object): string {
  // JSON.stringify escapes line breaks, so the data fits on one `data:` line.
  return `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`;
}
