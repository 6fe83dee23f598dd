import { once } from 'node:events';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { deliveries, mailport, people, type SmtpChild, startSmtpChild } from '../../test/bulk-harness.js';
import { exitCodes } from '../exit-codes.js';

/** How a long run behaves: progress where no terminal shows it, and a transport that is down. */
describe('mailport send --csv: a long run', () => {
  let server: SmtpChild;
  let directory: string;
  beforeAll(async () => {
    server = await startSmtpChild();
  });
  afterAll(() => server.close());
  beforeEach(async () => {
    await server.clear();
    directory = await mkdtemp(join(tmpdir(), 'mailport-bulk-run-'));
    await writeFile(join(directory, 'people.csv'), people(40));
  });

  const bulk = (extra: string[], url = server.url, signal?: AbortSignal) =>
    mailport(
      ['send', '--csv', 'people.csv', '--url', url, '--from', 'shop@example.com', '--subject', 'Hi {{name}}', '--text', 'x', ...extra],
      {
        cwd: directory,
        signal,
      },
    );

  it('outside a terminal, prints a plain progress line at a steady interval', async () => {
    await server.delay(10);
    const { code, err, out } = await bulk(['--progress-interval', '50ms', '--concurrency', '2']);
    expect(code).toBe(exitCodes.ok);
    const lines = err.split('\n').filter((line) => line.startsWith('progress: '));
    expect(lines.length).toBeGreaterThanOrEqual(2);
    expect(lines[0]).toMatch(
      /^progress: \d+ of (about )?\d+ rows \(\d+%\), sent \d+, failed 0, unknown 0, skipped 0; [\d.]+ msg\/s, (about .* left|time left unknown)$/,
    );
    expect(lines.at(-1)).toMatch(/ of 40 rows /);
    // No bar, no carriage returns, in a log.
    expect(err).not.toContain('\r');
    expect(out).toMatch(/sent now\s+40/);
  });

  it('with --json, a stream of JSON progress events on stderr, and one JSON summary on stdout', async () => {
    await server.delay(10);
    const { code, err, out } = await bulk(['--json', '--progress-interval', '50ms', '--concurrency', '2']);
    expect(code).toBe(exitCodes.ok);
    const events = err
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(events.length).toBeGreaterThanOrEqual(2);
    for (const event of events) {
      expect(event).toMatchObject({
        type: 'progress',
        rows: expect.any(Number),
        sent: expect.any(Number),
        failed: 0,
        unknown: 0,
        skipped: 0,
      });
      expect(event).toHaveProperty('totalRows');
      expect(event).toHaveProperty('ratePerSecond');
      expect(event).toHaveProperty('etaSeconds');
    }
    expect(out.trim().split('\n')).toHaveLength(1);
    expect(JSON.parse(out)).toMatchObject({ rows: 40, complete: true, sent: 40, failures: [] });
  });

  it('streams: the first message leaves while a large file is still unread, and Ctrl-C then leaves the rest for a re-run', async () => {
    await writeFile(join(directory, 'people.csv'), people(200_000));
    const controller = new AbortController();
    const started = Date.now();
    const run = bulk(['--json'], server.url, controller.signal);
    await server.waitFor(1);
    const firstMessageMs = Date.now() - started;
    controller.abort(new Error('interrupted'));
    const { code, out } = await run;
    expect(code).toBe(130);
    const summary = JSON.parse(out) as { rows: number; complete: boolean; sent: number };
    // Rows are read as they are sent: the 200,000 rows were not parsed (nor held) first.
    expect(summary.complete).toBe(false);
    expect(summary.rows).toBeLessThan(2000);
    // Generous for a loaded machine; the old code parsed and built every row before the first send.
    expect(firstMessageMs).toBeLessThan(3000);
  });

  it('a dead transport stops the run after a few connection failures; unattempted rows stay unstarted and a re-run sends them', async () => {
    const closed = createServer();
    closed.listen(0, '127.0.0.1');
    await once(closed, 'listening');
    const port = (closed.address() as { port: number }).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));

    const started = Date.now();
    const dead = await bulk(['--concurrency', '2'], `smtp://bulk:bulk-password@127.0.0.1:${port}`);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(dead.code).toBe(exitCodes.transient);
    expect(dead.err).toMatch(/Stopped after 5 connection failures in a row: Connection refused by 127\.0\.0\.1:\d+/);
    expect(dead.err).toMatch(/what to do: Check that the server is up/);
    expect(dead.err).not.toContain('bulk-password');
    expect(dead.out).toMatch(/not attempted\s+\d+\s+stopped: 5 connection failures in a row; row \d+ and every row after it were not sent/);
    const journal = (await readFile(join(directory, 'people.csv.journal'), 'utf8'))
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { type: string; row?: number });
    const startedRows = journal.filter((entry) => entry.type === 'start').map((entry) => entry.row);
    // Only the rows in flight when it stopped were started, each tried (three times) and failed for now.
    expect(startedRows.length).toBeLessThanOrEqual(4);
    expect(
      journal
        .filter((entry) => entry.type === 'failed')
        .map((entry) => entry.row)
        .sort(),
    ).toEqual(startedRows.sort());

    const again = await bulk(['--concurrency', '2']);
    expect(again.code).toBe(exitCodes.ok);
    expect([...(await deliveries(server)).entries()].sort((a, b) => a[0] - b[0])).toEqual(
      Array.from({ length: 40 }, (_, index) => [index + 1, 1]),
    );
  });
});
