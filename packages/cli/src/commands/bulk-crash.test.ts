import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, stat, truncate, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type CliChild, deliveries, mailport, people, type SmtpChild, spawnCli, startSmtpChild } from '../../test/bulk-harness.js';
import { exitCodes } from '../exit-codes.js';

/**
 * `mailport send --csv` as real processes: killed at random points, interrupted, started twice
 * at once, and left with a journal line cut short. Whatever happens, no row arrives twice, and
 * every row that has not arrived is reported (unknown outcome) or sent by the next run.
 */
describe('mailport send --csv: crashes and concurrent runs', () => {
  let server: SmtpChild;
  let directory: string;
  let csv: string;
  beforeAll(async () => {
    server = await startSmtpChild();
  });
  afterAll(() => server.close());
  beforeEach(async () => {
    await server.clear();
    directory = await mkdtemp(join(tmpdir(), 'mailport-bulk-crash-'));
    csv = join(directory, 'people.csv');
  });

  const argv = (extra: string[] = []): string[] => [
    'send',
    '--csv',
    csv,
    '--url',
    server.url,
    '--from',
    'shop@example.com',
    '--subject',
    'Hi {{name}}',
    '--text',
    'x',
    '--concurrency',
    '3',
    ...extra,
  ];
  const start = (extra: string[] = []): CliChild => spawnCli(argv(extra), { cwd: directory });

  /** A final, complete run in this process; returns its JSON summary. */
  async function finish(
    rows: number,
  ): Promise<{ summary: { sent: number; alreadySent: number; unknownSkipped: number; complete: boolean }; code: number }> {
    const final = await mailport([...argv(), '--json'], { cwd: directory });
    const summary = JSON.parse(final.out) as { sent: number; alreadySent: number; unknownSkipped: number; complete: boolean };
    expect(summary.complete).toBe(true);
    expect(summary.alreadySent + summary.sent + summary.unknownSkipped).toBe(rows);
    expect(final.code).toBe(summary.unknownSkipped === 0 ? exitCodes.ok : exitCodes.partial);
    return { summary, code: final.code };
  }

  /** Nothing twice; every row not arrived is one the final run reported unknown. */
  async function expectExactlyOnceOrUnknown(rows: number, unknown: number): Promise<void> {
    const counts = await deliveries(server);
    expect([...counts.entries()].filter(([, count]) => count !== 1)).toEqual([]);
    expect(counts.size).toBeGreaterThanOrEqual(rows - unknown);
    expect(counts.size).toBeLessThanOrEqual(rows);
  }

  /** Kills `child` with SIGKILL once `after` messages arrived in all, plus a random few milliseconds. */
  async function killAfter(child: CliChild, after: number, random: () => number): Promise<void> {
    await Promise.race([server.waitFor(after, 20_000), child.exited]);
    await new Promise((resolve) => setTimeout(resolve, Math.floor(random() * 40)));
    child.process.kill('SIGKILL');
    await child.exited;
  }

  // A fixed seed: the kill points vary from one kill to the next, and from one run of the test to the next not at all.
  const seeded = (seed: number) => () => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    return seed / 2 ** 31;
  };

  it('survives kill -9 at random points, three times over: nothing twice, and the rest delivered or reported unknown', async () => {
    await writeFile(csv, people(120));
    await server.delay(5);
    const random = seeded(7);
    let target = 0;
    for (let kill = 0; kill < 3; kill++) {
      target += 10 + Math.floor(random() * 20);
      const child = start();
      await killAfter(child, target, random);
      target = await server.count();
    }
    await server.delay(0);
    const { summary } = await finish(120);
    await expectExactlyOnceOrUnknown(120, summary.unknownSkipped);
  }, 60_000);

  it('a journal line cut short, then two more kill -9s, then a complete run: every row once or reported unknown, never twice', async () => {
    await writeFile(csv, people(90));
    await server.delay(5);
    const random = seeded(11);
    const journal = `${csv}.journal`;
    await killAfter(start(), 15, random);
    // The crash cut the journal's last line in the middle.
    const { size } = await stat(journal);
    const text = await readFile(journal, 'utf8');
    const lastLine = text.slice(text.lastIndexOf('\n', text.length - 2) + 1);
    await truncate(journal, size - Math.ceil(lastLine.length / 2));
    expect((await readFile(journal, 'utf8')).endsWith('\n')).toBe(false);

    for (const after of [35, 55]) {
      const child = start();
      await killAfter(child, after, random);
      // Each run repaired the journal before appending: every line whole.
      for (const line of (await readFile(journal, 'utf8')).split('\n').slice(0, -1)) expect(() => JSON.parse(line)).not.toThrow();
    }
    await server.delay(0);
    const { summary } = await finish(90);
    await expectExactlyOnceOrUnknown(90, summary.unknownSkipped);
    const torn = (await readFile(journal, 'utf8')).split('\n').filter((line) => line.includes('"type":"torn"'));
    expect(torn).toHaveLength(1);
  }, 60_000);

  it('Ctrl-C (SIGINT) mid-run: in-flight sends finish, the journal is consistent, exit code 130', async () => {
    await writeFile(csv, people(80));
    await server.delay(20);
    const child = start();
    await server.waitFor(5);
    child.process.kill('SIGINT');
    const { code } = await child.exited;
    expect(code).toBe(130);
    expect(child.out()).toMatch(/stopped: interrupted \(Ctrl-C\)/);
    const entries = (await readFile(`${csv}.journal`, 'utf8'))
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { type: string; row?: number });
    const started = entries.filter((entry) => entry.type === 'start').map((entry) => entry.row);
    const finished = entries.filter((entry) => entry.type === 'sent').map((entry) => entry.row);
    // Every started row finished and was recorded: none is left with an unknown outcome.
    expect([...finished].sort()).toEqual([...started].sort());
    expect(await server.count()).toBe(started.length);
    expect(existsSync(`${csv}.journal.lock`)).toBe(false);
    await server.delay(0);
    const { summary } = await finish(80);
    expect(summary.unknownSkipped).toBe(0);
    await expectExactlyOnceOrUnknown(80, 0);
  }, 60_000);

  it('two runs started at once on the same CSV: one sends every row exactly once, the other refuses with the lock error', async () => {
    await writeFile(csv, people(150));
    await server.delay(5);
    const [first, second] = [start(), start()];
    const results = await Promise.all([first.exited, second.exited]);
    const codes = results.map((result) => result.code).sort();
    expect(codes).toEqual([exitCodes.ok, exitCodes.configuration]);
    const loser = results[0]?.code === exitCodes.configuration ? first : second;
    expect(loser.err()).toMatch(/The journal .*people\.csv\.journal is in use by another run: PID \d+ on this host, started \d{4}-/);
    expect(loser.err()).toMatch(/what to do: Wait for that run to finish/);
    // The loser wrote nothing: it never got the lock.
    expect(loser.out()).toBe('');
    expect([...(await deliveries(server)).entries()].sort((a, b) => a[0] - b[0])).toEqual(
      Array.from({ length: 150 }, (_, index) => [index + 1, 1]),
    );
  }, 60_000);

  it('takes over a stale lock left by a process that is gone, with a notice', async () => {
    await writeFile(csv, people(5));
    const dead = spawn(process.execPath, ['-e', '0']);
    await once(dead, 'exit');
    await writeFile(`${csv}.journal.lock`, JSON.stringify({ pid: dead.pid, hostname: hostname(), startedAt: '2025-01-01T00:00:00.000Z' }));
    const run = await mailport(argv(), { cwd: directory });
    expect(run.code).toBe(exitCodes.ok);
    expect(run.err).toMatch(new RegExp(`note: took over the lock of an earlier run that is no longer running \\(PID ${dead.pid}`));
    expect(await server.count()).toBe(5);
    expect(existsSync(`${csv}.journal.lock`)).toBe(false);
  });
});
