// Measures what each transport adds to a Cloudflare Worker: wrangler bundles a minimal Worker per
// transport (as `wrangler deploy` would, with nodejs_compat), and this prints the bundle's bytes and
// gzipped bytes. Needs wrangler (scripts/install-runtimes.sh wrangler) and a build (npm run build).
//
//   node scripts/edge-bundle-sizes.mjs          a Markdown table
//   node scripts/edge-bundle-sizes.mjs --json   [{ worker, bytes, gzippedBytes }], for npm run bench -- edge
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const root = fileURLToPath(new URL('..', import.meta.url));
const wrangler =
  process.env.MAILPORT_WRANGLER ||
  join(process.env.MAILPORT_RUNTIMES || join(homedir(), '.cache', 'mailport-runtimes'), 'node_modules', '.bin', 'wrangler');
const workers = {
  'core only (memory://)': `import { createMailer } from '@mailport/core';`,
  'ses://': `import { createMailer } from '@mailport/core'; import { sesAdapter as adapter } from '@mailport/transport-ses';`,
  'gmail://': `import { createMailer } from '@mailport/core'; import { gmailAdapter as adapter } from '@mailport/transport-gmail-api';`,
  'graph://': `import { createMailer } from '@mailport/core'; import { graphAdapter as adapter } from '@mailport/transport-graph';`,
};
const json = process.argv.includes('--json');
const sizes = [];
const directory = mkdtempSync(join(root, 'node_modules', '.edge-bundle-'));
try {
  if (!json) console.log('| Worker | bundle | gzipped |\n| --- | ---: | ---: |');
  for (const [name, imports] of Object.entries(workers)) {
    const use = imports.includes('adapter') ? '[adapter]' : '[]';
    writeFileSync(
      join(directory, 'worker.js'),
      `${imports}\nexport default { async fetch(request, env) { const mailer = createMailer({ transport: env.MAILPORT_URL, transportOptions: { use: ${use}, env } }); return Response.json(await mailer.verify()); } };\n`,
    );
    writeFileSync(
      join(directory, 'wrangler.json'),
      JSON.stringify({ name: 'size', main: 'worker.js', compatibility_date: '2026-11-01', compatibility_flags: ['nodejs_compat'] }),
    );
    execFileSync(process.execPath, [wrangler, 'deploy', '--dry-run', '--outdir', 'out'], { cwd: directory, stdio: 'ignore' });
    const bytes = readFileSync(join(directory, 'out', 'worker.js'));
    const kib = (count) => `${(count / 1024).toFixed(0)} KiB`;
    const gzipped = gzipSync(bytes).length;
    sizes.push({ worker: name, bytes: bytes.length, gzippedBytes: gzipped });
    if (!json) console.log(`| ${name} | ${kib(bytes.length)} | ${kib(gzipped)} |`);
  }
  if (json) console.log(JSON.stringify(sizes));
} finally {
  rmSync(directory, { recursive: true, force: true });
}
