import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { MailError } from '@mailport/core';
import { exitCodeFor, exitCodes, UsageError } from '../exit-codes.js';
import type { CliIo } from '../io.js';
import { readJsonConfig } from '../json-config.js';
import { printError } from '../output.js';
import { parseWorkerConfig, redactUrl, type WorkerConfig } from '../worker-config.js';

export const workerHelp = `mailport worker: send what a queue holds (@mailport/queue-bullmq on Redis) until stopped

  mailport worker --config worker.json [--redis URL] [--concurrency N] [--json | --quiet]

  --config FILE         the worker's configuration, JSON (below)
  --redis URL           Redis, over the file's "redis" (default: the file, else $MAILPORT_REDIS_URL)
  --concurrency N       sends in flight in this process, over the file's (default 8)
  --json                one JSON line per settled job on stdout (default: one line of text)
  --quiet               print no line per job

The configuration (JSON; any string may be "env:NAME", read from the environment at start, so
transport URLs and their secrets stay out of the file and out of the process list; jobs never hold them):
  {
    "redis": "env:MAILPORT_REDIS_URL",
    "queue": "mail",
    "concurrency": 8,
    "routes": {
      "default": "env:MAILPORT_URL",
      "bulk": { "transport": "env:MAILPORT_BULK_URL", "limits": { "rates": [{ "max": 40, "perMs": 1000 }] } }
    },
    "limits": { "LIMIT-KEY": { "rates": [...], "quotas": [...], "concurrency": 4 } },
    "uncertain": "dead-letter",
    "encryptionKeys": ["env:MAILPORT_QUEUE_KEY"]
  }
"uncertain" is "dead-letter", "resend" or "lookup" (ask Gmail or Graph whether it went out;
"lookupGraceMs", default 60000). Other fields: "prefix" (BullMQ's, default "bull"), "maxAgeMs", "limitWaitMs".

Stopping: SIGTERM or Ctrl-C stops taking jobs, lets the sends in flight finish and be recorded,
then exits 0; a second signal exits at once (143 or 130), and what was in flight ends as uncertain.

A Redis that is down is waited for (the worker says so), at start and later.

Exit codes: 0 stopped cleanly, 2 usage, 4 configuration (the file, a transport URL, a Redis that
evicts keys or is older than 6.2).
`;

/** `mailport worker`. */
export async function runWorker(argv: readonly string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      config: { type: 'string' },
      redis: { type: 'string' },
      concurrency: { type: 'string' },
      json: { type: 'boolean', default: false },
      quiet: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) {
    io.stdout.write(workerHelp);
    return exitCodes.ok;
  }
  if (values.config === undefined) throw new UsageError('--config FILE is required');
  let concurrency: number | undefined;
  if (values.concurrency !== undefined) {
    concurrency = Number(values.concurrency);
    if (!Number.isInteger(concurrency) || concurrency < 1)
      throw new UsageError(`--concurrency needs a whole number of at least 1, not ${values.concurrency}`);
  }

  let config: WorkerConfig;
  try {
    config = await readConfig(resolve(io.cwd, values.config), values.config, io, values.redis);
    for (const note of config.notes) io.stderr.write(`mailport worker: note: ${note}\n`);
    await checkTransports(config, io);
  } catch (error) {
    printError(io, error);
    return exitCodeFor(error);
  }

  const { createMailWorker } = await import('@mailport/queue-bullmq');
  const json = values.json;
  const worker = createMailWorker({
    connection: config.redis,
    name: config.queue,
    prefix: config.prefix,
    concurrency: concurrency ?? config.concurrency,
    routes: config.routes,
    limits: config.limits,
    uncertain: config.uncertain,
    lookupGraceMs: config.lookupGraceMs,
    maxAgeMs: config.maxAgeMs,
    limitWaitMs: config.limitWaitMs,
    encryptionKey: config.encryptionKeys.map((key) => ({ key })),
    transportOptions: { env: io.env },
    // The CLI's io handles SIGTERM and SIGINT, as for every long command.
    handleSignals: false,
    onWarning: (message) => io.stderr.write(`mailport worker: warning: ${message}\n`),
    hooks: {
      settled: (event) => {
        if (values.quiet) return;
        if (json) {
          const { error, ...rest } = event as typeof event & { error?: MailError };
          io.stdout.write(
            `${JSON.stringify({ ...rest, ...(error === undefined ? {} : { error: { code: error.code, message: error.message } }) })}\n`,
          );
          return;
        }
        const detail =
          event.outcome === 'deferred'
            ? ` (${event.reason}, ${event.waitMs} ms)`
            : event.outcome === 'dead'
              ? ` (${event.kind}: ${event.error.code}: ${event.error.message})`
              : event.outcome === 'retry'
                ? ` (${event.error.code}: ${event.error.message})`
                : '';
        io.stdout.write(
          `${event.outcome} ${event.jobId} ${event.messageId} route ${event.route || '-'} attempt ${event.attempt}${detail}\n`,
        );
      },
    },
  });

  const stopped = new Promise<void>((resolveStop) => {
    if (io.signal.aborted) resolveStop();
    else io.signal.addEventListener('abort', () => resolveStop(), { once: true });
  });
  // A Redis that is down at start: the worker waits for it (as in production), and says so.
  const slow = setTimeout(() => io.stderr.write(`mailport worker: waiting for Redis at ${redactUrl(config.redis)}...\n`), 3000);
  try {
    const started = await Promise.race([worker.ready.then(() => true), stopped.then(() => false)]);
    if (!started) {
      await worker.close();
      return exitCodes.ok;
    }
  } catch (error) {
    await worker.close().catch(() => {});
    printError(io, error);
    return exitCodeFor(error);
  } finally {
    clearTimeout(slow);
  }
  const queueName = config.queue ?? 'mail';
  io.stderr.write(
    `mailport worker ${worker.id}: sending queue "${queueName}" from ${redactUrl(config.redis)} ` +
      `(routes ${Object.keys(config.routes).join(', ')}); SIGTERM or Ctrl-C stops after the sends in flight\n`,
  );
  await stopped;
  io.stderr.write('mailport worker: stopping: no new jobs; waiting for the sends in flight (a second signal exits at once)\n');
  await worker.close();
  io.stderr.write('mailport worker: stopped\n');
  return exitCodes.ok;
}

async function readConfig(path: string, display: string, io: CliIo, redis: string | undefined): Promise<WorkerConfig> {
  return parseWorkerConfig(await readJsonConfig(path, display, 'worker'), { env: io.env, file: display, redis });
}

/** Creates each route's transport once, so a wrong URL or a missing package stops the worker at start, not every job later. */
async function checkTransports(config: WorkerConfig, io: CliIo): Promise<void> {
  const { createTransport } = await import('@mailport/core');
  for (const [name, route] of Object.entries(config.routes)) {
    try {
      const transport = await createTransport(route.transport, { env: io.env });
      await transport.close?.();
    } catch (error) {
      if (MailError.isInstance(error)) {
        throw new MailError(error.code, `route ${name}: ${error.message}`, { remediation: error.remediation, retryable: false });
      }
      throw error;
    }
  }
}
