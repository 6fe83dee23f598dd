import type { CliIo } from '../io.js';

/** `mailport migrate`: being written. */
export async function runMigrate(_argv: readonly string[], io: CliIo): Promise<number> {
  io.stderr.write('mailport: migrate is not available yet\n');
  return 1;
}
