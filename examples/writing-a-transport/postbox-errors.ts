/**
 * Postbox's own answers as `MailError`s. Pure, so that every row of the table is tested without a
 * server (postbox.test.ts). A request that got no answer at all is core's `noAnswerError`
 * (postbox-transport.ts): that rule is the same for every transport.
 */
import { MailError, type MailErrorCode, parseRetryAfter } from '@mailport/core';

/** What an error answer of Postbox says. Never the request itself. */
export interface PostboxFailure {
  readonly status: number;
  /** Postbox's `error.code`: `unauthorized`, `sender_not_allowed`, `recipient_rejected`, ... */
  readonly code?: string | undefined;
  readonly message: string;
  /** The Retry-After header as sent: seconds or an HTTP date. */
  readonly retryAfter?: string | undefined;
  /** For `recipient_rejected`: each refused address and why. */
  readonly recipients?: readonly { readonly address: string; readonly reason: string }[] | undefined;
}

/** Where the failure happened. */
export interface PostboxErrorContext {
  /** The transport id, for `MailError.transport`. */
  readonly transport: string;
  /** True when the credentials are a static API key (a refused key is final). */
  readonly staticKey?: boolean | undefined;
  /** The clock, to read a Retry-After date. Default `Date.now`. */
  readonly now?: (() => number) | undefined;
}

// Postbox's documented answers, by `status code` or `status`: facts, so they stay data.
const answers: Readonly<Record<string, readonly [MailErrorCode, string, string]>> = {
  400: ['invalid-message', 'Postbox refused the request', 'Fix the message as Postbox says; it was not sent.'],
  401: ['auth', 'Postbox refused the credentials', 'Check the API key (Postbox dashboard, Settings > API keys): it may have been revoked.'],
  '403 sender_not_allowed': ['sender-rejected', 'Postbox refused the sender', 'Send from a domain verified in Postbox.'],
  403: ['configuration', 'Postbox denied the request', 'The API key lacks the messages:send permission: create a key with it.'],
  404: ['configuration', 'No Postbox API at this endpoint', 'Check the endpoint: it must be the API root, https://api.postbox.example.'],
  413: ['message-rejected', 'The message is too large for Postbox', 'Postbox takes up to 10 MB: make it smaller or link to large files.'],
  '422 recipient_rejected': ['recipient-rejected', 'Postbox refused the recipients', 'Check the addresses; Postbox sends to none of them.'],
  422: ['message-rejected', 'Postbox refused the message', 'The message was refused as it is: change it before sending again.'],
  '429 daily_quota_exceeded': ['quota-exceeded', 'Postbox daily quota used up', 'Wait for the reset at midnight UTC, or raise the quota.'],
  429: ['rate-limited', 'Postbox is rate limiting', 'Send more slowly: lower the concurrency; mailport waits for Retry-After.'],
  // Postbox documents 503 as "nothing was queued".
  503: ['transient', 'Postbox is unavailable', 'A temporary failure before the message was queued: mailport retries it.'],
};

/**
 * Maps an error answer of Postbox to a `MailError`. The rule that matters most: once the request
 * body has been sent, only an answer that proves the message was not queued allows a retry. Any
 * other 5xx, and any status Postbox does not document, is an `unknown-outcome`, which mailport
 * never retries on its own.
 *
 * @example
 * ```ts
 * mapPostboxError({ status: 429, code: 'rate_limited', message: 'Slow down', retryAfter: '2' }, { transport: 'postbox://api.postbox.example' });
 * // MailError { code: 'rate-limited', retryable: true, retryAfterMs: 2000 }
 * ```
 */
export function mapPostboxError(failure: PostboxFailure, context: PostboxErrorContext): MailError {
  const { status, code } = failure;
  const [errorCode, what, remediation] = answers[`${status} ${code}`] ??
    answers[status] ?? [
      'unknown-outcome',
      `Postbox answered ${status} after receiving the message; it may have been queued`,
      'Check the Postbox activity log before sending it again; mailport does not resend it on its own.',
    ];
  const refusedToken = status === 401 && context.staticKey === false;
  // Postbox always sends Retry-After with a 429; a proxy in front of it may not. One second is its rate window.
  const retryAfterMs = parseRetryAfter(failure.retryAfter, context.now) ?? (errorCode === 'rate-limited' ? 1000 : undefined);
  return new MailError(errorCode, `${what}: ${code === undefined ? '' : `${code}: `}${failure.message}`, {
    transport: context.transport,
    statusCode: status,
    providerCode: code,
    remediation: refusedToken ? 'The access token was refused after a refresh: check the OAuth client and its scope.' : remediation,
    retryAfterMs,
    recipients:
      errorCode === 'recipient-rejected'
        ? (failure.recipients ?? []).map(({ address, reason }) => ({ address, message: reason, statusCode: status, retryable: false }))
        : undefined,
  });
}
