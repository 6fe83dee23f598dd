import type { CliIo } from '../io.js';

/** `mailport dev`: being written. */
export async function runDev(_argv: readonly string[], io: CliIo): Promise<number> {
  io.stderr.write('mailport: dev is not available yet\n');
  return 1;
}
