import type { EmulatorContext } from '../context.js';
import type { Emulator } from '../http.js';

/** Amazon SES v2: SendEmail, SendBulkEmail, GetAccount. (Being written.) */
export function createSesEmulator(_context: EmulatorContext): Emulator {
  return {
    name: 'ses',
    routes: [],
    errorResponse: (fault) => ({ status: fault.status, body: { message: fault.message } }),
    tooLarge: () => ({ status: 413, body: {} }),
  };
}
