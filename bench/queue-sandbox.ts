/**
 * The sandbox the queue benchmark sends to, in a process of its own. Announces `{ smtp }` (a transport
 * URL); answers `'arrivals'` with the arrival time of every stored message (ms) and `'clear'`.
 */
import { startSandbox } from '@mailport/sandbox';
import { serveParent } from './bench-process.ts';

const sandbox = await startSandbox({ maxMessages: 100_000 });
serveParent({ smtp: sandbox.urls.smtp }, async (request: 'arrivals' | 'clear') => {
  if (request === 'clear') {
    sandbox.store.clear();
    sandbox.requests.clear();
    return { cleared: true };
  }
  return { times: sandbox.store.list().map((message) => Date.parse(message.receivedAt)) };
});
