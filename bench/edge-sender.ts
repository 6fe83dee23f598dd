/**
 * One runtime's side of `npm run bench -- edge`: sends `count` messages one after the other through
 * one mailer (after `warmUp` unmeasured ones: the token, the connection, the JIT) and reports the
 * time per message. Plain TypeScript that Node, Bun and Deno run as it is, and that wrangler bundles
 * into a Worker (edge-worker.ts) for workerd. Imports the built packages, as an application would.
 *
 *   bun bench/edge-sender.ts '{"url":"ses://...","count":200,"warmUp":20}'
 */
import { createMailer } from '@mailport/core';
import { gmailAdapter } from '@mailport/transport-gmail-api';
import { graphAdapter } from '@mailport/transport-graph';
import { sesAdapter } from '@mailport/transport-ses';

export interface EdgeJob {
  readonly url: string;
  readonly from: string;
  readonly count: number;
  readonly warmUp: number;
}

export interface EdgeOutcome {
  readonly sent: number;
  readonly failed: number;
  readonly firstError?: string | undefined;
  /** Measured sends only. */
  readonly elapsedMs: number;
  readonly msPerMessage: number;
}

export async function sendMany(job: EdgeJob): Promise<EdgeOutcome> {
  const mailer = createMailer({
    transport: job.url,
    transportOptions: { use: [sesAdapter, gmailAdapter, graphAdapter], env: {} },
    retry: { maxAttempts: 1 },
  });
  let sent = 0;
  let failed = 0;
  let firstError: string | undefined;
  const sendOne = async (index: number): Promise<void> => {
    try {
      await mailer.send({
        from: job.from,
        to: 'ana@example.org',
        subject: `Order ${index}`,
        text: `Your order ${index} has shipped.\n`.repeat(40),
        html: `<p>Your order <b>${index}</b> has shipped.</p>`.repeat(40),
      });
      sent++;
    } catch (error) {
      failed++;
      firstError ??= String((error as Error)?.message ?? error);
    }
  };
  try {
    for (let index = 0; index < job.warmUp; index++) await sendOne(index);
    sent = 0;
    failed = 0;
    // workerd advances its clocks only across I/O; every send ends with I/O, so the span is right.
    const started = Date.now();
    for (let index = 0; index < job.count; index++) await sendOne(index);
    const elapsedMs = Date.now() - started;
    return { sent, failed, firstError, elapsedMs, msPerMessage: elapsedMs / job.count };
  } finally {
    await mailer.close();
  }
}

// Run as a script (Node, Bun, Deno): the job is the first argument.
const runtime = globalThis as { Deno?: { args: string[] }; process?: { argv: string[] } };
const argument = runtime.Deno?.args[0] ?? (runtime.process?.argv[1]?.endsWith('edge-sender.ts') ? runtime.process.argv[2] : undefined);
if (argument !== undefined) console.log(`OUTCOME ${JSON.stringify(await sendMany(JSON.parse(argument) as EdgeJob))}`);
