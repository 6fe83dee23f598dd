/**
 * One sender variant of the throughput benchmark, in a process of its own so that its peak RSS
 * is its own. Started as `smtp-sender.ts <variant> <sink's SinkReady as JSON>`; announces
 * `{ ready: true }`, then runs one round per {@link RoundRequest} and answers with a {@link RoundReply}.
 *
 * Every round builds a fresh mailer or transporter from its configuration and closes it
 * afterwards, as an application's batch job would: each round pays for reading its settings,
 * its connections, STARTTLS and AUTH.
 */
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { createMailer } from '@mailport/core';
import nodemailer from 'nodemailer';
import { benchMessage } from './bench-content.ts';
import { emptyCounts, keepInFlight, type SendCounts } from './bench-load.ts';
import { peakRssBytes, serveParent } from './bench-process.ts';
import { type RoundReply, type RoundRequest, type SinkReady, type SinkTls, senderVariants } from './bench-protocol.ts';

const host = '127.0.0.1';

/**
 * mailport as an application uses it: a mailer from a transport URL (STARTTLS required, the
 * sink's CA trusted through `ca_file`, the password in the URL), then `sendMany` with
 * `concurrency` in flight.
 */
async function sendWithMailport(port: number, tls: SinkTls, messages: number, concurrency: number): Promise<SendCounts> {
  const counts: SendCounts = emptyCounts();
  const url =
    `smtp://${encodeURIComponent(tls.user)}:${encodeURIComponent(tls.pass)}@${host}:${port}` +
    `?max_connections=${concurrency}&require_tls=true&ca_file=${encodeURIComponent(tls.caFile)}`;
  const mailer = createMailer({ transport: url });
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
 * nodemailer as most applications use it, pooled or not, configured as mailport is: STARTTLS
 * required, the sink's CA trusted (read from the same file), the same user and password. Both
 * pools keep their default of 100 messages per connection, so the two pooled variants open the
 * same number of connections.
 */
async function sendWithNodemailer(port: number, tls: SinkTls, messages: number, concurrency: number, pool: boolean): Promise<SendCounts> {
  const common = { host, port, requireTLS: true, auth: { user: tls.user, pass: tls.pass }, tls: { ca: readFileSync(tls.caFile) } };
  const transporter = pool
    ? nodemailer.createTransport({ ...common, pool: true, maxConnections: concurrency })
    : nodemailer.createTransport({ ...common, pool: false });
  try {
    return await keepInFlight(messages, concurrency, async () => {
      await transporter.sendMail({ ...benchMessage });
    });
  } finally {
    transporter.close();
  }
}

const [variantArgument, sinkArgument = '{}'] = process.argv.slice(2);
const variant = senderVariants.find((candidate) => candidate === variantArgument);
const sink = JSON.parse(sinkArgument) as Partial<SinkReady>;
const port = sink.port;
const tls = sink.tls;
if (variant === undefined || port === undefined || tls === undefined) {
  throw new Error(
    `usage: smtp-sender.ts <${senderVariants.join('|')}> <a secure sink's SinkReady as JSON> (got ${variantArgument} ${sinkArgument})`,
  );
}

serveParent<RoundRequest, RoundReply>({ ready: true }, async ({ messages, concurrency }) => {
  const started = performance.now();
  const cpuBefore = process.cpuUsage();
  const counts =
    variant === 'mailport-pooled'
      ? await sendWithMailport(port, tls, messages, concurrency)
      : await sendWithNodemailer(port, tls, messages, concurrency, variant === 'nodemailer-pooled');
  const elapsedMs = performance.now() - started;
  const cpu = process.cpuUsage(cpuBefore);
  return { elapsedMs, ...counts, peakRssBytes: peakRssBytes(), cpuMs: (cpu.user + cpu.system) / 1000 };
});
