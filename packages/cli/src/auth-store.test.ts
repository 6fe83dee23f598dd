import { mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MailError } from '@mailport/core';
import { describe, expect, it } from 'vitest';
import { parseTimeout } from './auth-common.js';
import {
  credentialsPath,
  defaultCredentialsDirectory,
  environmentLine,
  refuseToOverwrite,
  shellQuote,
  writePrivateFile,
} from './auth-store.js';
import { memoryIo } from './io.js';

describe('credentials files', () => {
  it('live under XDG_CONFIG_HOME (when absolute), else ~/.config', () => {
    expect(defaultCredentialsDirectory({ XDG_CONFIG_HOME: '/x/config', HOME: '/home/ana' })).toBe('/x/config/mailport');
    if (process.platform !== 'win32') {
      expect(defaultCredentialsDirectory({ XDG_CONFIG_HOME: 'relative', HOME: '/home/ana' })).toBe('/home/ana/.config/mailport');
      expect(defaultCredentialsDirectory({ HOME: '/home/ana' })).toBe('/home/ana/.config/mailport');
    }
    const io = memoryIo({ env: { XDG_CONFIG_HOME: '/x/config' }, cwd: '/work' });
    expect(credentialsPath(io, 'google', undefined)).toBe('/x/config/mailport/google.json');
    expect(credentialsPath(io, 'google', 'mine.json')).toBe('/work/mine.json');
  });

  it('are written with mode 0600, never over an existing file unless forced', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'mailport-store-'));
    const path = join(directory, 'nested', 'token.json');
    await writePrivateFile(path, '{"a":1}\n', false);
    expect(await readFile(path, 'utf8')).toBe('{"a":1}\n');
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect((await stat(join(directory, 'nested'))).mode & 0o777).toBe(0o700);
    const refused = await writePrivateFile(path, 'second', false).catch((error: unknown) => error);
    expect(MailError.isInstance(refused) && refused.code).toBe('configuration');
    await expect(refuseToOverwrite(path, false)).rejects.toThrow(/exists already/);
    await expect(refuseToOverwrite(path, true)).resolves.toBeUndefined();
    expect(await readFile(path, 'utf8')).toBe('{"a":1}\n');
    await writeFile(path, 'old', { mode: 0o644 });
    await writePrivateFile(path, 'replaced', true);
    expect(await readFile(path, 'utf8')).toBe('replaced');
    expect((await stat(path)).mode & 0o777).toBe(0o600);
  });
});

describe('environment lines', () => {
  it.each([
    ['1//0gabc-DEF_ghi.jkl', '1//0gabc-DEF_ghi.jkl'],
    ['gmail://ana@example.com?token_url=x&y=z', "'gmail://ana@example.com?token_url=x&y=z'"],
    ["it's", "'it'\\''s'"],
    ['M.C5_BAY.0.U.-C*abc!', "'M.C5_BAY.0.U.-C*abc!'"],
  ])('%s is written as %s', (value, quoted) => {
    expect(shellQuote(value)).toBe(quoted);
  });

  it('NAME=value', () => {
    expect(environmentLine('GOOGLE_REFRESH_TOKEN', '1//x')).toBe('GOOGLE_REFRESH_TOKEN=1//x');
  });
});

describe('--timeout', () => {
  it.each([
    ['90s', 90_000],
    ['5m', 300_000],
    ['1h', 3_600_000],
    ['250ms', 250],
    ['30', 30_000],
    ['1.5m', 90_000],
    ['soon', undefined],
    ['0', undefined],
  ])('%s is %s ms', (value, ms) => {
    expect(parseTimeout(value)).toBe(ms);
  });
});
