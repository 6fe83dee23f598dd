import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { findChromium, installChromium } from './find-chromium.js';
import { isCi, isExecutableFile, skipUnlessFound } from './find-tool.js';

/** A machine with these executables; Playwright keeps its Chromium at /home/ci/ms-playwright/chrome. */
function machine(executables: readonly string[], env: NodeJS.ProcessEnv = {}) {
  return {
    env: { PATH: '/usr/local/bin:/usr/bin:/bin', ...env },
    isExecutable: (path: string) => executables.includes(path),
    playwrightPath: () => '/home/ci/ms-playwright/chrome',
  };
}

describe('findChromium', () => {
  it('takes MAILPORT_CHROMIUM first', () => {
    const found = findChromium(machine(['/opt/chrome/chrome', '/usr/bin/chromium'], { MAILPORT_CHROMIUM: '/opt/chrome/chrome' }));
    expect(found).toEqual({ path: '/opt/chrome/chrome' });
  });

  it('fails, rather than skips, when MAILPORT_CHROMIUM is not an executable file', () => {
    expect(() => findChromium(machine(['/usr/bin/chromium'], { MAILPORT_CHROMIUM: '/nonexistent' }))).toThrow(
      'MAILPORT_CHROMIUM=/nonexistent is not an executable file',
    );
  });

  it("then Debian's /usr/bin/chromium, then chromium or chromium-browser on PATH", () => {
    expect(findChromium(machine(['/usr/local/bin/chromium', '/usr/bin/chromium']))).toEqual({ path: '/usr/bin/chromium' });
    expect(findChromium(machine(['/usr/local/bin/chromium-browser', '/bin/chromium']))).toEqual({ path: '/bin/chromium' });
    expect(findChromium(machine(['/usr/local/bin/chromium-browser']))).toEqual({ path: '/usr/local/bin/chromium-browser' });
    expect(findChromium(machine(['/usr/bin/chromium'], { MAILPORT_CHROMIUM: ' ' }))).toEqual({ path: '/usr/bin/chromium' });
  });

  it('then the Chromium Playwright downloads', () => {
    expect(findChromium(machine(['/home/ci/ms-playwright/chrome']))).toEqual({ path: '/home/ci/ms-playwright/chrome' });
  });

  it('finds none without one, and says how to install it', () => {
    const found = findChromium(machine(['/opt/chrome/chrome'], { PATH: '/opt/chrome:relative/bin' }));
    expect(found).toEqual({
      skip:
        'Chromium not found: MAILPORT_CHROMIUM is not set, and there is no /usr/bin/chromium, chromium or chromium-browser on PATH, ' +
        "or /home/ci/ms-playwright/chrome (Playwright's). Install it with: apt-get install -y --no-install-recommends chromium",
    });
    const noPlaywright = findChromium({
      ...machine([]),
      playwrightPath: () => {
        throw new Error('unsupported platform');
      },
    });
    expect(noPlaywright).toEqual({ skip: expect.stringContaining(`on PATH. Install it with: ${installChromium}`) });
  });

  it('finds none when MAILPORT_TEST_WITHOUT names chromium, even with MAILPORT_CHROMIUM', () => {
    const found = findChromium(
      machine(['/usr/bin/chromium'], { MAILPORT_TEST_WITHOUT: 'redis, Chromium', MAILPORT_CHROMIUM: '/usr/bin/chromium' }),
    );
    expect(found).toEqual({
      skip: `Chromium not found: MAILPORT_TEST_WITHOUT=redis, Chromium pretends it is not installed. Install it with: ${installChromium}`,
    });
    expect(findChromium(machine(['/usr/bin/chromium'], { MAILPORT_TEST_WITHOUT: 'redis' }))).toEqual({ path: '/usr/bin/chromium' });
  });
});

describe('skipUnlessFound', () => {
  it('runs a suite whose tool was found', () => {
    expect(skipUnlessFound({ path: '/usr/bin/chromium' }, { CI: 'true' })).toBe(false);
  });

  it('skips one whose tool was not, with the reason on stderr', () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    try {
      expect(skipUnlessFound({ skip: 'Chromium not found. Install it with: apt-get install chromium' }, {})).toBe(true);
      expect(skipUnlessFound({ skip: 'Redis not found' }, { CI: 'false' })).toBe(true);
      expect(warn.mock.calls).toEqual([
        ['Skipped: Chromium not found. Install it with: apt-get install chromium'],
        ['Skipped: Redis not found'],
      ]);
    } finally {
      warn.mockRestore();
    }
  });

  it('fails in CI instead of skipping', () => {
    expect(() => skipUnlessFound({ skip: 'Chromium not found.' }, { CI: 'true' })).toThrow(
      'Chromium not found.\nCI=true: in CI every test must run, so a missing tool is a failure, not a skip.',
    );
    expect([isCi({ CI: '1' }), isCi({ CI: 'True' }), isCi({ CI: '' }), isCi({ CI: '0' }), isCi({ CI: 'false' }), isCi({})]).toEqual([
      true,
      true,
      false,
      false,
      false,
      false,
    ]);
  });
});

describe('isExecutableFile', () => {
  const directory = mkdtemp(join(tmpdir(), 'mailport-find-tool-'));
  afterAll(async () => rm(await directory, { recursive: true, force: true }));

  it('accepts an executable file only', async () => {
    const root = await directory;
    await writeFile(join(root, 'run'), '#!/bin/sh\n');
    await chmod(join(root, 'run'), 0o755);
    await writeFile(join(root, 'data'), '');
    await chmod(join(root, 'data'), 0o644);
    await mkdir(join(root, 'folder'));
    expect([isExecutableFile(join(root, 'run')), isExecutableFile(join(root, 'folder')), isExecutableFile(join(root, 'missing'))]).toEqual([
      true,
      false,
      false,
    ]);
    // root may execute anything with an x bit, but a file with none is not executable for anyone.
    expect(isExecutableFile(join(root, 'data'))).toBe(false);
  });
});
