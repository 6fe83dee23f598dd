import { execFile } from 'node:child_process';
import { appendFile, mkdtemp, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { verpAddress, verpToken } from '@mailport/core/verp';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SendLogEntry } from './model.js';
import { createFileSendLog } from './send-log-file.js';

const run = promisify(execFile);

function entry(n: number, extra: Partial<SendLogEntry> = {}): SendLogEntry {
  return {
    messageId: `<m${n}@shop.example>`,
    providerMessageId: `p-${n}`,
    transport: 'ses',
    recipients: [`user${n}@example.org`],
    tags: ['receipt'],
    metadata: { order: String(n) },
    sentAt: '2026-12-06T12:00:00.000Z',
    ...extra,
  };
}

describe('createFileSendLog', () => {
  let directory: string;
  let path: string;
  beforeEach(async () => {
    directory = await mkdtemp(join(tmpdir(), 'mailport-send-log-'));
    path = join(directory, 'send-log.jsonl');
  });
  afterEach(() => rm(directory, { recursive: true, force: true }));

  it('records entries as JSON lines, mode 0600, and finds them by Message-ID, provider id and VERP token', async () => {
    const log = createFileSendLog(path);
    await log.record(
      entry(1, {
        submittedMessageId: '<built1@shop.example>',
        envelopeFrom: verpAddress('<m1@shop.example>', { domain: 'bounces.shop.example', secret: 'a'.repeat(32) }),
      }),
    );
    await log.record(entry(2, { providerMessageId: undefined }));
    const lines = (await readFile(path, 'utf8')).split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[2]).toBe('');
    expect(Object.keys(JSON.parse(lines[0] as string))).toEqual([
      'messageId',
      'providerMessageId',
      'transport',
      'recipients',
      'tags',
      'metadata',
      'envelopeFrom',
      'sentAt',
      'submittedMessageId',
    ]);
    expect(JSON.parse(lines[1] as string)).not.toHaveProperty('providerMessageId');
    expect((await stat(path)).mode & 0o777).toBe(0o600);

    expect(await log.get('<m1@shop.example>')).toMatchObject({ transport: 'ses', metadata: { order: '1' } });
    expect(await log.get('m1@shop.example')).toMatchObject({ providerMessageId: 'p-1' });
    expect((await log.getByProviderId('p-1'))?.messageId).toBe('<m1@shop.example>');
    expect((await log.getByVerpToken(verpToken('<m2@shop.example>')))?.messageId).toBe('<m2@shop.example>');
    expect(await log.get('<nobody@shop.example>')).toBeUndefined();
    expect(await log.getByProviderId('p-2')).toBeUndefined();

    // A new instance (a restart) loads and indexes the file.
    const reopened = createFileSendLog(path);
    expect((await reopened.getByProviderId('p-1'))?.recipients).toEqual(['user1@example.org']);
    expect((await reopened.getByVerpToken(verpToken('<m1@shop.example>')))?.envelopeFrom).toMatch(/^bounces\+/);
  });

  it('finds a message whose Message-ID the provider replaced by the one it was built with, and by its VERP token', async () => {
    const log = createFileSendLog(path);
    await log.record(entry(1, { messageId: '<0100-abc@email.amazonses.com>', submittedMessageId: '<m1@shop.example>' }));
    const reopened = createFileSendLog(path);
    for (const sendLog of [log, reopened]) {
      expect((await sendLog.get('<m1@shop.example>'))?.messageId).toBe('<0100-abc@email.amazonses.com>');
      expect((await sendLog.get('<0100-abc@email.amazonses.com>'))?.submittedMessageId).toBe('<m1@shop.example>');
      expect((await sendLog.getByVerpToken(verpToken('<m1@shop.example>')))?.providerMessageId).toBe('p-1');
    }
  });

  it('sees what another process appended, and waits for the rest of a half-written line', async () => {
    const reader = createFileSendLog(path);
    expect(await reader.get('<m7@shop.example>')).toBeUndefined();
    // Another process, appending in the file's format.
    const line = JSON.stringify(entry(7));
    const script = `require('node:fs').appendFileSync(process.argv[1], process.argv[2] + '\\n', { mode: 0o600 })`;
    await run(process.execPath, ['-e', script, path, line]);
    expect((await reader.get('<m7@shop.example>'))?.providerMessageId).toBe('p-7');

    const half = JSON.stringify(entry(8));
    await appendFile(path, half.slice(0, 40));
    expect(await reader.get('<m8@shop.example>')).toBeUndefined();
    await appendFile(path, `${half.slice(40)}\n`);
    expect((await reader.getByProviderId('p-8'))?.messageId).toBe('<m8@shop.example>');
  });

  it('two writers on one file: every line whole, each sees all', async () => {
    const first = createFileSendLog(path);
    const second = createFileSendLog(path);
    await Promise.all(Array.from({ length: 200 }, (_, n) => (n % 2 === 0 ? first : second).record(entry(n))));
    const lines = (await readFile(path, 'utf8')).trimEnd().split('\n');
    expect(lines).toHaveLength(200);
    for (const text of lines) expect(() => JSON.parse(text)).not.toThrow();
    for (const n of [0, 1, 198, 199]) {
      expect((await first.get(`<m${n}@shop.example>`))?.metadata).toEqual({ order: String(n) });
      expect((await second.getByProviderId(`p-${n}`))?.messageId).toBe(`<m${n}@shop.example>`);
    }
  });

  it('two processes appending at once (the built package): 2 x 300 whole lines, all found', async () => {
    // Each child records through dist/ (npm run build), as two applications sharing the file would.
    const script = `
      const { createFileSendLog } = await import('@mailport/events');
      const log = createFileSendLog(process.argv[1]);
      const base = Number(process.argv[2]);
      await Promise.all(Array.from({ length: 300 }, (_, n) => log.record({
        messageId: '<m' + (base + n) + '@shop.example>', providerMessageId: 'p-' + (base + n), transport: 'smtp',
        recipients: ['user' + (base + n) + '@example.org'], tags: ['x'.repeat(200)], metadata: { pad: 'y'.repeat(300) }, sentAt: new Date().toISOString(),
      })));`;
    const child = (base: number) =>
      run(process.execPath, ['--input-type=module', '-e', script, path, String(base)], { cwd: process.cwd() });
    await Promise.all([child(0), child(1000)]);
    const lines = (await readFile(path, 'utf8')).trimEnd().split('\n');
    expect(lines).toHaveLength(600);
    for (const text of lines) expect(() => JSON.parse(text)).not.toThrow();
    const log = createFileSendLog(path);
    for (const n of [0, 299, 1000, 1299]) expect((await log.getByProviderId(`p-${n}`))?.messageId).toBe(`<m${n}@shop.example>`);
  });

  it('skips corrupt lines: bad JSON, wrong types, hostile keys, a line past 64 kB, binary noise', async () => {
    const good = JSON.stringify(entry(3));
    await writeFile(
      path,
      [
        '{not json',
        'null',
        '[]',
        '"text"',
        JSON.stringify({ ...entry(4), recipients: 'user4@example.org' }),
        JSON.stringify({ ...entry(5), metadata: { order: 5 } }),
        JSON.stringify({ ...entry(6), messageId: '' }),
        JSON.stringify({ ...entry(9), messageId: 'x'.repeat(5000) }),
        `{"messageId":"<big@x>","pad":"${'y'.repeat(200_000)}"}`,
        '\u0000\u00ff\ufffd',
        '{"messageId":"<m10@shop.example>","transport":"smtp","recipients":[],"tags":[],"metadata":{"__proto__":{"polluted":"yes"},"order":"10"},"sentAt":"x"}',
        '{"messageId":"<m11@shop.example>","transport":"smtp","recipients":[],"tags":[],"metadata":{"__proto__":"yes"},"sentAt":"x"}',
        good,
        '',
      ].join('\n'),
    );
    const log = createFileSendLog(path);
    expect((await log.get('<m3@shop.example>'))?.providerMessageId).toBe('p-3');
    for (const n of [4, 5, 6, 10]) expect(await log.get(`<m${n}@shop.example>`)).toBeUndefined();
    expect(await log.get('<big@x>')).toBeUndefined();
    // A "__proto__" key is a key like any other, never the entry's prototype.
    const hostile = await log.get('<m11@shop.example>');
    expect(Object.getPrototypeOf(hostile?.metadata)).toBe(Object.prototype);
    expect(Object.hasOwn(hostile?.metadata ?? {}, '__proto__')).toBe(true);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('reads a truncated or replaced file again from the start', async () => {
    const log = createFileSendLog(path);
    await log.record(entry(1));
    await log.record(entry(2));
    await truncate(path, 0);
    await appendFile(path, `${JSON.stringify(entry(3))}\n`);
    expect((await log.get('<m3@shop.example>'))?.providerMessageId).toBe('p-3');
  });

  it('keeps the newest maxEntries in memory', async () => {
    const log = createFileSendLog(path, { maxEntries: 3 });
    for (let n = 1; n <= 5; n++) await log.record(entry(n));
    expect(await log.get('<m1@shop.example>')).toBeUndefined();
    expect(await log.getByProviderId('p-2')).toBeUndefined();
    expect(await log.getByVerpToken(verpToken('<m2@shop.example>'))).toBeUndefined();
    expect((await log.get('<m5@shop.example>'))?.providerMessageId).toBe('p-5');
    // The file keeps everything.
    expect((await readFile(path, 'utf8')).trimEnd().split('\n')).toHaveLength(5);
    // Logged again (a resend), a message is the newest, under its new provider id only, as in the memory log.
    await log.record(entry(3, { providerMessageId: 'p-3b' }));
    await log.record(entry(6));
    expect((await log.get('<m3@shop.example>'))?.providerMessageId).toBe('p-3b');
    expect(await log.getByProviderId('p-3')).toBeUndefined();
    expect(await log.get('<m4@shop.example>')).toBeUndefined();
  });

  it('refuses what is not an entry, and bad options, with a TypeError; a missing file is an empty log', async () => {
    expect(() => createFileSendLog('')).toThrow(TypeError);
    expect(() => createFileSendLog(path, { maxEntries: 0 })).toThrow(TypeError);
    const log = createFileSendLog(join(directory, 'none', 'missing.jsonl'));
    expect(await log.get('<m1@shop.example>')).toBeUndefined();
    await expect(createFileSendLog(path).record({ ...entry(1), recipients: 'x' } as unknown as SendLogEntry)).rejects.toThrow(TypeError);
    // A Message-ID is read as the memory log reads it: with or without <>, nothing else.
    await expect(createFileSendLog(path).record({ ...entry(1), messageId: 'not an id' })).rejects.toThrow(TypeError);
    await expect(createFileSendLog(path).record({ ...entry(1), submittedMessageId: '<a b@c>' })).rejects.toThrow(TypeError);
    expect(await log.get(42 as never)).toBeUndefined();
    await expect(createFileSendLog(path).record(entry(1, { tags: Array.from({ length: 9000 }, () => 'tag-tag-tag') }))).rejects.toThrow(
      RangeError,
    );
  });
});
