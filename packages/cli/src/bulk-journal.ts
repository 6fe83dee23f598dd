import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { MailError, type MailErrorCode, type SendReceipt } from '@mailport/core';

/**
 * Where a row stood when this run began, after the journal's entries.
 *
 * - `started`: a message was about to be handed over and no outcome was recorded: it may have
 *   gone out (an unknown outcome).
 * - `sent`: the transport accepted it.
 * - `failed`: it failed after its start (`stage: 'send'`), or its values made no valid message
 *   and nothing was started (`stage: 'input'`).
 *
 * `hash` is the first 8 hex digits of the row's hash (enough to notice an edited row), or `''`.
 */
export type RowState =
  | { readonly kind: 'started'; readonly hash: string; readonly messageId: string }
  | { readonly kind: 'sent'; readonly hash: string }
  | {
      readonly kind: 'failed';
      readonly stage: 'send' | 'input';
      readonly hash: string;
      readonly messageId: string;
      readonly code: MailErrorCode;
      readonly retryable: boolean;
      readonly message: string;
    };

/** One line of the journal. */
export type JournalEntry =
  | { type: 'run'; version: 1 | 2; runId: string; csv: string; columns?: readonly string[] | undefined; at: string }
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
  | {
      type: 'failed';
      row: number;
      code: MailErrorCode;
      retryable: boolean;
      message: string;
      /** `input` when the row made no valid message and nothing was started; absent (`send`) otherwise. */
      stage?: 'input' | undefined;
      /** The row's hash, for `input` failures (others have it in their start). */
      hash?: string | undefined;
      at: string;
    }
  /** A line a crash cut short, replaced by this when the journal was next opened. */
  | { type: 'torn'; row: number | null; text: string; at: string };

/**
 * An append-only journal of a bulk run, one JSON object per line. A `start` line is written and
 * flushed to disk before a row's message is handed to the transport, and its outcome after. So
 * after a crash or Ctrl-C every row is either unstarted (safe to send), sent (never sent again),
 * failed (with its error), or started without an outcome: it may have gone out, so it is not
 * sent again unless the caller says so.
 *
 * Memory: the state of earlier runs is kept compactly, for the rows the journal names: 5 bytes
 * a row (a kind byte and a 32-bit hash, in typed arrays indexed by row number, grown by
 * doubling), plus a map entry (about 150 bytes and its error message, messages shared) only for
 * rows that were not sent. Rows of the current run are not kept at all: each is met once.
 */
export interface Journal {
  readonly path: string;
  /** Identifies the run across re-runs; part of every Message-ID it assigns. */
  readonly runId: string;
  /** The CSV's column names when the journal was created (undefined in journals from before they were recorded). */
  readonly columns: readonly string[] | undefined;
  /** What recovery did on opening (a line cut short by a crash), to tell the user. */
  readonly notices: readonly string[];
  /** Where a row stood when this run began. */
  previous(row: number): RowState | undefined;
  /** Records, durably (on disk before it resolves), that a row is about to be sent. */
  start(row: number, hash: string, messageId: string): Promise<void>;
  sent(row: number, receipt: SendReceipt): Promise<void>;
  /** Records a failure after a start, or (`input`) a row whose values made no valid message. */
  failed(row: number, error: unknown, input?: { readonly hash: string }): Promise<void>;
  /** Writes what is pending, flushes it to disk and closes the file. */
  close(): Promise<void>;
}

/** Opens (or creates) the journal of the run over `csv`, repairing a line a crash cut short. */
export async function openJournal(path: string, run: { readonly csv: string; readonly columns: readonly string[] }): Promise<Journal> {
  let handle: FileHandle;
  try {
    // Read and write: a cut last line is read and truncated away before anything is appended.
    handle = await open(path, 'a+', 0o600);
  } catch (error) {
    throw journalError(path, `cannot be opened: ${(error as Error).message}`);
  }
  try {
    const states = new RowStates();
    const notices: string[] = [];
    const tail = await cutTornTail(handle);
    const header = await readEntries(path, tail.complete, states, notices);
    const writer = new Appender(handle, path);
    if (tail.torn !== undefined) {
      // Durably replaced before anything is appended: the next crash must not glue a new line onto it.
      const row = tornRow(tail.torn);
      const entry: JournalEntry = { type: 'torn', row, text: tail.torn.slice(0, 300), at: new Date().toISOString() };
      applyTorn(states, entry);
      await writer.append(entry, true);
      notices.push(
        `the journal's last line was cut short (the process stopped while writing it); ${
          row === null ? 'it names no row, and nothing was handed over for it' : `row ${row} now counts as started, with an unknown outcome`
        }`,
      );
    }
    let runId = header.runId;
    if (runId === undefined) {
      runId = randomBytes(6).toString('hex');
      await writer.append({ type: 'run', version: 2, runId, csv: run.csv, columns: run.columns, at: new Date().toISOString() }, true);
    }
    const id = runId;
    return {
      path,
      runId: id,
      columns: header.runId === undefined ? run.columns : header.columns,
      notices,
      previous: (row) => states.get(row),
      start: (row, hash, messageId) =>
        // On disk before the send: a row whose start is lost could be sent twice.
        writer.append({ type: 'start', row, hash, messageId, at: new Date().toISOString() }, true),
      sent: (row, receipt) =>
        // Not flushed each time: losing this line only makes the row look unknown, which is safe.
        writer.append(
          {
            type: 'sent',
            row,
            messageId: receipt.messageId,
            providerMessageId: receipt.providerMessageId,
            accepted: receipt.accepted,
            rejected: receipt.rejected.map((recipient) => recipient.address),
            at: new Date().toISOString(),
          },
          false,
        ),
      failed: (row, error, input) =>
        writer.append(
          {
            type: 'failed',
            row,
            code: MailError.isInstance(error) ? error.code : 'unknown-outcome',
            retryable: MailError.isInstance(error) ? error.retryable : false,
            message: error instanceof Error ? error.message : String(error),
            ...(input === undefined ? {} : { stage: 'input' as const, hash: input.hash }),
            at: new Date().toISOString(),
          },
          false,
        ),
      close: () => writer.close(),
    };
  } catch (error) {
    await handle.close().catch(() => {});
    throw error;
  }
}

/**
 * When the file does not end with a line break, the last line was cut short by a crash (or a
 * full disk). Truncates it away, durably, and returns its text; `complete` is the length of the
 * complete lines.
 */
async function cutTornTail(handle: FileHandle): Promise<{ complete: number; torn: string | undefined }> {
  const { size } = await handle.stat();
  if (size === 0) return { complete: 0, torn: undefined };
  const last = Buffer.alloc(1);
  await handle.read(last, 0, 1, size - 1);
  if (last[0] === 0x0a) return { complete: size, torn: undefined };
  // Find the last line break, reading backwards.
  let complete = 0;
  const block = Buffer.alloc(64 * 1024);
  for (let end = size; end > 0 && complete === 0; ) {
    const start = Math.max(0, end - block.length);
    const { bytesRead } = await handle.read(block, 0, end - start, start);
    const index = block.subarray(0, bytesRead).lastIndexOf(0x0a);
    if (index !== -1) complete = start + index + 1;
    end = start;
  }
  const tornLength = Math.min(size - complete, 64 * 1024);
  const torn = Buffer.alloc(tornLength);
  await handle.read(torn, 0, tornLength, complete);
  await handle.truncate(complete);
  await handle.sync();
  return { complete, torn: torn.toString('utf8') };
}

/** The row a cut line names, read leniently: it is not JSON any more. */
function tornRow(text: string): number | null {
  const match = /"row"\s*:\s*(\d+)[,}\s]/.exec(text);
  return match === null ? null : Number(match[1]);
}

function applyTorn(states: RowStates, entry: Extract<JournalEntry, { type: 'torn' }>): void {
  // A cut start may have been complete enough to send after (it was not: the send waits for the
  // flush), a cut outcome belongs to a row already started. Either way: started, outcome unknown.
  if (entry.row === null || states.get(entry.row)?.kind === 'started') return;
  const hash = /"hash"\s*:\s*"([0-9a-f]{16})"/.exec(entry.text)?.[1] ?? '';
  const messageId = /"messageId"\s*:\s*"(<[^"<>]+>)"/.exec(entry.text)?.[1] ?? '';
  states.set(entry.row, 'started', hash, { messageId });
}

async function readEntries(
  path: string,
  length: number,
  states: RowStates,
  notices: string[],
): Promise<{ runId: string | undefined; columns: readonly string[] | undefined }> {
  let runId: string | undefined;
  let columns: readonly string[] | undefined;
  if (length === 0) return { runId, columns };
  const lines = createInterface({ input: createReadStream(path, { start: 0, end: length - 1 }), crlfDelay: Number.POSITIVE_INFINITY });
  let number = 0;
  const apply = (entry: JournalEntry): void => {
    switch (entry.type) {
      case 'run':
        if (runId === undefined) {
          runId = entry.runId;
          columns = entry.columns;
        }
        break;
      case 'start':
        states.set(entry.row, 'started', entry.hash, { messageId: entry.messageId });
        break;
      case 'sent':
        states.set(entry.row, 'sent', states.hash(entry.row));
        break;
      case 'failed': {
        const previous = states.get(entry.row);
        // Older journals had no stage: a failure with no start before it was the row's values.
        const input = entry.stage === 'input' || previous?.kind !== 'started';
        states.set(entry.row, input ? 'failed-input' : 'failed', input ? (entry.hash ?? '') : states.hash(entry.row), {
          messageId: previous?.kind === 'started' ? previous.messageId : '',
          code: entry.code,
          retryable: entry.retryable,
          message: entry.message,
        });
        break;
      }
      case 'torn':
        applyTorn(states, entry);
        break;
    }
  };
  for await (const line of lines) {
    number++;
    if (line.trim() === '') continue;
    try {
      apply(JSON.parse(line) as JournalEntry);
      continue;
    } catch {
      // Below.
    }
    // Journals written before the cut line was repaired: the next run appended onto it, so a
    // cut line may be followed on the same line by a whole entry.
    if (!line.startsWith('{"type":')) throw journalError(path, `line ${number} is not a journal entry`);
    const glued = line.lastIndexOf('{"type":');
    let whole: JournalEntry | undefined;
    if (glued > 0) {
      try {
        whole = JSON.parse(line.slice(glued)) as JournalEntry;
      } catch {
        whole = undefined;
      }
    }
    const cut = whole === undefined ? line : line.slice(0, glued);
    applyTorn(states, { type: 'torn', row: tornRow(cut), text: cut, at: '' });
    notices.push(`line ${number} of the journal was cut short by a crash; it is read as far as it goes`);
    if (whole !== undefined) apply(whole);
  }
  return { runId, columns };
}

const kindCodes = { started: 1, sent: 2, failed: 3, 'failed-input': 4 } as const;
type Kind = keyof typeof kindCodes;
const hashKnown = 0x80;

interface Detail {
  readonly messageId: string;
  readonly code?: MailErrorCode | undefined;
  readonly retryable?: boolean | undefined;
  readonly message?: string | undefined;
}

/** Row states in typed arrays, with details only for rows that were not sent. */
class RowStates {
  #kinds = new Uint8Array(1024);
  #hashes = new Uint32Array(1024);
  #details = new Map<number, Detail>();
  // The same error text for thousands of rows is kept once.
  #messages = new Map<string, string>();

  set(row: number, kind: Kind, hash: string, detail?: Detail): void {
    if (!Number.isSafeInteger(row) || row < 1) return;
    if (row >= this.#kinds.length) this.#grow(row);
    const known = /^[0-9a-f]{8}/.test(hash);
    this.#kinds[row] = kindCodes[kind] | (known ? hashKnown : 0);
    this.#hashes[row] = known ? Number.parseInt(hash.slice(0, 8), 16) : 0;
    if (kind === 'sent' || detail === undefined) this.#details.delete(row);
    else {
      const message = detail.message === undefined ? undefined : this.#intern(detail.message);
      this.#details.set(row, { ...detail, message });
    }
  }

  hash(row: number): string {
    const kind = this.#kinds[row] ?? 0;
    return (kind & hashKnown) === 0 ? '' : (this.#hashes[row] as number).toString(16).padStart(8, '0');
  }

  get(row: number): RowState | undefined {
    const code = (this.#kinds[row] ?? 0) & ~hashKnown;
    if (code === 0) return undefined;
    const hash = this.hash(row);
    const detail = this.#details.get(row);
    if (code === kindCodes.sent) return { kind: 'sent', hash };
    if (code === kindCodes.started) return { kind: 'started', hash, messageId: detail?.messageId ?? '' };
    return {
      kind: 'failed',
      stage: code === kindCodes['failed-input'] ? 'input' : 'send',
      hash,
      messageId: detail?.messageId ?? '',
      code: detail?.code ?? 'unknown-outcome',
      retryable: detail?.retryable ?? false,
      message: detail?.message ?? '',
    };
  }

  #grow(row: number): void {
    let length = this.#kinds.length;
    while (length <= row) length *= 2;
    const kinds = new Uint8Array(length);
    kinds.set(this.#kinds);
    const hashes = new Uint32Array(length);
    hashes.set(this.#hashes);
    this.#kinds = kinds;
    this.#hashes = hashes;
  }

  #intern(message: string): string {
    const known = this.#messages.get(message);
    if (known !== undefined) return known;
    if (this.#messages.size < 10_000) this.#messages.set(message, message);
    return message;
  }
}

/**
 * Appends lines in order, batching them: lines queued while a write or flush is under way go
 * out together, with one flush for all that asked for one (group commit). So a start costs one
 * fsync per batch, not per row, and it still resolves only once its line is on disk.
 */
class Appender {
  readonly #handle: FileHandle;
  readonly #path: string;
  #queue: { line: string; durable: boolean; resolve: () => void; reject: (error: Error) => void }[] = [];
  // Set and cleared synchronously, so that an append never waits for a drain that has ended.
  #draining = false;
  #drained: Promise<void> = Promise.resolve();
  #broken: Error | undefined;

  constructor(handle: FileHandle, path: string) {
    this.#handle = handle;
    this.#path = path;
  }

  append(entry: JournalEntry, durable: boolean): Promise<void> {
    if (this.#broken !== undefined) return Promise.reject(this.#broken);
    return new Promise((resolve, reject) => {
      this.#queue.push({ line: `${JSON.stringify(entry)}\n`, durable, resolve, reject });
      if (!this.#draining) {
        this.#draining = true;
        this.#drained = this.#drain();
      }
    });
  }

  async #drain(): Promise<void> {
    try {
      while (this.#queue.length > 0) {
        const batch = this.#queue;
        this.#queue = [];
        try {
          await this.#handle.appendFile(batch.map((item) => item.line).join(''));
          if (batch.some((item) => item.durable)) await this.#handle.datasync();
          for (const item of batch) item.resolve();
        } catch (error) {
          this.#broken = journalError(this.#path, `cannot be written: ${(error as Error).message}`);
          for (const item of [...batch, ...this.#queue]) item.reject(this.#broken);
          this.#queue = [];
          return;
        }
      }
    } finally {
      this.#draining = false;
    }
  }

  async close(): Promise<void> {
    while (this.#draining) await this.#drained;
    if (this.#broken === undefined) await this.#handle.datasync().catch(() => {});
    await this.#handle.close();
  }
}

function journalError(path: string, problem: string): MailError {
  return new MailError('configuration', `The journal ${path} ${problem}`, {
    remediation:
      'Check the path, the permissions and the free disk space, or pass --journal with another file (a new journal starts the run over).',
  });
}
