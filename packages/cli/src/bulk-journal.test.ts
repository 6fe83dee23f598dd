import { appendFile, mkdtemp, readFile, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { MailError, type SendReceipt } from '@mailport/core';
import { beforeEach, describe, expect, it } from 'vitest';
import { type JournalEntry, openJournal } from './bulk-journal.js';

let path: string;
beforeEach(async () => {
  path = join(await mkdtemp(join(tmpdir(), 'mailport-journal-')), 'people.csv.journal');
});

const run = { csv: '/data/people.csv', columns: ['email', 'name'] };
const hash = (row: number): string => `${String(row).padStart(8, '0')}abcdef01`;
const receipt = (row: number): SendReceipt =>
  ({ messageId: `<m.${row}@example.com>`, accepted: [`p${row}@example.org`], rejected: [] }) as unknown as SendReceipt;

async function entries(): Promise<JournalEntry[]> {
  return (await readFile(path, 'utf8'))
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as JournalEntry);
}

describe('the bulk journal', () => {
  it('records starts, outcomes and refused rows, and reads them back compactly', async () => {
    const journal = await openJournal(path, run);
    expect(journal.columns).toEqual(['email', 'name']);
    await journal.start(1, hash(1), '<m.1@example.com>');
    await journal.sent(1, receipt(1));
    await journal.start(2, hash(2), '<m.2@example.com>');
    await journal.failed(2, new MailError('transient', 'Connection refused by 127.0.0.1:1'));
    await journal.start(3, hash(3), '<m.3@example.com>');
    await journal.failed(4, new MailError('invalid-message', 'row 4, column "email": no @'), { hash: hash(4) });
    await journal.close();

    const again = await openJournal(path, { ...run, columns: ['other'] });
    expect(again.runId).toBe(journal.runId);
    // The columns of the run that created the journal, to compare with the CSV's.
    expect(again.columns).toEqual(['email', 'name']);
    expect(again.previous(1)).toEqual({ kind: 'sent', hash: '00000001' });
    expect(again.previous(2)).toMatchObject({
      kind: 'failed',
      stage: 'send',
      code: 'transient',
      retryable: true,
      messageId: '<m.2@example.com>',
    });
    expect(again.previous(3)).toEqual({ kind: 'started', hash: '00000003', messageId: '<m.3@example.com>' });
    expect(again.previous(4)).toMatchObject({ kind: 'failed', stage: 'input', code: 'invalid-message', hash: '00000004' });
    expect(again.previous(5)).toBeUndefined();
    expect(again.notices).toEqual([]);
    await again.close();
  });

  it('groups concurrent starts into few flushes, and keeps every line whole and in order', async () => {
    const journal = await openJournal(path, run);
    await Promise.all(Array.from({ length: 200 }, (_, index) => journal.start(index + 1, hash(index + 1), `<m.${index + 1}@example.com>`)));
    await journal.close();
    const starts = (await entries()).filter((entry) => entry.type === 'start');
    expect(starts.map((entry) => entry.row)).toEqual(Array.from({ length: 200 }, (_, index) => index + 1));
  });

  it('a cut last line is truncated away durably and replaced, and the row it names counts as started', async () => {
    const journal = await openJournal(path, run);
    await journal.start(1, hash(1), '<m.1@example.com>');
    await journal.sent(1, receipt(1));
    await journal.close();
    // A crash while writing row 7's start.
    await appendFile(path, `{"type":"start","row":7,"hash":"${hash(7)}","messageId":"<m.7@exa`);

    const recovered = await openJournal(path, run);
    expect(recovered.notices[0]).toMatch(/cut short .* row 7 now counts as started/);
    expect(recovered.previous(7)).toEqual({ kind: 'started', hash: '00000007', messageId: '' });
    // Repaired on disk before anything else is written.
    const text = await readFile(path, 'utf8');
    expect(text.endsWith('\n')).toBe(true);
    expect((await entries()).at(-1)).toMatchObject({ type: 'torn', row: 7 });
    await recovered.start(8, hash(8), '<m.8@example.com>');
    await recovered.close();

    // The next runs read it as an ordinary journal: no refusal, ever.
    for (let time = 0; time < 2; time++) {
      const next = await openJournal(path, run);
      expect(next.notices).toEqual([]);
      expect(next.previous(7)?.kind).toBe('started');
      expect(next.previous(8)?.kind).toBe('started');
      expect(next.previous(1)?.kind).toBe('sent');
      await next.close();
    }
  });

  it('a cut line that names no row is dropped: its message was never handed over', async () => {
    const journal = await openJournal(path, run);
    await journal.start(1, hash(1), '<m.1@example.com>');
    await journal.close();
    await appendFile(path, '{"type":"sta');
    const recovered = await openJournal(path, run);
    expect(recovered.notices[0]).toMatch(/names no row/);
    expect(recovered.previous(1)?.kind).toBe('started');
    await recovered.close();
    expect((await entries()).map((entry) => entry.type)).toEqual(['run', 'start', 'torn']);
  });

  it('a cut outcome leaves its row started, and a journal cut inside its first line starts over', async () => {
    const journal = await openJournal(path, run);
    await journal.start(3, hash(3), '<m.3@example.com>');
    await journal.close();
    await appendFile(path, '{"type":"sent","row":3,"messageId":"<m.3@exam');
    const recovered = await openJournal(path, run);
    expect(recovered.previous(3)).toEqual({ kind: 'started', hash: '00000003', messageId: '<m.3@example.com>' });
    await recovered.close();

    await writeFile(path, '{"type":"run","version":2,"runI');
    const fresh = await openJournal(path, run);
    expect(fresh.runId).toMatch(/^[0-9a-f]{12}$/);
    await fresh.close();
  });

  it('reads journals damaged by the old bug (a new line glued onto a cut one), and refuses real damage', async () => {
    const journal = await openJournal(path, run);
    await journal.start(1, hash(1), '<m.1@example.com>');
    await journal.close();
    await appendFile(
      path,
      `{"type":"start","row":2,"ha{"type":"start","row":3,"hash":"${hash(3)}","messageId":"<m.3@example.com>","at":""}\n`,
    );
    const glued = await openJournal(path, run);
    expect(glued.previous(2)?.kind).toBe('started');
    expect(glued.previous(3)).toEqual({ kind: 'started', hash: '00000003', messageId: '<m.3@example.com>' });
    expect(glued.notices[0]).toMatch(/line 3 .* cut short/);
    await glued.close();

    await appendFile(path, 'this is not a journal\n');
    await expect(openJournal(path, run)).rejects.toThrow(/line 4 is not a journal entry/);
  });

  it('keeps earlier states in a few bytes a row', async () => {
    const rows = 100_000;
    const lines = [`{"type":"run","version":2,"runId":"0123456789ab","csv":"x","at":""}`];
    for (let row = 1; row <= rows; row++) {
      lines.push(`{"type":"start","row":${row},"hash":"${hash(row)}","messageId":"<m.${row}@example.com>","at":""}`);
      lines.push(`{"type":"sent","row":${row},"messageId":"<m.${row}@example.com>","accepted":[],"rejected":[],"at":""}`);
    }
    await writeFile(path, `${lines.join('\n')}\n`);
    // A real collection, so that only what the journal keeps is counted.
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    gc();
    const before = process.memoryUsage().heapUsed;
    const journal = await openJournal(path, run);
    gc();
    const grown = process.memoryUsage().heapUsed - before;
    expect(journal.previous(rows)).toEqual({ kind: 'sent', hash: String(rows).padStart(8, '0') });
    // Sent rows have no map entry; the typed arrays sit outside the JS heap.
    expect(grown).toBeLessThan(16 * 1024 * 1024);
    await journal.close();
    await truncate(path, 0);
  });
});
