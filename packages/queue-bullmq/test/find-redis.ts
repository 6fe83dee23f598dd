import { findOnPath, isExecutableFile, type LookupOptions, pretendMissing, type ToolLookup } from '../../sandbox/test/find-tool.ts';

export { skipUnlessFound, type ToolLookup } from '../../sandbox/test/find-tool.ts';

/** The one command that installs Redis on Debian (run it as root); .ci/run does. */
export const installRedis = 'apt-get install -y --no-install-recommends redis-server';

/**
 * A `redis-server` for the queue tests, which start their own on a free loopback port:
 *
 * 1. MAILPORT_REDIS_SERVER, a path to a redis-server binary. If it is not an executable file, that
 *    is an error (a mistyped path must not turn into a skip), and this throws.
 * 2. Debian's package: /usr/bin/redis-server, then `redis-server` on PATH.
 *
 * With none, `{ skip }` says so and gives the install command; decide with `skipUnlessFound`, which
 * skips outside CI and fails in CI. MAILPORT_TEST_WITHOUT=redis makes this find none.
 */
export function findRedis(options: LookupOptions = {}): ToolLookup {
  const { env = process.env, isExecutable = isExecutableFile } = options;
  if (pretendMissing('redis', env)) {
    return {
      skip: `redis-server not found: MAILPORT_TEST_WITHOUT=${env.MAILPORT_TEST_WITHOUT} pretends it is not installed. Install it with: ${installRedis}`,
    };
  }
  const configured = env.MAILPORT_REDIS_SERVER?.trim();
  if (configured) {
    if (isExecutable(configured)) return { path: configured };
    throw new Error(
      `MAILPORT_REDIS_SERVER=${configured} is not an executable file. Point it at a redis-server binary, or unset it to use Debian's (${installRedis}).`,
    );
  }
  const found = isExecutable('/usr/bin/redis-server') ? '/usr/bin/redis-server' : findOnPath(['redis-server'], { env, isExecutable });
  if (found !== undefined) return { path: found };
  return {
    skip: `redis-server not found: MAILPORT_REDIS_SERVER is not set, and there is no /usr/bin/redis-server or redis-server on PATH. Install it with: ${installRedis}`,
  };
}
