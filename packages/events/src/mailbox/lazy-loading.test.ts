import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../../..', import.meta.url));
const built = existsSync(new URL('../../dist/mailbox/index.js', import.meta.url));

// Records every module Node resolves while the script runs.
async function modulesLoaded(body: string): Promise<string[]> {
  const script = `
import { registerHooks } from 'node:module';
const loaded = [];
registerHooks({ resolve(specifier, context, next) { const result = next(specifier, context); loaded.push(result.url); return result; } });
${body}
process.stdout.write(JSON.stringify(loaded));
`;
  const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], { cwd: root });
  return JSON.parse(stdout) as string[];
}

const transports = /transport-gmail-api|transport-graph|google-auth-library|@azure|@googleapis/;

// The built packages are what applications load; `npm test` builds before running the tests.
describe('what @mailport/events/mailbox loads', () => {
  it('runs against the built package', () => {
    expect(built, 'run `npm run build` first').toBe(true);
  });

  it('creating a reader loads no transport package; the first poll loads only that provider OAuth layer', async () => {
    const loaded = await modulesLoaded(`
      const { createGmailReportReader } = await import('@mailport/events/mailbox');
      const { createMemorySendLog } = await import('@mailport/events');
      const reader = createGmailReportReader({
        url: 'gmail://user@example.com?client_id=id&client_secret=secret&refresh_token=refresh&token_url=http%3A%2F%2F127.0.0.1%3A9%2Ftoken',
        sendLog: createMemorySendLog(),
        onEvents: () => {},
      });
      const before = loaded.length;
      await reader.poll().catch(() => {});
      loaded.splice(before, 0, 'POLL');
    `);
    const poll = loaded.indexOf('POLL');
    expect(loaded.slice(0, poll).filter((url) => transports.test(url))).toEqual([]);
    const after = loaded.slice(poll + 1);
    expect(after.some((url) => url.includes('transport-gmail-api'))).toBe(true);
    expect(after.filter((url) => /transport-graph|@azure|@googleapis\/gmail/.test(url))).toEqual([]);
  });
});
