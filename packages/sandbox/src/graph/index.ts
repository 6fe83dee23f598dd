import type { EmulatorContext } from '../context.js';
import type { Emulator } from '../http.js';

/** Microsoft Graph mail and the Entra token endpoint. (Being written.) */
export function createGraphEmulator(_context: EmulatorContext): Emulator {
  return {
    name: 'graph',
    routes: [],
    errorResponse: (fault) => ({ status: fault.status, body: { error: { code: fault.code, message: fault.message } } }),
    tooLarge: () => ({ status: 413, body: {} }),
  };
}
