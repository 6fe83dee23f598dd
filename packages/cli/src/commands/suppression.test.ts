import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMailer } from '@mailport/core';
import { createFileSuppressionStore, suppressionFilter } from '@mailport/events';
import { type Sandbox, startSandbox } from '@mailport/sandbox';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { run } from '../cli.js';
import { exitCodes } from '../exit-codes.js';
import { memoryIo } from '../io.js';
import { parseExpiry } from './suppression.js';

describe('mailport suppression', () => {
  let directory: string;
  let file: string;
  beforeEach(async () => {
    directory = await mkdtemp(join(tmpdir(), 'mailport-suppression-'));
    file = join(directory, 'suppressions.jsonl');
  });
  afterEach(() => rm(directory, { recursive: true, force: true }));

  const cli = async (args: string[], env: Record<string, string> = {}) => {
    const io = memoryIo({ cwd: directory, env });
    const code = await run(['suppression', ...args], io);
    return { code, out: io.out(), err: io.err() };
  };

  it('adds, lists (text and JSON) and removes, in a file the store of @mailport/events reads', async () => {
    expect(await cli(['add', 'Ana@Example.ORG', '--file', file])).toMatchObject({
      code: 0,
      out: 'suppressed Ana@example.org (scope *, manual)\n',
    });
    const added = await cli([
      'add',
      'bo@example.org',
      '--scope',
      'newsletter',
      '--reason',
      'unsubscribe',
      '--expires',
      '30d',
      '--file',
      file,
    ]);
    expect(added.code).toBe(0);
    expect(added.out).toMatch(/^suppressed bo@example\.org \(scope newsletter, unsubscribe, until \d{4}-\d\d-\d\dT/);

    const listed = await cli(['list'], { MAILPORT_SUPPRESSION_FILE: file });
    expect(listed.code).toBe(0);
    const rows = listed.out
      .trimEnd()
      .split('\n')
      .map((line) => line.split('\t'));
    expect(rows.map((row) => row.slice(0, 3))).toEqual([
      ['ana@example.org', '*', 'manual'],
      ['bo@example.org', 'newsletter', 'unsubscribe'],
    ]);
    expect(rows[0]?.[4]).toBe('never');
    expect(listed.err).toBe('2 suppressed\n');

    const json = await cli(['list', '--json', '--file', file]);
    const entries = json.out
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(Object.keys(entries[0] ?? {})).toEqual(['address', 'scope', 'reason', 'createdAt', 'expiresAt', 'eventId', 'detail']);
    expect(entries[0]).toMatchObject({ address: 'ana@example.org', expiresAt: null, detail: 'added by mailport suppression add' });

    // The store a mailer uses sees the same file: bo@ is suppressed on the newsletter only.
    const store = createFileSuppressionStore(file);
    expect([...(await store.check(['bo@example.org', 'ana@example.org'], 'receipts')).keys()]).toEqual(['ana@example.org']);
    expect([...(await store.check(['bo@example.org'], 'newsletter')).keys()]).toEqual(['bo@example.org']);

    expect(await cli(['remove', 'bo@example.org', '--scope', 'other', '--file', file])).toMatchObject({
      code: 0,
      out: 'bo@example.org was not suppressed in scope other: nothing to remove\n',
    });
    expect(await cli(['remove', 'BO@example.org', '--file', file])).toMatchObject({
      code: 0,
      out: 'removed BO@example.org (every scope)\n',
    });
    expect((await store.check(['bo@example.org'], 'newsletter')).size).toBe(0);
    expect((await cli(['list', '--file', file])).out).toBe(`ana@example.org\t*\tmanual\t${entries[0]?.createdAt}\tnever\n`);
  });

  it('refuses a malformed address, naming the argument, and never repairs one into another', async () => {
    for (const address of [
      'ana',
      'ana@',
      '@example.org',
      'ana@@example.org',
      'ana@example.org, bo@example.org',
      'a b@example.org',
      'ana@example.org\r\nBcc: x@y',
    ]) {
      const result = await cli(['add', address, '--file', file]);
      expect(result.code, address).toBe(exitCodes.usage);
      expect(result.err, address).toMatch(/^mailport suppression: ADDRESS "/);
      // The control characters are not echoed to the terminal.
      expect(result.err).not.toMatch(/\r/);
    }
    const named = await cli(['add', 'Ana <ana@example.org>', '--file', file]);
    expect(named.code).toBe(exitCodes.usage);
    expect(named.err).toContain('give the bare address (ana@example.org)');
    await expect(readFile(file)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('says which flag is missing or wrong', async () => {
    expect(await cli(['list'])).toMatchObject({
      code: exitCodes.usage,
      err: expect.stringContaining('--file FILE is required (or set MAILPORT_SUPPRESSION_FILE)'),
    });
    expect((await cli([])).err).toContain('say what to do: list, add or remove');
    expect((await cli(['drop', '--file', file])).err).toContain('unknown action "drop"');
    expect((await cli(['add', '--file', file])).err).toContain('add needs an ADDRESS');
    expect((await cli(['add', 'a@example.org', 'b@example.org', '--file', file])).err).toContain('one ADDRESS at a time');
    expect((await cli(['add', 'a@example.org', '--reason', 'spite', '--file', file])).err).toContain('--reason must be one of manual');
    expect((await cli(['add', 'a@example.org', '--expires', 'tomorrow', '--file', file])).err).toContain('--expires must be a duration');
    expect((await cli(['add', 'a@example.org', '--expires', '2001-01-01', '--file', file])).err).toContain('is in the past');
    expect((await cli(['add', 'a@example.org', '--scope', 'x\u001b[31m', '--file', file])).err).toContain('--scope must be');
    expect((await cli(['list', '--scope', 'x', '--file', file])).err).toContain('--scope goes with add or remove');
    expect((await cli(['remove', 'a@example.org', '--reason', 'manual', '--file', file])).err).toContain('--reason goes with add');
    expect((await cli(['--help'])).out).toContain('mailport suppression list');
  });

  it('parses expiries', () => {
    const now = Date.parse('2026-01-01T00:00:00.000Z');
    expect(parseExpiry('90m', now)).toBe('2026-01-01T01:30:00.000Z');
    expect(parseExpiry('2w', now)).toBe('2026-01-15T00:00:00.000Z');
    expect(parseExpiry('2026-06-01', now)).toBe('2026-06-01T00:00:00.000Z');
    expect(() => parseExpiry('2026-13-45', now)).toThrow(/not a date/);
    expect(() => parseExpiry('9999999d', now)).toThrow(/duration/);
    expect(() => parseExpiry('-1d', now)).toThrow(/duration/);
  });

  it('skips hostile lines in the file, and prints nothing that drives a terminal', async () => {
    await writeFile(
      file,
      [
        '{"op":"add","address":"x\\u001b]0;pwned\\u0007@example.org","scope":"*","reason":"manual","createdAt":"2026-01-01T00:00:00Z"}',
        'not json',
        '{"op":"add","address":"ok@example.org","scope":"*","reason":"manual","createdAt":"2026-01-01T00:00:00Z","detail":"\\u001b[2J \\u009b31m"}',
        '',
      ].join('\n'),
    );
    const listed = await cli(['list', '--file', file]);
    expect(listed.code).toBe(0);
    expect(listed.out).not.toMatch(/\u001b/);
    expect(listed.out).toContain('ok@example.org');
    const json = await cli(['list', '--json', '--file', file]);
    expect(json.out).not.toMatch(/[\u001b\u009b]/);
    expect((JSON.parse(json.out) as { detail: string }).detail).toBe('\u001b[2J \u009b31m');
  });

  it('a file that cannot be written is a configuration error (4)', async () => {
    if (process.getuid?.() === 0) return; // root writes anywhere
    await chmod(directory, 0o500);
    const result = await cli(['add', 'ana@example.org', '--file', file]);
    await chmod(directory, 0o700);
    expect(result.code).toBe(exitCodes.configuration);
    expect(result.err).toContain('cannot be used');
  });
});

describe('mailport suppression, then a send', () => {
  let sandbox: Sandbox;
  let directory: string;
  beforeAll(async () => {
    sandbox = await startSandbox();
    directory = await mkdtemp(join(tmpdir(), 'mailport-suppression-send-'));
  });
  afterAll(async () => {
    await sandbox.close();
    await rm(directory, { recursive: true, force: true });
  });

  it('an address added by the command is dropped from the next send, with no request for it', async () => {
    const file = join(directory, 'suppressions.jsonl');
    expect(await run(['suppression', 'add', 'ana@example.org', '--file', file], memoryIo({ cwd: directory }))).toBe(0);
    await using mailer = createMailer({ transport: sandbox.urls.smtp, suppression: suppressionFilter(createFileSuppressionStore(file)) });
    const receipt = await mailer.send({ from: 'app@example.com', to: ['ana@example.org', 'bo@example.org'], subject: 'Hi', text: 'x' });
    expect(receipt.rejected.map((rejected) => [rejected.address, rejected.code])).toEqual([['ana@example.org', 'suppressed']]);
    expect(sandbox.store.last()?.envelope.to).toEqual(['bo@example.org']);
  });
});
