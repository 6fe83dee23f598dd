import { randomBytes } from 'node:crypto';
import { type FileHandle, open, rename, stat, unlink } from 'node:fs/promises';
import { type Suppression, type SuppressionStore, suppressionKey } from './model.js';
import { checkedSuppression, SuppressionTable, toSuppression } from './suppression.js';

/** A {@link SuppressionStore} kept in a file, with its housekeeping. */
export interface FileSuppressionStore extends SuppressionStore {
  /** Rewrites the file with only the live entries (atomic rename). Runs by itself once dead lines pile up. */
  compact(): Promise<void>;
  /** Lines skipped so far because they were not a suppression (corrupt, hostile, too long). */
  readonly skippedLines: number;
}

// A line longer than this is no suppression of ours: skipped unread.
const maxLineBytes = 16 * 1024;
// Compaction starts once the file holds this many lines more than live entries (removals, replacements, expiries).
const compactAfterDeadLines = 1000;
// A lock older than this belongs to a process that died while compacting.
const staleLockMs = 30_000;

interface AddLine {
  readonly op: 'add';
  readonly id: string;
}

/**
 * The id of one change. An appender whose line went into a file that compaction then replaced
 * writes it again into the new file, where compaction may already have carried it over: the line
 * is there twice, possibly with another process's change between the two. Replaying it once, at its
 * first place, keeps that later change (without ids a `remove` written twice undid an `add` made
 * between the two copies).
 */
function changeId(): string {
  return randomBytes(9).toString('base64url');
}

/**
 * A {@link SuppressionStore} in a JSON-lines file that survives restarts and can be shared by
 * several processes on one machine.
 *
 * - Every change is one line appended with a single `write` on a file opened `O_APPEND`: an
 *   addition, or a removal (a tombstone line), with an id of its own, replayed once however many
 *   times it was written. Lines from two processes never interleave.
 * - Each call first looks at the file (one `stat`) and reads what other processes appended, or
 *   all of it again when it was replaced.
 * - Once dead lines pile up (removed, replaced or expired entries), the file is rewritten with the
 *   live entries and renamed into place, under a `.lock` file; lines appended meanwhile are carried
 *   over, and an appender that wrote into the old file writes again into the new one.
 * - A line that is not a valid suppression (corrupt, hostile, over 16 KiB) is skipped and counted
 *   in `skippedLines`, with a `MailportSuppressionWarning`; it never stops the store.
 * - The file is created with mode 0600.
 *
 * @example
 * ```ts
 * const store = createFileSuppressionStore('/var/lib/shop/suppressions.jsonl');
 * const mailer = createMailer({ transport, suppression: suppressionFilter(store) });
 * ```
 */
export function createFileSuppressionStore(path: string): FileSuppressionStore {
  if (typeof path !== 'string' || path === '') throw new TypeError('createFileSuppressionStore: path must be a non-empty string');
  let table = new SuppressionTable();
  // The ids of the changes read from the current file: a change written twice counts once.
  let seen = new Set<string>();
  let inode: number | undefined;
  let offset = 0;
  let modified = 0;
  let lines = 0;
  let partialTail = false;
  let skipped = 0;
  let queue: Promise<unknown> = Promise.resolve();

  const serial = <T>(run: () => Promise<T>): Promise<T> => {
    const result = queue.then(run, run);
    queue = result.catch(() => undefined);
    return result;
  };

  const apply = (text: string): void => {
    let bad = 0;
    for (const line of text.split('\n')) {
      if (line.trim() === '') continue;
      lines++;
      if (Buffer.byteLength(line) > maxLineBytes || !applyLine(table, line, seen)) bad++;
    }
    if (bad > 0) {
      skipped += bad;
      process.emitWarning(`mailport: ${bad} line(s) of the suppression file ${path} were not suppressions and were skipped`, {
        type: 'MailportSuppressionWarning',
      });
    }
  };

  // Brings the table up to date with the file: the new tail, or everything when the file was replaced.
  const sync = async (): Promise<void> => {
    let info: Awaited<ReturnType<typeof stat>>;
    try {
      info = await stat(path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      table = new SuppressionTable();
      seen = new Set();
      inode = undefined;
      offset = 0;
      lines = 0;
      partialTail = false;
      return;
    }
    // Another inode (compaction, a restore), a shorter file, or the same size written over in place: read it all again.
    if (info.ino !== inode || info.size < offset || (info.size === offset && info.mtimeMs !== modified)) {
      table = new SuppressionTable();
      seen = new Set();
      inode = info.ino;
      offset = 0;
      lines = 0;
    }
    if (info.size === offset) {
      modified = info.mtimeMs;
      return;
    }
    const handle = await open(path, 'r');
    try {
      // The inode may have changed between stat and open: read what this handle holds.
      const current = await handle.stat();
      if (current.ino !== inode) {
        table = new SuppressionTable();
        seen = new Set();
        inode = current.ino;
        offset = 0;
        lines = 0;
      }
      const bytes = await readFrom(handle, offset, current.size);
      const end = bytes.lastIndexOf(0x0a) + 1;
      apply(bytes.subarray(0, end).toString('utf8'));
      offset += end;
      partialTail = end < bytes.length;
      modified = current.mtimeMs;
    } finally {
      await handle.close();
    }
  };

  const append = async (record: Record<string, unknown>): Promise<void> => {
    const line = Buffer.from(`${partialTail ? '\n' : ''}${JSON.stringify(record)}\n`);
    for (let attempt = 0; attempt < 5; attempt++) {
      const handle = await open(path, 'a', 0o600);
      let written: number;
      try {
        await handle.write(line);
        written = (await handle.stat()).ino;
      } finally {
        await handle.close();
      }
      // Compaction renamed a new file into place after this one was opened: write the line there too.
      const now = await stat(path).catch(() => undefined);
      if (now?.ino === written) return;
    }
  };

  const maybeCompact = async (): Promise<void> => {
    if (lines - table.entries.size < compactAfterDeadLines || lines < 2 * table.entries.size) return;
    await compactNow().catch(() => undefined);
  };

  const compactNow = async (): Promise<void> => {
    const lock = `${path}.lock`;
    let lockHandle: FileHandle;
    try {
      lockHandle = await open(lock, 'wx', 0o600);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const held = await stat(lock).catch(() => undefined);
      if (held !== undefined && Date.now() - held.mtimeMs > staleLockMs) await unlink(lock).catch(() => undefined);
      // Another process is compacting (or just was): its file will be read on the next call.
      return;
    }
    try {
      const old = await open(path, 'r').catch(() => undefined);
      if (old === undefined) return;
      try {
        const size = (await old.stat()).size;
        const content = await readFrom(old, 0, size);
        const end = content.lastIndexOf(0x0a) + 1;
        const fresh = new SuppressionTable();
        const freshSeen = new Set<string>();
        for (const line of content.subarray(0, end).toString('utf8').split('\n')) {
          if (line.trim() !== '' && Buffer.byteLength(line) <= maxLineBytes) applyLine(fresh, line, freshSeen);
        }
        const now = Date.now();
        const live = [...fresh.live(now)].map((entry) => `${JSON.stringify({ op: 'add', ...entry })}\n`).join('');
        const temporary = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
        const out = await open(temporary, 'wx', 0o600);
        try {
          await out.writeFile(live);
          await out.sync();
        } finally {
          await out.close();
        }
        await rename(temporary, path);
        // Lines appended to the old file while this ran (and a partial last line) go on into the new one.
        const tail = await readFrom(old, end, (await old.stat()).size);
        if (tail.length > 0) {
          const complete = tail.subarray(0, tail.lastIndexOf(0x0a) + 1);
          if (complete.length > 0) {
            const handle = await open(path, 'a', 0o600);
            try {
              await handle.write(complete);
            } finally {
              await handle.close();
            }
          }
        }
      } finally {
        await old.close();
      }
    } finally {
      await lockHandle.close();
      await unlink(lock).catch(() => undefined);
    }
    await sync();
  };

  return {
    add: (entry) =>
      serial(async () => {
        const checked = checkedSuppression(entry);
        await sync();
        await append({ op: 'add', id: changeId(), ...checked } satisfies AddLine & Suppression);
        await sync();
        await maybeCompact();
      }),
    remove: (address, scope) =>
      serial(async () => {
        if (typeof address !== 'string') return false;
        await sync();
        const key = suppressionKey(address);
        const present = [...table.entries.values()].some(
          (entry) => entry.address === key && (scope === undefined || entry.scope === scope),
        );
        if (!present) return false;
        const id = changeId();
        await append(scope === undefined ? { op: 'remove', id, address: key } : { op: 'remove', id, address: key, scope });
        await sync();
        await maybeCompact();
        return true;
      }),
    check: (addresses, stream) =>
      serial(async () => {
        await sync();
        return table.check(addresses, stream, Date.now());
      }),
    list(): AsyncIterable<Suppression> {
      return {
        [Symbol.asyncIterator]: () => {
          const entries = serial(async () => {
            await sync();
            return [...table.live(Date.now())];
          });
          let index = 0;
          return {
            async next(): Promise<IteratorResult<Suppression>> {
              const all = await entries;
              const value = all[index++];
              return value === undefined ? { done: true, value: undefined } : { done: false, value };
            },
          };
        },
      };
    },
    compact: () => serial(compactNow),
    get skippedLines() {
      return skipped;
    },
  };
}

// Applies one line to `table`, once per change id; false when the line is not one of ours.
function applyLine(table: SuppressionTable, line: string, seen: Set<string>): boolean {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return false;
  }
  if (typeof value !== 'object' || value === null) return false;
  const record = value as Record<string, unknown>;
  if (record.id !== undefined) {
    if (typeof record.id !== 'string' || record.id.length > 64) return false;
    if (seen.has(record.id)) return true;
    seen.add(record.id);
  }
  if (record.op === 'add') {
    const entry = toSuppression(record);
    if (entry === undefined) return false;
    table.add(entry);
    return true;
  }
  if (record.op === 'remove') {
    if (typeof record.address !== 'string' || (record.scope !== undefined && typeof record.scope !== 'string')) return false;
    table.remove(record.address, record.scope as string | undefined);
    return true;
  }
  return false;
}

async function readFrom(handle: FileHandle, from: number, to: number): Promise<Buffer> {
  const length = Math.max(0, to - from);
  const buffer = Buffer.alloc(length);
  let read = 0;
  while (read < length) {
    const { bytesRead } = await handle.read(buffer, read, length - read, from + read);
    if (bytesRead === 0) break;
    read += bytesRead;
  }
  return buffer.subarray(0, read);
}
