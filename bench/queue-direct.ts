/**
 * The comparison: one process sending the same messages with `mailer.sendMany` at the same total
 * concurrency, no queue. Argument: JSON `{ transport, count, concurrency, run }`. Announces
 * `{ sent, failed }` when done.
 */
import { createMailer } from '@mailport/core';
import { serveParent } from './bench-process.ts';
import { queueBenchMessage } from './queue-content.ts';

const config = JSON.parse(process.argv[2] ?? '{}') as { transport: string; count: number; concurrency: number; run: string };
const mailer = createMailer({ transport: config.transport, retry: false });
let sent = 0;
let failed = 0;
const inputs = Array.from({ length: config.count }, (_, index) => queueBenchMessage(config.run, index));
for await (const outcome of mailer.sendMany(inputs, { concurrency: config.concurrency })) {
  if (outcome.ok) sent += 1;
  else failed += 1;
}
await mailer.close();
serveParent({ sent, failed });
