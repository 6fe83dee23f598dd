/**
 * One variant of one provider of the HTTP benchmark, in a process of its own so that its peak
 * RSS is its own. Started as `http-sender.ts <provider> <variant>`; announces `{ ready: true }`,
 * then runs one round per {@link HttpRoundRequest} and answers with an {@link HttpRoundReply}.
 *
 * Every round builds a fresh mailer or SDK client and closes it afterwards, so each round pays
 * for its own access token and connections, as a batch job would. Only the code of the variant
 * is loaded: mailport loads its adapter (and that SDK) from the URL, the raw variants import
 * their `http-sdk-*.ts` module.
 */
import { performance } from 'node:perf_hooks';
import { createMailer } from '@mailport/core';
import { emptyCounts, keepInFlight, type SendCounts } from './bench-load.ts';
import { peakRssBytes, serveParent } from './bench-process.ts';
import { type HttpProvider, httpMessage, httpProviders } from './http-content.ts';
import {
  type CreateSdkSender,
  type HttpRoundReply,
  type HttpRoundRequest,
  httpVariants,
  type PlainMessage,
  type SandboxTarget,
} from './http-protocol.ts';

const sdkModules: Record<HttpProvider, () => Promise<CreateSdkSender>> = {
  ses: async () => (await import('./http-sdk-ses.ts')).createSesSdkSender,
  gmail: async () => (await import('./http-sdk-gmail.ts')).createGmailSdkSender,
  graph: async () => (await import('./http-sdk-graph.ts')).createGraphSdkSender,
};

/** mailport as the issue describes it: the sandbox's transport URL, `sendMany` with `concurrency` in flight. */
async function sendWithMailport(url: string, message: PlainMessage, messages: number, concurrency: number): Promise<SendCounts> {
  const counts: SendCounts = emptyCounts();
  const mailer = createMailer({ transport: url });
  try {
    // Plain inputs, not prebuilt messages: validating and rendering each message is part of mailport's cost.
    const inputs = Array.from({ length: messages }, () => ({ ...message }));
    for await (const outcome of mailer.sendMany(inputs, { concurrency })) {
      if (outcome.ok) {
        counts.sent++;
        if (outcome.receipt.attempts > 1) counts.retried++;
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

/** The raw SDK, with `concurrency` sends kept in flight (1: one message at a time). */
async function sendWithSdk(
  create: CreateSdkSender,
  target: SandboxTarget,
  message: PlainMessage,
  messages: number,
  concurrency: number,
): Promise<SendCounts> {
  const sender = create(target, { ...message });
  try {
    return await keepInFlight(messages, concurrency, () => sender.send());
  } finally {
    await sender.close();
  }
}

const [providerArgument, variantArgument] = process.argv.slice(2);
const provider = httpProviders.find((candidate) => candidate === providerArgument);
const variant = httpVariants.find((candidate) => candidate === variantArgument);
if (provider === undefined || variant === undefined) {
  throw new Error(
    `usage: http-sender.ts <${httpProviders.join('|')}> <${httpVariants.join('|')}> (got ${providerArgument} ${variantArgument})`,
  );
}
const message = httpMessage(provider);
const createSdkSender = variant === 'mailport' ? undefined : await sdkModules[provider]();

serveParent<HttpRoundRequest, HttpRoundReply>({ ready: true }, async ({ messages, concurrency, target }) => {
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const counts =
    createSdkSender === undefined
      ? await sendWithMailport(target.urls[provider], message, messages, concurrency)
      : await sendWithSdk(createSdkSender, target, message, messages, variant === 'sdk-concurrent' ? concurrency : 1);
  const elapsedMs = performance.now() - started;
  const cpu = process.cpuUsage(cpuBefore);
  return { elapsedMs, ...counts, cpuMs: (cpu.user + cpu.system) / 1000, peakRssBytes: peakRssBytes() };
});
