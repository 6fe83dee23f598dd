import { inspect } from 'node:util';
import { type ErrorTableRow, runErrorTable } from '@mailport/testkit';
import { describe, expect, it } from 'vitest';
import { mapSesError, type SesErrorContext, type SesFailure, sesFailureOf } from './ses-errors.js';

const context: SesErrorContext = {
  transport: 'ses://eu-west-1',
  region: 'eu-west-1',
  handedOver: false,
  senders: ['orders@shop.example'],
};

interface Row extends ErrorTableRow {
  failure: SesFailure;
  context?: Partial<SesErrorContext>;
}

const typed = (name: string, statusCode: number, message: string): SesFailure => ({ name, statusCode, message, typed: true });

const rows: Row[] = [
  {
    name: 'TooManyRequestsException (sending rate)',
    failure: typed('TooManyRequestsException', 429, 'Maximum sending rate exceeded.'),
    code: 'rate-limited',
    retryable: true,
    retryAfterMs: 1000,
    remediation: /rate_limit/,
  },
  {
    name: 'ThrottlingException with a Retry-After from a hop',
    failure: { ...typed('ThrottlingException', 400, 'Rate exceeded'), retryAfter: '3' },
    code: 'rate-limited',
    retryable: true,
    retryAfterMs: 3000,
  },
  {
    name: 'ThrottlingException: daily quota',
    failure: typed('ThrottlingException', 400, 'Daily message quota exceeded.'),
    code: 'quota-exceeded',
    retryable: false,
    remediation: /Max24HourSend/,
  },
  {
    name: 'MessageRejected: unverified From',
    failure: typed(
      'MessageRejected',
      400,
      'Email address is not verified. The following identities failed the check in region EU-WEST-1: Shop <orders@shop.example>, orders@shop.example',
    ),
    code: 'sender-rejected',
    retryable: false,
    remediation: /[Vv]erify the sending address/,
  },
  {
    name: 'MessageRejected: unverified recipients in the SES sandbox',
    failure: typed(
      'MessageRejected',
      400,
      'Email address is not verified. The following identities failed the check in region EU-WEST-1: ana@example.org',
    ),
    code: 'recipient-rejected',
    retryable: false,
    remediation: /production access/,
  },
  {
    name: 'MessageRejected: content',
    failure: typed('MessageRejected', 400, 'Message rejected: the message contains a virus.'),
    code: 'message-rejected',
    retryable: false,
    remediation: /content/,
  },
  {
    name: 'MessageRejected: too long',
    failure: typed('MessageRejected', 400, "Message length is more than 40000000 bytes long: '42000000'."),
    code: 'message-rejected',
    retryable: false,
    remediation: /40 MB/,
  },
  {
    name: 'MailFromDomainNotVerifiedException',
    failure: typed('MailFromDomainNotVerifiedException', 400, 'MAIL FROM domain not verified'),
    code: 'sender-rejected',
    retryable: false,
    remediation: /MAIL FROM/,
  },
  {
    name: 'SendingPausedException',
    failure: typed('SendingPausedException', 400, 'Sending is paused for this account.'),
    code: 'sender-rejected',
    retryable: false,
    remediation: /resume/i,
  },
  {
    name: 'AccountSuspendedException',
    failure: typed('AccountSuspendedException', 400, 'Account suspended.'),
    code: 'sender-rejected',
    retryable: false,
    remediation: /AWS Support/,
  },
  {
    name: 'BadRequestException: an address',
    failure: typed('BadRequestException', 400, 'Illegal address'),
    code: 'invalid-message',
    retryable: false,
  },
  {
    name: 'BadRequestException: an attachment type',
    failure: typed('BadRequestException', 400, 'Attachment file type not supported'),
    code: 'message-rejected',
    retryable: false,
  },
  {
    name: 'NotFoundException: configuration set',
    failure: typed('NotFoundException', 404, 'Configuration set transactional does not exist.'),
    code: 'configuration',
    retryable: false,
    remediation: /configuration set/,
  },
  {
    name: 'LimitExceededException',
    failure: typed('LimitExceededException', 400, 'Limit exceeded'),
    code: 'configuration',
    retryable: false,
  },
  {
    name: 'AccessDeniedException',
    failure: typed('AccessDeniedException', 403, 'User is not authorized to perform: ses:SendEmail'),
    code: 'configuration',
    retryable: false,
    remediation: /ses:SendEmail/,
  },
  {
    name: 'UnrecognizedClientException',
    failure: typed('UnrecognizedClientException', 403, 'The security token included in the request is invalid.'),
    code: 'auth',
    retryable: false,
    remediation: /access key id/,
  },
  {
    name: 'SignatureDoesNotMatch (wrong secret)',
    failure: typed('SignatureDoesNotMatch', 403, 'The request signature we calculated does not match the signature you provided.'),
    code: 'auth',
    retryable: false,
  },
  {
    name: 'SignatureDoesNotMatch (wrong region)',
    failure: typed('SignatureDoesNotMatch', 403, "Credential should be scoped to a valid region, not 'us-east-2'."),
    code: 'configuration',
    retryable: false,
    remediation: /region/,
  },
  {
    name: 'InvalidSignatureException (clock skew)',
    failure: typed('InvalidSignatureException', 403, 'Signature expired: 20260101T000000Z is now earlier than 20260101T001500Z'),
    code: 'configuration',
    retryable: false,
    remediation: /clock/,
  },
  {
    name: 'ExpiredTokenException',
    failure: typed('ExpiredTokenException', 403, 'The security token included in the request is expired'),
    code: 'auth',
    retryable: false,
    remediation: /refresh/,
  },
  // A 5xx to SendEmail after its body went out may have sent it (docs/errors.md, "A 5xx after the message was handed over").
  {
    name: 'InternalServiceErrorException to SendEmail after the body went out',
    failure: typed('InternalServiceErrorException', 500, 'Internal error'),
    context: { handedOver: true },
    code: 'unknown-outcome',
    remediation: /before sending it again/,
  },
  {
    name: 'InternalFailure (500) to SendEmail after the body went out',
    failure: typed('InternalFailure', 500, 'The request processing has failed because of an unknown error, exception or failure.'),
    context: { handedOver: true, operation: 'SendEmail' },
    code: 'unknown-outcome',
  },
  {
    name: 'ServiceUnavailable (503) to SendEmail after the body went out',
    failure: typed('ServiceUnavailable', 503, 'The request has failed due to a temporary failure of the server.'),
    context: { handedOver: true },
    code: 'unknown-outcome',
  },
  {
    name: 'an untyped 503 to SendEmail after the body went out',
    failure: { name: 'Unknown', statusCode: 503, message: 'Service Unavailable', typed: false },
    context: { handedOver: true },
    code: 'unknown-outcome',
  },
  {
    name: 'an untyped 504 from a gateway',
    failure: { name: 'Unknown', statusCode: 504, message: 'Gateway Timeout', typed: false },
    context: { handedOver: true },
    code: 'unknown-outcome',
  },
  {
    name: 'a 500 to SendEmail through an injected client (cannot tell)',
    failure: typed('InternalServiceErrorException', 500, 'Internal error'),
    context: { handedOver: undefined },
    code: 'unknown-outcome',
  },
  {
    name: 'a 500 to SendEmail before its body went out',
    failure: typed('InternalServiceErrorException', 500, 'Internal error'),
    context: { handedOver: false },
    code: 'transient',
  },
  {
    name: 'InternalServiceErrorException to GetAccount (a read)',
    failure: typed('InternalServiceErrorException', 500, 'Internal error'),
    context: { handedOver: true, operation: 'GetAccount' },
    code: 'transient',
  },
  {
    name: 'an untyped 504 to GetAccount (a read)',
    failure: { name: 'Unknown', statusCode: 504, message: 'Gateway Timeout', typed: false },
    context: { handedOver: true, operation: 'GetAccount' },
    code: 'transient',
  },
  {
    name: 'ThrottlingException with a 5xx status: dropped by SES, so retried',
    failure: typed('ThrottlingException', 503, 'Maximum sending rate exceeded.'),
    context: { handedOver: true },
    code: 'rate-limited',
    retryAfterMs: 1000,
  },
  {
    name: 'a 200 that could not be read',
    failure: { name: 'SyntaxError', statusCode: 200, message: 'Unexpected token <' },
    code: 'unknown-outcome',
    retryable: false,
  },
  {
    name: 'a 413',
    failure: { name: 'Unknown', statusCode: 413, message: 'Request Entity Too Large', typed: false },
    code: 'message-rejected',
    retryable: false,
  },
  {
    name: 'no credentials found by the default chain',
    failure: { name: 'CredentialsProviderError', message: 'Could not load credentials from any providers' },
    code: 'auth',
    retryable: false,
    remediation: /default chain/,
  },
  {
    name: 'no region',
    failure: { name: 'Error', message: 'Region is missing' },
    code: 'configuration',
    retryable: false,
    remediation: /AWS_REGION/,
  },
  {
    name: 'connection refused',
    failure: { name: 'Error', message: 'connect ECONNREFUSED 127.0.0.1:9', code: 'ECONNREFUSED' },
    code: 'transient',
    retryable: true,
  },
  {
    name: 'host not found',
    failure: { name: 'Error', message: 'getaddrinfo ENOTFOUND email.xx-nowhere-1.amazonaws.com', code: 'ENOTFOUND' },
    code: 'configuration',
    retryable: false,
  },
  {
    name: 'connection timeout',
    failure: { name: 'TimeoutError', message: 'the request socket did not establish a connection with the server within 5000 ms.' },
    code: 'timeout',
    retryable: true,
  },
  {
    name: 'reset before the body was sent',
    failure: { name: 'TimeoutError', message: 'socket hang up', code: 'ECONNRESET' },
    code: 'transient',
    retryable: true,
  },
  {
    name: 'reset after the body was sent',
    failure: { name: 'TimeoutError', message: 'socket hang up', code: 'ECONNRESET' },
    context: { handedOver: true },
    code: 'unknown-outcome',
    retryable: false,
    remediation: /not retry/,
  },
  {
    name: 'socket timeout after the body was sent',
    failure: { name: 'TimeoutError', message: 'the request socket timed out after 60000 ms of inactivity' },
    context: { handedOver: true },
    code: 'unknown-outcome',
    retryable: false,
  },
  {
    name: 'a reset with an injected client (cannot tell)',
    failure: { name: 'TimeoutError', message: 'socket hang up', code: 'ECONNRESET' },
    context: { handedOver: undefined },
    code: 'unknown-outcome',
    retryable: false,
  },
  {
    name: 'connection refused with an injected client',
    failure: { name: 'Error', message: 'connect ECONNREFUSED 127.0.0.1:9', code: 'ECONNREFUSED' },
    context: { handedOver: undefined },
    code: 'transient',
    retryable: true,
  },
  {
    name: 'a connect that timed out',
    failure: { name: 'HttpError', message: 'connect timed out after 5000 ms', code: 'ECONNECT_TIMEOUT' },
    code: 'timeout',
    retryable: true,
  },
  {
    name: 'an endpoint whose certificate is not trusted',
    failure: { name: 'HttpError', message: 'self-signed certificate', code: 'DEPTH_ZERO_SELF_SIGNED_CERT' },
    context: { handedOver: undefined },
    code: 'configuration',
    retryable: false,
    remediation: /CA/,
  },
];

describe('mapSesError', () => {
  runErrorTable(
    (row: Row) => mapSesError(row.failure, { ...context, ...row.context }),
    rows.map((row) => ({ ...row, statusCode: row.code === 'unknown-outcome' ? undefined : row.failure.statusCode })),
    { transport: 'ses://eu-west-1' },
  );

  it('names the refused recipients', () => {
    const error = mapSesError(
      typed(
        'MessageRejected',
        400,
        'Email address is not verified. The following identities failed the check in region EU-WEST-1: a@example.org, B <b@example.org>',
      ),
      context,
    );
    expect(error.recipients.map((recipient) => recipient.address)).toEqual(['a@example.org', 'b@example.org']);
  });

  it('keeps the canonical request AWS may append out of the message and the cause', () => {
    const error = mapSesError(
      typed(
        'SignatureDoesNotMatch',
        403,
        'The request signature we calculated does not match.\n\nThe Canonical String for this request should have been\nx-amz-security-token:SECRET-TOKEN',
      ),
      context,
    );
    for (const shown of [String(error), JSON.stringify(error), inspect(error, { depth: 5, showHidden: true })]) {
      expect(shown).not.toContain('SECRET-TOKEN');
    }
  });
});

describe('sesFailureOf', () => {
  it('reads name, status, request id and Retry-After from an SDK error, nothing else', () => {
    const error = Object.assign(new Error('Maximum sending rate exceeded.'), {
      name: 'TooManyRequestsException',
      $metadata: { httpStatusCode: 429, requestId: 'req-1' },
      secretAccessKey: 'never-read',
    });
    Object.defineProperty(error, '$response', {
      value: { statusCode: 429, headers: { 'x-amzn-errortype': 'TooManyRequestsException', 'retry-after': '2' } },
    });
    expect(sesFailureOf(error)).toEqual({
      name: 'TooManyRequestsException',
      message: 'Maximum sending rate exceeded.',
      statusCode: 429,
      code: undefined,
      typed: true,
      requestId: 'req-1',
      retryAfter: '2',
    });
  });

  it('reads the system code of a network error', () => {
    const error = Object.assign(new Error('socket hang up'), { name: 'TimeoutError', code: 'ECONNRESET' });
    expect(sesFailureOf(error)).toMatchObject({ name: 'TimeoutError', code: 'ECONNRESET', statusCode: undefined });
  });
});
