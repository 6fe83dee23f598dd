import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import {
  type AttachmentInput,
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
} from '@mailport/core';
import { parse } from 'csv-parse/sync';
import { type Journal, openJournal, type RowState } from '../bulk-journal.js';
import { type BulkCounts, createProgress, formatSeconds } from '../bulk-progress.js';
import { compileTemplate, type RowTemplate } from '../bulk-template.js';
import { exitCodeFor, exitCodes, UsageError } from '../exit-codes.js';
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
}

interface Row {
  /** 1-based, counting data rows (the header row is not one). */
  readonly number: number;
  readonly values: Readonly<Record<string, string>>;
  readonly hash: string;
}

interface Failure {
  readonly row: number;
  readonly recipient: string;
  readonly code: MailErrorCode | 'unexpected';
  readonly message: string;
  /** `now`: failed in this run; `earlier`: left from an earlier run; `recipient`: one refused recipient of a sent message. */
  readonly when: 'now' | 'earlier' | 'recipient';
}

/** What a bulk run did, also printed as JSON with `--json`. */
export interface BulkSummary {
  readonly csv: string;
  readonly journal: string;
  readonly transport: string;
  readonly rows: number;
  readonly sent: number;
  readonly alreadySent: number;
  readonly failed: number;
  readonly failedSkipped: number;
  readonly unknown: number;
  readonly unknownSkipped: number;
  readonly notAttempted: number;
  readonly stoppedBy: string | undefined;
  readonly elapsedMs: number;
  readonly failures: readonly Failure[];
}

// Errors that every row would hit: stop starting new rows.
const runWide: ReadonlySet<MailErrorCode> = new Set<MailErrorCode>(['auth', 'configuration', 'quota-exceeded']);

/**
 * `mailport send --csv FILE`: one message per row, with `{{column}}` templates, bounded
 * concurrency, a progress bar and a summary, and a journal that makes a re-run after a crash or
 * Ctrl-C send only what was not sent: nothing lost, nothing sent twice.
 */
export async function runBulk(flags: BulkFlags, io: CliIo): Promise<number> {
  const started = Date.now();
  const csvPath = resolve(io.cwd, flags.csv ?? '');
  const rows = await readRows(csvPath);
  const columns = rows.columns;
  const base = await messageFromFlags({ ...flags, to: undefined, cc: undefined, bcc: undefined }, io);
  const templates = compileTemplates(flags, base, columns, io);

  if (flags['dry-run'] === true) return dryRun(rows.rows, templates, base, io);

  const url = flags.url ?? io.env.MAILPORT_URL;
  if (url === undefined || url === '') {
    printError(
      io,
      new MailError('configuration', 'No transport: give --url or set MAILPORT_URL', {
        remediation: 'For example --url smtp://user:password@smtp.example.com:587, or MAILPORT_URL=ses://eu-west-1.',
      }),
      flags.json,
    );
    return exitCodes.configuration;
  }
  const journalPath = resolve(io.cwd, flags.journal ?? `${flags.csv}.journal`);
  let journal: Journal;
  let transportId = '';
  try {
    journal = await openJournal(journalPath, csvPath);
    assertSameCsv(rows.rows, journal.rows, journalPath);
  } catch (error) {
    printError(io, error, flags.json);
    return exitCodeFor(error);
  }

  const counts: BulkCounts = { sent: 0, failed: 0, unknown: 0, skipped: 0 };
  let alreadySent = 0;
  let failedSkipped = 0;
  let unknownSkipped = 0;
  const failures: Failure[] = [];
  const pending: Row[] = [];
  for (const row of rows.rows) {
    const previous = journal.rows.get(row.number);
    switch (decide(previous, flags)) {
      case 'skip-sent':
        alreadySent++;
        counts.skipped++;
        break;
      case 'skip-unknown':
        unknownSkipped++;
        counts.skipped++;
        failures.push({
          row: row.number,
          recipient: recipientOf(templates, row),
          code: 'unknown-outcome',
          message: 'an earlier run started this row and never learnt the outcome',
          when: 'earlier',
        });
        break;
      case 'skip-failed':
        failedSkipped++;
        counts.skipped++;
        if (previous?.kind === 'failed') {
          failures.push({
            row: row.number,
            recipient: recipientOf(templates, row),
            code: previous.code,
            message: previous.message,
            when: 'earlier',
          });
        }
        break;
      default:
        pending.push(row);
    }
  }

  const progress = createProgress(io, rows.rows.length);
  let stoppedBy: string | undefined;
  let runError: MailError | undefined;
  let mailer: Mailer | undefined;
  try {
    const transport = await createTransport(url, { env: io.env });
    transportId = transport.id;
    mailer = createMailer({ transport });
    const concurrency = flags.concurrency === undefined ? transport.capabilities.concurrency : positiveInteger(flags.concurrency);
    const domain = domainOf(templates.from.render(pending[0]?.values ?? {}));
    let next = 0;
    const active = mailer;
    const worker = async (): Promise<void> => {
      while (next < pending.length && stoppedBy === undefined) {
        if (io.signal.aborted) {
          stoppedBy = 'interrupted (Ctrl-C)';
          return;
        }
        const row = pending[next++] as Row;
        const previous = journal.rows.get(row.number);
        let message: EmailMessage;
        try {
          message = createMessage({
            ...renderRow(templates, base, row),
            // A stable id per row: a resend after an unknown outcome can be recognised as the same message.
            messageId: previous?.messageId || `<mailport.${journal.runId}.${row.number}@${domain}>`,
          });
        } catch (error) {
          await journal.failed(row.number, error);
          counts.failed++;
          failures.push(failureOf(row, templates, error));
          progress.update(counts);
          continue;
        }
        await journal.start(row.number, row.hash, message.messageId);
        try {
          // The caller's Ctrl-C stops new rows; a send already under way is let finish, so it is not cut mid-transfer.
          const receipt = await active.send(message);
          await journal.sent(row.number, receipt);
          counts.sent++;
          for (const rejected of receipt.rejected) {
            failures.push({
              row: row.number,
              recipient: rejected.address,
              code: 'recipient-rejected',
              message: rejected.message,
              when: 'recipient',
            });
          }
        } catch (error) {
          await journal.failed(row.number, error);
          if (MailError.isInstance(error) && error.code === 'unknown-outcome') counts.unknown++;
          else counts.failed++;
          failures.push(failureOf(row, templates, error));
          if (MailError.isInstance(error) && runWide.has(error.code)) {
            runError ??= error;
            stoppedBy ??= `${error.code}: every row would fail the same way`;
          }
        }
        progress.update(counts);
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, Math.max(pending.length, 1)) }, worker));
  } catch (error) {
    runError = MailError.isInstance(error) ? error : runError;
    stoppedBy = (error as Error).message;
    if (!MailError.isInstance(error)) throw error;
  } finally {
    progress.finish();
    await mailer?.close();
    await journal.close();
  }

  const attempted = counts.sent + counts.failed + counts.unknown;
  const summary: BulkSummary = {
    csv: csvPath,
    journal: journalPath,
    transport: transportId,
    rows: rows.rows.length,
    sent: counts.sent,
    alreadySent,
    failed: counts.failed,
    failedSkipped,
    unknown: counts.unknown,
    unknownSkipped,
    notAttempted: pending.length - attempted,
    stoppedBy,
    elapsedMs: Date.now() - started,
    failures,
  };
  if (flags.json === true) io.stdout.write(`${JSON.stringify(summary)}\n`);
  else io.stdout.write(describeSummary(summary, counts));
  if (runError !== undefined) {
    if (flags.json !== true) printError(io, runError);
    return exitCodeFor(runError);
  }
  return summary.sent + summary.alreadySent === summary.rows ? exitCodes.ok : exitCodes.partial;
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

async function readRows(path: string): Promise<{ columns: readonly string[]; rows: readonly Row[] }> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new MailError('invalid-message', `--csv ${path}: ${(error as Error).message}`, { field: 'csv', remediation: 'Check the path.' });
  }
  let records: Record<string, string>[];
  try {
    records = parse(text, { columns: true, bom: true, skip_empty_lines: true }) as Record<string, string>[];
  } catch (error) {
    throw new MailError('invalid-message', `--csv ${path} is not valid CSV: ${(error as Error).message}`, {
      field: 'csv',
      remediation: 'Use RFC 4180 CSV with a header row that names the columns.',
    });
  }
  const header = text.replace(/^\uFEFF/, '').split(/\r?\n/, 1)[0] ?? '';
  const columns = records[0] === undefined ? (parse(header, { bom: true })[0] ?? []) : Object.keys(records[0]);
  return {
    columns,
    rows: records.map((values, index) => ({
      number: index + 1,
      values,
      hash: createHash('sha256')
        .update(JSON.stringify(columns.map((column) => values[column] ?? '')))
        .digest('hex')
        .slice(0, 16),
    })),
  };
}

interface Templates {
  readonly from: RowTemplate;
  readonly to: RowTemplate;
  readonly cc: RowTemplate | undefined;
  readonly bcc: RowTemplate | undefined;
  readonly replyTo: RowTemplate | undefined;
  readonly subject: RowTemplate | undefined;
  readonly text: RowTemplate | undefined;
  readonly html: RowTemplate | undefined;
}

function compileTemplates(flags: BulkFlags, base: MailerInput, columns: readonly string[], io: CliIo): Templates {
  const plain = (source: string | undefined, flag: string): RowTemplate | undefined =>
    source === undefined ? undefined : compileTemplate(source, { html: false, available: columns, flag });
  const list = (values: string[] | undefined, flag: string): RowTemplate | undefined =>
    values === undefined || values.length === 0 ? undefined : plain(values.join(', '), flag);
  const defaultTo = ['to', 'email', 'Email', 'EMAIL', 'To'].find((column) => columns.includes(column));
  const to = list(flags.to, '--to') ?? plain(defaultTo === undefined ? undefined : `{{${defaultTo}}}`, '--to');
  if (to === undefined) throw new UsageError(`give --to "{{column}}", or a "to" or "email" column (the CSV has: ${columns.join(', ')})`);
  const fromSource = typeof base.from === 'string' ? base.from : (io.env.MAILPORT_FROM ?? undefined);
  const from = plain(fromSource, '--from');
  if (from === undefined) throw new UsageError('--from is required (or set MAILPORT_FROM)');
  return {
    from,
    to,
    cc: list(flags.cc, '--cc'),
    bcc: list(flags.bcc, '--bcc'),
    replyTo: plain(typeof base.replyTo === 'string' ? base.replyTo : undefined, '--reply-to'),
    subject: plain(base.subject, '--subject'),
    text: plain(base.text, base.text === flags.text ? '--text' : '--text-file'),
    html: base.html === undefined ? undefined : compileTemplate(base.html, { html: true, available: columns, flag: '--html' }),
  };
}

/** Several addresses in one rendered field are separated by commas; each must parse on its own. */
function addresses(template: RowTemplate | undefined, row: Row): string[] | undefined {
  if (template === undefined) return undefined;
  const rendered = template.render(row.values).trim();
  if (rendered === '') return undefined;
  return rendered.split(/\s*[,;]\s*(?=(?:[^"]*"[^"]*")*[^"]*$)/).filter((part) => part !== '');
}

function renderRow(templates: Templates, base: MailerInput, row: Row): MailerInput & { from: string } {
  return {
    ...base,
    from: templates.from.render(row.values),
    to: addresses(templates.to, row),
    cc: addresses(templates.cc, row),
    bcc: addresses(templates.bcc, row),
    replyTo: addresses(templates.replyTo, row),
    subject: templates.subject?.render(row.values),
    text: templates.text?.render(row.values),
    html: templates.html?.render(row.values),
    attachments: base.attachments as AttachmentInput[] | undefined,
  };
}

function recipientOf(templates: Templates, row: Row): string {
  return templates.to.render(row.values);
}

function failureOf(row: Row, templates: Templates, error: unknown): Failure {
  return {
    row: row.number,
    recipient: recipientOf(templates, row),
    code: MailError.isInstance(error) ? error.code : 'unexpected',
    message: error instanceof Error ? error.message : String(error),
    when: 'now',
  };
}

function domainOf(from: string): string {
  try {
    const address = parseAddress(from, 'from').address;
    return address.slice(address.lastIndexOf('@') + 1);
  } catch {
    return 'mailport.invalid';
  }
}

function positiveInteger(value: string): number {
  const number = Number(value);
  if (!Number.isInteger(number) || number < 1) throw new UsageError(`--concurrency needs a whole number of at least 1, not ${value}`);
  return number;
}

/** Every row's message is built and checked; the first is printed; nothing is sent. */
async function dryRun(rows: readonly Row[], templates: Templates, base: MailerInput, io: CliIo): Promise<number> {
  let invalid = 0;
  let first: EmailMessage | undefined;
  for (const row of rows) {
    try {
      const message = createMessage(renderRow(templates, base, row));
      first ??= message;
    } catch (error) {
      invalid++;
      io.stderr.write(`row ${row.number}: ${(error as Error).message}\n`);
    }
  }
  if (first !== undefined) io.stdout.write((await renderMime(first)).toString('utf8'));
  io.stderr.write(`# dry run: ${rows.length} rows, ${rows.length - invalid} valid, ${invalid} invalid; nothing sent, no journal written\n`);
  return invalid === 0 ? exitCodes.ok : exitCodes.invalidInput;
}

function assertSameCsv(rows: readonly Row[], journalRows: ReadonlyMap<number, RowState>, journalPath: string): void {
  for (const row of rows) {
    const previous = journalRows.get(row.number);
    if (previous !== undefined && previous.hash !== '' && previous.hash !== row.hash) {
      throw new MailError('configuration', `Row ${row.number} of the CSV changed since ${journalPath} was written`, {
        remediation: 'Restore the CSV the journal belongs to, or pass --journal with a new file to start a new run.',
      });
    }
  }
}

function describeSummary(summary: BulkSummary, counts: BulkCounts): string {
  const rate =
    counts.sent + counts.failed + counts.unknown === 0
      ? 0
      : (counts.sent + counts.failed + counts.unknown) / Math.max(summary.elapsedMs / 1000, 0.001);
  const line = (label: string, value: number, note = ''): string =>
    `  ${label.padEnd(22)}${String(value).padStart(7)}${note === '' ? '' : `   ${note}`}\n`;
  let text = `Bulk send of ${summary.csv} (${summary.rows} rows)${summary.transport === '' ? '' : ` via ${summary.transport}`}\n`;
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
  if (summary.notAttempted > 0)
    text += line('not attempted', summary.notAttempted, summary.stoppedBy === undefined ? '' : `stopped: ${summary.stoppedBy}`);
  text += `  took ${formatSeconds(summary.elapsedMs / 1000)}, ${rate.toFixed(1)} msg/s; journal ${summary.journal}\n`;
  const shown = summary.failures.slice(0, 20);
  if (shown.length > 0) {
    text += 'Not sent (row, recipient, why):\n';
    for (const failure of shown)
      text += `  row ${String(failure.row).padEnd(5)} ${failure.recipient.padEnd(28)} ${failure.code}: ${failure.message}\n`;
    if (summary.failures.length > shown.length)
      text += `  ... and ${summary.failures.length - shown.length} more (see the journal, or --json)\n`;
  }
  return text;
}

function byCode(failures: readonly Failure[]): string {
  const counts = new Map<string, number>();
  for (const failure of failures) counts.set(failure.code, (counts.get(failure.code) ?? 0) + 1);
  return [...counts].map(([code, count]) => `${count} ${code}`).join(', ');
}
