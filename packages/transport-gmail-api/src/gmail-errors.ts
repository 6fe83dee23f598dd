import { MailError, type MailErrorCode, noAnswerError, parseRetryAfter, safeCause } from '@mailport/core';

/** The Gmail API call that failed. */
export type GmailOperation = 'messages.send' | 'getProfile' | 'sendAs.list' | 'messages.list';

/** What a failed Gmail API call left to classify: the answer, or why none came. */
export interface GmailFailure {
  readonly operation: GmailOperation;
  /** HTTP status, when Google answered. */
  readonly status?: number | undefined;
  /** The parsed answer: Google's `{ error: { code, message, errors: [{ reason, domain }], status } }`, or text. */
  readonly body?: unknown;
  /** The Retry-After header, as sent. */
  readonly retryAfter?: string | undefined;
  /** System or fetch error code when no answer came (`ECONNREFUSED`, `ECONNRESET`, `ETIMEDOUT`, `TimeoutError`, ...). */
  readonly code?: string | undefined;
  readonly message: string;
  /** True once the whole request body was handed to the connection: a lost answer may hide a sent message. */
  readonly handedOver: boolean;
}

/** Where the failure happened. */
export interface GmailErrorContext {
  readonly transport: string;
  /** `host:port` of the API, for messages. */
  readonly host: string;
  /** The clock, to read a Retry-After date. Default `Date.now`. */
  readonly now?: (() => number) | undefined;
}

/** Google's error body, as far as it goes. */
export interface GoogleApiError {
  readonly code: number | undefined;
  readonly message: string | undefined;
  /** `errors[0].reason`: `authError`, `rateLimitExceeded`, `insufficientPermissions`, ... */
  readonly reason: string | undefined;
  readonly domain: string | undefined;
  /** `INVALID_ARGUMENT`, `PERMISSION_DENIED`, ... */
  readonly status: string | undefined;
}

/** Reads Google's error body; every field is undefined for a body of another shape (an HTML page, say). */
export function googleApiError(body: unknown): GoogleApiError {
  const error = typeof body === 'object' && body !== null ? (body as { error?: unknown }).error : undefined;
  if (typeof error !== 'object' || error === null) {
    return { code: undefined, message: undefined, reason: undefined, domain: undefined, status: undefined };
  }
  const fields = error as { code?: unknown; message?: unknown; errors?: unknown; status?: unknown };
  const first =
    Array.isArray(fields.errors) && typeof fields.errors[0] === 'object'
      ? (fields.errors[0] as { reason?: unknown; domain?: unknown })
      : {};
  return {
    code: typeof fields.code === 'number' ? fields.code : undefined,
    message: typeof fields.message === 'string' ? fields.message : undefined,
    reason: typeof first.reason === 'string' ? first.reason : undefined,
    domain: typeof first.domain === 'string' ? first.domain : undefined,
    status: typeof fields.status === 'string' ? fields.status : undefined,
  };
}

/**
 * Maps a failed Gmail API call to a `MailError` (the answers are in docs/provider-facts.md). Pure, so that every row
 * can be tested without a server.
 *
 * | failure | code |
 * | --- | --- |
 * | 401 `authError` (after the one refresh) | `auth` |
 * | 403 `insufficientPermissions`, `domainPolicy`, "Delegation denied", API disabled; 400 `failedPrecondition` | `configuration` |
 * | 400 `invalidArgument` about To/Cc/Bcc or recipients | `recipient-rejected` |
 * | other 400, 404 (thread), 413 | `message-rejected` |
 * | 429, 403 `rateLimitExceeded` / `userRateLimitExceeded` | `rate-limited`, `retryAfterMs` from Retry-After |
 * | 403 `dailyLimitExceeded` / `quotaExceeded`, 429 "(Mail sending)" | `quota-exceeded` |
 * | 5xx to `messages.send` after its body went out | `unknown-outcome` (never retried) |
 * | other 5xx (reads, or before the body went out) | `transient` |
 * | connection refused, DNS failing for now | `transient` |
 * | connection lost or timeout after the request body went out | `unknown-outcome` (never retried) |
 * | timeout before that | `timeout` |
 *
 * @example
 * ```ts
 * const error = mapGmailError(
 *   { operation: 'messages.send', status: 429, retryAfter: '2', body: googleErrorBody, message: 'HTTP 429', handedOver: true },
 *   { transport: 'gmail://user@example.com', host: 'gmail.googleapis.com' },
 * );
 * error.code; // 'rate-limited', error.retryAfterMs === 2000
 * ```
 */
export function mapGmailError(failure: GmailFailure, context: GmailErrorContext): MailError {
  const { transport, host } = context;
  const google = googleApiError(failure.body);
  const said =
    google.message ?? (typeof failure.body === 'string' && failure.body.trim() !== '' ? firstLine(failure.body) : failure.message);
  const reason = google.reason;
  const status = failure.status;
  const wait = parseRetryAfter(failure.retryAfter, context.now) ?? retryAfterFromMessage(google.message, context.now);
  const cause = sanitizedCause(failure, google);
  const make = (
    code: MailErrorCode,
    message: string,
    remediation: string,
    extra: { retryable?: boolean; retryAfterMs?: number | undefined } = {},
  ): MailError =>
    new MailError(code, message, {
      transport,
      statusCode: status,
      providerCode: reason ?? failure.code,
      remediation,
      cause,
      retryable: extra.retryable,
      retryAfterMs: extra.retryAfterMs,
    });
  const call = `Gmail ${failure.operation}`;

  if (status === undefined) return networkError(failure, context);

  if (status === 401) {
    return make(
      'auth',
      `${call} refused the access token, also after a refresh: ${said}`,
      'Check that the OAuth client belongs to a project with the Gmail API enabled and that the user (or the domain-wide delegation) still grants it access.',
    );
  }
  if (status === 429 || reason === 'rateLimitExceeded' || reason === 'userRateLimitExceeded') {
    // Gmail's daily sending limit comes back as 429 "... (Mail sending)" (Google Workspace sending limits).
    if (/\(Mail sending\)/i.test(said)) {
      return make(
        'quota-exceeded',
        `${call}: the mailbox reached its sending limit: ${said}`,
        'The daily sending limit is used up (2,000 messages or 10,000 recipients a day on Google Workspace); wait for it to reset, or send through another account.',
        {
          retryAfterMs: wait,
        },
      );
    }
    return make(
      'rate-limited',
      `${call} is rate limited: ${said}`,
      'Send more slowly (Gmail allows about 2.5 sends a second per user): lower the concurrency; mailport waits for Retry-After by default.',
      {
        retryAfterMs: wait,
      },
    );
  }
  if (reason === 'dailyLimitExceeded' || reason === 'quotaExceeded') {
    return make(
      'quota-exceeded',
      `${call}: quota exceeded: ${said}`,
      "The project's or the mailbox's daily quota is used up; wait for it to reset or raise it in the Google Cloud console.",
      {
        retryAfterMs: wait,
      },
    );
  }
  if (status === 403) {
    if (reason === 'insufficientPermissions' || (google.status === 'PERMISSION_DENIED' && /scope/i.test(said))) {
      return make(
        'configuration',
        `${call}: the access token lacks the scope for it: ${said}`,
        failure.operation === 'messages.send'
          ? 'Grant https://www.googleapis.com/auth/gmail.send (or https://mail.google.com/): ask the user to consent again, or add the scope to the domain-wide delegation.'
          : 'Grant https://www.googleapis.com/auth/gmail.settings.basic (send-as list) or gmail.readonly (profile), or set checkSendAs to false.',
      );
    }
    if (reason === 'domainPolicy') {
      return make(
        'configuration',
        `${call}: the domain's administrators block this app: ${said}`,
        'Ask the Google Workspace administrator to allow the app (or Gmail API access) for this domain.',
      );
    }
    if (/delegation denied/i.test(said)) {
      return make(
        'configuration',
        `${call}: the token is for another mailbox: ${said}`,
        'The gmail:// user must be the account that granted the token (or the service account subject).',
      );
    }
    if (reason === 'accessNotConfigured' || /has not been used|is disabled/i.test(said)) {
      return make(
        'configuration',
        `${call}: the Gmail API is not enabled: ${said}`,
        "Enable the Gmail API in the Google Cloud console for the OAuth client's project.",
      );
    }
    return make('configuration', `${call} was refused: ${said}`, "Check the account's permissions and that it may use the Gmail API.");
  }
  if (status === 400 && (reason === 'failedPrecondition' || google.status === 'FAILED_PRECONDITION')) {
    return make(
      'configuration',
      `${call}: ${said}`,
      'Gmail refuses this account: a service account needs domain-wide delegation and a subject (the gmail:// user), and the user needs Gmail enabled.',
    );
  }
  if (status === 413) {
    return make(
      'message-rejected',
      `${call}: the request is too large: ${said}`,
      'Messages over a few MB must go through the upload endpoint (mailport sends there after a 413 from the JSON endpoint); the upload endpoint takes up to 35 MB.',
      { retryable: false },
    );
  }
  if (status === 404 && failure.operation === 'messages.send') {
    return make(
      'message-rejected',
      `${call}: ${said}`,
      "The thread named in metadata['gmail.threadId'] does not exist in this mailbox: use the threadId Gmail returned for the original message.",
    );
  }
  if (status === 400) {
    if (/thread/i.test(said)) {
      return make(
        'message-rejected',
        `${call}: ${said}`,
        "Check metadata['gmail.threadId']: it must be the threadId Gmail returned for a message of this mailbox.",
      );
    }
    if (/\b(to|cc|bcc) header\b|recipient/i.test(said)) {
      return make(
        'recipient-rejected',
        `${call} refused the recipients: ${said}`,
        'Check the To, Cc and Bcc addresses (at most 100 in all).',
      );
    }
    return make(
      'message-rejected',
      `${call} refused the message: ${said}`,
      "Read Google's answer: the message was refused as it is, so change it before sending again.",
    );
  }
  if (status >= 500) {
    // A 5xx to messages.send after its body went out says Google failed "while processing the
    // request" (backendError), not that it sent nothing: Gmail has no idempotency key, and
    // googleapis itself never retries a POST. Retrying could send the message twice, so it is an
    // unknown outcome, as a 5xx to Graph's sendMail is (docs/errors.md, "5xx after hand-over").
    if (failure.operation === 'messages.send' && failure.handedOver) {
      return new MailError(
        'unknown-outcome',
        `Unknown outcome: Gmail messages.send failed at Google with ${status} after the message was sent: ${said}; it may have been delivered`,
        {
          transport,
          statusCode: status,
          providerCode: reason ?? failure.code,
          retryable: false,
          remediation: "Check the mailbox's Sent folder before sending it again; mailport does not retry it, to avoid a duplicate.",
          cause,
        },
      );
    }
    return make(
      'transient',
      `${call} failed at Google with ${status}: ${said}`,
      'A temporary failure at Google (backendError); mailport retries it by default.',
      {
        retryable: true,
        retryAfterMs: wait,
      },
    );
  }
  if (status === 408)
    return make('transient', `${call} timed out at Google: ${said}`, 'mailport retries this by default.', { retryable: true });
  if (status === 404) {
    return make(
      'configuration',
      `${call} found nothing at ${host}: ${said}`,
      'Check endpoint: it must be the Gmail API root, https://gmail.googleapis.com/.',
    );
  }
  return make('message-rejected', `${call} was refused with ${status}: ${said}`, "Read Google's answer; the request was refused as it is.");
}

/** No answer came: core's rule, with a remediation in Gmail's words. A read (profile, send-as) is safe to repeat. */
function networkError(failure: GmailFailure, context: GmailErrorContext): MailError {
  return noAnswerError(failure, {
    transport: context.transport,
    operation: `Gmail ${failure.operation} at ${context.host}`,
    idempotent: failure.operation !== 'messages.send',
    cause: sanitizedCause(failure, googleApiError(undefined)),
    remediations: {
      'unknown-outcome': "Check the mailbox's Sent folder before sending it again; mailport does not retry it, to avoid a duplicate.",
      timeout: 'Check the network path to the Gmail API; raise timeout for very large messages on slow links.',
    },
  });
}

/** Google words a rate limit as "User-rate limit exceeded.  Retry after 2024-05-01T10:00:00.000Z". */
function retryAfterFromMessage(message: string | undefined, now: (() => number) | undefined): number | undefined {
  const match = /retry after (\S+Z)\b/i.exec(message ?? '');
  if (match === null) return undefined;
  const date = Date.parse(match[1] as string);
  return Number.isNaN(date) ? undefined : Math.max(0, date - (now ?? Date.now)());
}

function firstLine(text: string): string {
  // An HTML error page says what matters in its text.
  const plain = text
    .replace(/<[^>]*>/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  return plain.slice(0, 300);
}

/** A plain copy of the failure with only what helps debugging: never the request, its headers or body. */
function sanitizedCause(failure: GmailFailure, google: GoogleApiError): Error {
  return safeCause('GmailApiError', failure.message, {
    operation: failure.operation,
    status: failure.status,
    code: failure.code,
    reason: google.reason,
    domain: google.domain,
    googleStatus: google.status,
    handedOver: failure.handedOver,
  });
}
