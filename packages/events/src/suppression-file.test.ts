import { execFile } from 'node:child_process';
import { appendFile, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Suppression, SuppressionStore } from './model.js';
import { createFileSuppressionStore } from './suppression-file.js';

let directory: string;
let path: string;
beforeEach(async () => {
  directory = await mkdtemp(join(tmpdir(), 'mailport-suppression-'));
  path = join(directory, 'suppressions.jsonl');
});
afterEach(async () => {
  vi.restoreAllMocks();
  await rm(directory, { recursive: true, force: true });
});

const createdAt = new Date().toISOString();
const entry = (address: string, scope = '*', extra: Partial<Suppression> = {}): Suppression => ({
  address,
  scope,
  reason: 'hard-bounce',
  createdAt,
  ...extra,
});

async function addresses(store: SuppressionStore): Promise<string[]> {
  const all: string[] = [];
  for await (const item of store.list()) all.push(`${item.address} ${item.scope}`);
  return all.sort();
}

describe('createFileSuppressionStore', () => {
  it('survives a restart, honours scope and expiry, and writes the file 0600', async () => {
    const first = createFileSuppressionStore(path);
    await first.add(entry('Ana@Example.org'));
    await first.add(entry('bob@example.org', 'news', { reason: 'unsubscribe' }));
    await first.add(entry('carl@example.org', '*', { reason: 'soft-bounces', expiresAt: new Date(Date.now() - 1).toISOString() }));
    expect((await stat(path)).mode & 0o777).toBe(0o600);

    const second = createFileSuppressionStore(path);
    const found = await second.check(['ana@example.org', 'bob@example.org', 'carl@example.org'], 'news');
    expect([...found.keys()]).toEqual(['ana@example.org', 'bob@example.org']);
    expect(found.get('bob@example.org')).toMatchObject({ reason: 'unsubscribe', scope: 'news' });
    expect((await second.check(['bob@example.org'], 'other')).size).toBe(0);
    expect(await second.remove('ANA@example.org')).toBe(true);
    expect(await second.remove('ana@example.org')).toBe(false);
    // The first instance reads what the second wrote.
    expect(await addresses(first)).toEqual(['bob@example.org news']);
    expect(await addresses(createFileSuppressionStore(path))).toEqual(['bob@example.org news']);
  });

  it('reads the file again when it was rewritten in place, or deleted', async () => {
    const store = createFileSuppressionStore(path);
    await store.add(entry('ana@example.org'));
    expect((await store.check(['ana@example.org'], undefined)).size).toBe(1);
    // An operator's editor: same inode, same length, another address.
    const text = await readFile(path, 'utf8');
    await new Promise((resolve) => setTimeout(resolve, 20));
    await writeFile(path, text.replace('ana@example.org', 'bob@example.org'));
    expect((await store.check(['ana@example.org', 'bob@example.org'], undefined)).has('bob@example.org')).toBe(true);
    expect((await store.check(['ana@example.org'], undefined)).size).toBe(0);
    await rm(path);
    expect((await store.check(['bob@example.org'], undefined)).size).toBe(0);
  });

  it('answers nothing, and creates nothing, when the file does not exist yet', async () => {
    const store = createFileSuppressionStore(path);
    expect((await store.check(['ana@example.org'], undefined)).size).toBe(0);
    expect(await store.remove('ana@example.org')).toBe(false);
    await expect(stat(path)).rejects.toThrow();
  });

  it('skips corrupt and hostile lines with a warning count, and never crashes', async () => {
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
    const good = JSON.stringify({ op: 'add', ...entry('ana@example.org') });
    await writeFile(
      path,
      [
        '{not json',
        'null',
        '[]',
        '"string"',
        JSON.stringify({ op: 'add', address: 'x', scope: '*', reason: 'hard-bounce', createdAt }),
        JSON.stringify({ op: 'add', ...entry('bob@example.org'), reason: 'because' }),
        JSON.stringify({ op: 'add', ...entry('carl@example.org'), __proto__: { polluted: true } }).replace(
          '"op"',
          '"__proto__":{"polluted":true},"op"',
        ),
        JSON.stringify({ op: 'drop-table' }),
        JSON.stringify({ op: 'remove', address: 42 }),
        `{"op":"add","address":"${'a'.repeat(20_000)}@example.org","scope":"*","reason":"manual","createdAt":"${createdAt}"}`,
        '\u0000\u0001\u0002',
        good,
        '',
      ].join('\n'),
    );
    const store = createFileSuppressionStore(path);
    const found = await store.check(['ana@example.org', 'carl@example.org', 'bob@example.org'], undefined);
    expect([...found.keys()]).toEqual(['ana@example.org', 'carl@example.org']);
    expect(store.skippedLines).toBe(10);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(warn).toHaveBeenCalledWith(expect.stringContaining('10 line(s)'), { type: 'MailportSuppressionWarning' });

    // A partial last line (a writer that died mid-line) is not read, and does not swallow the next entry.
    await appendFile(path, '{"op":"add","addr');
    expect((await store.check(['ana@example.org'], undefined)).size).toBe(1);
    await store.add(entry('dora@example.org'));
    expect((await createFileSuppressionStore(path).check(['dora@example.org'], undefined)).size).toBe(1);
  });

  it('replays each change once: a removal written twice (carried over by compaction, then rewritten by its appender) does not undo a later addition', async () => {
    // What a file looks like after that race: a carried-over removal, another process's addition,
    // then the removal again from the process that saw the file replaced under it.
    const line = (record: Record<string, unknown>): string => `${JSON.stringify(record)}\n`;
    await writeFile(
      path,
      line({ op: 'add', id: 'a1', ...entry('eve@example.org') }) +
        line({ op: 'remove', id: 'r1', address: 'eve@example.org' }) +
        line({ op: 'add', id: 'a2', ...entry('eve@example.org', '*', { reason: 'complaint' }) }) +
        line({ op: 'remove', id: 'r1', address: 'eve@example.org' }),
      { mode: 0o600 },
    );
    const store = createFileSuppressionStore(path);
    expect([...(await store.check(['eve@example.org'], undefined)).values()]).toMatchObject([{ reason: 'complaint' }]);
    await store.compact();
    expect(await addresses(createFileSuppressionStore(path))).toEqual(['eve@example.org *']);
    // New changes carry ids of their own; lines without one (older files) still apply each time.
    await store.remove('eve@example.org');
    const written = (await readFile(path, 'utf8'))
      .trim()
      .split('\n')
      .map((text) => JSON.parse(text) as { id?: string });
    expect(written.at(-1)?.id).toMatch(/^[A-Za-z0-9_-]{12}$/);
    expect(store.skippedLines).toBe(0);
  });

  it('two stores on one file (as two processes would be) lose nothing while both write and one compacts', async () => {
    const one = createFileSuppressionStore(path);
    const two = createFileSuppressionStore(path);
    const writes: Promise<unknown>[] = [];
    for (let n = 0; n < 150; n++) {
      writes.push(one.add(entry(`one${n}@example.org`)));
      writes.push(two.add(entry(`two${n}@example.org`)));
      if (n % 50 === 25) writes.push(one.compact());
    }
    await Promise.all(writes);
    await one.compact();
    const all = await addresses(createFileSuppressionStore(path));
    expect(all).toHaveLength(300);
    expect((await two.check(['one149@example.org', 'two0@example.org'], undefined)).size).toBe(2);
  });

  it('two other processes and this one, writing and compacting at once, lose nothing', async () => {
    // The child runs this very source under Node's type stripping, mapping the .js imports to the .ts files.
    const child = join(directory, 'writer.mjs');
    await writeFile(
      child,
      `import { registerHooks } from 'node:module';
registerHooks({ resolve(specifier, context, next) {
  try { return next(specifier, context); } catch (error) {
    if (specifier.startsWith('.') && specifier.endsWith('.js')) return next(specifier.slice(0, -3) + '.ts', context);
    throw error;
  }
} });
const [, , source, file, prefix, count] = process.argv;
const { createFileSuppressionStore } = await import(source);
const store = createFileSuppressionStore(file);
const createdAt = new Date().toISOString();
for (let n = 0; n < Number(count); n++) {
  await store.add({ address: prefix + n + '@example.org', scope: '*', reason: 'manual', createdAt });
  if (n % 40 === 20) await store.compact();
}
`,
    );
    const source = fileURLToPath(new URL('./suppression-file.ts', import.meta.url));
    const run = promisify(execFile);
    const here = createFileSuppressionStore(path);
    const local = (async () => {
      for (let n = 0; n < 150; n++) {
        await here.add(entry(`here${n}@example.org`));
        if (n === 75) await here.remove('here0@example.org');
      }
    })();
    await Promise.all([
      run(process.execPath, [child, source, path, 'left', '150']),
      run(process.execPath, [child, source, path, 'right', '150']),
      local,
    ]);
    const all = await addresses(createFileSuppressionStore(path));
    expect(all).toHaveLength(449);
    expect(all).not.toContain('here0@example.org *');
    expect(all).toContain('left149@example.org *');
    expect(all).toContain('right0@example.org *');
  });

  it('compacts by itself once dead lines pile up, keeping only live entries', async () => {
    const store = createFileSuppressionStore(path);
    for (let n = 0; n < 1100; n++) await store.add(entry('ana@example.org', '*', { detail: String(n) }));
    const lines = (await readFile(path, 'utf8')).split('\n').filter((line) => line !== '');
    expect(lines.length).toBeLessThan(1100);
    const [only] = [...(await store.check(['ana@example.org'], undefined)).values()];
    expect(only?.detail).toBe('1099');
    await expect(stat(`${path}.lock`)).rejects.toThrow();
  });

  it('refuses bad entries and a bad path', async () => {
    const store = createFileSuppressionStore(path);
    await expect(store.add({ ...entry('ana@example.org'), reason: 'x' as never })).rejects.toThrow(TypeError);
    expect(() => createFileSuppressionStore('')).toThrow(TypeError);
  });
});
