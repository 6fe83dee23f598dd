import type { EmulatorContext } from '../context.js';
import type { Emulator } from '../http.js';
import { entraRoutes } from './entra.js';
import { entraError, graphError } from './errors.js';
import { graphLimits, graphMailRoutes } from './mail.js';

export { graphLimits } from './mail.js';

/**
 * Microsoft Graph mail and the Entra ID token endpoint, written from Microsoft's documentation:
 * sendMail (JSON and MIME), drafts, attachments and upload sessions, draft send and the user
 * object, with Graph's limits (4 MB per request, 5 `x-` headers, 500 recipients, 4 requests in
 * flight per mailbox) and error bodies; and the token endpoint MSAL and @azure/identity talk to,
 * with client credentials (secret or certificate) and rotating refresh tokens.
 */
export function createGraphEmulator(context: EmulatorContext): Emulator {
  return {
    name: 'graph',
    routes: [...entraRoutes(context), ...graphMailRoutes(context)],
    errorResponse: (fault) => {
      if (fault.endpoint === 'microsoft.token' || fault.endpoint === 'microsoft.devicecode') {
        // An injected token-endpoint fault speaks OAuth: `invalid_grant`, `temporarily_unavailable`, ...
        const error = fault.code ?? (fault.status >= 500 ? 'temporarily_unavailable' : 'invalid_request');
        const code = /^AADSTS(\d+)/.exec(fault.message ?? '')?.[1];
        return entraError({
          error,
          code: code === undefined ? (fault.status >= 500 ? 90033 : 900144) : Number(code),
          description: (fault.message ?? 'A transient error has occurred. Please try again.').replace(/^AADSTS\d+:\s*/, ''),
          authority: context.urls.https,
          status: fault.status,
        });
      }
      const code = fault.code ?? defaultCode(fault.status);
      return graphError(fault.status, code, fault.message ?? defaultMessage(code));
    },
    tooLarge: () =>
      graphError(413, 'RequestEntityTooLarge', `The maximum request length supported is ${graphLimits.requestBytes / 1024 / 1024}MB.`),
  };
}

function defaultCode(status: number): string {
  if (status === 429) return 'ApplicationThrottled';
  if (status === 503) return 'ErrorServerBusy';
  if (status === 504) return 'GatewayTimeout';
  if (status >= 500) return 'ErrorInternalServerError';
  if (status === 401) return 'InvalidAuthenticationToken';
  if (status === 403) return 'ErrorAccessDenied';
  return 'BadRequest';
}

function defaultMessage(code: string): string {
  switch (code) {
    case 'ApplicationThrottled':
      return 'Application is over its MailboxConcurrency limit.';
    case 'ErrorServerBusy':
      return 'The server is busy. Try again later.';
    case 'MailboxNotEnabledForRESTAPI':
      return 'The mailbox is either inactive, soft-deleted, or is hosted on-premise.';
    case 'ErrorSendAsDenied':
      return 'The user account which was used to submit this request does not have the right to send mail on behalf of the specified sending account., Cannot submit message.';
    case 'ErrorInvalidRecipients':
      return "At least one recipient isn't valid.";
    case 'ErrorAccessDenied':
      return 'Access is denied. Check credentials and try again.';
    default:
      return `The sandbox answered ${code} as it was told to.`;
  }
}
