import { type ErrorTableRow, runErrorTable } from '@mailport/testkit';
import { describe, expect, it } from 'vitest';
import { type GmailFailure, googleApiError, mapGmailError } from './gmail-errors.js';

const context = { transport: 'gmail://user@example.com', host: 'gmail.googleapis.com', now: () => Date.parse('2026-05-01T10:00:00.000Z') };

/** Google's error body. */
const google = (code: number, reason: string, message: string, status?: string, domain = 'global'): object => ({
  error: { code, message, errors: [{ message, domain, reason }], status },
});

interface Row extends ErrorTableRow {
  failure: Partial<GmailFailure>;
}

const rows: Row[] = [
  {
    name: '401 authError after the refresh',
    failure: {
      status: 401,
      body: google(401, 'authError', 'Request had invalid authentication credentials. Expected OAuth 2 access token.', 'UNAUTHENTICATED'),
    },
    code: 'auth',
    retryable: false,
    remediation: /Gmail API enabled/,
  },
  {
    name: '403 insufficientPermissions on send',
    failure: {
      status: 403,
      body: google(403, 'insufficientPermissions', 'Request had insufficient authentication scopes.', 'PERMISSION_DENIED'),
    },
    code: 'configuration',
    retryable: false,
    remediation: /gmail\.send/,
  },
  {
    name: '403 insufficientPermissions on the send-as list',
    failure: {
      operation: 'sendAs.list',
      status: 403,
      body: google(403, 'insufficientPermissions', 'Request had insufficient authentication scopes.', 'PERMISSION_DENIED'),
    },
    code: 'configuration',
    retryable: false,
    remediation: /gmail\.settings\.basic/,
  },
  {
    name: '403 domainPolicy',
    failure: { status: 403, body: google(403, 'domainPolicy', 'The domain administrators have disabled Gmail apps.') },
    code: 'configuration',
    retryable: false,
    remediation: /administrator/,
  },
  {
    name: '403 Delegation denied (token of another mailbox)',
    failure: { status: 403, body: google(403, 'forbidden', 'Delegation denied for other@example.com', 'PERMISSION_DENIED') },
    code: 'configuration',
    retryable: false,
    remediation: /gmail:\/\/ user/,
  },
  {
    name: '403 Gmail API disabled for the project',
    failure: {
      status: 403,
      body: google(403, 'accessNotConfigured', 'Gmail API has not been used in project 123 before or it is disabled.', 'PERMISSION_DENIED'),
    },
    code: 'configuration',
    retryable: false,
    remediation: /Enable the Gmail API/,
  },
  {
    name: '403 rateLimitExceeded',
    failure: { status: 403, body: google(403, 'rateLimitExceeded', 'Rate Limit Exceeded', 'PERMISSION_DENIED', 'usageLimits') },
    code: 'rate-limited',
    retryable: true,
  },
  {
    name: '403 userRateLimitExceeded with Retry-After in seconds',
    failure: {
      status: 403,
      retryAfter: '7',
      body: google(403, 'userRateLimitExceeded', 'User Rate Limit Exceeded', undefined, 'usageLimits'),
    },
    code: 'rate-limited',
    retryable: true,
    retryAfterMs: 7000,
  },
  {
    name: '429 with Retry-After as an HTTP date',
    failure: {
      status: 429,
      retryAfter: 'Fri, 01 May 2026 10:00:30 GMT',
      body: google(429, 'rateLimitExceeded', 'Too many concurrent requests for user.', 'RESOURCE_EXHAUSTED'),
    },
    code: 'rate-limited',
    retryable: true,
    retryAfterMs: 30_000,
  },
  {
    name: '429 "Retry after" in the message',
    failure: {
      status: 429,
      body: google(
        429,
        'rateLimitExceeded',
        'User-rate limit exceeded.  Retry after 2026-05-01T10:01:00.000Z',
        'RESOURCE_EXHAUSTED',
        'usageLimits',
      ),
    },
    code: 'rate-limited',
    retryable: true,
    retryAfterMs: 60_000,
  },
  {
    name: '429 (Mail sending): the daily sending limit',
    failure: {
      status: 429,
      body: google(
        429,
        'rateLimitExceeded',
        'User-rate limit exceeded.  Retry after 2026-05-02T00:00:00.000Z (Mail sending)',
        'RESOURCE_EXHAUSTED',
      ),
    },
    code: 'quota-exceeded',
    retryable: false,
    retryAfterMs: 50_400_000,
    remediation: /sending limit/,
  },
  {
    name: '403 dailyLimitExceeded',
    failure: { status: 403, body: google(403, 'dailyLimitExceeded', 'Daily Limit Exceeded', undefined, 'usageLimits') },
    code: 'quota-exceeded',
    retryable: false,
  },
  {
    name: '400 invalidArgument: Invalid To header',
    failure: { status: 400, body: google(400, 'invalidArgument', 'Invalid To header', 'INVALID_ARGUMENT') },
    code: 'recipient-rejected',
    retryable: false,
  },
  {
    name: '400 invalidArgument: Recipient address required',
    failure: { status: 400, body: google(400, 'invalidArgument', 'Recipient address required', 'INVALID_ARGUMENT') },
    code: 'recipient-rejected',
    retryable: false,
  },
  {
    name: '400 badRequest about the message',
    failure: {
      status: 400,
      body: google(400, 'badRequest', "'raw' RFC822 payload message string or uploading message via /upload/* URL required"),
    },
    code: 'message-rejected',
    retryable: false,
  },
  {
    name: '400 Invalid thread_id value',
    failure: { status: 400, body: google(400, 'invalidArgument', 'Invalid thread_id value', 'INVALID_ARGUMENT') },
    code: 'message-rejected',
    retryable: false,
    remediation: /gmail\.threadId/,
  },
  {
    name: '404 on send: unknown thread',
    failure: { status: 404, body: google(404, 'notFound', 'Requested entity was not found.', 'NOT_FOUND') },
    code: 'message-rejected',
    retryable: false,
    remediation: /threadId/,
  },
  {
    name: '404 on the profile: wrong endpoint',
    failure: { operation: 'getProfile', status: 404, body: 'Not Found' },
    code: 'configuration',
    retryable: false,
    remediation: /endpoint/,
  },
  {
    name: '400 failedPrecondition (service account without delegation)',
    failure: { status: 400, body: google(400, 'failedPrecondition', 'Precondition check failed.', 'FAILED_PRECONDITION') },
    code: 'configuration',
    retryable: false,
    remediation: /domain-wide delegation/,
  },
  {
    name: '413 HTML page from the front end (JSON body too large)',
    failure: {
      status: 413,
      body: '<html><title>Error 413 (Request Entity Too Large)!!1</title><p>Your client issued a request that was too large.</p></html>',
    },
    code: 'message-rejected',
    retryable: false,
    remediation: /upload endpoint/,
  },
  {
    name: '500 backendError before the body went out',
    failure: { status: 500, body: google(500, 'backendError', 'Backend Error', 'INTERNAL') },
    code: 'transient',
    retryable: true,
  },
  {
    name: '503 with Retry-After before the body went out',
    failure: { status: 503, retryAfter: '2', body: google(503, 'backendError', 'The service is currently unavailable.', 'UNAVAILABLE') },
    code: 'transient',
    retryable: true,
    retryAfterMs: 2000,
  },
  {
    name: '500 backendError to messages.send after the body went out: may have been sent',
    failure: { status: 500, body: google(500, 'backendError', 'Backend Error', 'INTERNAL'), handedOver: true },
    code: 'unknown-outcome',
    retryable: false,
    remediation: /Sent folder/,
  },
  {
    name: '503 to messages.send after the body went out: may have been sent',
    failure: { status: 503, body: google(503, 'backendError', 'The service is currently unavailable.', 'UNAVAILABLE'), handedOver: true },
    code: 'unknown-outcome',
    retryable: false,
  },
  {
    name: '503 to a read (send-as list) after its request went out: nothing to duplicate',
    failure: { operation: 'sendAs.list', status: 503, body: google(503, 'backendError', 'Unavailable', 'UNAVAILABLE'), handedOver: true },
    code: 'transient',
    retryable: true,
  },
  {
    name: 'connection refused',
    failure: { code: 'ECONNREFUSED', message: 'connect ECONNREFUSED 127.0.0.1:9' },
    code: 'transient',
    retryable: true,
    remediation: /endpoint/,
  },
  {
    name: 'connection refused, body already buffered: still not sent',
    failure: { code: 'ECONNREFUSED', message: 'connect ECONNREFUSED', handedOver: true },
    code: 'transient',
    retryable: true,
  },
  {
    name: 'DNS: host not found',
    failure: { code: 'ENOTFOUND', message: 'getaddrinfo ENOTFOUND gmail.example' },
    code: 'configuration',
    retryable: false,
  },
  {
    name: 'connect timeout',
    failure: { code: 'ECONNECT_TIMEOUT', message: 'connect timed out after 10000 ms', handedOver: true },
    code: 'timeout',
    retryable: true,
  },
  {
    name: 'connection dropped after the body went out',
    failure: { code: 'ECONNRESET', message: 'socket hang up', handedOver: true },
    code: 'unknown-outcome',
    retryable: false,
    remediation: /Sent folder/,
  },
  {
    name: 'timeout after the body went out',
    failure: { code: 'TimeoutError', message: 'The operation was aborted due to timeout', handedOver: true },
    code: 'unknown-outcome',
    retryable: false,
  },
  {
    name: 'connection dropped while the body was still going out',
    failure: { code: 'ECONNRESET', message: 'socket hang up', handedOver: false },
    code: 'transient',
    retryable: true,
  },
  {
    name: 'timeout before the body went out',
    failure: { code: 'TimeoutError', message: 'The operation was aborted due to timeout', handedOver: false },
    code: 'timeout',
    retryable: true,
  },
  {
    name: 'a dropped connection on a read is safe to retry',
    failure: { operation: 'getProfile', code: 'ECONNRESET', message: 'socket hang up', handedOver: true },
    code: 'transient',
    retryable: true,
  },
];

describe('mapGmailError', () => {
  runErrorTable(
    (row: Row) => mapGmailError({ operation: 'messages.send', message: 'failed', handedOver: false, ...row.failure }, context),
    rows.map((row) => ({ ...row, statusCode: row.failure.status })),
    { transport: context.transport },
  );

  it('keeps the reason as providerCode and a plain cause without the request', () => {
    const error = mapGmailError(
      { operation: 'messages.send', status: 429, body: google(429, 'rateLimitExceeded', 'slow down'), message: 'x', handedOver: false },
      context,
    );
    expect(error.providerCode).toBe('rateLimitExceeded');
    expect(error.message).toContain('slow down');
    expect(error.cause).toBeInstanceOf(Error);
    expect(Object.keys(error.cause as object).sort()).toEqual(['domain', 'handedOver', 'name', 'operation', 'reason', 'status']);
  });

  it('reads Google error bodies and ignores other shapes', () => {
    expect(googleApiError(google(400, 'invalidArgument', 'Invalid To header', 'INVALID_ARGUMENT'))).toEqual({
      code: 400,
      message: 'Invalid To header',
      reason: 'invalidArgument',
      domain: 'global',
      status: 'INVALID_ARGUMENT',
    });
    expect(googleApiError('<html>')).toEqual({
      code: undefined,
      message: undefined,
      reason: undefined,
      domain: undefined,
      status: undefined,
    });
    expect(googleApiError({ error: 'invalid_grant' }).reason).toBeUndefined();
  });
});
