/**
 * One case of the events benchmark, in a fresh process (`events-child.ts <case> <corpus> <options>`),
 * against the built packages, so its peak RSS is its own:
 *
 * - `verify`: `verifySnsMessage` of `@mailport/events/ses` over the corpus of SNS notifications
 *   (a JSON array of the bodies as posted), each parsed from its body as it arrives;
 * - `webhook`: the whole `createSesWebhook(...).handle(request)`: a Fetch `Request` read, checked,
 *   verified and mapped to events (no socket: what the application's server adds is not counted);
 * - `sns-validator`: AWS's `sns-validator` (`MessageValidator.validate`) over the same bodies;
 * - `parse-report`: `parseReport` of `@mailport/events/reports` over the fixture corpus (.eml files);
 * - `simple-parser`: mailparser's `simpleParser` alone over the same files, with its defaults (what
 *   an application that parses bounces itself usually writes);
 * - `simple-parser-lean`: `simpleParser` with the options `parseReport` gives mailparser (no HTML to
 *   text, no links, the returned message left unparsed): what the report layer adds on top.
 *
 * Each first goes once through the corpus (the certificate fetched over https and cached, the code
 * compiled), then measures `rounds` passes one message at a time, and replies with one
 * {@link EventsCaseResult}.
 */
import { readdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { median, peakRssBytes, serveParent } from './bench-process.ts';

/** What one case measured. */
export interface EventsCaseResult {
  readonly name: string;
  /** Items (notifications or reports) in one pass. */
  readonly items: number;
  readonly rounds: number;
  /** Median over the passes of items per second. */
  readonly perSecond: number;
  /** Slowest and fastest pass, items per second. */
  readonly minPerSecond: number;
  readonly maxPerSecond: number;
  /** This process's peak RSS at the end, in bytes. */
  readonly peakRssBytes: number;
}

/** How the SNS cases reach the sandbox's certificate. */
interface SnsOptions {
  readonly topics: readonly string[];
  readonly host: string;
  readonly caFile: string;
  readonly repeat: number;
  readonly rounds: number;
}

interface ReportOptions {
  readonly repeat: number;
  readonly rounds: number;
}

const [name = '', corpus = '', rawOptions = '{}'] = process.argv.slice(2);

async function measure(items: number, rounds: number, pass: () => Promise<void>): Promise<EventsCaseResult> {
  await pass();
  const rates: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const started = performance.now();
    await pass();
    rates.push(items / ((performance.now() - started) / 1000));
  }
  return {
    name,
    items,
    rounds,
    perSecond: median(rates),
    minPerSecond: Math.min(...rates),
    maxPerSecond: Math.max(...rates),
    peakRssBytes: peakRssBytes(),
  };
}

async function snsCase(options: SnsOptions): Promise<EventsCaseResult> {
  const bodies = JSON.parse(await readFile(corpus, 'utf8')) as string[];
  const all = Array.from({ length: options.repeat }, () => bodies).flat();
  const ca = await readFile(options.caFile, 'utf8');
  const certificates = { hosts: [options.host], ca };
  const fail = (detail: string): never => {
    throw new Error(`${name}: a notification did not verify (${detail}); the numbers would be meaningless`);
  };
  if (name === 'verify') {
    const { verifySnsMessage } = await import('@mailport/events/ses');
    return measure(all.length, options.rounds, async () => {
      for (const body of all) {
        const result = await verifySnsMessage(JSON.parse(body), { topics: options.topics, certificates });
        if (!result.valid) fail(result.reason);
      }
    });
  }
  if (name === 'webhook') {
    const { createSesWebhook } = await import('@mailport/events/ses');
    let events = 0;
    const webhook = createSesWebhook({
      topics: options.topics,
      certificates,
      onEvents: (batch) => {
        events += batch.length;
      },
    });
    return measure(all.length, options.rounds, async () => {
      for (const body of all) {
        const topic = (JSON.parse(body) as { TopicArn: string }).TopicArn;
        const response = await webhook.handle(
          new Request('http://127.0.0.1/ses', {
            method: 'POST',
            headers: {
              'content-type': 'text/plain; charset=UTF-8',
              'x-amz-sns-message-type': 'Notification',
              'x-amz-sns-topic-arn': topic,
            },
            body,
          }),
        );
        if (response.status !== 200) fail(`HTTP ${response.status}`);
      }
      if (events === 0) fail('no events');
    });
  }
  if (name === 'sns-validator') {
    // A CommonJS package without types; it trusts the sandbox's CA through NODE_EXTRA_CA_CERTS (set by the parent).
    const MessageValidator = createRequire(import.meta.url)('sns-validator') as new (
      hostPattern: RegExp,
    ) => { validate(body: string, callback: (error: Error | null) => void): void };
    const validator = new MessageValidator(new RegExp(`^${options.host.replace(/[.]/g, '\\.')}$`));
    const validate = (body: string): Promise<void> =>
      new Promise((resolve) => {
        validator.validate(body, (error) => {
          if (error !== null && error !== undefined) fail(error.message);
          resolve();
        });
      });
    return measure(all.length, options.rounds, async () => {
      for (const body of all) await validate(body);
    });
  }
  throw new Error(`unknown case ${name}`);
}

async function reportCase(options: ReportOptions): Promise<EventsCaseResult> {
  const files = (await readdir(corpus)).filter((file) => file.endsWith('.eml')).sort();
  const raws = await Promise.all(files.map((file) => readFile(join(corpus, file))));
  const all = Array.from({ length: options.repeat }, () => raws).flat();
  if (name === 'parse-report') {
    const { parseReport } = await import('@mailport/events/reports');
    return measure(all.length, options.rounds, async () => {
      for (const raw of all) await parseReport(raw);
    });
  }
  if (name === 'simple-parser' || name === 'simple-parser-lean') {
    const { simpleParser } = await import('mailparser');
    // packages/events/src/reports/report-mime.ts: the options parseReport runs mailparser with.
    const lean = {
      keepDeliveryStatus: true,
      ignoreEmbedded: true,
      skipHtmlToText: true,
      skipTextToHtml: true,
      skipTextLinks: true,
      skipImageLinks: true,
      maxHtmlLengthToParse: 1_048_576,
    } as Parameters<typeof simpleParser>[1];
    const parserOptions = name === 'simple-parser-lean' ? lean : undefined;
    return measure(all.length, options.rounds, async () => {
      for (const raw of all) {
        try {
          await (parserOptions === undefined ? simpleParser(raw) : simpleParser(raw, parserOptions));
        } catch {
          // The corpus holds malformed MIME on purpose; parseReport survives it, and so must the loop.
        }
      }
    });
  }
  throw new Error(`unknown case ${name}`);
}

const options = JSON.parse(rawOptions) as SnsOptions & ReportOptions;
const result = name === 'parse-report' || name.startsWith('simple-parser') ? await reportCase(options) : await snsCase(options);
serveParent(result);
