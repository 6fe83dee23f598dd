import { randomBytes } from 'node:crypto';
import { type FileHandle, open, readFile } from 'node:fs/promises';
import { MailError, type MailErrorCode, type SendReceipt } from '@mailport/core';

/** Where a row stands after the journal's entries so far. */
export type RowState =
  | { readonly kind: 'started'; readonly hash: string; readonly messageId: string }
  | { readonly kind: 'sent'; readonly hash: string; readonly messageId: string }
  | {
      readonly kind: 'failed';
      readonly hash: string;
      readonly messageId: string;
      readonly code: MailErrorCode;
      readonly retryable: boolean;
      readonly message: string;
    };

type Entry =
  | { type: 'run'; version: 1; runId: string; csv: string; at: string }
  | { type: 'start'; row: number; hash: string; messageId: string; at: string }
  | {
      type: 'sent';
      row: number;
      messageId: string;
      providerMessageId?: string | undefined;
      accepted: readonly string[];
      rejected: readonly string[];
      at: string;
    }
  | { type: 'failed'; row: number; code: MailErrorCode; retryable: boolean; message: string; at: string };

/**
 * An append-only journal of a bulk run, one JSON object per line. A `start` line is written and
 * flushed to disk before a row's message is handed to the transport, and its outcome after. So
 * after a crash or Ctrl-C every row is either unstarted (safe to send), sent (never sent again),
 * failed (with its error), or started without an outcome: it may have gone out, so it is not
 * sent again unless the caller says so.
 */
export interface Journal {
  readonly path: string;
  /** Identifies the run across re-runs; part of every Message-ID it assigns. */
  readonly runId: string;
  /** The state of every row the journal has seen, by row number. */
  readonly rows: ReadonlyMap<number, RowState>;
  /** Records, durably, that a row is about to be sent. */
  start(row: number, hash: string, messageId: string): Promise<void>;
  sent(row: number, receipt: SendReceipt): Promise<void>;
  failed(row: number, error: unknown): Promise<void>;
  close(): Promise<void>;
}

/** Opens (or creates) the journal of the run over `csv`. */
export async function openJournal(path: string, csv: string): Promise<Journal> {
  const rows = new Map<number, RowState>();
  let runId: string | undefined;
  let existing = '';
  try {
    existing = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw journalError(path, `cannot be read: ${(error as Error).message}`);
  }
  const lines = existing.split('\n');
  lines.forEach((line, index) => {
    if (line.trim() === '') return;
    let entry: Entry;
    try {
      entry = JSON.parse(line) as Entry;
    } catch {
      // A crash can cut the last line short; anything else is a damaged journal.
      if (index >= lines.length - 2) return;
      throw journalError(path, `line ${index + 1} is not JSON`);
    }
    switch (entry.type) {
      case 'run':
        runId ??= entry.runId;
        break;
      case 'start':
        rows.set(entry.row, { kind: 'started', hash: entry.hash, messageId: entry.messageId });
        break;
      case 'sent': {
        const started = rows.get(entry.row);
        rows.set(entry.row, { kind: 'sent', hash: started?.hash ?? '', messageId: entry.messageId });
        break;
      }
      case 'failed': {
        const started = rows.get(entry.row);
        rows.set(entry.row, {
          kind: 'failed',
          hash: started?.hash ?? '',
          messageId: started?.messageId ?? '',
          code: entry.code,
          retryable: entry.retryable,
          message: entry.message,
        });
        break;
      }
    }
  });

  let handle: FileHandle;
  try {
    handle = await open(path, 'a', 0o600);
  } catch (error) {
    throw journalError(path, `cannot be written: ${(error as Error).message}`);
  }
  const append = async (entry: Entry, durable: boolean): Promise<void> => {
    await handle.appendFile(`${JSON.stringify(entry)}\n`);
    if (durable) await handle.datasync();
  };
  if (runId === undefined) {
    runId = randomBytes(6).toString('hex');
    await append({ type: 'run', version: 1, runId, csv, at: new Date().toISOString() }, true);
  }
  const at = (): string => new Date().toISOString();
  return {
    path,
    runId,
    rows,
    async start(row, hash, messageId) {
      rows.set(row, { kind: 'started', hash, messageId });
      // On disk before the send: a row whose start is lost could be sent twice.
      await append({ type: 'start', row, hash, messageId, at: at() }, true);
    },
    async sent(row, receipt) {
      const previous = rows.get(row);
      rows.set(row, { kind: 'sent', hash: previous?.hash ?? '', messageId: receipt.messageId });
      // Not flushed each time: losing this line only makes the row look unknown, which is safe.
      await append(
        {
          type: 'sent',
          row,
          messageId: receipt.messageId,
          providerMessageId: receipt.providerMessageId,
          accepted: receipt.accepted,
          rejected: receipt.rejected.map((recipient) => recipient.address),
          at: at(),
        },
        false,
      );
    },
    async failed(row, error) {
      const previous = rows.get(row);
      const code: MailErrorCode = MailError.isInstance(error) ? error.code : 'unknown-outcome';
      const retryable = MailError.isInstance(error) ? error.retryable : false;
      const message = error instanceof Error ? error.message : String(error);
      rows.set(row, { kind: 'failed', hash: previous?.hash ?? '', messageId: previous?.messageId ?? '', code, retryable, message });
      await append({ type: 'failed', row, code, retryable, message, at: at() }, false);
    },
    async close() {
      await handle.datasync().catch(() => {});
      await handle.close();
    },
  };
}

function journalError(path: string, problem: string): MailError {
  return new MailError('configuration', `The journal ${path} ${problem}`, {
    remediation: 'Check the path and permissions, or pass --journal with another file (a new journal starts the run over).',
  });
}
