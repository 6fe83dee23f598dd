import { type FileHandle, open } from 'node:fs/promises';
import { pipeline } from 'node:stream';
import { MailError } from '@mailport/core';
import { parse } from 'csv-parse';
import { CsvTextDecoder, type DecodeFailure, maxLineBytes } from './bulk-decode.js';
import { UsageError } from './exit-codes.js';

/** One data row: its 1-based number (the header row is not one) and its values, by column index. */
export interface CsvRow {
  readonly number: number;
  readonly values: readonly string[];
}

/** A CSV file opened for reading, its header read and checked. */
export interface CsvFile {
  /** The column names, from the header row (trimmed). */
  readonly columns: readonly string[];
  /** The encoding it is read in. */
  readonly encoding: string;
  /** Size of the file in bytes: for progress. */
  readonly size: number;
  /**
   * How far parsing got, for progress: the file bytes parsed (estimated from the parser's
   * count, which is of UTF-8 text), the data rows parsed (a little ahead of those yielded), and
   * whether the parser reached the end (then `rows` is the file's row count).
   */
  readonly position: () => { readonly bytesParsed: number; readonly rows: number; readonly parsedAll: boolean };
  /**
   * The data rows, one at a time, as they are read: memory stays flat whatever the file's size.
   * Throws an `invalid-message` {@link MailError} naming the row, column and line when the file
   * goes wrong part-way; every row before it was yielded. Iterate once.
   */
  rows(): AsyncGenerator<CsvRow, void, undefined>;
  /** Stops reading and closes the file; safe to call twice. */
  close(): Promise<void>;
}

/** Options of {@link openCsv}. */
export interface OpenCsvOptions {
  /** A WHATWG encoding label (`utf-8`, `windows-1252`, `utf-16le`, `shift_jis`, ...). Default UTF-8; a byte order mark overrides it. */
  readonly encoding?: string | undefined;
  /** How to name the file in messages (as the user gave it). */
  readonly display: string;
}

const fixCsv =
  'Fix the file (RFC 4180: quote a value that holds a comma, a quote or a line break, and double the quotes inside), ' +
  'then run the same command again: the journal skips the rows already sent.';

/**
 * Opens a CSV file and reads its header row. RFC 4180 with any mix of CRLF, LF and CR line ends
 * (line breaks inside quoted values are kept as they are); empty lines are skipped. Refuses, with
 * an `invalid-message` error, a missing or unreadable file, bytes that are not text in the
 * encoding, an empty or duplicate column name, and malformed CSV; a bad `--encoding` label is a
 * usage error.
 */
export async function openCsv(path: string, options: OpenCsvOptions): Promise<CsvFile> {
  const { display } = options;
  let decoder: CsvTextDecoder;
  try {
    decoder = new CsvTextDecoder(options.encoding ?? 'utf-8');
  } catch {
    throw new UsageError(
      `--encoding ${JSON.stringify(options.encoding)} is not an encoding this Node.js knows (try utf-8, windows-1252, iso-8859-15, utf-16le, shift_jis)`,
    );
  }
  let handle: FileHandle;
  let size: number;
  try {
    handle = await open(path, 'r');
    const stats = await handle.stat();
    if (stats.isDirectory()) {
      await handle.close();
      throw Object.assign(new Error('is a directory'), { code: 'EISDIR' });
    }
    size = stats.size;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT'
        ? 'no such file'
        : code === 'EISDIR'
          ? 'is a directory'
          : code === 'EACCES'
            ? 'permission denied'
            : (error as Error).message;
    throw new MailError('invalid-message', `--csv ${display}: ${why}`, {
      field: 'csv',
      remediation: 'Check the path; it is relative to the current directory.',
    });
  }

  const parser = parse({
    relax_column_count: true,
    skip_empty_lines: true,
    // Any mix of line ends (a header saved with LF and rows with CRLF must not leave a CR in the last column).
    record_delimiter: ['\r\n', '\n', '\r'],
    // An unclosed quote would otherwise swallow the rest of a 1 GB file into one value.
    max_record_size: maxLineBytes,
  });
  const file = handle.createReadStream({ highWaterMark: 64 * 1024 });
  let streamError: unknown;
  pipeline(file, decoder, parser, (error) => {
    // The parser's own errors surface through its iterator; a read error (EIO) is kept to report.
    if (error !== undefined && error !== null) streamError ??= error;
  });
  const records = recordQueue(parser);
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    parser.destroy();
    decoder.destroy();
    file.destroy();
    await handle.close().catch(() => {});
  };

  let columns: string[] = [];
  let rowCount = 0;
  const fail = async (error: unknown): Promise<never> => {
    await close();
    throw describeFailure(error, { display, decoder, columns, row: rowCount });
  };

  let header: IteratorResult<string[]>;
  try {
    header = await records.next();
  } catch (error) {
    return fail(error);
  }
  if (decoder.failure !== undefined && header.done === true) return fail(undefined);
  if (header.done === true) {
    await close();
    if (streamError !== undefined) throw describeFailure(streamError, { display, decoder, columns, row: 0 });
    throw new MailError('invalid-message', `--csv ${display} is empty: it needs a header row that names the columns`, {
      field: 'csv',
      remediation: 'Put the column names on the first line, for example: email,name',
    });
  }
  columns = header.value.map((name) => name.trim());
  const problem = headerProblem(columns, header.value);
  if (problem !== undefined) {
    await close();
    throw new MailError('invalid-message', `--csv ${display}: the header row ${problem}`, {
      field: 'csv',
      remediation: 'Give every column a name of its own on the first line; templates refer to columns by name.',
    });
  }

  let iterated = false;
  return {
    columns,
    encoding: decoder.encoding,
    size,
    position: () => ({
      // The file is read ahead of the parser (which waits while rows wait to be sent), so count what the parser took.
      bytesParsed: decoder.textBytes === 0 ? 0 : (parser.info.bytes * decoder.fileBytesPassed) / decoder.textBytes,
      rows: Math.max(records.parsed() - 1, 0),
      parsedAll: records.ended(),
    }),
    async *rows() {
      if (iterated) throw new Error('CsvFile.rows() can be iterated once');
      iterated = true;
      try {
        for (;;) {
          let next: IteratorResult<string[]>;
          try {
            next = await records.next();
          } catch (error) {
            return await fail(error);
          }
          if (next.done === true) break;
          rowCount++;
          yield { number: rowCount, values: next.value };
        }
        if (decoder.failure !== undefined || streamError !== undefined) await fail(streamError);
      } finally {
        await close();
      }
    },
    close,
  };
}

function headerProblem(columns: readonly string[], raw: readonly string[]): string | undefined {
  if (raw.some((name) => name.includes('\u0000'))) {
    return 'holds NUL characters: the file looks like UTF-16 without a byte order mark (give --encoding utf-16le or utf-16be)';
  }
  const empty = columns.indexOf('');
  if (empty !== -1) return `has no name for column ${empty + 1}${empty === columns.length - 1 ? ' (a comma at the end of the line?)' : ''}`;
  const seen = new Map<string, number[]>();
  columns.forEach((name, index) => {
    seen.set(name, [...(seen.get(name) ?? []), index + 1]);
  });
  for (const [name, positions] of seen) {
    if (positions.length > 1)
      return `names the column "${name}" ${positions.length} times (columns ${positions.join(' and ')}): rename one`;
  }
  return undefined;
}

/**
 * The parser's records, one at a time, with backpressure. Not the stream's async iterator: on a
 * parse error that drops the records parsed just before it from the same chunk, and they are
 * rows the user expects to be sent (and the header row, which error messages need).
 */
function recordQueue(parser: ReturnType<typeof parse>): {
  next(): Promise<IteratorResult<string[]>>;
  /** Records parsed so far, the header row included. */
  parsed(): number;
  ended(): boolean;
} {
  const queue: string[][] = [];
  let parsed = 0;
  let ended = false;
  let failed: { error: unknown } | undefined;
  let wake: (() => void) | undefined;
  const notify = (): void => {
    wake?.();
    wake = undefined;
  };
  parser.on('data', (record: string[]) => {
    parsed++;
    queue.push(record);
    if (queue.length >= 64) parser.pause();
    notify();
  });
  parser.on('end', () => {
    ended = true;
    notify();
  });
  parser.on('error', (error: unknown) => {
    failed ??= { error };
    notify();
  });
  parser.on('close', () => {
    ended = true;
    notify();
  });
  return {
    parsed: () => parsed,
    ended: () => ended && failed === undefined,
    async next() {
      for (;;) {
        const record = queue.shift();
        if (record !== undefined) {
          if (queue.length < 16) parser.resume();
          return { done: false, value: record };
        }
        if (failed !== undefined) throw failed.error;
        if (ended) return { done: true, value: undefined };
        await new Promise<void>((resolve) => (wake = resolve));
      }
    },
  };
}

/** Where in a row: `row 3, column "name"`, or `the header row`. */
function where(row: number, columns: readonly string[], index: number | undefined): string {
  const place = row === 0 ? 'the header row' : `row ${row}`;
  if (index === undefined || row === 0) return place;
  return `${place}, ${columns[index] === undefined ? `column ${index + 1}` : `column "${columns[index]}"`}`;
}

/** Turns a read, decode or parse failure into one `invalid-message` error naming the row, column and line. */
function describeFailure(
  error: unknown,
  context: { display: string; decoder: CsvTextDecoder; columns: readonly string[]; row: number },
): MailError {
  const { display, decoder, columns } = context;
  const failure: DecodeFailure | undefined = decoder.failure;
  // The decoder stopped first; a parser error after it (a quote left open) is its consequence.
  if (failure !== undefined) {
    const row = context.row + 1;
    if (failure.reason === 'too-long') {
      return new MailError('invalid-message', `--csv ${display}: line ${failure.line} is longer than ${maxLineBytes / 1024 / 1024} MiB`, {
        field: 'csv',
        remediation: 'Check that this is a CSV file with line breaks between rows.',
      });
    }
    const parserStoppedMidRow = error !== undefined && (error as { code?: string }).code === 'CSV_QUOTE_NOT_CLOSED';
    const index = parserStoppedMidRow ? undefined : fieldIndex(failure.linePrefix);
    const place = columns.length === 0 ? 'the header row' : where(row, columns, index);
    return new MailError(
      'invalid-message',
      `--csv ${display}: ${place} (line ${failure.line}, byte ${failure.byte}) is not valid ${failure.encoding}` +
        `${failure.bytes === '' ? '' : ` (bytes ${failure.bytes})`}; nothing is sent from it on`,
      {
        field: 'csv',
        remediation:
          failure.encoding === 'utf-8'
            ? 'Save the file as UTF-8, or give its encoding with --encoding (windows-1252 for most Excel exports in Western Europe), then run the same command again.'
            : `Check the file's encoding and give it with --encoding, then run the same command again.`,
      },
    );
  }
  const code = (error as { code?: string } | undefined)?.code;
  if (typeof code === 'string' && (code.startsWith('CSV_') || code.startsWith('INVALID_'))) {
    const parsed = error as { records?: number; index?: number; lines?: number; message: string };
    // `records` counts the header row, so it is the number of the data row that failed.
    const row = typeof parsed.records === 'number' ? parsed.records : context.row + 1;
    const place = where(row, columns, code === 'CSV_MAX_RECORD_SIZE' ? undefined : parsed.index);
    const text =
      code === 'CSV_MAX_RECORD_SIZE'
        ? `is longer than ${maxLineBytes / 1024 / 1024} MiB (a quote never closed?)`
        : `is not valid CSV: ${parsed.message}`;
    return new MailError(
      'invalid-message',
      `--csv ${display}: ${place}${parsed.lines === undefined ? '' : ` (line ${parsed.lines})`} ${text}`,
      {
        field: 'csv',
        remediation: fixCsv,
      },
    );
  }
  return new MailError(
    'invalid-message',
    `--csv ${display} could not be read: ${(error as Error | undefined)?.message ?? 'unknown error'}`,
    {
      field: 'csv',
      remediation: 'Check the file and the disk, then run the same command again.',
    },
  );
}

/** Which field of a row the end of `line` is in, when the row starts at the line's start. */
function fieldIndex(line: string): number {
  let quoted = false;
  let index = 0;
  for (const char of line) {
    if (char === '"') quoted = !quoted;
    else if (char === ',' && !quoted) index++;
  }
  return index;
}
