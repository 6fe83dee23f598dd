import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// What the built CLI loads for help, its version and usage errors: these must stay instant, so
// they load no package (not even @mailport/core, for the overall help), only the CLI's own
// modules. How long they take is measured by `npm run bench -- cli`, never here.

const root = fileURLToPath(new URL('../../../', import.meta.url));
const main = fileURLToPath(new URL('../dist/main.js', import.meta.url));
const marker = 'mailport-startup-test-loaded:';

// Preloaded with --import: records the URL of every module the process loads and prints the list
// to stderr on exit, after a marker, as paths relative to the repository.
const recorder = `
import { registerHooks } from 'node:module';
const loaded = [];
registerHooks({ load(url, context, next) { loaded.push(url); return next(url, context); } });
process.on('exit', () => process.stderr.write(${JSON.stringify(marker)} + JSON.stringify(loaded) + '\\n'));
`;

const environment = { ...process.env };
delete environment.NODE_OPTIONS;
delete environment.MAILPORT_URL;

/** Runs the built CLI and returns its exit status and the files it loaded (builtins left out). */
function loadedBy(args: readonly string[]): { status: number | null; stdout: string; files: string[] } {
  const child = spawnSync(process.execPath, ['--import', `data:text/javascript,${encodeURIComponent(recorder)}`, main, ...args], {
    encoding: 'utf8',
    env: environment,
    timeout: 20_000,
  });
  const line = child.stderr.split('\n').find((text) => text.startsWith(marker));
  if (line === undefined) throw new Error(`no list of loaded modules from mailport ${args.join(' ')}: ${child.stderr}`);
  const urls = JSON.parse(line.slice(marker.length)) as string[];
  const files = urls.filter((url) => url.startsWith('file:')).map((url) => fileURLToPath(url).slice(root.length));
  return { status: child.status, stdout: child.stdout, files };
}

const cliModules = [
  'packages/cli/dist/cli.js',
  'packages/cli/dist/exit-codes.js',
  'packages/cli/dist/io.js',
  'packages/cli/dist/main.js',
  'packages/cli/dist/output.js',
];

describe('the built CLI at startup', () => {
  it('--help loads the CLI skeleton only, no @mailport/core', () => {
    const run = loadedBy(['--help']);
    expect(run.status).toBe(0);
    expect(run.stdout).toContain('Usage: mailport <command>');
    expect(run.files.sort()).toEqual(cliModules);
  });

  it.each([[['--version']], [['-h']], [[]], [['no-such-command']]])('mailport %j loads no package either', (args) => {
    const run = loadedBy(args);
    expect(run.files.sort()).toEqual(cliModules);
  });

  // A command's module may import @mailport/core (its own modules are light) but nothing that
  // core or the command needs only to send: nodemailer, a transport, an SDK, the sandbox.
  it.each(['send', 'verify', 'doctor', 'migrate', 'auth', 'dev', 'worker', 'queue'])(
    'mailport %s --help loads no package but core',
    (command) => {
      const run = loadedBy([command, '--help']);
      expect(run.status).toBe(0);
      expect(run.stdout).toContain(`mailport ${command}`);
      expect(run.files.filter((file) => !file.startsWith('packages/cli/dist/') && !file.startsWith('packages/core/dist/'))).toEqual([]);
    },
  );

  it('a usage error in a command loads no package but core', () => {
    const run = loadedBy(['send', '--no-such-flag']);
    expect(run.status).toBe(2);
    expect(run.files.filter((file) => !file.startsWith('packages/cli/dist/') && !file.startsWith('packages/core/dist/'))).toEqual([]);
  });
});
