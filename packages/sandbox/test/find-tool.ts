import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';

/**
 * A program a test needs from the system (Chromium for the browser tests; Redis next): where it was
 * found, or why none was, with the command that installs it. Each program has its own finder
 * (find-chromium.ts), and a test decides with `skipUnlessFound`:
 *
 * ```ts
 * const chromium = findChromium();
 * describe.skipIf(skipUnlessFound(chromium))('the inbox in a real browser', () => {
 *   // 'path' in chromium here, unless the suite is skipped
 * });
 * ```
 */
export type ToolLookup = { readonly path: string } | { readonly skip: string };

/** What the finders read: the tests of the finders pass their own. */
export interface LookupOptions {
  /** Environment variables: PATH, the tool's own override (MAILPORT_CHROMIUM), MAILPORT_TEST_WITHOUT. */
  readonly env?: NodeJS.ProcessEnv;
  /** Whether a path is an executable file. */
  readonly isExecutable?: (path: string) => boolean;
}

export function isExecutableFile(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** The first of `names` on the PATH, trying every directory for a name before the next name. */
export function findOnPath(names: readonly string[], options: LookupOptions = {}): string | undefined {
  const { env = process.env, isExecutable = isExecutableFile } = options;
  const directories = (env.PATH ?? '').split(delimiter).filter((directory) => isAbsolute(directory));
  for (const name of names) {
    for (const directory of directories) {
      const path = join(directory, name);
      if (isExecutable(path)) return path;
    }
  }
  return undefined;
}

/**
 * Whether MAILPORT_TEST_WITHOUT (a comma-separated list such as `chromium,redis`) asks the finders to
 * behave as if `tool` were not installed: how the skip path is checked on a machine that has it
 * (scripts/fresh-machine.sh does).
 */
export function pretendMissing(tool: string, env: NodeJS.ProcessEnv = process.env): boolean {
  return (env.MAILPORT_TEST_WITHOUT ?? '')
    .split(',')
    .map((name) => name.trim().toLowerCase())
    .includes(tool);
}

/** Whether this runs in CI: CI set to anything but empty, `false` or `0` (CI services set CI=true; so does .ci/run). */
export function isCi(env: NodeJS.ProcessEnv = process.env): boolean {
  const value = (env.CI ?? '').trim().toLowerCase();
  return value !== '' && value !== 'false' && value !== '0';
}

/**
 * Whether a suite that needs a tool is skipped: not when the tool was found. When it was not, the
 * suite is skipped and the reason, with the install command, goes to stderr. In CI it throws
 * instead, so the test file fails: .ci/run installs every tool, and a skip there would hide a broken
 * setup.
 */
export function skipUnlessFound(lookup: ToolLookup, env: NodeJS.ProcessEnv = process.env): boolean {
  if ('path' in lookup) return false;
  if (isCi(env)) {
    throw new Error(`${lookup.skip}\nCI=${env.CI ?? ''}: in CI every test must run, so a missing tool is a failure, not a skip.`);
  }
  console.warn(`Skipped: ${lookup.skip}`);
  return true;
}
