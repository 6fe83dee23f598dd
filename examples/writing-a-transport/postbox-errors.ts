/**
 * Postbox's failures as `MailError`s. Pure, so that every row of the table is tested without a
 * server (postbox-errors.test.ts).
 */
import {
  certificateRemediation,
  isCertificateError,
  MailError,
  type MailErrorCode,
  parseRetryAfter,
  type RecipientError,
} from '@mailport/core';

/** What a failed request left to classify: Postbox's answer, or why none came. Never the request itself. */
export interface PostboxFailure {
  /** The HTTP status, when Postbox answered. */
  readonly status?: number | undefined;
  /** Postbox's `error.code`: `unauthorized`, `sender_not_allowed`, `recipient_rejected`, ... */
  readonly code?: string | undefined;
  readonly message: string;
  /** The Retry-After header as sent: seconds or an HTTP date. */
  readonly retryAfter?: string | undefined;
  /** For `recipient_rejected`: each refused address and why. */
  readonly recipients?: readonly { readonly address: string; readonly reason: string }[] | undefined;
  /** When no answer came: core's `HttpError` (the system error code, and whether the whole request body had been handed over). */
  readonly network?: { readonly code: string | undefined; readonly handedOver: boolean; readonly timedOut: boolean } | undefined;
}

/** Where the failure happened. */
export interface PostboxErrorContext {
  /** The transport id, for `MailError.transport`. */
  readonly transport: string;
  /** `host:port` of the API, for messages. */
  readonly host: string;
  /** True when the credentials are a static API key (a refused key is final). */
  readonly staticKey?: boolean | undefined;
  /** The clock, to read a Retry-After date. Default `Date.now`. */
  readonly now?: (() => number) | undefined;
}

/**
 * Maps a failed Postbox request to a `MailError`. The rule that matters most: once the request
 * body has been sent, only an answer that proves the message was not queued allows a retry.
 * Postbox documents `503` as "nothing was queued"; any other 5xx, and a connection lost after the
 * body went out, is an `unknown-outcome`, which mailport never retries on its own.
 *
 * | failure | code |
 * | --- | --- |
 * | connection refused, DNS failing for now, reset before the body was sent | `transient` |
 * | host not found, certificate not trusted | `configuration` |
 * | silence before the body was sent, a connect that timed out | `timeout` |
 * | connection lost or silence after the body was sent | `unknown-outcome` |
 * | 400 | `invalid-message` |
 * | 401 | `auth` |
 * | 403 `sender_not_allowed` | `sender-rejected` |
 * | 403 other, 404 | `configuration` |
 * | 413 | `message-rejected` |
 * | 422 `recipient_rejected` | `recipient-rejected`, each recipient listed |
 * | 422 other | `message-rejected` |
 * | 429 `daily_quota_exceeded` | `quota-exceeded` |
 * | 429 | `rate-limited`, `retryAfterMs` from Retry-After (1 s when absent) |
 * | 503 | `transient` |
 * | other 5xx, anything unexpected | `unknown-outcome` |
 *
 * @example
 * ```ts
 * mapPostboxError({ status: 429, code: 'rate_limited', message: 'Slow down', retryAfter: '2' }, { transport: 'postbox://api.postbox.example', host: 'api.postbox.example' });
 * // MailError { code: 'rate-limited', retryable: true, retryAfterMs: 2000 }
 * ```
 */
export function mapPostboxError(failure: PostboxFailure, context: PostboxErrorContext): MailError {
  const { transport, host } = context;
  const said = failure.code === undefined ? failure.message : `${failure.code}: ${failure.message}`;
  const make = (
    code: MailErrorCode,
    message: string,
    remediation: string,
    extra: { retryAfterMs?: number | undefined; recipients?: readonly RecipientError[] } = {},
  ): MailError =>
    new MailError(code, message, {
      transport,
      statusCode: failure.status,
      providerCode: failure.code ?? failure.network?.code,
      remediation,
      ...extra,
    });

  const network = failure.network;
  if (failure.status === undefined || network !== undefined) {
    if (network?.handedOver === true) {
      return make(
        'unknown-outcome',
        `Unknown outcome: the connection to ${host} failed after the message was sent and before Postbox answered (${failure.message}); it may have been queued`,
        'Check the Postbox activity log (or ask the recipient) before sending it again; mailport does not resend it on its own.',
      );
    }
    if (network?.timedOut === true || network?.code === 'ECONNECT_TIMEOUT') {
      return make(
        'timeout',
        `${host} did not answer in time (${failure.message})`,
        'Check the network path to Postbox; mailport retries timeouts.',
      );
    }
    if (network?.code === 'ENOTFOUND') {
      return make('configuration', `Host ${host} not found`, 'Check the host of the postbox:// URL (or the endpoint option).');
    }
    if (isCertificateError(network?.code)) {
      return make('configuration', `The TLS certificate of ${host} is not trusted: ${failure.message}`, certificateRemediation);
    }
    return make(
      'transient',
      `Could not reach ${host}: ${failure.message}`,
      network?.code === 'ECONNREFUSED'
        ? 'Nothing accepts connections there: check the endpoint and that the service is up; mailport retries it.'
        : 'A network failure before the message was sent: mailport retries it.',
    );
  }

  const status = failure.status;
  const retryAfterMs = parseRetryAfter(failure.retryAfter, context.now);
  if (status === 401) {
    return make(
      'auth',
      `Postbox refused the credentials: ${said}`,
      context.staticKey === false
        ? 'The access token was refused, also after a refresh: check the OAuth client and its scope (messages:send).'
        : 'Check the API key (Postbox dashboard, Settings > API keys): it may have been revoked or mistyped.',
    );
  }
  if (status === 403 && failure.code === 'sender_not_allowed') {
    return make('sender-rejected', `Postbox refused the sender: ${said}`, 'Send from a domain verified in Postbox (Settings > Domains).');
  }
  if (status === 403) {
    return make(
      'configuration',
      `Postbox denied the request: ${said}`,
      'The API key lacks the messages:send permission: create a key with it.',
    );
  }
  if (status === 404) {
    return make(
      'configuration',
      `${host} has no Postbox API here: ${said}`,
      'Check the endpoint: it must be the Postbox API root, https://api.postbox.example.',
    );
  }
  if (status === 429) {
    if (failure.code === 'daily_quota_exceeded') {
      return make(
        'quota-exceeded',
        `Postbox daily quota used up: ${said}`,
        'Wait for the quota to reset at midnight UTC, or raise it in the Postbox dashboard.',
        {
          retryAfterMs,
        },
      );
    }
    return make(
      'rate-limited',
      `Postbox is rate limiting: ${said}`,
      'Send more slowly: lower the concurrency; mailport waits for Retry-After.',
      {
        // Postbox always sends Retry-After; a proxy in front of it may not. One second is the documented rate window.
        retryAfterMs: retryAfterMs ?? 1000,
      },
    );
  }
  if (status === 400) {
    return make('invalid-message', `Postbox refused the request: ${said}`, 'Fix the message as Postbox says; it was not sent.');
  }
  if (status === 413) {
    return make(
      'message-rejected',
      `The message is too large for Postbox: ${said}`,
      'Postbox takes up to 10 MB: make it smaller or link to large files.',
    );
  }
  if (status === 422 && failure.code === 'recipient_rejected') {
    const recipients: RecipientError[] = (failure.recipients ?? []).map((recipient) => ({
      address: recipient.address,
      message: recipient.reason,
      statusCode: status,
      providerCode: 'recipient_rejected',
      retryable: false,
    }));
    return make(
      'recipient-rejected',
      `Postbox refused the recipients: ${said}`,
      'Check the recipient addresses; Postbox sends to none when it refuses one.',
      {
        recipients,
      },
    );
  }
  if (status === 422) {
    return make(
      'message-rejected',
      `Postbox refused the message: ${said}`,
      "Read Postbox's answer: the message was refused as it is, so change it before sending again.",
    );
  }
  if (status === 503) {
    return make('transient', `Postbox is unavailable: ${said}`, 'A temporary failure before the message was queued: mailport retries it.', {
      retryAfterMs,
    });
  }
  return make(
    'unknown-outcome',
    `Postbox answered ${status} after receiving the message (${said}); it may have been queued`,
    'Check the Postbox activity log before sending it again; mailport does not resend it on its own.',
  );
}
