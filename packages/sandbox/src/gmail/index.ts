import type { EmulatorContext } from '../context.js';
import type { Emulator } from '../http.js';

/** The Gmail API and Google's OAuth token endpoint. (Being written.) */
export function createGmailEmulator(_context: EmulatorContext): Emulator {
  return {
    name: 'gmail',
    routes: [],
    errorResponse: (fault) => ({ status: fault.status, body: { error: { code: fault.status, message: fault.message } } }),
    tooLarge: () => ({ status: 413, body: {} }),
  };
}
