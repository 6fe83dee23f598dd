import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const built = existsSync(new URL('../dist/index.js', import.meta.url)) && existsSync(new URL('../../core/dist/index.js', import.meta.url));

// Records every module Node resolves, then creates a transport from a URL as an application would.
const script = `
import { registerHooks } from 'node:module';
const loaded = [];
registerHooks({ resolve(specifier, context, next) { const result = next(specifier, context); loaded.push(result.url); return result; } });
const { createTransport } = await import('@mailport/core');
const transport = await createTransport(process.argv[1]);
await transport.close?.();
process.stdout.write(JSON.stringify(loaded));
`;

async function modulesLoadedFor(url: string): Promise<string[]> {
  const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script, url], { cwd: root });
  return JSON.parse(stdout) as string[];
}

// The built packages are what applications load; `npm test` builds before running the tests.
describe('the SES adapter loads only for ses://', () => {
  it('runs against the built packages', () => {
    expect(built, 'run `npm run build` first').toBe(true);
  });

  it('ses:// loads the AWS SDK and no Google or Microsoft code', async () => {
    const loaded = await modulesLoadedFor('ses://us-east-1');
    expect(loaded.some((url) => url.includes('/transport-ses/'))).toBe(true);
    expect(loaded.some((url) => url.includes('/@aws-sdk/client-sesv2/'))).toBe(true);
    expect(loaded.filter((url) => /googleapis|google-auth-library|gaxios|@microsoft|@azure/.test(url))).toEqual([]);
  });

  it('smtp:// does not load the SES adapter', async () => {
    const loaded = await modulesLoadedFor('smtp://127.0.0.1:2525');
    expect(loaded.filter((url) => /\/transport-ses\/|@aws-sdk/.test(url))).toEqual([]);
  });
});
