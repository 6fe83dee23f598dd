import { randomUUID } from 'node:crypto';
import type { HttpResponse } from '../http.js';

/** Thrown inside the emulator to answer with an SES error. */
export class SesError extends Error {
  readonly status: number;
  readonly code: string;

  constructor(status: number, code: string, message: string) {
    super(message);
    this.name = 'SesError';
    this.status = status;
    this.code = code;
  }
}

/** Shorthands for the errors SES v2 documents for SendEmail, SendBulkEmail and GetAccount. */
export const sesErrors = {
  badRequest: (message: string): SesError => new SesError(400, 'BadRequestException', message),
  messageRejected: (message: string): SesError => new SesError(400, 'MessageRejected', message),
  notFound: (message: string): SesError => new SesError(404, 'NotFoundException', message),
  serialization: (message: string): SesError => new SesError(400, 'SerializationException', message),
  missing: (path: string): SesError =>
    new SesError(
      400,
      'BadRequestException',
      `1 validation error detected: Value null at '${path}' failed to satisfy constraint: Member must not be null`,
    ),
};

// The status SES answers with each error name, for faults injected by name only.
const statusByCode: Readonly<Record<string, number>> = {
  AccountSuspendedException: 400,
  BadRequestException: 400,
  LimitExceededException: 400,
  MailFromDomainNotVerifiedException: 400,
  MessageRejected: 400,
  SendingPausedException: 400,
  NotFoundException: 404,
  TooManyRequestsException: 429,
  ThrottlingException: 429,
  InternalServiceErrorException: 500,
  ConcurrentModificationException: 500,
  ServiceUnavailableException: 503,
  UnrecognizedClientException: 403,
  AccessDeniedException: 403,
  SignatureDoesNotMatch: 403,
};

const codeByStatus: Readonly<Record<number, string>> = {
  400: 'BadRequestException',
  403: 'AccessDeniedException',
  404: 'NotFoundException',
  429: 'TooManyRequestsException',
  500: 'InternalServiceErrorException',
  502: 'InternalServiceErrorException',
  503: 'ServiceUnavailableException',
};

const defaultMessages: Readonly<Record<string, string>> = {
  TooManyRequestsException: 'Maximum sending rate exceeded.',
  ThrottlingException: 'Maximum sending rate exceeded.',
  InternalServiceErrorException: 'Internal service error.',
  ServiceUnavailableException: 'Service unavailable.',
  AccountSuspendedException: 'Your account has been suspended.',
  SendingPausedException: 'Sending is paused for this account.',
  MailFromDomainNotVerifiedException: 'The MAIL FROM domain is not verified.',
  LimitExceededException: 'A limit was exceeded.',
  AccessDeniedException: 'User is not authorized to perform ses:SendEmail.',
};

/**
 * SES's error response: the status, the error name in `x-amzn-ErrorType` (what the AWS SDK's
 * restJson1 deserializer reads first) and a JSON body `{ "message": ... }`.
 */
export function errorResponse(status: number, code: string, message: string): HttpResponse {
  return {
    status,
    headers: { 'x-amzn-ErrorType': code, 'x-amzn-RequestId': randomUUID(), 'content-type': 'application/json' },
    body: { message },
  };
}

/** The answer to an injected fault: its code (or the usual one for its status) in SES's shape. */
export function faultResponse(fault: { status: number; code: string | undefined; message: string | undefined }): HttpResponse {
  const code = fault.code ?? codeByStatus[fault.status] ?? (fault.status >= 500 ? 'InternalServiceErrorException' : 'BadRequestException');
  // The framework defaults a fault's status to 500: a fault given only a code gets the status SES uses for it.
  const usual = statusByCode[code];
  const status = fault.status === 500 && usual !== undefined ? usual : fault.status;
  return errorResponse(status, code, fault.message ?? defaultMessages[code] ?? code);
}
