import { isCertificateError, MailError, type MailErrorCode, noAnswerError, parseRetryAfter, safeCause } from '@mailport/core';

// The codes gaxios leaves when no answer came; any other failure without a status was thrown before a request.
const noAnswerCodes: ReadonlySet<string> = new Set([
  'TimeoutError',
  'ETIMEDOUT',
  'ECONNECT_TIMEOUT',
  'ENOTFOUND',
  'ECONNREFUSED',
  'ECONNRESET',
  'EAI_AGAIN',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);

/** What a failed token request left to classify: no credentials, only what helps to explain it. */
export interface GoogleTokenFailure {
  /** HTTP status of the token endpoint's answer, when there was one. */
  readonly status?: number | undefined;
  /** OAuth error code (`invalid_grant`, `invalid_client`, `unauthorized_client`, ...). */
  readonly error?: string | undefined;
  readonly description?: string | undefined;
  /** System or fetch error code when no answer came (`ECONNREFUSED`, `ENOTFOUND`, `TimeoutError`, ...). */
  readonly code?: string | undefined;
  /** Retry-After of a 429 or 503, as sent. */
  readonly retryAfter?: string | undefined;
  readonly message: string;
}

/** Who asked for the token, to word the remediation. */
export interface GoogleTokenContext {
  /** `user`: a refresh token (user OAuth); `service-account`: a signed JWT, maybe with domain-wide delegation. */
  readonly kind: 'user' | 'service-account';
  /** The token endpoint's host, for messages. */
  readonly host: string;
  /** For a service account: the user it acts for. */
  readonly subject?: string | undefined;
  /** For a service account: the OAuth client id the admin authorizes (its numeric id or email). */
  readonly clientId?: string | undefined;
  readonly scopes?: readonly string[] | undefined;
}

/** The remediation of a dead refresh token: the user has to consent again. */
export const reconsentRemediation =
  'The refresh token was revoked or has expired (or the user changed their password or removed access): the user must consent again; run `mailport auth google` to get a new refresh token.';

/**
 * Maps a failed request to Google's token endpoint to a `MailError`. Pure, so that every row can
 * be tested without a server.
 *
 * | failure | code |
 * | --- | --- |
 * | `invalid_grant` with a refresh token | `auth`, the user must consent again |
 * | `invalid_grant` with a service account | `auth` (key), or `configuration` (unknown user, clock) |
 * | `invalid_client` | `auth`; `configuration` when the client does not exist ("not found", `deleted_client`) |
 * | `unauthorized_client` | `configuration`: domain-wide delegation not granted for these scopes |
 * | `invalid_scope`, `invalid_request`, `unsupported_grant_type` | `configuration` |
 * | 429 | `rate-limited` |
 * | 5xx, connection refused, DNS failing for now | `transient` |
 * | timeout | `timeout` |
 * | an untrusted TLS certificate, host not found | `configuration` |
 *
 * @example
 * ```ts
 * mapGoogleTokenError({ status: 400, error: 'invalid_grant', message: 'HTTP 400' }, { kind: 'user', host: 'oauth2.googleapis.com' }).code; // 'auth'
 * ```
 */
export function mapGoogleTokenError(failure: GoogleTokenFailure, context: GoogleTokenContext): MailError {
  const cause = sanitizedCause(failure);
  const make = (code: MailErrorCode, message: string, remediation: string, extra: { retryAfterMs?: number | undefined } = {}): MailError =>
    new MailError(code, message, {
      statusCode: failure.status,
      providerCode: failure.error ?? failure.code,
      remediation,
      cause,
      retryAfterMs: extra.retryAfterMs,
    });
  const said = failure.error === undefined ? failure.message : `${failure.error}${failure.description ? `: ${failure.description}` : ''}`;
  const where = `Google's token endpoint (${context.host})`;
  const subject = context.subject === undefined ? 'the user' : context.subject;

  switch (failure.error) {
    case 'invalid_grant': {
      if (context.kind === 'user') return make('auth', `${where} refused the refresh token: ${said}`, reconsentRemediation);
      const description = failure.description ?? '';
      if (/email or user id/i.test(description)) {
        return make(
          'configuration',
          `${where} does not know ${subject} as a user of the service account's domain: ${said}`,
          'Set the subject (the gmail:// mailbox) to an existing Google Workspace user of the domain that granted domain-wide delegation.',
        );
      }
      if (/iat|exp|timeframe|short-lived/i.test(description)) {
        return make(
          'configuration',
          `${where} refused the service account assertion's time: ${said}`,
          "Check this machine's clock: the assertion is only valid for an hour from when it was signed.",
        );
      }
      return make(
        'auth',
        `${where} refused the service account credentials: ${said}`,
        'Check the service account key: it may have been deleted or disabled; create a new key in the Google Cloud console (IAM > Service accounts > Keys).',
      );
    }
    case 'deleted_client':
    case 'invalid_client':
      // Google says "The OAuth client was not found." (or `deleted_client`) for a client that does not
      // exist: like Entra's unknown app (AADSTS700016), a setup to fix, not credentials to renew.
      if (failure.error === 'deleted_client' || /client was (not found|deleted)/i.test(failure.description ?? '')) {
        return make(
          'configuration',
          `${where} does not know the OAuth client: ${said}`,
          'Check client_id: it must be an OAuth client of a Google Cloud project that still exists (APIs & Services > Credentials).',
        );
      }
      return make(
        'auth',
        `${where} refused the OAuth client: ${said}`,
        'Check client_id and client_secret: they must be those of the OAuth client that issued the refresh token, and the client must still exist.',
      );
    case 'unauthorized_client':
      return make(
        'configuration',
        `${where} refused to issue a token${context.kind === 'service-account' ? ` for ${subject}` : ''}: ${said}`,
        context.kind === 'service-account'
          ? `Grant domain-wide delegation: in the Google Admin console (Security > Access and data control > API controls > Domain-wide delegation), authorize client ${context.clientId ?? "the service account's client ID"} for ${(context.scopes ?? []).join(', ') || 'the Gmail scopes'}; it can take a while to apply.`
          : 'This OAuth client may not use a refresh token this way: use the client (type "Desktop app" or "Web application") that issued it.',
      );
    case 'invalid_scope':
      return make(
        'configuration',
        `${where} refused the scopes: ${said}`,
        'Ask for Gmail scopes such as https://www.googleapis.com/auth/gmail.send or https://mail.google.com/.',
      );
    case 'invalid_request':
    case 'unsupported_grant_type':
      return make(
        'configuration',
        `${where} refused the request: ${said}`,
        'Check the token_url: it must be a Google OAuth 2.0 token endpoint such as https://oauth2.googleapis.com/token.',
      );
  }
  if (failure.status === 429) {
    return make(
      'rate-limited',
      `${where} is rate limiting token requests: ${said}`,
      'Too many token requests: reuse the transport (it caches tokens) instead of creating one per message.',
      {
        retryAfterMs: parseRetryAfter(failure.retryAfter),
      },
    );
  }
  if (failure.status !== undefined && failure.status >= 500) {
    return make(
      'transient',
      `${where} failed with ${failure.status}: ${said}`,
      'A temporary failure at Google; mailport retries it by default.',
      {
        retryAfterMs: parseRetryAfter(failure.retryAfter),
      },
    );
  }
  if (failure.status !== undefined) {
    return make(
      'auth',
      `${where} refused the credentials with ${failure.status}: ${said}`,
      'Check the OAuth credentials and the token_url.',
    );
  }
  // No answer came: core's rule. A token request sends no mail, so repeating it is always safe.
  const certificate = isCertificateFailure(failure);
  if (certificate || noAnswerCodes.has(failure.code ?? '')) {
    const network = 'Check the network and the token_url; mailport retries this by default.';
    const slow = 'Check the network path to the token endpoint; mailport retries timeouts by default.';
    return noAnswerError(
      { code: certificate ? (failure.code ?? 'CERT_UNTRUSTED') : failure.code, message: failure.message },
      {
        operation: where,
        idempotent: true,
        cause,
        remediations: {
          certificate:
            'Check token_url; for an endpoint behind a private CA, trust that CA (NODE_EXTRA_CA_CERTS). Never turn verification off.',
          'host-not-found': 'Check the token_url host name.',
          refused: network,
          'before-connect': network,
          dropped: network,
          'connect-timeout': slow,
          timeout: slow,
        },
      },
    );
  }
  // The library threw before any request: an unusable key or missing field.
  return make(
    'configuration',
    `Could not request a token from ${where}: ${failure.message}`,
    context.kind === 'service-account'
      ? 'Check the service account key file: client_email and private_key (a PEM "BEGIN PRIVATE KEY" block) are required.'
      : 'Check client_id, client_secret and refresh_token.',
  );
}

/**
 * Whether no answer came because the endpoint's certificate could not be verified (gaxios keeps
 * the code, or only the words): a change of trust or host fixes it, a retry does not.
 */
function isCertificateFailure(failure: GoogleTokenFailure): boolean {
  if (isCertificateError(failure.code)) return true;
  return (
    failure.status === undefined &&
    /self[- ]signed certificate|unable to verify the first certificate|unable to get (local )?issuer certificate|certificate has expired|altnames/i.test(
      failure.message,
    )
  );
}

/**
 * What a google-auth-library (gaxios) error says about a failed token request, without the
 * request itself (its body holds the client secret, refresh token or signed assertion).
 */
export function tokenFailureFrom(error: unknown): GoogleTokenFailure {
  const failure = error as {
    message?: unknown;
    code?: unknown;
    status?: unknown;
    response?: { status?: number; data?: unknown; headers?: { get?: (name: string) => string | null } };
  };
  const data = failure.response?.data;
  const body = typeof data === 'object' && data !== null ? (data as { error?: unknown; error_description?: unknown }) : undefined;
  const status = failure.response?.status ?? (typeof failure.status === 'number' ? failure.status : undefined);
  return {
    status,
    error: typeof body?.error === 'string' ? body.error : undefined,
    description: typeof body?.error_description === 'string' ? body.error_description : undefined,
    code: typeof failure.code === 'string' ? failure.code : undefined,
    retryAfter: failure.response?.headers?.get?.('retry-after') ?? undefined,
    message: status === undefined ? firstLine(String(failure.message ?? error)) : `HTTP ${status}`,
  };
}

function firstLine(text: string): string {
  return text.split('\n')[0]?.slice(0, 300) ?? '';
}

function sanitizedCause(failure: GoogleTokenFailure): Error {
  const { status, error, description, code } = failure;
  return safeCause('GoogleTokenError', failure.message, { status, error, description, code });
}
