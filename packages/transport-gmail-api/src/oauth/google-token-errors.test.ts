import type { MailErrorCode } from '@mailport/core';
import { describe, expect, it } from 'vitest';
import { type GoogleTokenContext, type GoogleTokenFailure, mapGoogleTokenError, tokenFailureFrom } from './google-token-errors.js';

const user: GoogleTokenContext = { kind: 'user', host: 'oauth2.googleapis.com' };
const service: GoogleTokenContext = {
  kind: 'service-account',
  host: 'oauth2.googleapis.com',
  subject: 'billing@example.com',
  clientId: '1234567890',
  scopes: ['https://www.googleapis.com/auth/gmail.send'],
};

interface Row {
  name: string;
  failure: GoogleTokenFailure;
  context: GoogleTokenContext;
  code: MailErrorCode;
  retryable: boolean;
  remediation: RegExp;
}

const rows: Row[] = [
  {
    name: 'invalid_grant for a refresh token: consent again',
    failure: { status: 400, error: 'invalid_grant', description: 'Token has been expired or revoked.', message: 'HTTP 400' },
    context: user,
    code: 'auth',
    retryable: false,
    remediation: /consent again.*mailport auth google/,
  },
  {
    name: 'invalid_client: a wrong secret',
    failure: { status: 401, error: 'invalid_client', description: 'Unauthorized', message: 'HTTP 401' },
    context: user,
    code: 'auth',
    retryable: false,
    remediation: /client_id and client_secret/,
  },
  {
    name: 'invalid_client: a client that does not exist',
    failure: { status: 401, error: 'invalid_client', description: 'The OAuth client was not found.', message: 'HTTP 401' },
    context: user,
    code: 'configuration',
    retryable: false,
    remediation: /client_id/,
  },
  {
    name: 'deleted_client',
    failure: { status: 401, error: 'deleted_client', description: 'The OAuth client was deleted.', message: 'HTTP 401' },
    context: user,
    code: 'configuration',
    retryable: false,
    remediation: /client_id/,
  },
  {
    name: 'an untrusted certificate',
    failure: {
      code: 'SELF_SIGNED_CERT_IN_CHAIN',
      message: 'request to https://oauth2.example/token failed, reason: self-signed certificate in certificate chain',
    },
    context: user,
    code: 'configuration',
    retryable: false,
    remediation: /NODE_EXTRA_CA_CERTS/,
  },
  {
    name: 'unauthorized_client for a service account: delegation missing',
    failure: {
      status: 401,
      error: 'unauthorized_client',
      description:
        'Client is unauthorized to retrieve access tokens using this method, or client not authorized for any of the scopes requested.',
      message: 'HTTP 401',
    },
    context: service,
    code: 'configuration',
    retryable: false,
    remediation: /Admin console.*Domain-wide delegation.*1234567890.*gmail\.send/,
  },
  {
    name: 'invalid_grant: subject unknown',
    failure: { status: 400, error: 'invalid_grant', description: 'Invalid email or User ID', message: 'HTTP 400' },
    context: service,
    code: 'configuration',
    retryable: false,
    remediation: /Workspace user/,
  },
  {
    name: 'invalid_grant: clock',
    failure: {
      status: 400,
      error: 'invalid_grant',
      description: 'Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe.',
      message: 'HTTP 400',
    },
    context: service,
    code: 'configuration',
    retryable: false,
    remediation: /clock/,
  },
  {
    name: 'invalid_grant: signature (deleted key)',
    failure: { status: 400, error: 'invalid_grant', description: 'Invalid JWT Signature.', message: 'HTTP 400' },
    context: service,
    code: 'auth',
    retryable: false,
    remediation: /new key/,
  },
  {
    name: 'invalid_scope',
    failure: {
      status: 400,
      error: 'invalid_scope',
      description: 'Invalid OAuth scope or ID token audience provided.',
      message: 'HTTP 400',
    },
    context: service,
    code: 'configuration',
    retryable: false,
    remediation: /gmail\.send/,
  },
  {
    name: 'unsupported_grant_type',
    failure: { status: 400, error: 'unsupported_grant_type', description: 'Invalid grant_type: x', message: 'HTTP 400' },
    context: user,
    code: 'configuration',
    retryable: false,
    remediation: /token_url/,
  },
  {
    name: '429',
    failure: { status: 429, retryAfter: '3', message: 'HTTP 429' },
    context: user,
    code: 'rate-limited',
    retryable: true,
    remediation: /reuse the transport/,
  },
  {
    name: '503',
    failure: { status: 503, error: 'internal_failure', message: 'HTTP 503' },
    context: user,
    code: 'transient',
    retryable: true,
    remediation: /temporary/,
  },
  {
    name: 'connection refused',
    failure: { code: 'ECONNREFUSED', message: 'connect ECONNREFUSED 127.0.0.1:9' },
    context: user,
    code: 'transient',
    retryable: true,
    remediation: /network/,
  },
  {
    name: 'timeout',
    failure: { code: 'TimeoutError', message: 'The operation was aborted due to timeout' },
    context: user,
    code: 'timeout',
    retryable: true,
    remediation: /network/,
  },
  {
    name: 'host not found',
    failure: { code: 'ENOTFOUND', message: 'getaddrinfo ENOTFOUND oauth.example' },
    context: user,
    code: 'configuration',
    retryable: false,
    remediation: /token_url/,
  },
  {
    name: 'an unusable private key, before any request',
    failure: { message: 'error:1E08010C:DECODER routines::unsupported' },
    context: service,
    code: 'configuration',
    retryable: false,
    remediation: /private_key/,
  },
];

describe('mapGoogleTokenError', () => {
  it.each(rows)('$name -> $code', (row) => {
    const error = mapGoogleTokenError(row.failure, row.context);
    expect(error.code, error.message).toBe(row.code);
    expect(error.retryable).toBe(row.retryable);
    expect(error.remediation).toMatch(row.remediation);
    expect(error.statusCode).toBe(row.failure.status);
  });

  it('carries Retry-After of a 429', () => {
    expect(mapGoogleTokenError({ status: 429, retryAfter: '3', message: 'HTTP 429' }, user).retryAfterMs).toBe(3000);
  });

  it('reads a gaxios error without keeping its request', () => {
    const gaxiosLike = Object.assign(new Error('invalid_grant'), {
      config: { data: 'refresh_token=secret-refresh&client_secret=secret-client' },
      response: {
        status: 400,
        data: { error: 'invalid_grant', error_description: 'Bad Request' },
        headers: new Headers({ 'retry-after': '1' }),
      },
    });
    expect(tokenFailureFrom(gaxiosLike)).toEqual({
      status: 400,
      error: 'invalid_grant',
      description: 'Bad Request',
      code: undefined,
      retryAfter: '1',
      message: 'HTTP 400',
    });
    const error = mapGoogleTokenError(tokenFailureFrom(gaxiosLike), user);
    expect(JSON.stringify({ ...error, cause: error.cause })).not.toContain('secret-');
  });
});
