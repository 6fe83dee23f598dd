import { type ErrorTableRow, runErrorTable } from '@mailport/testkit';
import { describe } from 'vitest';
import { type GraphFailure, mapGraphError } from './graph-errors.js';

const context = { transport: 'graph://noreply@contoso.com', mailbox: 'noreply@contoso.com', now: () => Date.parse('2026-01-01T00:00:00Z') };

interface Row extends ErrorTableRow {
  failure: GraphFailure;
}

const rows: Row[] = [
  {
    name: '429 MailboxConcurrency with Retry-After in seconds',
    failure: {
      operation: 'sendMail',
      status: 429,
      code: 'ApplicationThrottled',
      message: 'Application is over its MailboxConcurrency limit.',
      retryAfter: '5',
    },
    code: 'rate-limited',
    retryable: true,
    retryAfterMs: 5000,
    remediation: /4 requests/,
  },
  {
    name: '429 with an HTTP-date Retry-After minutes away',
    failure: {
      operation: 'sendMail',
      status: 429,
      code: 'ApplicationThrottled',
      message: 'throttled',
      retryAfter: 'Thu, 01 Jan 2026 00:03:00 GMT',
    },
    code: 'rate-limited',
    retryable: true,
    retryAfterMs: 180_000,
  },
  {
    name: '503 ErrorServerBusy to sendMail: Graph may have sent it',
    failure: { operation: 'sendMail', status: 503, code: 'ErrorServerBusy', message: 'The server is busy.' },
    code: 'unknown-outcome',
    retryable: false,
    remediation: /Sent Items/,
  },
  {
    name: '504 to a draft send',
    failure: { operation: 'send', status: 504, code: 'GatewayTimeout', message: 'timeout' },
    code: 'unknown-outcome',
    retryable: false,
  },
  {
    name: '503 while creating the draft: nothing was sent',
    failure: { operation: 'createMessage', status: 503, code: 'ErrorServerBusy', message: 'busy' },
    code: 'transient',
    retryable: true,
  },
  {
    name: 'connection reset after the sendMail body was sent',
    failure: { operation: 'sendMail', message: 'socket hang up', network: { code: 'ECONNRESET', handedOver: true, timedOut: false } },
    code: 'unknown-outcome',
    retryable: false,
  },
  {
    name: 'socket timeout after the body was sent',
    failure: { operation: 'sendMail', message: 'no answer', network: { code: 'ETIMEDOUT', handedOver: true, timedOut: true } },
    code: 'unknown-outcome',
    retryable: false,
  },
  {
    name: 'connection refused before anything was sent',
    failure: {
      operation: 'sendMail',
      message: 'connect ECONNREFUSED',
      network: { code: 'ECONNREFUSED', handedOver: false, timedOut: false },
    },
    code: 'transient',
    retryable: true,
    remediation: /endpoint/,
  },
  {
    name: 'upload range lost after its body was sent',
    failure: { operation: 'uploadChunk', message: 'reset', network: { code: 'ECONNRESET', handedOver: true, timedOut: false } },
    code: 'transient',
    retryable: true,
  },
  {
    name: 'silence before the body was sent',
    failure: { operation: 'sendMail', message: 'slow', network: { code: 'ETIMEDOUT', handedOver: false, timedOut: true } },
    code: 'timeout',
    retryable: true,
  },
  {
    name: 'connect timeout',
    failure: {
      operation: 'sendMail',
      message: 'connect timed out',
      network: { code: 'ECONNECT_TIMEOUT', handedOver: false, timedOut: false },
    },
    code: 'timeout',
    retryable: true,
  },
  {
    name: 'an endpoint whose certificate is not trusted',
    failure: {
      operation: 'sendMail',
      message: 'self-signed certificate',
      network: { code: 'DEPTH_ZERO_SELF_SIGNED_CERT', handedOver: false, timedOut: false },
    },
    code: 'configuration',
    retryable: false,
    remediation: /CA/,
  },
  {
    name: 'an endpoint host that does not exist',
    failure: { operation: 'getUser', message: 'getaddrinfo ENOTFOUND', network: { code: 'ENOTFOUND', handedOver: false, timedOut: false } },
    code: 'configuration',
    retryable: false,
  },
  {
    name: 'ErrorInvalidRecipients',
    failure: { operation: 'sendMail', status: 400, code: 'ErrorInvalidRecipients', message: "At least one recipient isn't valid." },
    code: 'recipient-rejected',
    retryable: false,
  },
  {
    name: 'ErrorMimeContentInvalidBase64String',
    failure: {
      operation: 'sendMail',
      status: 400,
      code: 'ErrorMimeContentInvalidBase64String',
      message: 'Invalid base64 string for MIME content.',
    },
    code: 'message-rejected',
    retryable: false,
  },
  {
    name: 'InvalidInternetMessageHeaderCollection',
    failure: { operation: 'sendMail', status: 400, code: 'InvalidInternetMessageHeaderCollection', message: 'at most 5' },
    code: 'message-rejected',
    retryable: false,
    remediation: /mode=mime/,
  },
  {
    name: 'ErrorMessageSizeExceeded',
    failure: {
      operation: 'uploadChunk',
      status: 400,
      code: 'ErrorMessageSizeExceeded',
      message: 'The message exceeds the maximum supported size.',
    },
    code: 'message-rejected',
    retryable: false,
    remediation: /150 MB/,
  },
  {
    name: '413 request too large',
    failure: { operation: 'sendMail', status: 413, message: 'The maximum request length supported is 4MB.' },
    code: 'message-rejected',
    retryable: false,
  },
  {
    name: 'ErrorSendAsDenied',
    failure: { operation: 'sendMail', status: 403, code: 'ErrorSendAsDenied', message: 'does not have the right to send mail on behalf' },
    code: 'sender-rejected',
    retryable: false,
    remediation: /Send As/,
  },
  {
    name: 'MailboxNotEnabledForRESTAPI',
    failure: {
      operation: 'sendMail',
      status: 404,
      code: 'MailboxNotEnabledForRESTAPI',
      message: 'The mailbox is either inactive, soft-deleted, or is hosted on-premise.',
    },
    code: 'configuration',
    retryable: false,
    remediation: /unlicensed/,
  },
  {
    name: '403 ErrorAccessDenied (no Mail.Send, or an application access policy)',
    failure: { operation: 'sendMail', status: 403, code: 'ErrorAccessDenied', message: 'Access is denied.' },
    code: 'configuration',
    retryable: false,
    remediation: /Mail\.Send.*application access policy/,
  },
  {
    name: '401 after the refresh',
    failure: {
      operation: 'sendMail',
      status: 401,
      code: 'InvalidAuthenticationToken',
      message: 'Lifetime validation failed, the token is expired.',
    },
    code: 'auth',
    retryable: false,
  },
  {
    name: 'unknown mailbox',
    failure: { operation: 'sendMail', status: 404, code: 'ErrorInvalidUser', message: "The requested user 'x' is invalid." },
    code: 'configuration',
    retryable: false,
  },
  {
    name: 'draft gone while preparing it',
    failure: {
      operation: 'addAttachment',
      status: 404,
      code: 'ErrorItemNotFound',
      message: 'The specified object was not found in the store.',
    },
    code: 'transient',
    retryable: true,
  },
  {
    name: 'sending quota',
    failure: { operation: 'sendMail', status: 400, code: 'ErrorQuotaExceeded', message: 'quota' },
    code: 'quota-exceeded',
    retryable: false,
  },
  {
    name: '/me with an app-only token',
    failure: {
      operation: 'sendMail',
      status: 400,
      code: 'BadRequest',
      message: '/me request is only valid with delegated authentication flow.',
    },
    code: 'configuration',
    retryable: false,
  },
];

describe('mapGraphError', () => {
  runErrorTable(
    (row: Row) => mapGraphError(row.failure, context),
    rows.map((row) => ({ ...row, statusCode: row.failure.status })),
    { transport: context.transport },
  );
});
