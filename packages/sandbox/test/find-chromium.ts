import { type Browser, chromium } from 'playwright-core';
import { findOnPath, isExecutableFile, type LookupOptions, pretendMissing, type ToolLookup } from './find-tool.js';

export { skipUnlessFound, type ToolLookup } from './find-tool.js';

/** The one command that installs Chromium on Debian (run it as root); .ci/run does. */
export const installChromium = 'apt-get install -y --no-install-recommends chromium';

export interface ChromiumLookupOptions extends LookupOptions {
  /** Where playwright-core keeps the Chromium it downloads; tests of the finder pass their own. */
  readonly playwrightPath?: () => string;
}

/**
 * A Chromium for the browser tests, which drive it with playwright-core (it downloads no browser):
 *
 * 1. MAILPORT_CHROMIUM, a path to a Chromium binary. If it is not an executable file, that is an
 *    error (a mistyped path must not turn into a skip), and this throws.
 * 2. Debian's package: /usr/bin/chromium, then `chromium` or `chromium-browser` on PATH.
 * 3. The one Playwright downloads (`npx playwright-core install chromium`), where playwright-core looks.
 *
 * With none, `{ skip }` says so and gives the install command; decide with `skipUnlessFound`, which
 * skips outside CI and fails in CI. MAILPORT_TEST_WITHOUT=chromium makes this find none.
 */
export function findChromium(options: ChromiumLookupOptions = {}): ToolLookup {
  const { env = process.env, isExecutable = isExecutableFile, playwrightPath = () => chromium.executablePath() } = options;
  if (pretendMissing('chromium', env)) {
    return {
      skip: `Chromium not found: MAILPORT_TEST_WITHOUT=${env.MAILPORT_TEST_WITHOUT} pretends it is not installed. Install it with: ${installChromium}`,
    };
  }
  const configured = env.MAILPORT_CHROMIUM?.trim();
  if (configured) {
    if (isExecutable(configured)) return { path: configured };
    throw new Error(
      `MAILPORT_CHROMIUM=${configured} is not an executable file. Point it at a Chromium binary, or unset it to use Debian's (${installChromium}).`,
    );
  }
  const debian = isExecutable('/usr/bin/chromium')
    ? '/usr/bin/chromium'
    : findOnPath(['chromium', 'chromium-browser'], { env, isExecutable });
  if (debian !== undefined) return { path: debian };
  let playwright: string | undefined;
  try {
    playwright = playwrightPath();
  } catch {
    // This platform has no Playwright build.
  }
  if (playwright !== undefined && isExecutable(playwright)) return { path: playwright };
  return {
    skip:
      'Chromium not found: MAILPORT_CHROMIUM is not set, and there is no /usr/bin/chromium, chromium or chromium-browser on PATH' +
      `${playwright === undefined ? '' : `, or ${playwright} (Playwright's)`}. Install it with: ${installChromium}`,
  };
}

/**
 * The browser tests' Chromium, headless, as playwright-core's Browser. launch() starts from a fresh
 * temporary profile every time; without the background-networking flags Chromium's own connections
 * (updates, sync, QUIC probes) get refused on sandboxed machines. `extraArgs` come after the project's flags.
 */
export function launchChromium(executablePath: string, extraArgs: readonly string[] = []): Promise<Browser> {
  return chromium.launch({
    executablePath,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      ...extraArgs,
    ],
  });
}
