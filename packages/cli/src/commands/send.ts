import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createMailer, createMessage, MailError, renderMime } from '@mailport/core';
import { exitCodeFor, exitCodes, interruptedExitCode, UsageError } from '../exit-codes.js';
import type { CliIo } from '../io.js';
import { messageFlagOptions, messageFromFlags } from '../message-options.js';
import { describeReceipt, printError } from '../output.js';
import { queueKeyFromEnv, redisError } from '../worker-config.js';

export const sendHelp = `mailport send: send one message, or one per row of a CSV file

  mailport send --to ana@example.org --from app@example.com --subject Hi --text Hello [--url URL]
  mailport send --csv recipients.csv --from app@example.com --subject "Hi {{name}}" --text-file body.txt

Message:
  --to ADDRESS          recipient (repeatable); "Name <address>" works, quoted
  --cc, --bcc ADDRESS   (repeatable)
  --from ADDRESS        sender (default: $MAILPORT_FROM)
  --reply-to ADDRESS
  --subject TEXT
  --text TEXT | --text-file FILE
  --html HTML | --html-file FILE
  --attach FILE         attachment (repeatable)
  --header "Name: value" custom header (repeatable)

Transport:
  --url URL             transport URL (default: $MAILPORT_URL), e.g. smtp://user:pass@host:587, ses://eu-west-1
  --dry-run             print the message (MIME) and send nothing
  --json                print the receipt (or error) as JSON
  --send-log FILE       append each sent message (Message-ID, provider id, recipients) to FILE,
                        JSON lines, so that mailport events can join bounces to it (also with --csv)

Bulk (--csv): the subject, bodies and addresses may use {{column}} from each row; a "to" or
"email" column is the recipient unless --to says otherwise. A journal records every row, so a
re-run after a crash or Ctrl-C sends only what was not sent yet.
  --csv FILE            one message per row (RFC 4180, a header row names the columns)
  --concurrency N       sends in flight (default: what the transport suggests)
  --journal FILE        default: FILE.journal next to the CSV
  --retry-unknown       also resend rows whose outcome is unknown (they may arrive twice)
  --retry-failed        also resend rows that failed permanently
  --encoding LABEL      the CSV's encoding: utf-8 (default), windows-1252, iso-8859-15, utf-16le, shift_jis, ...
  --progress-interval T progress line (JSON with --json) every T outside a terminal (default 10s)

Queue (@mailport/queue-bullmq): enqueue instead of sending here; workers send (mailport worker).
  --queue URL           Redis, e.g. redis://127.0.0.1:6379: store the message (or each row) as a job
  --queue-name NAME     the queue (default: mail)
  --route NAME          the workers' route to send through (default: the workers' choice)
  --campaign TEXT       with --csv: part of each row's Message-ID (below); another TEXT is another mailing
  With --csv, each row's Message-ID (and job id) derives from its values and the message's templates,
  so running the same command again stores nothing new: rows already queued (or sent within the
  queue's deduplication window, 7 days) are counted as already queued. No journal is written.
  MAILPORT_QUEUE_KEY (base64, 32 bytes) seals each job with AES-256-GCM; the workers need the key.

Exit codes: 0 sent (or enqueued), 2 usage, 3 invalid input, 4 configuration, 5 auth, 6 rejected,
7 rate limited or quota, 8 temporary failure (or Redis unreachable), 9 unknown outcome, 10 bulk
run not all sent (or rows invalid), 130 interrupted (Ctrl-C), 143 stopped by SIGTERM.
`;

/** `mailport send`. */
export async function runSend(argv: readonly string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      ...messageFlagOptions,
      url: { type: 'string' },
      'dry-run': { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      csv: { type: 'string' },
      concurrency: { type: 'string' },
      journal: { type: 'string' },
      'retry-unknown': { type: 'boolean', default: false },
      'retry-failed': { type: 'boolean', default: false },
      encoding: { type: 'string' },
      'progress-interval': { type: 'string' },
      queue: { type: 'string' },
      'queue-name': { type: 'string' },
      route: { type: 'string' },
      campaign: { type: 'string' },
      'send-log': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) {
    io.stdout.write(sendHelp);
    return exitCodes.ok;
  }
  if (values.queue === undefined && (values['queue-name'] ?? values.route) !== undefined)
    throw new UsageError('--queue-name and --route go with --queue REDIS-URL');
  if (values.campaign !== undefined && (values.csv === undefined || values.queue === undefined))
    throw new UsageError('--campaign goes with --csv and --queue');
  if (values['send-log'] !== undefined && (values.queue !== undefined || values['dry-run']))
    throw new UsageError('--send-log records what this command sends: not with --queue (the workers send) or --dry-run');
  if (values['send-log'] === '') throw new UsageError('--send-log needs a file path');
  if (values.csv !== undefined) {
    const { runBulk } = await import('./bulk.js');
    return runBulk(values, io);
  }
  const json = values.json;
  try {
    const input = await messageFromFlags(values, io);
    const from = input.from ?? io.env.MAILPORT_FROM;
    if (from === undefined) throw new UsageError('--from is required (or set MAILPORT_FROM)');
    const message = createMessage({ ...input, from });
    if (values['dry-run']) {
      io.stdout.write((await renderMime(message)).toString('utf8'));
      io.stderr.write(`# dry run: nothing sent; envelope from ${message.envelope.from} to ${message.envelope.to.join(', ')}\n`);
      return exitCodes.ok;
    }
    if (values.queue !== undefined) {
      const { createMailQueue } = await import('@mailport/queue-bullmq');
      await using queue = createMailQueue({
        connection: values.queue,
        name: values['queue-name'],
        encryptionKey: queueKeyFromEnv(io.env),
        onWarning: (warning) => io.stderr.write(`mailport send: warning: ${warning}\n`),
      });
      const result = await queue.enqueue(message, { route: values.route }).catch((error: unknown) => {
        throw redisError(error, values.queue as string);
      });
      io.stdout.write(
        json ? `${JSON.stringify(result)}\n` : `enqueued ${result.messageId}\n  job       ${result.jobId}\n  queue     ${queue.name}\n`,
      );
      return exitCodes.ok;
    }
    const url = values.url ?? io.env.MAILPORT_URL;
    if (url === undefined || url === '') {
      throw new MailError('configuration', 'No transport: give --url or set MAILPORT_URL', {
        remediation: 'For example --url smtp://user:password@smtp.example.com:587, or MAILPORT_URL=ses://eu-west-1.',
      });
    }
    const sendLog = await openSendLog(values['send-log'], io);
    await using mailer = createMailer({ transport: url, transportOptions: { env: io.env }, ...(sendLog === undefined ? {} : { sendLog }) });
    const receipt = await mailer.send(message, { signal: io.signal });
    io.stdout.write(json ? `${JSON.stringify(receipt)}\n` : describeReceipt(receipt));
    return exitCodes.ok;
  } catch (error) {
    if (error instanceof UsageError) throw error;
    if (io.signal.aborted && error === io.signal.reason) {
      io.stderr.write(
        `mailport send: ${(error as Error).message} before the provider answered: the message may or may not have been sent\n`,
      );
      return interruptedExitCode(error);
    }
    printError(io, error, json);
    return exitCodeFor(error);
  }
}

/**
 * `--send-log FILE`: the file send log of `@mailport/events` (JSON lines, shared with `mailport
 * events`), loaded only when asked for. The mailer records each accepted message in it.
 */
export async function openSendLog(path: string | undefined, io: CliIo): Promise<import('@mailport/events').FileSendLog | undefined> {
  if (path === undefined) return undefined;
  const { createFileSendLog } = await import('@mailport/events');
  return createFileSendLog(resolve(io.cwd, path));
}
