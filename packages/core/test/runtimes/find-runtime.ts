import { homedir } from 'node:os';
import { join } from 'node:path';
import { findOnPath, isExecutableFile, type LookupOptions, pretendMissing, type ToolLookup } from '../../../sandbox/test/find-tool.js';

export { skipUnlessFound, type ToolLookup } from '../../../sandbox/test/find-tool.js';

/** The runtimes the runtime-matrix tests run on besides Node. */
export type RuntimeName = 'bun' | 'deno' | 'wrangler' | 'workerd';

/** The command that installs them where {@link findRuntime} looks (into a cache, not the repository). */
export const installRuntimes = 'scripts/install-runtimes.sh';

/** Where scripts/install-runtimes.sh installs: $MAILPORT_RUNTIMES, default ~/.cache/mailport-runtimes. */
export function runtimesDirectory(env: NodeJS.ProcessEnv = process.env): string {
  return env.MAILPORT_RUNTIMES?.trim() || join(homedir(), '.cache', 'mailport-runtimes');
}

/**
 * A runtime for the runtime-matrix tests:
 *
 * 1. MAILPORT_BUN, MAILPORT_DENO, MAILPORT_WRANGLER or MAILPORT_WORKERD, a path to its binary; if that is not an
 *    executable file, this throws (a mistyped path must not turn into a skip).
 * 2. The one scripts/install-runtimes.sh installed (see {@link runtimesDirectory}).
 * 3. The name on PATH.
 *
 * With none, `{ skip }` says so and gives the install command; decide with `skipUnlessFound`, which
 * skips outside CI and fails in CI. MAILPORT_TEST_WITHOUT=bun (or deno, wrangler, workerd) makes this find none.
 */
export function findRuntime(name: RuntimeName, options: LookupOptions = {}): ToolLookup {
  const { env = process.env, isExecutable = isExecutableFile } = options;
  const variable = `MAILPORT_${name.toUpperCase()}`;
  // workerd comes with wrangler.
  const install = `${installRuntimes} ${name === 'workerd' ? 'wrangler' : name}`;
  if (pretendMissing(name, env)) {
    return {
      skip: `${name} not found: MAILPORT_TEST_WITHOUT=${env.MAILPORT_TEST_WITHOUT} pretends it is not installed. Install it with: ${install}`,
    };
  }
  const configured = env[variable]?.trim();
  if (configured) {
    if (isExecutable(configured)) return { path: configured };
    throw new Error(
      `${variable}=${configured} is not an executable file. Point it at the ${name} binary, or unset it (install with: ${install}).`,
    );
  }
  const cached = join(runtimesDirectory(env), 'node_modules', '.bin', name);
  if (isExecutable(cached)) return { path: cached };
  const onPath = findOnPath([name], { env, isExecutable });
  if (onPath !== undefined) return { path: onPath };
  return {
    skip: `${name} not found: ${variable} is not set, and there is no ${cached} and no ${name} on PATH. Install it with: ${install}`,
  };
}
