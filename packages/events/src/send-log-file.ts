import { open, stat } from 'node:fs/promises';
import type { SendLog, SendLogEntry } from './model.js';
import { normalizeMessageId, SendLogIndex } from './send-log.js';

/** Options of {@link createFileSendLog}. */
export interface FileSendLogOptions {
  /** Entries kept in memory (the newest); older ones are forgotten, not deleted from the file. Default 100,000. */
  readonly maxEntries?: number | undefined;
}

/** A {@link SendLog} kept in a JSON-lines file. */
export interface FileSendLog extends SendLog {
  /** The file. */
  readonly path: string;
}

const defaultMaxEntries = 100_000;
/** A line longer than this is not an entry anyone wrote: skipped. */
const maxLineBytes = 64 * 1024;
const readChunkBytes = 1024 * 1024;
const maxIdLength = 998;

/**
 * A send log in a file of JSON lines, one entry per line, that several processes can share (the
 * CLI's `send --send-log` and `mailport events`, or an application and its event receiver):
 *
 * - each entry is appended with one `write` on a file opened with `O_APPEND`, so lines from two
 *   processes never interleave;
 * - the file is read and indexed (by Message-ID, the Message-ID a provider replaced, provider id
 *   and VERP token) on first use, and
 *   read again from where it was left whenever a lookup finds the file grew (another process
 *   appended); a half-written last line waits for the rest;
 * - lines that are not entries (corrupt, truncated, hand-edited, over 64 kB) are skipped;
 * - the file is created with mode 0600: it holds recipients' addresses.
 *
 * The file is never trimmed (rotate it as you would a log); memory holds the newest `maxEntries`.
 *
 * @example
 * ```ts
 * const sendLog = createFileSendLog('/var/lib/app/send-log.jsonl');
 * const mailer = createMailer({ transport: process.env.MAILPORT_URL, sendLog });
 * ```
 */
export function createFileSendLog(path: string, options: FileSendLogOptions = {}): FileSendLog {
  if (typeof path !== 'string' || path === '') throw new TypeError('createFileSendLog: path must be a non-empty string');
  const maxEntries = options.maxEntries ?? defaultMaxEntries;
  if (!Number.isSafeInteger(maxEntries) || maxEntries < 1)
    throw new TypeError('createFileSendLog: maxEntries must be a whole number of at least 1');

  // Re-reading this process's own lines is harmless: adding an entry again replaces it.
  const entries = new SendLogIndex(maxEntries);
  /** Bytes of the file read and indexed: everything before the last newline seen. */
  let offset = 0;
  let syncing: Promise<void> | undefined;

  /** Reads what was appended since the last read (by anyone, this process included). */
  const catchUp = async (): Promise<void> => {
    let size: number;
    try {
      size = (await stat(path)).size;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw error;
    }
    // A file that shrank was truncated or replaced (rotated): read it again from the start.
    if (size < offset) offset = 0;
    if (size === offset) return;
    const handle = await open(path, 'r');
    try {
      let pending: Buffer = Buffer.alloc(0);
      let position = offset;
      let skipping = false;
      const buffer = Buffer.allocUnsafe(readChunkBytes);
      while (position < size) {
        const { bytesRead } = await handle.read(buffer, 0, Math.min(readChunkBytes, size - position), position);
        if (bytesRead === 0) break;
        position += bytesRead;
        let chunk: Buffer = pending.length === 0 ? buffer.subarray(0, bytesRead) : Buffer.concat([pending, buffer.subarray(0, bytesRead)]);
        let newline = chunk.indexOf(10);
        while (newline !== -1) {
          if (!skipping) {
            const entry = parseLine(chunk.subarray(0, newline));
            if (entry !== undefined) entries.add(entry);
          }
          skipping = false;
          chunk = chunk.subarray(newline + 1);
          newline = chunk.indexOf(10);
        }
        // A line longer than any entry: drop what was read of it, and skip to its end.
        if (chunk.length > maxLineBytes) {
          skipping = true;
          chunk = Buffer.alloc(0);
        }
        pending = Buffer.from(chunk);
      }
      // Everything up to the last newline is read; a line without its newline yet is read next time.
      offset = skipping ? position : position - pending.length;
    } finally {
      await handle.close();
    }
  };
  const sync = (): Promise<void> => {
    syncing ??= catchUp().finally(() => {
      syncing = undefined;
    });
    return syncing;
  };

  const lookup = async (find: () => SendLogEntry | undefined): Promise<SendLogEntry | undefined> => {
    await sync();
    return find();
  };

  return {
    path,
    async record(entry) {
      const checked = checkEntry(entry);
      if (checked === undefined)
        throw new TypeError('send log: not a send log entry (a Message-ID, a transport, recipients, tags, metadata, sentAt)');
      const line = Buffer.from(`${JSON.stringify(serialize(checked))}\n`, 'utf8');
      if (line.length > maxLineBytes)
        throw new RangeError(`send log: an entry of ${line.length} bytes is over the ${maxLineBytes}-byte line limit`);
      // One write to a file opened for appending: the kernel puts each line at the end, whole.
      const handle = await open(path, 'a', 0o600);
      try {
        await handle.write(line);
      } finally {
        await handle.close();
      }
      entries.add(checked);
    },
    get: (messageId) =>
      lookup(() => {
        const key = normalizeMessageId(messageId);
        return key === undefined ? undefined : entries.get(key);
      }),
    getByProviderId: (providerMessageId) => lookup(() => entries.getByProviderId(providerMessageId)),
    getByVerpToken: (token) => lookup(() => entries.getByVerpToken(token)),
  };
}

/** The fields in a stable order; `undefined` ones left out. */
function serialize(entry: SendLogEntry): Record<string, unknown> {
  return {
    messageId: entry.messageId,
    providerMessageId: entry.providerMessageId,
    transport: entry.transport,
    recipients: entry.recipients,
    tags: entry.tags,
    metadata: entry.metadata,
    envelopeFrom: entry.envelopeFrom,
    sentAt: entry.sentAt,
    submittedMessageId: entry.submittedMessageId,
  };
}

function parseLine(line: Buffer): SendLogEntry | undefined {
  if (line.length === 0 || line.length > maxLineBytes) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(line.toString('utf8'));
  } catch {
    return undefined;
  }
  return checkEntry(value);
}

const isString = (value: unknown, max = maxIdLength): value is string =>
  typeof value === 'string' && value.length > 0 && value.length <= max;
const isStringList = (value: unknown): value is string[] =>
  Array.isArray(value) && value.length <= 10_000 && value.every((item) => typeof item === 'string');

/** A frozen copy of an entry when every field has its type, else undefined. */
function checkEntry(value: unknown): SendLogEntry | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const raw = value as Record<string, unknown>;
  const messageId = normalizeMessageId(raw.messageId);
  if (messageId === undefined || !isString(raw.transport) || !isString(raw.sentAt, 64)) return undefined;
  if (raw.providerMessageId !== undefined && raw.providerMessageId !== null && !isString(raw.providerMessageId)) return undefined;
  if (raw.envelopeFrom !== undefined && raw.envelopeFrom !== null && !isString(raw.envelopeFrom)) return undefined;
  if (!isStringList(raw.recipients) || !isStringList(raw.tags)) return undefined;
  const metadata = raw.metadata;
  if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) return undefined;
  const pairs = Object.entries(metadata);
  if (!pairs.every(([, item]) => typeof item === 'string')) return undefined;
  const providerMessageId = typeof raw.providerMessageId === 'string' ? raw.providerMessageId : undefined;
  const envelopeFrom = typeof raw.envelopeFrom === 'string' ? raw.envelopeFrom : undefined;
  const submitted = normalizeMessageId(raw.submittedMessageId);
  if (raw.submittedMessageId !== undefined && raw.submittedMessageId !== null && submitted === undefined) return undefined;
  return Object.freeze({
    messageId,
    providerMessageId,
    transport: raw.transport,
    recipients: Object.freeze([...raw.recipients]),
    tags: Object.freeze([...raw.tags]),
    // fromEntries defines own properties: a "__proto__" key stays a key, never a prototype.
    metadata: Object.freeze(Object.fromEntries(pairs) as Record<string, string>),
    ...(envelopeFrom === undefined ? {} : { envelopeFrom }),
    sentAt: raw.sentAt,
    ...(submitted === undefined || submitted === messageId ? {} : { submittedMessageId: submitted }),
  });
}
