import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../../..', import.meta.url));
const built = existsSync(new URL('../../dist/oauth/index.js', import.meta.url));

// Records every module Node resolves while the OAuth entry point is imported, as an SMTP adapter would.
const script = `
import { registerHooks } from 'node:module';
const loaded = [];
registerHooks({ resolve(specifier, context, next) { const result = next(specifier, context); loaded.push(result.url); return result; } });
await import('@mailport/transport-graph/oauth');
process.stdout.write(JSON.stringify(loaded));
`;

describe('@mailport/transport-graph/oauth', () => {
  it('runs against the built package', () => {
    expect(built, 'run `npm run build` first').toBe(true);
  });

  it('does not load the Graph SDK', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], { cwd: root });
    const loaded = JSON.parse(stdout) as string[];
    expect(loaded.some((url) => url.includes('@azure/identity'))).toBe(true);
    expect(loaded.filter((url) => url.includes('microsoft-graph-client'))).toEqual([]);
  });
});
