import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const built =
  existsSync(new URL('../dist/oauth/index.js', import.meta.url)) && existsSync(new URL('../../core/dist/index.js', import.meta.url));

// Records every module Node resolves while the script runs.
const script = (body: string): string => `
import { registerHooks } from 'node:module';
const loaded = [];
registerHooks({ resolve(specifier, context, next) { const result = next(specifier, context); loaded.push(result.url); return result; } });
${body}
process.stdout.write(JSON.stringify(loaded));
`;

async function modulesLoaded(body: string): Promise<string[]> {
  const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script(body)], { cwd: root });
  return JSON.parse(stdout) as string[];
}

// The built packages are what applications load; `npm test` builds before running the tests.
describe('what the Gmail package loads', () => {
  it('runs against the built packages', () => {
    expect(built, 'run `npm run build` first').toBe(true);
  });

  it('./oauth loads google-auth-library and not the Gmail API client', async () => {
    const loaded = await modulesLoaded(`
      const { googleUserOAuth } = await import('@mailport/transport-gmail-api/oauth');
      googleUserOAuth({ clientId: 'id', clientSecret: 'secret', refreshToken: 'refresh' });
    `);
    expect(loaded.some((url) => url.includes('/google-auth-library/'))).toBe(true);
    expect(loaded.filter((url) => /@googleapis\/gmail|googleapis-common/.test(url))).toEqual([]);
  });

  it('gmail:// loads the Gmail API client, and no AWS or Microsoft code', async () => {
    const loaded = await modulesLoaded(`
      const { createTransport } = await import('@mailport/core');
      const transport = await createTransport('gmail://user@example.com?client_id=id&client_secret=secret&refresh_token=refresh');
      await transport.close?.();
    `);
    expect(loaded.some((url) => url.includes('/@googleapis/gmail/'))).toBe(true);
    expect(loaded.filter((url) => /@aws-sdk|@smithy|@microsoft|@azure|nodemailer\/.*smtp/.test(url))).toEqual([]);
  });
});
