import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import {
  type AddressInput,
  createMailer,
  createMessage,
  createTransport,
  type EmailMessage,
  MailError,
  type MailErrorCode,
  type Mailer,
  type MailerInput,
  parseAddress,
  renderMime,
  type SendErrorEvent,
  type Transport,
} from '@mailport/core';
import { type AddressTemplate, compileAddressTemplate } from '../bulk-address.js';
import { type CsvFile, type CsvRow, openCsv } from '../bulk-csv.js';
import { type Journal, openJournal, type RowState } from '../bulk-journal.js';
import { type JournalLock, lockJournal } from '../bulk-lock.js';
import { type BulkCounts, createProgress, formatSeconds, parseInterval } from '../bulk-progress.js';
import { CellError, compileHeaderTemplates, compileTemplate, type HeaderTemplate, type RowTemplate } from '../bulk-template.js';
import { exitCodeFor, exitCodes, interruptedExitCode, UsageError } from '../exit-codes.js';
import type { CliIo } from '../io.js';
import { type MessageFlags, messageFromFlags } from '../message-options.js';
import { printError } from '../output.js';

/** The flags `send --csv` uses. */
export interface BulkFlags extends MessageFlags {
  readonly csv?: string | undefined;
  readonly url?: string | undefined;
  readonly json?: boolean | undefined;
  readonly 'dry-run'?: boolean | undefined;
  readonly concurrency?: string | undefined;
  readonly journal?: string | undefined;
  readonly 'retry-unknown'?: boolean | undefined;
  readonly 'retry-failed'?: boolean | undefined;
  readonly encoding?: string | undefined;
  readonly 'progress-interval'?: string | undefined;
  /** A Redis URL: enqueue the rows (bulk-enqueue.ts) instead of sending them here. */
  readonly queue?: string | undefined;
  readonly 'queue-name'?: string | undefined;
  readonly route?: string | undefined;
  readonly campaign?: string | undefined;
  /** `--send-log FILE`: the file send log each sent row is recorded in. */
  readonly 'send-log'?: string | undefined;
}

/** One row not sent (or one recipient of a sent row refused), for the summary. */
export interface Failure {
  readonly row: number;
  readonly recipient: string;
  readonly code: MailErrorCode | 'unexpected';
  readonly message: string;
  /** `now`: failed in this run; `earlier`: left from an earlier run; `recipient`: one refused recipient of a sent message. */
  readonly when: 'now' | 'earlier' | 'recipient';
}

/** What a bulk run did, also printed as JSON (one line on stdout) with `--json`. */
export interface BulkSummary {
  readonly csv: string;
  readonly journal: string;
  readonly transport: string;
  /** Rows read from the CSV. When the run stopped early (`complete: false`), the rows after were not read. */
  readonly rows: number;
  /** Whether every row of the file was read and dealt with. */
  readonly complete: boolean;
  readonly sent: number;
  readonly alreadySent: number;
  readonly failed: number;
  readonly failedSkipped: number;
  readonly unknown: number;
  readonly unknownSkipped: number;
  /** Rows read but not attempted (the run stopped first); the rows after them were not read either. */
  readonly notAttempted: number;
  /** The first row not attempted when the run stopped early: a re-run starts sending there. */
  readonly stoppedAtRow: number | undefined;
  readonly stoppedBy: string | undefined;
  readonly elapsedMs: number;
  /** The first failures in row order (at most {@link listedFailures}); `failuresNotListed` counts the rest, all in the journal. */
  readonly failures: readonly Failure[];
  readonly failuresNotListed: number;
  /** The error that stopped the run, if one did. */
  readonly error: Record<string, unknown> | undefined;
}

/** How many failures the summary lists; the journal has them all. */
export const listedFailures = 1000;

// Errors that every row would hit: stop starting new rows.
const runWide: ReadonlySet<MailErrorCode> = new Set<MailErrorCode>(['auth', 'configuration', 'quota-exceeded']);

/**
 * Connection failures in a row (attempts that failed before reaching the server, with no
 * success in between) that mean the transport is down: stop rather than try every row three
 * times. Five lets a server restart or a dropped pooled connection pass.
 */
export const deadTransportAfter = 5;

/**
 * `mailport send --csv FILE`: one message per row, with `{{column}}` templates, bounded
 * concurrency, progress and a summary, and a journal that makes a re-run after a crash or
 * Ctrl-C send only what was not sent: nothing lost, nothing sent twice.
 *
 * The CSV is streamed: a row is read, checked, built, journalled and sent while the next ones
 * wait in the file, so memory stays flat whatever the number of rows and the first message
 * leaves at once. A row whose values make no valid message fails alone, naming its row and
 * column; a problem with the file itself (encoding, CSV syntax, a changed row) stops the run at
 * that row.
 */
export async function runBulk(flags: BulkFlags, io: CliIo): Promise<number> {
  const started = Date.now();
  const json = flags.json === true;
  const concurrency = flags.concurrency === undefined ? undefined : positiveInteger(flags.concurrency, '--concurrency');
  const intervalMs = parseInterval(flags['progress-interval']);
  const csvPath = resolve(io.cwd, flags.csv ?? '');

  let csv: CsvFile;
  let base: MailerInput;
  try {
    // Addresses and headers are templates, built per row below.
    base = await messageFromFlags(
      { ...flags, to: undefined, cc: undefined, bcc: undefined, from: undefined, 'reply-to': undefined, header: undefined },
      io,
    );
    csv = await openCsv(csvPath, { encoding: flags.encoding, display: flags.csv ?? '' });
  } catch (error) {
    if (error instanceof UsageError) throw error;
    printError(io, error, json);
    return exitCodeFor(error);
  }

  try {
    const templates = compileTemplates(flags, base, csv.columns, io);
    if (flags['dry-run'] === true) return await dryRun(csv, templates, base, io, json);
    if (flags.queue !== undefined) {
      const { enqueueRows } = await import('./bulk-enqueue.js');
      return await enqueueRows({ flags, io, csv, csvPath, templates, base, started });
    }
    const url = flags.url ?? io.env.MAILPORT_URL;
    if (url === undefined || url === '') {
      printError(
        io,
        new MailError('configuration', 'No transport: give --url or set MAILPORT_URL', {
          remediation: 'For example --url smtp://user:password@smtp.example.com:587, or MAILPORT_URL=ses://eu-west-1.',
        }),
        json,
      );
      return exitCodes.configuration;
    }
    const journalPath = resolve(io.cwd, flags.journal ?? `${flags.csv}.journal`);
    return await send({ flags, io, csv, csvPath, journalPath, url, templates, base, concurrency, intervalMs, started });
  } finally {
    await csv.close();
  }
}

interface SendContext {
  readonly flags: BulkFlags;
  readonly io: CliIo;
  readonly csv: CsvFile;
  readonly csvPath: string;
  readonly journalPath: string;
  readonly url: string;
  readonly templates: Templates;
  readonly base: MailerInput;
  readonly concurrency: number | undefined;
  readonly intervalMs: number;
  readonly started: number;
}

// A row handed to the mailer, until its outcome comes back.
interface InFlight {
  readonly row: number;
  readonly hash: string;
  readonly recipient: string;
}

async function send(context: SendContext): Promise<number> {
  const { flags, io, csv, csvPath, journalPath, url, templates, base, started } = context;
  const json = flags.json === true;
  const notice = (text: string): void => {
    io.stderr.write(json ? `${JSON.stringify({ type: 'notice', message: text })}\n` : `mailport: note: ${text}\n`);
  };

  let lock: JournalLock | undefined;
  let journal: Journal | undefined;
  let transport: Transport | undefined;
  try {
    // First: a transport URL that does not work leaves no journal behind.
    transport = await createTransport(url, { env: io.env });
    lock = await lockJournal(journalPath, { notice });
    journal = await openJournal(journalPath, { csv: csvPath, columns: csv.columns });
    for (const text of journal.notices) notice(text);
    if (journal.columns !== undefined && journal.columns.join('\u0000') !== csv.columns.join('\u0000')) {
      throw new MailError(
        'invalid-message',
        `--csv ${flags.csv}: the header row changed since ${journalPath} was written (it was: ${journal.columns.join(', ')}; now: ${csv.columns.join(', ')})`,
        { field: 'csv', remediation: changedRemediation },
      );
    }
  } catch (error) {
    await journal?.close().catch(() => {});
    await lock?.release();
    await transport?.close?.();
    if (error instanceof UsageError) throw error;
    printError(io, error, json);
    return exitCodeFor(error);
  }
  const activeJournal = journal;

  const counts: BulkCounts = { sent: 0, failed: 0, unknown: 0, skipped: 0 };
  let alreadySent = 0;
  let failedSkipped = 0;
  let unknownSkipped = 0;
  let rowsRead = 0;
  let notAttempted = 0;
  let stoppedAtRow: number | undefined;
  let inputEnded = false;
  const failures = new FailureList(listedFailures);

  // Why the run stops early, if it does. The first reason wins.
  let stop: { reason: string; error: MailError | undefined; kind: 'interrupted' | 'run-wide' | 'dead' | 'input' | 'journal' } | undefined;
  const stopWith = (kind: NonNullable<typeof stop>['kind'], reason: string, error?: MailError): void => {
    stop ??= { kind, reason, error };
  };
  let connectionFailures = 0;
  const inFlight = new Map<string, InFlight>();
  const cancelled = new Set<string>();
  const launched: string[] = [];

  const progress = createProgress(io, {
    json,
    intervalMs: context.intervalMs,
    snapshot: () => {
      const position = csv.position();
      return { counts, parsedRows: position.rows, parsedAll: position.parsedAll, bytesParsed: position.bytesParsed, size: csv.size };
    },
  });

  const recordFailure = (row: number, recipient: string, error: unknown, when: Failure['when'] = 'now'): void => {
    failures.add({
      row,
      recipient,
      code: MailError.isInstance(error) ? error.code : 'unexpected',
      message: error instanceof Error ? error.message : String(error),
      when,
    });
  };
  const journalBroken = (error: unknown): void => {
    stopWith('journal', 'the journal could not be written', MailError.isInstance(error) ? error : undefined);
  };

  const { openSendLog } = await import('./send.js');
  const sendLog = await openSendLog(flags['send-log'], io);
  const mailer: Mailer = createMailer({
    transport,
    ...(sendLog === undefined ? {} : { sendLog }),
    hooks: {
      beforeSend: async ({ message }) => {
        const row = inFlight.get(message.messageId);
        if (row === undefined) return undefined;
        // Rows already taken by the mailer when the run stopped are not started: a re-run sends them.
        if (stop !== undefined) {
          cancelled.add(message.messageId);
          return false;
        }
        try {
          await activeJournal.start(row.row, row.hash, message.messageId);
        } catch (error) {
          journalBroken(error);
          cancelled.add(message.messageId);
          return false;
        }
        return undefined;
      },
      afterSend: ({ message, receipt }) => {
        connectionFailures = 0;
        const row = inFlight.get(message.messageId);
        // Queued in order at once; not awaited: the line is not flushed anyway (losing it only makes the row look unknown).
        if (row !== undefined) void activeJournal.sent(row.row, receipt).catch(journalBroken);
      },
      onError: (event: SendErrorEvent) => {
        const { message, error } = event;
        if (message === undefined || cancelled.has(message.messageId)) return;
        if (isConnectionFailure(error)) {
          connectionFailures++;
          if (connectionFailures >= deadTransportAfter) {
            stopWith(
              'dead',
              `${deadTransportAfter} connection failures in a row`,
              new MailError('transient', `Stopped after ${deadTransportAfter} connection failures in a row: ${error.message}`, {
                transport: error.transport,
                remediation:
                  'Check that the server is up and reachable (mailport verify, mailport doctor), then run the same command again: ' +
                  'rows not attempted are sent then, and rows that failed for now are retried.',
              }),
            );
          }
        } else connectionFailures = 0;
        const row = inFlight.get(message.messageId);
        if (row !== undefined && !event.willRetry) void activeJournal.failed(row.row, error).catch(journalBroken);
      },
    },
  });

  async function* inputs(): AsyncGenerator<EmailMessage> {
    try {
      for await (const row of csv.rows()) {
        rowsRead++;
        if (io.signal.aborted) {
          const bySigterm = interruptedExitCode(io.signal.reason) === exitCodes.terminated;
          stopWith('interrupted', bySigterm ? 'terminated (SIGTERM)' : 'interrupted (Ctrl-C)');
        }
        if (stop !== undefined) {
          notAttempted++;
          stoppedAtRow ??= row.number;
          return;
        }
        const hash = rowHash(row);
        const previous = activeJournal.previous(row.number);
        if (previous !== undefined && previous.hash !== '' && !hash.startsWith(previous.hash)) {
          // A row refused for its values and corrected since is simply sent; any other row must be the same row.
          if (!(previous.kind === 'failed' && previous.stage === 'input')) {
            notAttempted++;
            stoppedAtRow ??= row.number;
            stopWith(
              'input',
              `row ${row.number} of the CSV changed`,
              new MailError(
                'invalid-message',
                `--csv ${flags.csv}: row ${row.number} changed since ${journalPath} was written (its values differ from those the journal recorded as ${describeState(previous)}); nothing is sent from it on`,
                { field: 'csv', remediation: changedRemediation },
              ),
            );
            return;
          }
        } else {
          const decision = decide(previous, flags);
          if (decision !== 'send') {
            counts.skipped++;
            if (decision === 'skip-sent') alreadySent++;
            else if (decision === 'skip-unknown') {
              unknownSkipped++;
              failures.add({
                row: row.number,
                recipient: templates.to.describe(row.values),
                code: 'unknown-outcome',
                message: 'an earlier run started this row and never learnt the outcome',
                when: 'earlier',
              });
            } else if (previous?.kind === 'failed') {
              failedSkipped++;
              failures.add({
                row: row.number,
                recipient: templates.to.describe(row.values),
                code: previous.code,
                message: previous.message,
                when: 'earlier',
              });
            }
            progress.update();
            continue;
          }
        }
        let message: EmailMessage;
        try {
          const messageId =
            previous !== undefined && previous.kind !== 'sent' && previous.messageId !== '' ? previous.messageId : undefined;
          message = buildMessage(
            row,
            templates,
            base,
            csv.columns,
            messageId ?? ((from) => `<mailport.${activeJournal.runId}.${row.number}@${domainOf(from)}>`),
          );
        } catch (error) {
          await activeJournal.failed(row.number, error, { hash }).catch(journalBroken);
          counts.failed++;
          recordFailure(row.number, templates.to.describe(row.values), error);
          progress.update();
          continue;
        }
        inFlight.set(message.messageId, { row: row.number, hash, recipient: templates.to.describe(row.values) });
        launched.push(message.messageId);
        yield message;
      }
      inputEnded = true;
    } catch (error) {
      // A CSV problem part-way: the rows in flight finish, the rest wait for a re-run.
      if (MailError.isInstance(error)) stopWith('input', 'the CSV file', error);
      else stopWith('input', (error as Error).message, new MailError('invalid-message', `--csv ${flags.csv}: ${(error as Error).message}`));
      stoppedAtRow ??= rowsRead + 1;
    }
  }

  try {
    const concurrency = context.concurrency ?? transport.capabilities.concurrency;
    // Not the caller's signal: Ctrl-C stops new rows (above) and lets the sends in flight finish, not cut mid-transfer.
    for await (const outcome of mailer.sendMany(inputs(), { concurrency })) {
      const messageId = launched.shift() as string;
      const row = inFlight.get(messageId) as InFlight;
      inFlight.delete(messageId);
      if (cancelled.delete(messageId)) {
        notAttempted++;
        stoppedAtRow = Math.min(stoppedAtRow ?? row.row, row.row);
      } else if (outcome.ok) {
        counts.sent++;
        for (const rejected of outcome.receipt.rejected) {
          failures.add({
            row: row.row,
            recipient: rejected.address,
            code: 'recipient-rejected',
            message: rejected.message,
            when: 'recipient',
          });
        }
      } else {
        if (outcome.error.code === 'unknown-outcome') counts.unknown++;
        else counts.failed++;
        recordFailure(row.row, row.recipient, outcome.error);
        if (runWide.has(outcome.error.code))
          stopWith('run-wide', `${outcome.error.code}: every row would fail the same way`, outcome.error);
      }
      progress.update();
    }
  } catch (error) {
    stopWith('journal', (error as Error).message, MailError.isInstance(error) ? error : undefined);
    if (!MailError.isInstance(error)) throw error;
  } finally {
    progress.finish();
    await mailer.close();
    await activeJournal.close().catch(journalBroken);
    await lock.release();
  }

  const current = stop as typeof stop;
  const summary: BulkSummary = {
    csv: csvPath,
    journal: journalPath,
    transport: transport.id,
    rows: rowsRead,
    complete: inputEnded && current === undefined,
    sent: counts.sent,
    alreadySent,
    failed: counts.failed,
    failedSkipped,
    unknown: counts.unknown,
    unknownSkipped,
    notAttempted,
    stoppedAtRow: inputEnded && current === undefined ? undefined : stoppedAtRow,
    stoppedBy: current?.reason,
    elapsedMs: Date.now() - started,
    failures: failures.list(),
    failuresNotListed: failures.total - failures.list().length,
    error: current?.error?.toJSON(),
  };
  if (json) io.stdout.write(`${JSON.stringify(summary)}\n`);
  else {
    io.stdout.write(describeSummary(summary, counts));
    if (current?.error !== undefined) printError(io, current.error);
  }
  if (current?.kind === 'interrupted') return interruptedExitCode(io.signal.reason);
  if (current?.error !== undefined) return exitCodeFor(current.error);
  return summary.complete && summary.sent + summary.alreadySent === summary.rows ? exitCodes.ok : exitCodes.partial;
}

const changedRemediation =
  'Restore the CSV the journal belongs to (rows may be added at the end), or pass --journal with a new file to start a new run: ' +
  'its rows are then all sent again.';

/** A failed attempt that never reached the server: refused connection, DNS, connect timeout. No reply code, nothing handed over. */
function isConnectionFailure(error: MailError): boolean {
  return (error.code === 'transient' || error.code === 'timeout') && error.statusCode === undefined;
}

type Decision = 'send' | 'skip-sent' | 'skip-unknown' | 'skip-failed';

function decide(previous: RowState | undefined, flags: BulkFlags): Decision {
  if (previous === undefined) return 'send';
  if (previous.kind === 'sent') return 'skip-sent';
  const unknown = previous.kind === 'started' || previous.code === 'unknown-outcome';
  if (unknown) return flags['retry-unknown'] === true ? 'send' : 'skip-unknown';
  if (previous.retryable || flags['retry-failed'] === true) return 'send';
  return 'skip-failed';
}

function describeState(state: RowState): string {
  return state.kind === 'sent' ? 'sent' : state.kind === 'started' ? 'started' : 'failed';
}

/** The row's values, hashed (16 hex digits) to notice an edited CSV between runs. */
function rowHash(row: CsvRow): string {
  return createHash('sha256').update(JSON.stringify(row.values)).digest('hex').slice(0, 16);
}

/** The message's templates, compiled once against the CSV's columns; also used by bulk-enqueue.ts. */
export interface Templates {
  readonly from: AddressTemplate;
  readonly to: AddressTemplate;
  readonly cc: AddressTemplate | undefined;
  readonly bcc: AddressTemplate | undefined;
  readonly replyTo: AddressTemplate | undefined;
  readonly subject: RowTemplate | undefined;
  readonly text: RowTemplate | undefined;
  readonly html: RowTemplate | undefined;
  readonly headers: readonly HeaderTemplate[];
}

function compileTemplates(flags: BulkFlags, base: MailerInput, columns: readonly string[], io: CliIo): Templates {
  const plain = (source: string | undefined, flag: string): RowTemplate | undefined =>
    source === undefined ? undefined : compileTemplate(source, { html: false, columns, flag });
  const addresses = (sources: readonly string[] | undefined, flag: string): AddressTemplate | undefined =>
    sources === undefined || sources.length === 0 ? undefined : compileAddressTemplate(sources, { flag, columns });
  const defaultTo = ['to', 'email', 'Email', 'EMAIL', 'To'].find((column) => columns.includes(column));
  const to = addresses(flags.to, '--to') ?? addresses(defaultTo === undefined ? undefined : [`{{${defaultTo}}}`], '--to');
  if (to === undefined) throw new UsageError(`give --to "{{column}}", or a "to" or "email" column (the CSV has: ${columns.join(', ')})`);
  const fromSource = flags.from ?? io.env.MAILPORT_FROM;
  if (fromSource === undefined || fromSource === '') throw new UsageError('--from is required (or set MAILPORT_FROM)');
  return {
    from: compileAddressTemplate([fromSource], { flag: '--from', columns, single: true }),
    to,
    cc: addresses(flags.cc, '--cc'),
    bcc: addresses(flags.bcc, '--bcc'),
    replyTo: addresses(flags['reply-to'] === undefined ? undefined : [flags['reply-to']], '--reply-to'),
    subject: plain(base.subject, '--subject'),
    text: plain(base.text, flags['text-file'] === undefined ? '--text' : '--text-file'),
    html:
      base.html === undefined
        ? undefined
        : compileTemplate(base.html, { html: true, columns, flag: flags['html-file'] === undefined ? '--html' : '--html-file' }),
    headers: compileHeaderTemplates(flags.header ?? [], columns),
  };
}

/**
 * Builds and checks a row's message. Throws an `invalid-message` error that names the row and
 * the column at fault: the value that broke an address, a header or the subject.
 */
export function buildMessage(
  row: CsvRow,
  templates: Templates,
  base: MailerInput,
  columns: readonly string[],
  messageId: string | ((from: AddressInput) => string),
): EmailMessage {
  const { values } = row;
  if (values.length !== columns.length) {
    throw new MailError(
      'invalid-message',
      `row ${row.number} has ${values.length} values, but the header row names ${columns.length} columns (a comma in a value that is not quoted?)`,
      { field: 'csv', remediation: 'Quote values that hold commas, then run again: the journal sends only what was not sent.' },
    );
  }
  try {
    const from = templates.from.render(values)[0];
    if (from === undefined) throw new CellError(templates.from.columns, '--from: is empty');
    const headers: Record<string, string[]> = {};
    for (const header of templates.headers) headers[header.name] = [...(headers[header.name] ?? []), header.value.render(values)];
    const input: MailerInput & { from: AddressInput } = {
      ...base,
      from,
      to: templates.to.render(values),
      cc: templates.cc?.render(values),
      bcc: templates.bcc?.render(values),
      replyTo: templates.replyTo?.render(values),
      subject: templates.subject?.render(values),
      text: templates.text?.render(values),
      html: templates.html?.render(values),
      headers: templates.headers.length === 0 ? base.headers : headers,
      messageId: typeof messageId === 'string' ? messageId : messageId(from),
    };
    return createMessage(input);
  } catch (error) {
    // An address value (checked as it is built), or what core refused: both name the row and column.
    if (error instanceof CellError) throw rowError(row, error.columns, error.message);
    if (MailError.isInstance(error) && error.code === 'invalid-message')
      throw rowError(row, blame(error.field, templates, columns, values), error.message);
    throw error;
  }
}

function rowError(row: CsvRow, columns: readonly string[], problem: string): MailError {
  const where = columns.length === 0 ? '' : `, column${columns.length > 1 ? 's' : ''} ${columns.map((column) => `"${column}"`).join(', ')}`;
  return new MailError('invalid-message', `row ${row.number}${where}: ${problem}`, {
    field: 'csv',
    remediation: 'Fix the value in the CSV, then run the same command again: only what was not sent is sent (check first with --dry-run).',
  });
}

// A value with a line break or another control character is what core refuses in headers and names.
const control = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f]/;

/** The columns behind the field core refused: those of its template holding a control character, else all of them. */
function blame(field: string | undefined, templates: Templates, columns: readonly string[], values: readonly string[]): readonly string[] {
  if (field === undefined) return [];
  const name = field.replace(/\[\d+\].*$/, '').replace(/\..*$/, '');
  const template: { columns: readonly string[] } | undefined =
    name === 'subject'
      ? templates.subject
      : name === 'text'
        ? templates.text
        : name === 'html'
          ? templates.html
          : name === 'headers'
            ? templates.headers.find((header) => `headers.${header.name}` === field.replace(/\[\d+\]$/, ''))?.value
            : name === 'from'
              ? templates.from
              : name === 'to' || name === 'cc' || name === 'bcc'
                ? { columns: [templates.to, templates.cc, templates.bcc].flatMap((template) => template?.columns ?? []) }
                : name === 'replyTo'
                  ? templates.replyTo
                  : undefined;
  if (template === undefined) return [];
  const holding = template.columns.filter((column) => control.test(values[columns.indexOf(column)] ?? ''));
  return holding.length > 0 ? holding : template.columns;
}

/** The domain of the sender's address, for a Message-ID; `mailport.invalid` when it has none. */
export function domainOf(from: AddressInput): string {
  try {
    const address = parseAddress(from, 'from').address;
    return address.slice(address.lastIndexOf('@') + 1);
  } catch {
    return 'mailport.invalid';
  }
}

function positiveInteger(value: string, flag: string): number {
  const number = Number(value);
  if (!Number.isInteger(number) || number < 1) throw new UsageError(`${flag} needs a whole number of at least 1, not ${value}`);
  return number;
}

/** Every row's message is built and checked, as the file streams; the first is printed; nothing is sent. */
async function dryRun(csv: CsvFile, templates: Templates, base: MailerInput, io: CliIo, json: boolean): Promise<number> {
  let rows = 0;
  let invalid = 0;
  const problems: { row: number; message: string }[] = [];
  let first: EmailMessage | undefined;
  try {
    for await (const row of csv.rows()) {
      rows++;
      try {
        const message = buildMessage(row, templates, base, csv.columns, `<mailport.dry-run.${row.number}@mailport.invalid>`);
        first ??= message;
      } catch (error) {
        invalid++;
        const text = (error as Error).message;
        if (problems.length < listedFailures) problems.push({ row: row.number, message: text });
        if (!json) io.stderr.write(`${text}\n`);
      }
    }
  } catch (error) {
    printError(io, error, json);
    return exitCodeFor(error);
  }
  if (json) {
    io.stdout.write(
      `${JSON.stringify({ dryRun: true, rows, valid: rows - invalid, invalid, problems, problemsNotListed: invalid - problems.length })}\n`,
    );
  } else {
    if (first !== undefined) io.stdout.write((await renderMime(first)).toString('utf8'));
    io.stderr.write(`# dry run: ${rows} rows, ${rows - invalid} valid, ${invalid} invalid; nothing sent, no journal written\n`);
  }
  return invalid === 0 ? exitCodes.ok : exitCodes.invalidInput;
}

/** The first failures in row order, and how many there were: memory stays bounded however many rows fail. */
class FailureList {
  readonly #limit: number;
  readonly #items: Failure[] = [];
  total = 0;

  constructor(limit: number) {
    this.#limit = limit;
  }

  add(failure: Failure): void {
    this.total++;
    const items = this.#items;
    if (items.length >= this.#limit && (items.at(-1) as Failure).row <= failure.row) return;
    // Outcomes arrive nearly in row order, so this searches from the end.
    let index = items.length;
    while (index > 0 && (items[index - 1] as Failure).row > failure.row) index--;
    items.splice(index, 0, failure);
    if (items.length > this.#limit) items.pop();
  }

  list(): readonly Failure[] {
    return this.#items;
  }
}

function describeSummary(summary: BulkSummary, counts: BulkCounts): string {
  const attempted = counts.sent + counts.failed + counts.unknown;
  const rate = attempted === 0 ? 0 : attempted / Math.max(summary.elapsedMs / 1000, 0.001);
  const line = (label: string, value: number, note = ''): string =>
    `  ${label.padEnd(22)}${String(value).padStart(7)}${note === '' ? '' : `   ${note}`}\n`;
  let text = `Bulk send of ${summary.csv} (${summary.rows} rows${summary.complete ? '' : ' read'})${summary.transport === '' ? '' : ` via ${summary.transport}`}\n`;
  text += line('sent now', summary.sent);
  text += line('already sent', summary.alreadySent, summary.alreadySent > 0 ? 'by an earlier run' : '');
  text += line(
    'failed',
    summary.failed,
    byCode(summary.failures.filter((failure) => failure.when === 'now' && failure.code !== 'unknown-outcome')),
  );
  if (summary.failedSkipped > 0) text += line('failed earlier', summary.failedSkipped, 'not retried: --retry-failed sends them again');
  text += line(
    'unknown outcome',
    summary.unknown + summary.unknownSkipped,
    summary.unknown + summary.unknownSkipped > 0 ? 'may have been delivered: check, then --retry-unknown' : '',
  );
  if (!summary.complete) {
    text += line(
      'not attempted',
      summary.notAttempted,
      `stopped: ${summary.stoppedBy ?? 'unknown'}${summary.stoppedAtRow === undefined ? '' : `; row ${summary.stoppedAtRow} and every row after it were not sent: run the same command again to send them`}`,
    );
  }
  text += `  took ${formatSeconds(summary.elapsedMs / 1000)}, ${rate.toFixed(1)} msg/s; journal ${summary.journal}\n`;
  const shown = summary.failures.slice(0, 20);
  if (shown.length > 0) {
    text += 'Not sent (row, recipient, why):\n';
    for (const failure of shown)
      text += `  row ${String(failure.row).padEnd(5)} ${failure.recipient.padEnd(28)} ${failure.code}: ${failure.message}\n`;
    const more = summary.failures.length + summary.failuresNotListed - shown.length;
    if (more > 0) text += `  ... and ${more} more (all in the journal${summary.failuresNotListed > 0 ? '' : '; --json lists them'})\n`;
  }
  return text;
}

function byCode(failures: readonly Failure[]): string {
  const counts = new Map<string, number>();
  for (const failure of failures) counts.set(failure.code, (counts.get(failure.code) ?? 0) + 1);
  return [...counts].map(([code, count]) => `${count} ${code}`).join(', ');
}
