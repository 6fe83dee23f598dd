import { defineConfig } from 'vitest/config';
import base from './vitest.config.ts';

// The browser tests (*.browser.test.ts) drive real Chromium and some measure main-thread tasks, so
// they run after the rest, one file at a time: a test file busy on the other core would make a
// long-task measurement report the machine's load rather than the inbox's work.
export default defineConfig({
  ...base,
  test: {
    ...base.test,
    include: ['packages/*/src/**/*.browser.test.ts', 'packages/*/test/**/*.browser.test.ts'],
    exclude: ['**/node_modules/**'],
    fileParallelism: false,
  },
});
