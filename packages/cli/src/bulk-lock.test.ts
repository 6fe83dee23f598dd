import { existsSync } from 'node:fs';
import { mkdtemp, readFile, utimes, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { MailError } from '@mailport/core';
import { beforeEach, describe, expect, it } from 'vitest';
import { lockJournal } from './bulk-lock.js';

let journal: string;
beforeEach(async () => {
  journal = join(await mkdtemp(join(tmpdir(), 'mailport-lock-')), 'people.csv.journal');
});

const notices: string[] = [];
const quiet = { notice: (text: string) => notices.push(text) };

describe('the journal lock', () => {
  it('is a file next to the journal naming the PID, host and start time, removed on release', async () => {
    const lock = await lockJournal(journal, quiet);
    expect(lock.path).toBe(`${journal}.lock`);
    const owner = JSON.parse(await readFile(lock.path, 'utf8')) as { pid: number; hostname: string; startedAt: string };
    expect(owner).toEqual({ pid: process.pid, hostname: hostname(), startedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) });
    await lock.release();
    await lock.release();
    expect(existsSync(lock.path)).toBe(false);
  });

  it('refuses a lock held by a live process, naming it and how to proceed', async () => {
    const first = await lockJournal(journal, { ...quiet, pid: 4242, isAlive: () => true });
    const error = await lockJournal(journal, { ...quiet, isAlive: () => true }).catch((caught: unknown) => caught);
    expect(MailError.isInstance(error)).toBe(true);
    expect((error as MailError).code).toBe('configuration');
    expect((error as MailError).message).toMatch(/in use by another run: PID 4242 on this host, started \d{4}-/);
    expect((error as MailError).remediation).toContain(`delete ${journal}.lock`);
    await first.release();
    await (await lockJournal(journal, quiet)).release();
  });

  it('refuses a lock from another host, whose process cannot be checked', async () => {
    await writeFile(`${journal}.lock`, JSON.stringify({ pid: 1, hostname: 'elsewhere.example', startedAt: '2025-01-01T00:00:00.000Z' }));
    await expect(lockJournal(journal, { ...quiet, isAlive: () => false })).rejects.toThrow(/PID 1 on host elsewhere\.example/);
  });

  it('takes over a stale lock (its process is gone) with a notice; of runs racing for it, one wins', async () => {
    await writeFile(`${journal}.lock`, JSON.stringify({ pid: 999_999_999, hostname: hostname(), startedAt: '2025-01-01T00:00:00.000Z' }));
    notices.length = 0;
    const results = await Promise.allSettled(
      Array.from({ length: 8 }, (_, index) =>
        lockJournal(journal, { ...quiet, pid: 1000 + index, isAlive: (pid) => pid !== 999_999_999 && pid >= 1000 }),
      ),
    );
    const won = results.filter((result) => result.status === 'fulfilled');
    expect(won).toHaveLength(1);
    expect(notices).toEqual([expect.stringMatching(/took over the lock of an earlier run .*PID 999999999/)]);
    for (const result of results) {
      if (result.status === 'rejected') expect(String(result.reason)).toMatch(/in use by another run: PID 10\d\d/);
    }
    const winner = (won[0] as PromiseFulfilledResult<{ release(): Promise<void> }>).value;
    await winner.release();
  });

  it('waits for a lock file being written, and takes over one a crash left empty', async () => {
    await writeFile(`${journal}.lock`, '');
    const old = new Date(Date.now() - 60_000);
    await utimes(`${journal}.lock`, old, old);
    notices.length = 0;
    const lock = await lockJournal(journal, quiet);
    expect(notices[0]).toMatch(/empty or unreadable/);
    await lock.release();
  });
});
