export { run } from './cli.js';
export { type ExitCodes, exitCodes } from './exit-codes.js';
export { type CliIo, memoryIo, processIo } from './io.js';
