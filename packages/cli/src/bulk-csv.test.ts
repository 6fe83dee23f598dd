import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MailError } from '@mailport/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { type CsvRow, openCsv } from './bulk-csv.js';
import { UsageError } from './exit-codes.js';

let directory: string;
beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'mailport-csv-'));
});

let files = 0;
async function read(
  content: Buffer | string,
  encoding?: string,
): Promise<{ columns: readonly string[]; rows: CsvRow[]; encoding: string }> {
  const path = join(directory, `file${files++}.csv`);
  await writeFile(path, content);
  const csv = await openCsv(path, { display: 'people.csv', encoding });
  const rows: CsvRow[] = [];
  for await (const row of csv.rows()) rows.push(row);
  return { columns: csv.columns, rows, encoding: csv.encoding };
}

/** Reads until the error; returns it with the rows read before it. */
async function failure(content: Buffer | string, encoding?: string): Promise<{ error: MailError; rows: CsvRow[] }> {
  const rows: CsvRow[] = [];
  try {
    const path = join(directory, `file${files++}.csv`);
    await writeFile(path, content);
    const csv = await openCsv(path, { display: 'people.csv', encoding });
    for await (const row of csv.rows()) rows.push(row);
  } catch (error) {
    if (MailError.isInstance(error)) return { error, rows };
    throw error;
  }
  throw new Error('expected an error');
}

describe('reading a CSV file', () => {
  it('reads UTF-8, with or without a byte order mark, and trims column names', async () => {
    const plain = await read('email, name\nana@example.org,José\n');
    expect(plain.columns).toEqual(['email', 'name']);
    expect(plain.rows).toEqual([{ number: 1, values: ['ana@example.org', 'José'] }]);
    const bom = await read(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('email,name\nana@example.org,José\n')]));
    expect(bom.columns).toEqual(['email', 'name']);
    expect(bom.rows[0]?.values).toEqual(['ana@example.org', 'José']);
  });

  it('honours UTF-16 byte order marks and --encoding labels', async () => {
    const text = 'email,name\r\nana@example.org,José Ñúñez 日本\r\n';
    const little = await read(Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]));
    expect(little.encoding).toBe('utf-16le');
    expect(little.rows[0]?.values).toEqual(['ana@example.org', 'José Ñúñez 日本']);
    const bigEndian = Buffer.from(text, 'utf16le').swap16();
    const big = await read(Buffer.concat([Buffer.from([0xfe, 0xff]), bigEndian]));
    expect(big.rows[0]?.values).toEqual(['ana@example.org', 'José Ñúñez 日本']);
    const windows = await read(Buffer.from('email,name\nana@example.org,Jos\xe9 \x80\n', 'latin1'), 'windows-1252');
    expect(windows.rows[0]?.values).toEqual(['ana@example.org', 'José €']);
    const latin9 = await read(Buffer.from('email,name\nana@example.org,\xa4\n', 'latin1'), 'iso-8859-15');
    expect(latin9.rows[0]?.values).toEqual(['ana@example.org', '€']);
    // 山田 in Shift_JIS.
    const sjis = await read(
      Buffer.concat([Buffer.from('email,name\nana@example.org,'), Buffer.from([0x8e, 0x52, 0x93, 0x63]), Buffer.from('\n')]),
      'shift_jis',
    );
    expect(sjis.rows[0]?.values).toEqual(['ana@example.org', '山田']);
    await expect(read('email\n', 'klingon')).rejects.toThrow(UsageError);
  });

  it('refuses invalid UTF-8 with the row, column, line and byte, after yielding the rows before it', async () => {
    const content = Buffer.concat([
      Buffer.from('email,name,plan\r\nana@example.org,Ana,gold\r\nbob@example.org,Jos'),
      Buffer.from([0xe9]),
      Buffer.from(',gold\r\n'),
    ]);
    const { error, rows } = await failure(content);
    expect(rows.map((row) => row.number)).toEqual([1]);
    expect(error.code).toBe('invalid-message');
    const offset = content.indexOf(0xe9);
    expect(error.message).toBe(
      `--csv people.csv: row 2, column "name" (line 3, byte ${offset}) is not valid utf-8 (bytes e9 2c 67 6f); nothing is sent from it on`,
    );
    expect(error.remediation).toMatch(/--encoding/);
    const header = await failure(Buffer.from('email,n\xe4me\n', 'latin1'));
    expect(header.error.message).toMatch(/the header row \(line 1, byte 7\) is not valid utf-8/);
  });

  it('finds the bad byte exactly in a large file whose characters straddle read chunks', async () => {
    const line = (index: number): string => `p${index}@example.org,Zoë Ångström 日本語 ${index},gold\n`;
    const lines = Array.from({ length: 5000 }, (_, index) => line(index + 1));
    const good = Buffer.from(`email,name,plan\n${lines.join('')}`);
    const all = await read(good);
    expect(all.rows).toHaveLength(5000);
    expect(all.rows[4321]?.values[1]).toBe('Zoë Ångström 日本語 4322');
    // Cut row 4000's name in the middle of 日 (three bytes): an incomplete character.
    const start = good.indexOf(line(4000));
    const broken = Buffer.concat([
      good.subarray(0, start),
      Buffer.from('p4000@example.org,Zo'),
      Buffer.from([0xe6, 0x97]),
      Buffer.from(',gold\n'),
      good.subarray(start + Buffer.byteLength(line(4000))),
    ]);
    const { error, rows } = await failure(broken);
    expect(rows).toHaveLength(3999);
    expect(error.message).toContain(`row 4000, column "name" (line 4001, byte ${start + Buffer.byteLength('p4000@example.org,Zo')})`);
  });

  it('refuses a file that ends inside a character', async () => {
    const { error, rows } = await failure(
      Buffer.concat([Buffer.from('email,name\na@example.org,Ana\nb@example.org,Zo'), Buffer.from([0xc3])]),
    );
    expect(rows).toHaveLength(1);
    expect(error.message).toMatch(/row 2, column "name" \(line 3, byte 45\) is not valid utf-8 \(bytes c3\)/);
  });

  it('handles mixed line ends without leaving a CR in the last column, and keeps line breaks inside quotes', async () => {
    const mixed = await read(
      'email,name\nana@example.org,Ana\r\nbob@example.org,"Bob\r\nthe builder"\r\n\r\ncy@example.org,Cy\rdee@example.org,Dee',
    );
    expect(mixed.rows.map((row) => row.values)).toEqual([
      ['ana@example.org', 'Ana'],
      ['bob@example.org', 'Bob\r\nthe builder'],
      ['cy@example.org', 'Cy'],
      ['dee@example.org', 'Dee'],
    ]);
  });

  it('refuses duplicate and empty column names, naming them', async () => {
    expect((await failure('email,name,tok,email\na,b,c,d\n')).error.message).toBe(
      '--csv people.csv: the header row names the column "email" 2 times (columns 1 and 4): rename one',
    );
    expect((await failure('email,,name\n')).error.message).toMatch(/has no name for column 2$/);
    expect((await failure('email,name,\n')).error.message).toMatch(/no name for column 3 \(a comma at the end of the line\?\)/);
    expect((await failure(Buffer.from('email,name\n', 'utf16le'))).error.message).toMatch(/UTF-16 without a byte order mark/);
  });

  it('refuses malformed CSV naming the row, column and line, and a missing, empty or directory path', async () => {
    const quote = await failure('email,name\na@example.org,Ana\nb@example.org,"Bob\n');
    expect(quote.rows).toHaveLength(1);
    expect(quote.error.message).toMatch(/row 2, column "name" \(line \d+\) is not valid CSV: Quote Not Closed/);
    const stray = await failure('email,name\na@example.org,Ana\nb@example.org,Bob "the" B\n');
    expect(stray.rows).toHaveLength(1);
    expect(stray.error.message).toMatch(/row 2, column "name" \(line 3\) is not valid CSV/);
    expect((await failure('')).error.message).toMatch(/is empty: it needs a header row/);
    await expect(openCsv(join(directory, 'missing.csv'), { display: 'missing.csv' })).rejects.toThrow('--csv missing.csv: no such file');
    await expect(openCsv(directory, { display: 'dir' })).rejects.toThrow('--csv dir: is a directory');
  });
});
