import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../../..', import.meta.url));
const built = existsSync(new URL('../../dist/dkim/dkim-sign.js', import.meta.url));

// Records every module Node resolves while a mailer sends one message through memory://, with or
// without DKIM, as an application would (the built package: `npm test` builds first).
const script = `
import { registerHooks } from 'node:module';
import { generateKeyPairSync } from 'node:crypto';
const loaded = [];
registerHooks({ resolve(specifier, context, next) { const result = next(specifier, context); loaded.push(result.url); return result; } });
const { createMailer } = await import('@mailport/core');
const privateKey = generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' });
const dkim = process.argv[1] === 'dkim' ? { keys: [{ domain: 'shop.example', selector: 's1', privateKey }] } : undefined;
await createMailer({ transport: 'memory://lazy', dkim }).send({ from: 'a@shop.example', to: 'b@example.org', text: 'hi' });
process.stdout.write(JSON.stringify(loaded.filter((url) => url.includes('/core/dist/dkim/')).map((url) => url.slice(url.lastIndexOf('/') + 1))));
`;

async function dkimModulesLoaded(mode: 'dkim' | 'plain'): Promise<string[]> {
  const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script, mode], { cwd: root });
  // Resolved once per importing module: each file once.
  return [...new Set(JSON.parse(stdout) as string[])].sort();
}

describe('the DKIM signer loads only when a mailer signs', () => {
  it('runs against the built package', () => {
    expect(built, 'run `npm run build` first').toBe(true);
  });

  it('a mailer without dkim loads only the small part core always has (the per-message plan and key checks)', async () => {
    expect(await dkimModulesLoaded('plain')).toEqual(['dkim-keys.js', 'dkim-plan.js']);
  });

  it('a mailer with dkim loads the signer on its first message, and never the DNS record helpers', async () => {
    expect(await dkimModulesLoaded('dkim')).toEqual(['dkim-canonical.js', 'dkim-keys.js', 'dkim-plan.js', 'dkim-sign.js']);
  });
});
