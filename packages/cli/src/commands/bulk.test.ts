import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { appendFile, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Sandbox, type StoredMessage, startSandbox } from '@mailport/sandbox';
import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { run } from '../cli.js';
import { exitCodes } from '../exit-codes.js';
import { memoryIo } from '../io.js';

const people = (count: number): string =>
  [
    'name,email,plan',
    ...Array.from(
      { length: count },
      (_, index) => `Person ${index + 1},person${index + 1}@example.org,${index % 2 === 0 ? 'gold' : '<b>basic</b>'}`,
    ),
  ].join('\n');

describe('mailport send --csv', () => {
  let sandbox: Sandbox;
  let directory: string;
  let csv: string;
  beforeAll(async () => {
    sandbox = await startSandbox();
  });
  afterAll(() => sandbox.close());
  beforeEach(async () => {
    sandbox.store.clear();
    sandbox.faults.clear();
    directory = await mkdtemp(join(tmpdir(), 'mailport-bulk-'));
    csv = join(directory, 'people.csv');
    await writeFile(csv, people(6));
  });

  const bulk = (extra: string[] = [], options: { signal?: AbortSignal; url?: string } = {}) => {
    const io = memoryIo({ cwd: directory, signal: options.signal });
    const argv = [
      'send',
      '--csv',
      'people.csv',
      '--url',
      options.url ?? sandbox.urls.smtp,
      '--from',
      'Shop <shop@example.com>',
      '--subject',
      'Hello {{name}}',
      '--text',
      'Your plan: {{plan}}',
      '--html',
      '<p>Your plan: {{plan}}</p><p>{{{plan}}}</p>',
      '--concurrency',
      '2',
      ...extra,
    ];
    return { io, done: run(argv, io) };
  };

  /** Row number -> how many times it was delivered, read from the Message-IDs that arrived. */
  async function deliveries(messages: readonly StoredMessage[] = sandbox.store.list()): Promise<Map<number, number>> {
    const counts = new Map<number, number>();
    for (const message of messages) {
      const id = (await simpleParser(message.raw)).messageId ?? '';
      const row = Number(/\.(\d+)@/.exec(id)?.[1]);
      counts.set(row, (counts.get(row) ?? 0) + 1);
    }
    return counts;
  }

  it('sends one personalised message per row, escaping values in HTML, and prints a summary', async () => {
    const { io, done } = bulk();
    expect(await done).toBe(exitCodes.ok);
    expect(sandbox.store.size).toBe(6);
    const second = sandbox.store.list().find((message) => message.envelope.to[0] === 'person2@example.org');
    const parsed = await simpleParser(second?.raw ?? Buffer.alloc(0));
    expect(parsed.subject).toBe('Hello Person 2');
    expect(parsed.text?.trim()).toBe('Your plan: <b>basic</b>');
    expect(parsed.html).toContain('<p>Your plan: &lt;b&gt;basic&lt;/b&gt;</p><p><b>basic</b></p>');
    expect(parsed.messageId).toMatch(/^<mailport\.[0-9a-f]{12}\.2@example\.com>$/);
    expect(io.out()).toMatch(/sent now\s+6/);
    expect(io.out()).toMatch(/journal .*people\.csv\.journal/);
    const journal = (await readFile(`${csv}.journal`, 'utf8'))
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { type: string });
    expect(journal.filter((entry) => entry.type === 'start')).toHaveLength(6);
    expect(journal.filter((entry) => entry.type === 'sent')).toHaveLength(6);
  });

  it('a re-run sends nothing again', async () => {
    expect(await bulk().done).toBe(exitCodes.ok);
    const again = bulk();
    expect(await again.done).toBe(exitCodes.ok);
    expect(sandbox.store.size).toBe(6);
    expect(again.io.out()).toMatch(/sent now\s+0\n\s+already sent\s+6/);
  });

  it('after Ctrl-C, a re-run sends only what was not sent: every row exactly once', async () => {
    const controller = new AbortController();
    const unsubscribe = sandbox.store.subscribe(() => {
      if (sandbox.store.size === 2) controller.abort(new Error('interrupted'));
    });
    const first = bulk([], { signal: controller.signal });
    expect(await first.done).toBe(exitCodes.partial);
    unsubscribe();
    expect(first.io.out()).toMatch(/not attempted\s+\d+\s+stopped: interrupted/);
    expect(sandbox.store.size).toBeLessThan(6);
    expect(await bulk().done).toBe(exitCodes.ok);
    expect([...(await deliveries()).entries()].sort((a, b) => a[0] - b[0])).toEqual([1, 2, 3, 4, 5, 6].map((row) => [row, 1]));
  });

  it('an unknown outcome is not sent again unless asked, and then with the same Message-ID', async () => {
    sandbox.faults.inject({ endpoint: 'smtp.DATA', action: 'drop' });
    const first = bulk(['--concurrency', '1']);
    expect(await first.done).toBe(exitCodes.partial);
    expect(first.io.out()).toMatch(/unknown outcome\s+1\s+may have been delivered/);
    expect(sandbox.store.size).toBe(6);
    const again = bulk();
    expect(await again.done).toBe(exitCodes.partial);
    expect(sandbox.store.size).toBe(6);
    const retried = bulk(['--retry-unknown']);
    expect(await retried.done).toBe(exitCodes.ok);
    const counts = await deliveries();
    expect(counts.get(1)).toBe(2);
    expect([2, 3, 4, 5, 6].map((row) => counts.get(row))).toEqual([1, 1, 1, 1, 1]);
  });

  it('a row started but never finished (a crash) counts as unknown', async () => {
    expect(await bulk().done).toBe(exitCodes.ok);
    await writeFile(csv, people(7));
    // What a crash right after handing row 7 to the transport leaves behind.
    const runId = JSON.parse((await readFile(`${csv}.journal`, 'utf8')).split('\n')[0] ?? '{}').runId as string;
    const rowHash = await hashOfRow7();
    await appendFile(
      `${csv}.journal`,
      `${JSON.stringify({ type: 'start', row: 7, hash: rowHash, messageId: `<mailport.${runId}.7@example.com>`, at: '' })}\n`,
    );
    const again = bulk();
    expect(await again.done).toBe(exitCodes.partial);
    expect(sandbox.store.size).toBe(6);
    expect(again.io.out()).toMatch(/row 7 +person7@example\.org +unknown-outcome/);
  });

  it('permanent failures are reported and not retried unless asked', async () => {
    sandbox.faults.inject({ endpoint: 'smtp.RCPT', status: 550, message: '5.1.1 No such user' });
    const first = bulk(['--concurrency', '1']);
    expect(await first.done).toBe(exitCodes.partial);
    expect(first.io.out()).toMatch(/failed\s+1\s+1 recipient-rejected/);
    expect(sandbox.store.size).toBe(5);
    expect(await bulk().done).toBe(exitCodes.partial);
    expect(sandbox.store.size).toBe(5);
    expect(await bulk(['--retry-failed']).done).toBe(exitCodes.ok);
    expect(sandbox.store.size).toBe(6);
  });

  it('an authentication failure stops the run with exit code 5', async () => {
    const { io, done } = bulk([], { url: sandbox.urls.smtp.replace('sandbox-password', 'wrong') });
    expect(await done).toBe(exitCodes.auth);
    expect(io.out()).toMatch(/stopped: auth/);
    expect(io.err()).toMatch(/what to do:/);
    expect(sandbox.store.size).toBe(0);
  });

  it('refuses a CSV that changed since the journal was written', async () => {
    expect(await bulk().done).toBe(exitCodes.ok);
    await writeFile(csv, people(6).replace('person3@example.org', 'someone.else@example.org'));
    const again = bulk();
    expect(await again.done).toBe(exitCodes.configuration);
    expect(again.io.err()).toMatch(/Row 3 of the CSV changed/);
  });

  it('checks templates against the CSV columns before sending anything', async () => {
    const { io, done } = bulk(['--subject', 'Hi {{nmae}}']);
    expect(await done).toBe(exitCodes.usage);
    expect(io.err()).toMatch(/no such column .*name, email, plan/);
    expect(sandbox.store.size).toBe(0);
  });

  it('--dry-run renders every row, prints the first and sends nothing', async () => {
    const { io, done } = bulk(['--dry-run']);
    expect(await done).toBe(exitCodes.ok);
    expect(io.out()).toMatch(/^Subject: Hello Person 1\r$/m);
    expect(io.err()).toMatch(/6 rows, 6 valid/);
    expect(sandbox.store.size).toBe(0);
    expect(existsSync(`${csv}.journal`)).toBe(false);
  });

  it('survives kill -9 of the process: a re-run delivers the rest, nothing twice but what it reports as unknown', async () => {
    const main = fileURLToPath(new URL('../../dist/main.js', import.meta.url));
    expect(existsSync(main), 'run `npm run build` first').toBe(true);
    await writeFile(csv, people(40));
    const argv = [
      'send',
      '--csv',
      csv,
      '--url',
      sandbox.urls.smtp,
      '--from',
      'shop@example.com',
      '--subject',
      'Hi {{name}}',
      '--text',
      'x',
      '--concurrency',
      '3',
    ];
    const child = spawn(process.execPath, [main, ...argv], { stdio: 'ignore' });
    await sandbox.store.waitFor(() => sandbox.store.size >= 10, 20_000);
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
    const beforeRerun = sandbox.store.size;
    expect(beforeRerun).toBeLessThan(40);

    const rerun = memoryIo({ cwd: directory });
    const code = await run([...argv, '--json'], rerun);
    const summary = JSON.parse(rerun.out()) as { sent: number; alreadySent: number; unknownSkipped: number };
    const counts = await deliveries();
    // Rows whose outcome the killed process never learnt are not resent: at most one each.
    expect([...counts.values()].every((count) => count === 1)).toBe(true);
    expect(summary.alreadySent + summary.sent + summary.unknownSkipped).toBe(40);
    expect(code).toBe(summary.unknownSkipped === 0 ? exitCodes.ok : exitCodes.partial);
    // Every row not reported unknown has arrived.
    expect(counts.size).toBeGreaterThanOrEqual(40 - summary.unknownSkipped);
  }, 60_000);

  async function hashOfRow7(): Promise<string> {
    const { createHash } = await import('node:crypto');
    return createHash('sha256')
      .update(JSON.stringify(['Person 7', 'person7@example.org', 'gold']))
      .digest('hex')
      .slice(0, 16);
  }
});
