/**
 * One sender variant of the throughput benchmark, in a process of its own so that its peak RSS
 * is its own. Started as `smtp-sender.ts <variant> <sink port>`; announces `{ ready: true }`, then
 * runs one round per {@link RoundRequest} and answers with a {@link RoundReply}.
 *
 * Every round builds a fresh mailer or transporter and closes it afterwards, so each round pays
 * for its own connections, as a batch job would.
 */
import { performance } from 'node:perf_hooks';
import { createMailer } from '@mailport/core';
import { createSmtpTransport } from '@mailport/transport-smtp';
import nodemailer from 'nodemailer';
import { benchMessage } from './bench-content.ts';
import { emptyCounts, keepInFlight, type SendCounts } from './bench-load.ts';
import { peakRssBytes, serveParent } from './bench-process.ts';
import { type RoundReply, type RoundRequest, senderVariants } from './bench-protocol.ts';

const host = '127.0.0.1';

/** mailport as the issue describes it: one pooled SMTP transport, `sendMany` with `concurrency` in flight. */
async function sendWithMailport(port: number, messages: number, concurrency: number): Promise<SendCounts> {
  const counts: SendCounts = emptyCounts();
  const mailer = createMailer({ transport: createSmtpTransport({ host, port, maxConnections: concurrency }) });
  try {
    // Plain inputs, not prebuilt messages: validating and rendering each message is part of mailport's cost.
    const inputs = Array.from({ length: messages }, () => ({ ...benchMessage }));
    for await (const outcome of mailer.sendMany(inputs, { concurrency })) {
      if (outcome.ok) {
        counts.sent++;
      } else {
        counts.failed++;
        counts.firstError ??= outcome.error.message;
      }
    }
  } finally {
    await mailer.close();
  }
  return counts;
}

/**
 * nodemailer as most applications use it, pooled or not. Both pools keep their default of 100
 * messages per connection, so the two pooled variants open the same number of connections.
 */
async function sendWithNodemailer(port: number, messages: number, concurrency: number, pool: boolean): Promise<SendCounts> {
  const transporter = pool
    ? nodemailer.createTransport({ host, port, pool: true, maxConnections: concurrency })
    : nodemailer.createTransport({ host, port, pool: false });
  try {
    return await keepInFlight(messages, concurrency, async () => {
      await transporter.sendMail({ ...benchMessage });
    });
  } finally {
    transporter.close();
  }
}

const [variantArgument, portArgument] = process.argv.slice(2);
const variant = senderVariants.find((candidate) => candidate === variantArgument);
const port = Number(portArgument);
if (variant === undefined || !Number.isInteger(port)) {
  throw new Error(`usage: smtp-sender.ts <${senderVariants.join('|')}> <port> (got ${variantArgument} ${portArgument})`);
}

serveParent<RoundRequest, RoundReply>({ ready: true }, async ({ messages, concurrency }) => {
  const started = performance.now();
  const counts =
    variant === 'mailport-pooled'
      ? await sendWithMailport(port, messages, concurrency)
      : await sendWithNodemailer(port, messages, concurrency, variant === 'nodemailer-pooled');
  const elapsedMs = performance.now() - started;
  return { elapsedMs, ...counts, peakRssBytes: peakRssBytes() };
});
