import { readFileSync, unlinkSync } from 'node:fs';
import { open, readFile, stat, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { MailError } from '@mailport/core';

/** What a lock file holds. */
export interface LockOwner {
  readonly pid: number;
  readonly hostname: string;
  /** ISO 8601. */
  readonly startedAt: string;
}

/** A held lock; {@link JournalLock.release} removes the file. */
export interface JournalLock {
  readonly path: string;
  /** Removes the lock file if it is still ours. Safe to call twice. */
  release(): Promise<void>;
}

/** Options of {@link lockJournal}, mostly for tests. */
export interface LockOptions {
  /** Told when a stale lock is taken over. */
  readonly notice: (text: string) => void;
  readonly pid?: number | undefined;
  readonly hostname?: string | undefined;
  /** Whether a process is running; default `process.kill(pid, 0)`. */
  readonly isAlive?: ((pid: number) => boolean) | undefined;
}

// A lock file another run is still writing (opened, not yet filled) is given this long.
const unreadableGraceMs = 2_000;

/**
 * Locks a journal against a second run over the same rows: two runs would each see the rows as
 * unsent and send them twice. The lock is a file next to the journal (`JOURNAL.lock`), created
 * atomically (`open(..., 'wx')`) and holding the PID, host name and start time.
 *
 * A lock whose process is gone (same host, `kill(pid, 0)` says ESRCH) is stale: a crash or
 * `kill -9` left it. It is taken over, with a notice. Two runs taking over the same stale lock
 * go through a second lock file (`JOURNAL.lock.takeover`), so only one wins. A lock held by a
 * live process, or by another host (whose processes cannot be checked), is refused with a
 * `configuration` error naming the holder and how to proceed.
 *
 * The lock is released by {@link JournalLock.release}, and on `process.exit` (a second Ctrl-C)
 * by a synchronous handler. A SIGKILL leaves it behind, stale. A PID reused by an unrelated
 * process makes a stale lock look live: the error says how to remove it.
 */
export async function lockJournal(journalPath: string, options: LockOptions): Promise<JournalLock> {
  const path = `${journalPath}.lock`;
  const owner: LockOwner = {
    pid: options.pid ?? process.pid,
    hostname: options.hostname ?? hostname(),
    startedAt: new Date().toISOString(),
  };
  const isAlive = options.isAlive ?? processIsAlive;
  const content = `${JSON.stringify(owner)}\n`;

  for (let attempt = 0; ; attempt++) {
    if (await create(path, content)) return held(path, content);
    const holder = await readOwner(path);
    if (holder === 'gone') continue;
    if (holder === 'unreadable') {
      // Just created by another run that has not written it yet, or left empty by a crash.
      const age = await ageOf(path);
      if (age !== undefined && age < unreadableGraceMs && attempt < 50) {
        await delay(50);
        continue;
      }
      if (await takeOver(path, content, undefined)) {
        options.notice(`took over the lock ${path}, which was empty or unreadable (left by a crash)`);
        return held(path, content);
      }
      continue;
    }
    const sameHost = holder.hostname === owner.hostname;
    if (sameHost && holder.pid !== owner.pid && !isAlive(holder.pid)) {
      if (await takeOver(path, content, holder)) {
        options.notice(
          `took over the lock of an earlier run that is no longer running (PID ${holder.pid}, started ${holder.startedAt}); ` +
            'the journal says which rows it finished',
        );
        return held(path, content);
      }
      if (attempt < 50) {
        await delay(20);
        continue;
      }
    }
    throw new MailError(
      'configuration',
      `The journal ${journalPath} is in use by another run: PID ${holder.pid} on ${sameHost ? 'this host' : `host ${holder.hostname}`}, ` +
        `started ${holder.startedAt}`,
      {
        remediation: sameHost
          ? `Wait for that run to finish, or stop it (Ctrl-C, or kill ${holder.pid}) and run again: the journal skips what it sent. ` +
            `If you are sure no mailport runs with this journal (the PID now belongs to another program), delete ${path}.`
          : `Runs on two hosts must not share a journal. If you are sure the run on ${holder.hostname} is over, delete ${path}.`,
      },
    );
  }
}

async function create(path: string, content: string): Promise<boolean> {
  try {
    const handle = await open(path, 'wx', 0o600);
    try {
      await handle.writeFile(content);
      await handle.sync();
    } finally {
      await handle.close();
    }
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw new MailError('configuration', `Cannot create the lock file ${path}: ${(error as Error).message}`, {
      remediation: 'Check that the journal directory is writable, or pass --journal with a path in one that is.',
    });
  }
}

async function readOwner(path: string): Promise<LockOwner | 'gone' | 'unreadable'> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'gone';
    return 'unreadable';
  }
  return parseOwner(text) ?? 'unreadable';
}

function parseOwner(text: string): LockOwner | undefined {
  try {
    const value = JSON.parse(text) as Partial<LockOwner>;
    if (typeof value.pid === 'number' && typeof value.hostname === 'string' && typeof value.startedAt === 'string')
      return value as LockOwner;
  } catch {
    // Below.
  }
  return undefined;
}

/**
 * Replaces a stale lock. Only the run holding `.takeover` may, and it checks that the lock still
 * holds what it judged stale: another run may have taken it over in between.
 */
async function takeOver(path: string, content: string, stale: LockOwner | undefined): Promise<boolean> {
  const guard = `${path}.takeover`;
  if (!(await create(guard, content))) {
    // Another run is taking over; a guard left by a crash mid-takeover is cleared after a while.
    const age = await ageOf(guard);
    if (age !== undefined && age > 10_000) await unlink(guard).catch(() => {});
    return false;
  }
  try {
    const current = await readOwner(path);
    const unchanged =
      stale === undefined
        ? current === 'unreadable'
        : current !== 'gone' && current !== 'unreadable' && current.pid === stale.pid && current.startedAt === stale.startedAt;
    if (!unchanged && current !== 'gone') return false;
    await unlink(path).catch(() => {});
    return await create(path, content);
  } finally {
    await unlink(guard).catch(() => {});
  }
}

function held(path: string, content: string): JournalLock {
  let released = false;
  // A second Ctrl-C calls process.exit: no await runs then, so the lock goes synchronously.
  const onExit = (): void => {
    try {
      if (readFileSync(path, 'utf8') === content) unlinkSync(path);
    } catch {
      // Gone already.
    }
  };
  process.once('exit', onExit);
  return {
    path,
    async release() {
      if (released) return;
      released = true;
      process.removeListener('exit', onExit);
      try {
        if ((await readFile(path, 'utf8')) === content) await unlink(path);
      } catch {
        // Gone already.
      }
    },
  };
}

function processIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, as another user's process.
    return (error as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

async function ageOf(path: string): Promise<number | undefined> {
  try {
    return Date.now() - (await stat(path)).mtimeMs;
  } catch {
    return undefined;
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
