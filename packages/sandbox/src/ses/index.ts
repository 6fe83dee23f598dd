import type { EmulatorContext } from '../context.js';
import type { Emulator } from '../http.js';
import { accountRoutes } from './ses-account.js';
import { createSesContext } from './ses-context.js';
import { errorResponse, faultResponse } from './ses-errors.js';
import { sendBulkEmailRoutes } from './ses-send-bulk.js';
import { sendEmailRoutes } from './ses-send-email.js';
import type { AcceptedSesMessage } from './sns/sns-records.js';

export { sesMaxBulkEntries, sesMaxMessageBytes, sesMaxRecipients } from './ses-limits.js';

/**
 * Amazon SES v2 as `@aws-sdk/client-sesv2` calls it: SendEmail (Simple, Raw and Template
 * content), SendBulkEmail and GetAccount, behind a checked SigV4 signature. See README.md
 * next to this file for what is emulated and how strictly. `startSandbox` mounts it. `onAccepted`
 * hears every accepted message (the SNS event destinations, `./sns/`).
 *
 * @example
 * ```ts
 * const emulators = [createSesEmulator(context)];
 * ```
 */
export function createSesEmulator(
  context: EmulatorContext,
  options: { onAccepted?: ((message: AcceptedSesMessage) => void) | undefined } = {},
): Emulator {
  const ses = createSesContext(context, options.onAccepted);
  return {
    name: 'ses',
    routes: [...sendEmailRoutes(ses), ...sendBulkEmailRoutes(ses), ...accountRoutes(ses)],
    errorResponse: faultResponse,
    tooLarge: (limit) =>
      errorResponse(413, 'RequestEntityTooLargeException', `The request is larger than the ${limit} bytes this endpoint accepts.`),
  };
}
