import type { CliIo } from '../io.js';

/** `mailport auth`: being written. */
export async function runAuth(_argv: readonly string[], io: CliIo): Promise<number> {
  io.stderr.write('mailport: auth is not available yet\n');
  return 1;
}
