import { createHash } from 'node:crypto';
import type { AttachmentInput, EmailMessage, MailerInput } from '@mailport/core';
import type { CsvFile, CsvRow } from '../bulk-csv.js';
import { exitCodeFor, exitCodes, interruptedExitCode } from '../exit-codes.js';
import type { CliIo } from '../io.js';
import { printError } from '../output.js';
import { queueKeyFromEnv, redactUrl, redisError } from '../worker-config.js';
import { type BulkFlags, buildMessage, domainOf, listedFailures, type Templates } from './bulk.js';

/** What `send --csv --queue` did, also printed as JSON (one line on stdout) with `--json`. */
export interface EnqueueSummary {
  readonly csv: string;
  readonly queue: string;
  readonly rows: number;
  /** Whether every row of the file was read. */
  readonly complete: boolean;
  /** Rows stored as new jobs. */
  readonly enqueued: number;
  /** Rows whose message was already in the queue (an earlier run, or the same row twice): nothing new stored. */
  readonly alreadyQueued: number;
  /** Rows whose values make no valid message; each named with its row and column. */
  readonly invalid: number;
  readonly problems: readonly { readonly row: number; readonly message: string }[];
  readonly stoppedBy: string | undefined;
  readonly elapsedMs: number;
}

const batchSize = 500;

/**
 * `mailport send --csv FILE --queue redis://...`: builds and checks each row's message exactly as
 * a bulk send does, and enqueues it instead of sending it here (workers send it: `mailport worker`).
 * The file streams in batches of 500, one round trip each.
 *
 * Each row's Message-ID, and so its job id, is derived from the row's values and the message's
 * templates (plus `--campaign`): running the same command again, after a crash, a Ctrl-C or to be
 * sure, stores nothing new for rows already queued or sent within the queue's deduplication window
 * (7 days by default). No journal is needed: the queue is the record.
 */
export async function enqueueRows(context: {
  readonly flags: BulkFlags;
  readonly io: CliIo;
  readonly csv: CsvFile;
  readonly csvPath: string;
  readonly templates: Templates;
  readonly base: MailerInput;
  readonly started: number;
}): Promise<number> {
  const { flags, io, csv, csvPath, templates, base, started } = context;
  const json = flags.json === true;
  const url = flags.queue as string;
  const fingerprint = messageFingerprint(flags, base, csv.columns, io);
  let encryptionKey: ReturnType<typeof queueKeyFromEnv>;
  try {
    encryptionKey = queueKeyFromEnv(io.env);
  } catch (error) {
    printError(io, error, json);
    return exitCodeFor(error);
  }
  const { createMailQueue } = await import('@mailport/queue-bullmq');
  const queue = createMailQueue({
    connection: url,
    name: flags['queue-name'],
    encryptionKey,
    onWarning: (message) => io.stderr.write(`mailport send: warning: ${message}\n`),
  });

  let rows = 0;
  let enqueued = 0;
  let alreadyQueued = 0;
  let invalid = 0;
  let stoppedBy: string | undefined;
  let complete = false;
  const problems: { row: number; message: string }[] = [];
  let batch: EmailMessage[] = [];
  const flush = async (): Promise<void> => {
    if (batch.length === 0) return;
    const results = await queue.enqueueMany(batch, { route: flags.route, batchSize });
    for (const result of results) {
      if (result.duplicate === true) alreadyQueued++;
      else enqueued++;
    }
    batch = [];
  };
  try {
    for await (const row of csv.rows()) {
      if (io.signal.aborted) {
        stoppedBy = interruptedExitCode(io.signal.reason) === exitCodes.terminated ? 'terminated (SIGTERM)' : 'interrupted (Ctrl-C)';
        break;
      }
      rows++;
      try {
        batch.push(buildMessage(row, templates, base, csv.columns, (from) => `<mailport.${rowId(fingerprint, row)}@${domainOf(from)}>`));
      } catch (error) {
        invalid++;
        const message = (error as Error).message;
        if (problems.length < listedFailures) problems.push({ row: row.number, message });
        if (!json) io.stderr.write(`${message}\n`);
        continue;
      }
      if (batch.length >= batchSize) await flush();
    }
    await flush();
    complete = stoppedBy === undefined;
  } catch (caught) {
    const error = redisError(caught, url);
    printError(io, error, json);
    await queue.close().catch(() => {});
    return exitCodeFor(error);
  }
  await queue.close().catch(() => {});

  const summary: EnqueueSummary = {
    csv: csvPath,
    queue: `${queue.name} on ${redactUrl(url)}`,
    rows,
    complete,
    enqueued,
    alreadyQueued,
    invalid,
    problems,
    stoppedBy,
    elapsedMs: Date.now() - started,
  };
  if (json) io.stdout.write(`${JSON.stringify(summary)}\n`);
  else {
    const line = (label: string, value: number, note = '') =>
      `  ${label.padEnd(16)}${String(value).padStart(7)}${note === '' ? '' : `   ${note}`}\n`;
    let text = `Enqueued ${csvPath} (${rows} rows${complete ? '' : ' read'}) to queue ${summary.queue}${flags.route === undefined ? '' : `, route ${flags.route}`}\n`;
    text += line('enqueued', enqueued, enqueued > 0 ? 'the workers send them: mailport worker; progress: mailport queue' : '');
    text += line('already queued', alreadyQueued, alreadyQueued > 0 ? 'same Message-ID as a job already there: nothing new stored' : '');
    text += line('invalid', invalid, invalid > 0 ? 'fix the rows, then run the same command again' : '');
    if (!complete) text += `  stopped: ${stoppedBy}; run the same command again to enqueue the rest (rows already queued are skipped)\n`;
    io.stdout.write(text);
  }
  if (!complete) return interruptedExitCode(io.signal.reason);
  return invalid === 0 ? exitCodes.ok : exitCodes.partial;
}

/**
 * What makes the messages of this command what they are, besides each row's values: the columns,
 * the templates and bodies as given, the attachments' bytes (hashed), and `--campaign`.
 */
function messageFingerprint(flags: BulkFlags, base: MailerInput, columns: readonly string[], io: CliIo): string {
  const hash = createHash('sha256');
  hash.update(
    JSON.stringify({
      campaign: flags.campaign ?? '',
      columns,
      from: flags.from ?? io.env.MAILPORT_FROM,
      to: flags.to,
      cc: flags.cc,
      bcc: flags.bcc,
      replyTo: flags['reply-to'],
      header: flags.header,
      subject: base.subject,
      text: base.text,
      html: base.html,
      // The CLI reads attachment files itself and passes their bytes (message-options.ts).
      attachments: (base.attachments ?? []).map((attachment) => {
        const { filename, contentType, content } = attachment as AttachmentInput;
        const bytes = content === undefined || typeof content === 'string' || content instanceof Uint8Array ? content : undefined;
        return {
          filename,
          contentType,
          sha256: createHash('sha256')
            .update(bytes ?? '')
            .digest('hex'),
        };
      }),
    }),
  );
  return hash.digest('hex');
}

/** 32 hex digits from the fingerprint and the row's values: the same row of the same command, the same Message-ID. */
function rowId(fingerprint: string, row: CsvRow): string {
  return createHash('sha256').update(fingerprint).update('\u0000').update(JSON.stringify(row.values)).digest('hex').slice(0, 32);
}
