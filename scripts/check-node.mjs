// Run first by `npm test`, `npm run demo` and `npm run bench`, on whatever Node the npm scripts got.
// `npm ci` installs the Node pinned in package.json (the `node` devDependency) into node_modules/.bin,
// which npm puts first on PATH in every script. If its install script did not run (npm's
// ignore-scripts), the scripts would fall back to the machine's Node: say so, rather than fail later
// with ERR_UNKNOWN_FILE_EXTENSION or a vitest stack trace. Plain JavaScript, for any old Node.
import { readFileSync } from 'node:fs';

const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 18)) {
  const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
  const pinned = manifest.devDependencies?.node ?? 'the `node` devDependency';
  console.error(
    `mailport's scripts need Node >= 22.18 (vitest 5, type stripping for the examples and benchmarks), but run on ${process.version} (${process.execPath}).\n` +
      `npm ci installs Node ${pinned} into node_modules/.bin, which npm scripts put first on PATH, unless install scripts are off (ignore-scripts).\n` +
      'Install it with:  npm rebuild node --ignore-scripts=false',
  );
  process.exit(1);
}
