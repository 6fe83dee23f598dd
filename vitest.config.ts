import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const source = (path: string): string => fileURLToPath(new URL(path, import.meta.url));

// Tests run against the TypeScript sources; the published packages resolve to dist/.
export default defineConfig({
  resolve: {
    alias: [
      { find: /^@mailport\/core\/testing$/, replacement: source('./packages/core/src/testing/index.ts') },
      { find: /^@mailport\/core\/http$/, replacement: source('./packages/core/src/http/index.ts') },
      { find: /^@mailport\/core\/dkim$/, replacement: source('./packages/core/src/dkim/index.ts') },
      { find: /^@mailport\/core\/jwt$/, replacement: source('./packages/core/src/jwt/index.ts') },
      { find: /^@mailport\/core\/verp$/, replacement: source('./packages/core/src/verp/index.ts') },
      { find: /^@mailport\/core$/, replacement: source('./packages/core/src/index.ts') },
      { find: /^@mailport\/transport-smtp$/, replacement: source('./packages/transport-smtp/src/index.ts') },
      { find: /^@mailport\/transport-ses$/, replacement: source('./packages/transport-ses/src/index.ts') },
      { find: /^@mailport\/transport-gmail-api\/oauth$/, replacement: source('./packages/transport-gmail-api/src/oauth/index.ts') },
      { find: /^@mailport\/transport-gmail-api$/, replacement: source('./packages/transport-gmail-api/src/index.ts') },
      { find: /^@mailport\/transport-graph\/oauth$/, replacement: source('./packages/transport-graph/src/oauth/index.ts') },
      { find: /^@mailport\/transport-graph$/, replacement: source('./packages/transport-graph/src/index.ts') },
      { find: /^@mailport\/sandbox\/contract$/, replacement: source('./packages/sandbox/src/contract.ts') },
      { find: /^@mailport\/sandbox$/, replacement: source('./packages/sandbox/src/index.ts') },
      { find: /^@mailport\/testkit$/, replacement: source('./packages/testkit/src/index.ts') },
      { find: /^@mailport\/cli$/, replacement: source('./packages/cli/src/index.ts') },
      { find: /^@mailport\/events\/(ses|reports|smtp|mailbox)$/, replacement: source('./packages/events/src/$1/index.ts') },
      { find: /^@mailport\/events$/, replacement: source('./packages/events/src/index.ts') },
      { find: /^@mailport\/queue-bullmq$/, replacement: source('./packages/queue-bullmq/src/index.ts') },
    ],
  },
  test: {
    include: ['packages/*/src/**/*.test.ts', 'packages/*/test/**/*.test.ts', 'examples/**/*.test.ts', 'bench/**/*.test.ts'],
    // The browser tests run on their own, after these: vitest.browser.config.ts.
    exclude: ['**/node_modules/**', '**/*.browser.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
