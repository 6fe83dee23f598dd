import type { CliIo } from '../io.js';

/** `mailport verify`: being written. */
export async function runVerify(_argv: readonly string[], io: CliIo): Promise<number> {
  io.stderr.write('mailport: verify is not available yet\n');
  return 1;
}
