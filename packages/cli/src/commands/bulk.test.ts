import { existsSync } from 'node:fs';
import { appendFile, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { deliveries, mailport, people, type SmtpChild, startSmtpChild } from '../../test/bulk-harness.js';
import { exitCodes } from '../exit-codes.js';

describe('mailport send --csv', () => {
  let server: SmtpChild;
  let directory: string;
  let csv: string;
  beforeAll(async () => {
    server = await startSmtpChild();
  });
  afterAll(() => server.close());
  beforeEach(async () => {
    await server.clear();
    directory = await mkdtemp(join(tmpdir(), 'mailport-bulk-'));
    csv = join(directory, 'people.csv');
    await writeFile(csv, people(6));
  });

  const bulk = (extra: string[] = [], options: { signal?: AbortSignal; url?: string } = {}) =>
    mailport(
      [
        'send',
        '--csv',
        'people.csv',
        '--url',
        options.url ?? server.url,
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
      ],
      { cwd: directory, signal: options.signal },
    );

  const journal = async (): Promise<{ type: string; row?: number }[]> =>
    (await readFile(`${csv}.journal`, 'utf8'))
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { type: string; row?: number });

  const sorted = async (): Promise<[number, number][]> => [...(await deliveries(server)).entries()].sort((a, b) => a[0] - b[0]);
  const once = (rows: number): [number, number][] => Array.from({ length: rows }, (_, index) => [index + 1, 1]);

  it('sends one personalised message per row, escaping values in HTML, and prints a summary', async () => {
    const { code, out } = await bulk();
    expect(code).toBe(exitCodes.ok);
    const messages = await server.messages();
    expect(messages).toHaveLength(6);
    const second = messages.find((message) => message.to[0] === 'person2@example.org');
    const parsed = await simpleParser(second?.raw ?? Buffer.alloc(0));
    expect(parsed.subject).toBe('Hello Person 2');
    expect(parsed.text?.trim()).toBe('Your plan: <b>basic</b>');
    expect(parsed.html).toContain('<p>Your plan: &lt;b&gt;basic&lt;/b&gt;</p><p><b>basic</b></p>');
    expect(parsed.messageId).toMatch(/^<mailport\.[0-9a-f]{12}\.2@example\.com>$/);
    expect(out).toMatch(/sent now\s+6/);
    expect(out).toMatch(/journal .*people\.csv\.journal/);
    const entries = await journal();
    expect(entries.filter((entry) => entry.type === 'start')).toHaveLength(6);
    expect(entries.filter((entry) => entry.type === 'sent')).toHaveLength(6);
    // The lock is gone once the run ends.
    expect(existsSync(`${csv}.journal.lock`)).toBe(false);
  });

  it('a re-run sends nothing again', async () => {
    expect((await bulk()).code).toBe(exitCodes.ok);
    const again = await bulk();
    expect(again.code).toBe(exitCodes.ok);
    expect(await server.count()).toBe(6);
    expect(again.out).toMatch(/sent now\s+0\n\s+already sent\s+6/);
  });

  it('after Ctrl-C, in-flight sends finish, the exit code is 130, and a re-run sends only the rest: every row exactly once', async () => {
    await writeFile(csv, people(30));
    await server.delay(30);
    const controller = new AbortController();
    const first = bulk([], { signal: controller.signal });
    await server.waitFor(2);
    controller.abort(new Error('interrupted'));
    const interrupted = await first;
    expect(interrupted.code).toBe(130);
    expect(interrupted.out).toMatch(/not attempted\s+\d+\s+stopped: interrupted \(Ctrl-C\); row \d+ and every row after it were not sent/);
    // Every row it started has its outcome: nothing is left unknown by a Ctrl-C.
    const entries = await journal();
    const starts = entries.filter((entry) => entry.type === 'start').map((entry) => entry.row);
    const outcomes = entries.filter((entry) => entry.type === 'sent' || entry.type === 'failed').map((entry) => entry.row);
    expect(outcomes.sort()).toEqual(starts.sort());
    expect(await server.count()).toBe(starts.length);
    expect(starts.length).toBeLessThan(30);
    await server.delay(0);
    expect((await bulk()).code).toBe(exitCodes.ok);
    expect(await sorted()).toEqual(once(30));
  });

  it('an unknown outcome is not sent again unless asked, and then with the same Message-ID', async () => {
    await server.fault('data', 'drop');
    const first = await bulk(['--concurrency', '1']);
    expect(first.code).toBe(exitCodes.partial);
    expect(first.out).toMatch(/unknown outcome\s+1\s+may have been delivered/);
    expect(await server.count()).toBe(6);
    const again = await bulk();
    expect(again.code).toBe(exitCodes.partial);
    expect(await server.count()).toBe(6);
    const retried = await bulk(['--retry-unknown']);
    expect(retried.code).toBe(exitCodes.ok);
    const counts = await deliveries(server);
    expect(counts.get(1)).toBe(2);
    expect([2, 3, 4, 5, 6].map((row) => counts.get(row))).toEqual([1, 1, 1, 1, 1]);
  });

  it('a row started but never finished (a crash) counts as unknown', async () => {
    expect((await bulk()).code).toBe(exitCodes.ok);
    await writeFile(csv, people(7));
    // What a crash right after handing row 7 to the transport leaves behind.
    const runId = JSON.parse((await readFile(`${csv}.journal`, 'utf8')).split('\n')[0] ?? '{}').runId as string;
    const { createHash } = await import('node:crypto');
    const hash = createHash('sha256')
      .update(JSON.stringify(['Person 7', 'person7@example.org', 'gold']))
      .digest('hex')
      .slice(0, 16);
    await appendFile(
      `${csv}.journal`,
      `${JSON.stringify({ type: 'start', row: 7, hash, messageId: `<mailport.${runId}.7@example.com>`, at: '' })}\n`,
    );
    const again = await bulk();
    expect(again.code).toBe(exitCodes.partial);
    expect(await server.count()).toBe(6);
    expect(again.out).toMatch(/row 7 +person7@example\.org +unknown-outcome/);
  });

  it('permanent failures are reported and not retried unless asked', async () => {
    await server.fault('rcpt', { code: 550, message: '5.1.1 No such user' });
    const first = await bulk(['--concurrency', '1']);
    expect(first.code).toBe(exitCodes.partial);
    expect(first.out).toMatch(/failed\s+1\s+1 recipient-rejected/);
    expect(await server.count()).toBe(5);
    expect((await bulk()).code).toBe(exitCodes.partial);
    expect(await server.count()).toBe(5);
    expect((await bulk(['--retry-failed'])).code).toBe(exitCodes.ok);
    expect(await server.count()).toBe(6);
  });

  it('an authentication failure stops the run with exit code 5', async () => {
    const { code, out, err } = await bulk([], { url: server.url.replace('bulk-password', 'wrong') });
    expect(code).toBe(exitCodes.auth);
    expect(out).toMatch(/stopped: auth/);
    expect(err).toMatch(/what to do:/);
    expect(err).not.toContain('wrong');
    expect(await server.count()).toBe(0);
  });

  it('refuses, at the first changed row and before sending it, a CSV that changed since the journal was written', async () => {
    expect((await bulk()).code).toBe(exitCodes.ok);
    await writeFile(csv, people(6).replace('person3@example.org', 'someone.else@example.org'));
    const again = await bulk();
    expect(again.code).toBe(exitCodes.invalidInput);
    expect(again.err).toMatch(/row 3 changed since .*people\.csv\.journal was written .*nothing is sent from it on/);
    expect(again.out).toMatch(/already sent\s+2/);
    expect(await server.count()).toBe(6);

    // The header too, before any row.
    await writeFile(csv, people(6).replace('name,email,plan', 'name,email,tier'));
    const header = await bulk(['--text', 'x', '--html', 'x']);
    expect(header.code).toBe(exitCodes.invalidInput);
    expect(header.err).toMatch(/the header row changed .*it was: name, email, plan; now: name, email, tier/);
  });

  it('sends rows added at the end, as the README says; and a corrected refused row', async () => {
    await writeFile(csv, people(4).replace('person2@example.org', 'person2@@example.org'));
    const first = await bulk();
    expect(first.code).toBe(exitCodes.partial);
    expect(first.out).toMatch(/row 2 +person2@@example\.org +invalid-message: row 2, column "email": --to:/);
    await writeFile(csv, people(6));
    const second = await bulk();
    expect(second.code).toBe(exitCodes.ok);
    expect(second.out).toMatch(/sent now\s+3\n\s+already sent\s+3/);
    expect(await sorted()).toEqual(once(6));
  });

  it('checks every template against the CSV columns before sending anything', async () => {
    for (const extra of [
      ['--subject', 'Hi {{nmae}}'],
      ['--text', '{{nope}}'],
      ['--html', '<p>{{{nope}}}</p>'],
      ['--to', '{{mail}}'],
      ['--cc', '{{name}} <{{boss}}>'],
      ['--bcc', '{{audit}}'],
      ['--reply-to', '{{reply}}'],
      ['--from', '{{sender}}'],
      ['--header', 'X-Id: {{id}}'],
    ]) {
      const { code, err } = await bulk(extra);
      expect(code, extra.join(' ')).toBe(exitCodes.usage);
      expect(err).toMatch(/no such column .*name, email, plan/);
    }
    expect(await server.count()).toBe(0);
    expect(existsSync(`${csv}.journal`)).toBe(false);
  });

  it('--dry-run renders every row as the file streams, prints the first and sends nothing', async () => {
    await writeFile(csv, people(6).replace('person5@example.org', 'person5@'));
    const { code, out, err } = await bulk(['--dry-run']);
    expect(code).toBe(exitCodes.invalidInput);
    expect(out).toMatch(/^Subject: Hello Person 1\r$/m);
    expect(err).toMatch(/row 5, column "email": --to: .*empty domain/);
    expect(err).toMatch(/6 rows, 5 valid, 1 invalid/);
    expect(await server.count()).toBe(0);
    expect(existsSync(`${csv}.journal`)).toBe(false);
    const dry = await bulk(['--dry-run', '--json']);
    expect(JSON.parse(dry.out)).toMatchObject({ dryRun: true, rows: 6, valid: 5, invalid: 1, problems: [{ row: 5 }] });
  });

  it('lists what was not sent in row order, however the sends interleave', async () => {
    await writeFile(csv, people(40));
    for (let fault = 0; fault < 12; fault++) await server.fault('rcpt', { code: 550, message: '5.1.1 No such user' }, 1);
    await server.fault('data', { code: 554, message: '5.7.1 Refused' }, 3);
    const { code, out } = await bulk(['--concurrency', '5', '--json']);
    expect(code).toBe(exitCodes.partial);
    const summary = JSON.parse(out) as { failures: { row: number }[]; failed: number };
    expect(summary.failed).toBe(15);
    const rows = summary.failures.map((failure) => failure.row);
    expect(rows).toEqual([...rows].sort((a, b) => a - b));
  });
});
