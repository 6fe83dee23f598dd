import type { CliIo } from '../io.js';

/** `mailport send --csv`: being written. */
export async function runBulk(_values: Record<string, unknown>, io: CliIo): Promise<number> {
  io.stderr.write('mailport: --csv is not available yet\n');
  return 1;
}
