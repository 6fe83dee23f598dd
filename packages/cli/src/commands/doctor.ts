import type { CliIo } from '../io.js';

/** `mailport doctor`: being written. */
export async function runDoctor(_argv: readonly string[], io: CliIo): Promise<number> {
  io.stderr.write('mailport: doctor is not available yet\n');
  return 1;
}
