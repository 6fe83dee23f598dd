import type { HttpResponse } from '../http.js';

/** Canonical status names Google puts in `error.status` (google.rpc.Code), by HTTP status. */
const statusNames: Readonly<Record<number, string>> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  409: 'ABORTED',
  429: 'RESOURCE_EXHAUSTED',
  500: 'INTERNAL',
  501: 'NOT_IMPLEMENTED',
  503: 'UNAVAILABLE',
  504: 'DEADLINE_EXCEEDED',
};

// Google files the quota and rate reasons under the "usageLimits" domain, everything else under "global".
const usageLimitReasons = new Set(['rateLimitExceeded', 'userRateLimitExceeded', 'dailyLimitExceeded', 'quotaExceeded']);

/** What a Google API error says besides status, reason and message. */
export interface GoogleErrorExtras {
  /** `error.status`; default: from the HTTP status. */
  readonly status?: string | undefined;
  /** `errors[0].location` and `locationType`, as 401 answers carry (`Authorization`, `header`). */
  readonly location?: string | undefined;
  readonly locationType?: string | undefined;
  /** `error.details` (google.rpc.ErrorInfo and friends). */
  readonly details?: readonly object[] | undefined;
  readonly headers?: Readonly<Record<string, string>> | undefined;
}

/**
 * A Google API error as googleapis.com sends it:
 * `{ error: { code, message, errors: [{ message, domain, reason }], status } }`.
 */
export function googleError(httpStatus: number, reason: string, message: string, extras: GoogleErrorExtras = {}): HttpResponse {
  const entry: Record<string, string> = { message, domain: usageLimitReasons.has(reason) ? 'usageLimits' : 'global', reason };
  if (extras.location !== undefined) entry.location = extras.location;
  if (extras.locationType !== undefined) entry.locationType = extras.locationType;
  const error: Record<string, unknown> = {
    code: httpStatus,
    message,
    errors: [entry],
    status: extras.status ?? statusNames[httpStatus] ?? 'UNKNOWN',
  };
  if (extras.details !== undefined) error.details = extras.details;
  return {
    status: httpStatus,
    headers: { 'content-type': 'application/json; charset=UTF-8', vary: 'Origin, X-Origin, Referer', ...extras.headers },
    body: { error },
  };
}

// Google's messages for the reasons an injected fault may name.
const messagesByReason: Readonly<Record<string, string>> = {
  rateLimitExceeded: 'Rate Limit Exceeded',
  userRateLimitExceeded: 'User-rate limit exceeded.',
  dailyLimitExceeded: 'Daily Limit Exceeded',
  quotaExceeded: 'Quota exceeded',
  domainPolicy: 'The domain administrators have disabled Gmail apps.',
  insufficientPermissions: 'Request had insufficient authentication scopes.',
  authError:
    'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.',
  failedPrecondition: 'Precondition check failed.',
  invalidArgument: 'Invalid argument',
  badRequest: 'Bad Request',
  notFound: 'Requested entity was not found.',
  forbidden: 'The caller does not have permission',
  backendError: 'Backend Error',
};

const reasonsByStatus: Readonly<Record<number, string>> = {
  400: 'badRequest',
  401: 'authError',
  403: 'forbidden',
  404: 'notFound',
  429: 'rateLimitExceeded',
  500: 'backendError',
  503: 'backendError',
};

/** The reason and message Google uses by default for a status, for injected faults that name neither. */
export function defaultGoogleError(httpStatus: number, reason: string | undefined): { reason: string; message: string } {
  const chosen = reason ?? reasonsByStatus[httpStatus] ?? 'backendError';
  const message =
    httpStatus === 503 && reason === undefined ? 'The service is currently unavailable.' : (messagesByReason[chosen] ?? chosen);
  return { reason: chosen, message };
}

/** The 401 Google answers for a missing, unknown or expired bearer token. */
export function unauthenticated(missing: boolean): HttpResponse {
  // Missing: reason "required", "Login Required."; present but refused: "authError", "Invalid Credentials" (Google's answers).
  const response = googleError(
    401,
    missing ? 'required' : 'authError',
    missing
      ? 'Request is missing required authentication credential. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.'
      : 'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.',
    {
      location: 'Authorization',
      locationType: 'header',
      headers: {
        'www-authenticate': missing
          ? 'Bearer realm="https://accounts.google.com/"'
          : 'Bearer realm="https://accounts.google.com/", error="invalid_token"',
      },
    },
  );
  // The top-level message is the long form; the entry in `errors` says it briefly.
  const entry = (response.body as { error: { errors: { message: string }[] } }).error.errors[0] as { message: string };
  entry.message = missing ? 'Login Required.' : 'Invalid Credentials';
  return response;
}

/** The OAuth token endpoint's error shape: `{ error, error_description }`. */
export function oauthError(httpStatus: number, error: string, description: string): HttpResponse {
  return {
    status: httpStatus,
    headers: {
      'content-type': 'application/json; charset=utf-8',
      'cache-control': 'no-cache, no-store, max-age=0, must-revalidate',
      pragma: 'no-cache',
    },
    body: { error, error_description: description },
  };
}
