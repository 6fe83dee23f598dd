import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const built = existsSync(new URL('../dist/index.js', import.meta.url)) && existsSync(new URL('../../core/dist/index.js', import.meta.url));

// Records every module Node resolves, then creates transports from URLs as an application would.
const script = `
import { registerHooks } from 'node:module';
const loaded = [];
registerHooks({ resolve(specifier, context, next) { const result = next(specifier, context); loaded.push(result.url); return result; } });
const { createTransport } = await import('@mailport/core');
const url = process.argv[1];
const transport = await createTransport(url);
await transport.close?.();
process.stdout.write(JSON.stringify(loaded));
`;

async function modulesLoadedFor(url: string): Promise<string[]> {
  const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script, url], { cwd: root });
  return JSON.parse(stdout) as string[];
}

// The built packages are what applications load; `npm test` builds before running the tests.
describe('adapters load only when their scheme is used', () => {
  it('runs against the built packages', () => {
    expect(built, 'run `npm run build` first').toBe(true);
  });

  it('smtp:// loads nodemailer and no AWS, Google or Microsoft code', async () => {
    const loaded = await modulesLoadedFor('smtp://127.0.0.1:2525');
    expect(loaded.some((url) => url.includes('/transport-smtp/'))).toBe(true);
    expect(loaded.some((url) => url.includes('/nodemailer/'))).toBe(true);
    expect(loaded.filter((url) => /@aws-sdk|@smithy|googleapis|google-auth-library|gaxios|@microsoft|@azure/.test(url))).toEqual([]);
  });

  it('memory:// does not load the SMTP transport either', async () => {
    const loaded = await modulesLoadedFor('memory://');
    expect(loaded.some((url) => url.includes('/transport-smtp/'))).toBe(false);
    expect(loaded.some((url) => url.includes('smtp-connection'))).toBe(false);
  });
});
