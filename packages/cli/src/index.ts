export { helpText, run } from './cli.js';
export { type ExitCodes, exitCodeFor, exitCodes, UsageError } from './exit-codes.js';
export { type CliIo, memoryIo, processIo } from './io.js';
