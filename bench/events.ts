/**
 * `npm run bench -- events`: what receiving events costs, against what an application would use
 * instead, in the same run.
 *
 * - SNS notifications verified per second: `verifySnsMessage` and the whole `createSesWebhook`
 *   handler of `@mailport/events/ses` against AWS's `sns-validator`, over the same notifications,
 *   signed by the sandbox (SignatureVersion 1 and 2, SES events of the mailbox simulator), with
 *   the signing certificate served over https on loopback and fetched once (a warm cache: what a
 *   running webhook sees).
 * - Reports parsed per second: `parseReport` of `@mailport/events/reports` over the fixture corpus
 *   (packages/events/test/fixtures/reports: Postfix, Exim, Exchange Online, Gmail, SES, ARF,
 *   auto-replies, malformed MIME) against mailparser's `simpleParser` alone, which it runs inside:
 *   with simpleParser's defaults (what an application parsing bounces itself writes), and with the
 *   options parseReport gives mailparser ("lean"): the ratio to the lean run is the cost of the
 *   report layer.
 *
 * Every case runs in a fresh process (events-child.ts) against the built packages, so its peak RSS
 * is its own; the sandbox that signs the notifications and serves the certificate runs here. Each
 * case runs twice, interleaved with the other side, and the better median is kept. Writes
 * bench/results/events.json, then docs/benchmarks.md.
 */
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage } from 'node:http';
import { get } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startChild } from './bench-process.ts';
import { describeMachine, formatMachine, formatTable, megabytes, writeResults } from './bench-report.ts';
import { writeDocsPage } from './docs-page.ts';
import type { EventsCaseResult } from './events-child.ts';

/** Messages sent through the SES emulator; each makes several notifications. */
const messages = 40;
const recipients = ['success', 'bounce', 'complaint', 'ooto', 'suppressionlist'].map((local) => `${local}@simulator.amazonses.com`);
/** Passes over the SNS corpus per measured round, and measured rounds. */
const snsRepeat = 4;
const reportRepeat = 20;
const rounds = 5;
const topics = {
  '1': 'arn:aws:sns:us-east-1:123456789012:mailport-bench-v1',
  '2': 'arn:aws:sns:us-east-1:123456789012:mailport-bench-v2',
} as const;

function body(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}

function visit(url: string, ca: string): Promise<void> {
  return new Promise((resolve, reject) => {
    get(url, { ca }, (response) => {
      response.resume();
      response.on('end', () => resolve());
    }).on('error', reject);
  });
}

/** Signed notifications from the sandbox's SES event destinations, by SignatureVersion. */
async function collectNotifications(): Promise<{
  corpus: Record<'1' | '2', string[]>;
  host: string;
  caFile: string;
  close: () => Promise<void>;
}> {
  const { startSandbox } = await import('@mailport/sandbox');
  const { createMailer } = await import('@mailport/core');
  const corpus: Record<'1' | '2', string[]> = { '1': [], '2': [] };
  let ca = '';
  const app = createServer(async (request, response) => {
    const text = await body(request);
    const message = JSON.parse(text) as { Type: string; SubscribeURL?: string; SignatureVersion: '1' | '2' };
    if (message.Type === 'SubscriptionConfirmation') await visit(String(message.SubscribeURL), ca);
    else if (message.Type === 'Notification') corpus[message.SignatureVersion].push(text);
    response.writeHead(200).end();
  });
  app.listen(0, '127.0.0.1');
  await once(app, 'listening');
  const endpoint = `http://127.0.0.1:${(app.address() as { port: number }).port}/ses`;
  const sandbox = await startSandbox({
    sesEvents: [
      { endpoint, topicArn: topics['1'], signatureVersion: '1' },
      { endpoint, topicArn: topics['2'], signatureVersion: '2' },
    ],
  });
  ca = sandbox.ca;
  const confirmed = async (): Promise<void> => {
    for (let wait = 0; wait < 200; wait++) {
      if (sandbox.sns.subscriptions().every((subscription) => subscription.state === 'confirmed')) return;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    throw new Error('the sandbox SNS subscriptions were not confirmed');
  };
  await confirmed();
  await using mailer = createMailer({ transport: sandbox.urls.ses });
  for (let index = 0; index < messages; index++) {
    await mailer.send({ from: 'app@example.com', to: recipients, subject: `Order ${index}`, text: 'Your order has shipped.' });
  }
  await sandbox.sns.idle();
  return {
    corpus,
    host: `127.0.0.1:${sandbox.httpsPort}`,
    caFile: sandbox.caFile,
    close: async () => {
      await sandbox.close();
      app.close();
    },
  };
}

async function runCase(name: string, corpus: string, options: object): Promise<EventsCaseResult> {
  const child = await startChild<EventsCaseResult, never, never>(new URL('./events-child.ts', import.meta.url), [
    name,
    corpus,
    JSON.stringify(options),
  ]);
  const result = child.ready;
  await child.stop();
  return result;
}

/** Runs each case twice, interleaved (a, b, a, b), and keeps the faster median of each. */
async function interleaved(cases: readonly [string, string, object][]): Promise<Map<string, EventsCaseResult>> {
  const best = new Map<string, EventsCaseResult>();
  for (let repeat = 0; repeat < 2; repeat++) {
    for (const [label, name, options] of cases) {
      const corpus = (options as { corpus: string }).corpus;
      const result = await runCase(name, corpus, options);
      const known = best.get(label);
      if (known === undefined || result.perSecond > known.perSecond) best.set(label, result);
      console.log(`  ${label}: ${result.perSecond.toFixed(0)}/s`);
    }
  }
  return best;
}

export async function main(): Promise<void> {
  const machine = describeMachine();
  const date = new Date();
  console.log('mailport events benchmark');
  console.log(`Machine: ${formatMachine(machine)}`);
  console.log(`Date:    ${date.toISOString()}`);
  console.log('');
  const directory = await mkdtemp(join(tmpdir(), 'mailport-bench-events-'));
  try {
    console.log(`Collecting SNS notifications: ${messages} messages through the sandbox's SES API to the mailbox simulator`);
    const sns = await collectNotifications();
    // sns-validator fetches the certificate with https.get: the children trust the sandbox's CA.
    process.env.NODE_EXTRA_CA_CERTS = sns.caFile;
    const snsRows: string[][] = [];
    const snsNumbers: Record<string, unknown>[] = [];
    try {
      for (const version of ['1', '2'] as const) {
        const file = join(directory, `sns-v${version}.json`);
        await writeFile(file, JSON.stringify(sns.corpus[version]));
        const options = { corpus: file, topics: [topics[version]], host: sns.host, caFile: sns.caFile, repeat: snsRepeat, rounds };
        console.log(`SignatureVersion ${version}: ${sns.corpus[version].length} notifications, x${snsRepeat} per round`);
        const results = await interleaved([
          ['verifySnsMessage', 'verify', options],
          ['sns-validator', 'sns-validator', options],
          ['createSesWebhook', 'webhook', options],
        ]);
        const validator = results.get('sns-validator') as EventsCaseResult;
        for (const label of ['verifySnsMessage', 'createSesWebhook', 'sns-validator']) {
          const result = results.get(label) as EventsCaseResult;
          const ratio = result.perSecond / validator.perSecond;
          snsRows.push([
            `v${version}`,
            label,
            result.perSecond.toFixed(0),
            `${result.minPerSecond.toFixed(0)}-${result.maxPerSecond.toFixed(0)}`,
            label === 'sns-validator' ? '1.00x' : `${ratio.toFixed(2)}x`,
            megabytes(result.peakRssBytes).toFixed(0),
          ]);
          snsNumbers.push({
            signatureVersion: version,
            verifier: label,
            notifications: result.items,
            perSecond: Math.round(result.perSecond),
            minPerSecond: Math.round(result.minPerSecond),
            maxPerSecond: Math.round(result.maxPerSecond),
            ratioToSnsValidator: Math.round(ratio * 100) / 100,
            peakRssMb: megabytes(result.peakRssBytes),
          });
        }
      }
    } finally {
      await sns.close();
    }

    const fixtures = fileURLToPath(new URL('../packages/events/test/fixtures/reports/', import.meta.url));
    console.log(`Reports: the fixture corpus (${fixtures}), x${reportRepeat} per round`);
    const reportOptions = { corpus: fixtures, repeat: reportRepeat, rounds };
    const reports = await interleaved([
      ['parseReport', 'parse-report', reportOptions],
      ['simpleParser', 'simple-parser', reportOptions],
      ['simpleParser, lean', 'simple-parser-lean', reportOptions],
    ]);
    const parser = reports.get('simpleParser') as EventsCaseResult;
    const lean = reports.get('simpleParser, lean') as EventsCaseResult;
    const reportRows: string[][] = [];
    const reportNumbers: Record<string, unknown>[] = [];
    for (const label of ['parseReport', 'simpleParser', 'simpleParser, lean']) {
      const result = reports.get(label) as EventsCaseResult;
      const ratio = result.perSecond / parser.perSecond;
      const leanRatio = result.perSecond / lean.perSecond;
      reportRows.push([
        label,
        String(result.items / reportRepeat),
        result.perSecond.toFixed(0),
        `${result.minPerSecond.toFixed(0)}-${result.maxPerSecond.toFixed(0)}`,
        `${ratio.toFixed(2)}x`,
        `${leanRatio.toFixed(2)}x`,
        megabytes(result.peakRssBytes).toFixed(0),
      ]);
      reportNumbers.push({
        parser: label,
        reports: result.items / reportRepeat,
        perSecond: Math.round(result.perSecond),
        minPerSecond: Math.round(result.minPerSecond),
        maxPerSecond: Math.round(result.maxPerSecond),
        ratioToSimpleParser: Math.round(ratio * 100) / 100,
        ratioToLeanSimpleParser: Math.round(leanRatio * 100) / 100,
        peakRssMb: megabytes(result.peakRssBytes),
      });
    }

    console.log('');
    console.log('SNS notifications verified per second (one at a time; certificate cached):');
    console.log(formatTable(['sig', 'verifier', 'per second', 'rounds', 'vs sns-validator', 'peak RSS MB'], snsRows, [2, 3, 4, 5]));
    console.log('\nReports parsed per second (one at a time):');
    console.log(
      formatTable(
        ['parser', 'reports', 'per second', 'rounds', 'vs simpleParser', 'vs lean', 'peak RSS MB'],
        reportRows,
        [1, 2, 3, 4, 5, 6],
      ),
    );
    console.log(
      '\nsimpleParser: its defaults. lean: the options parseReport gives mailparser (no HTML to text, no links, the returned' +
        '\nmessage not parsed). parseReport against lean is the cost of the report layer itself.',
    );

    await writeResults('events', machine, date, {
      sns: { messagesSent: messages, recipientsPerMessage: recipients.length, passesPerRound: snsRepeat, rounds, results: snsNumbers },
      reports: { passesPerRound: reportRepeat, rounds, results: reportNumbers },
    });
    console.log('\nSaved bench/results/events.json');
    console.log(`Wrote ${await writeDocsPage()}`);
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
}
