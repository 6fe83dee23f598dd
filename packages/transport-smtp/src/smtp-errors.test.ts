import { type ErrorTableRow, runErrorTable } from '@mailport/testkit';
import { describe, expect, it } from 'vitest';
import { defaultSmtpRetryAfterMs, enhancedStatus, mapSmtpError, retryHint, type SmtpFailure } from './smtp-errors.js';

const context = { transport: 'smtp://smtp.example.com:587', host: 'smtp.example.com', port: 587, handedOver: false };

interface Row extends ErrorTableRow {
  failure: SmtpFailure;
  host?: string;
  port?: number;
  handedOver?: boolean;
}

const rows: Row[] = [
  {
    name: 'AUTH sent to a server that offers none (502 command not recognized)',
    failure: {
      message: 'Invalid login',
      code: 'EAUTH',
      responseCode: 502,
      command: 'AUTH PLAIN',
      response: '502 5.5.2 Error: command not recognized',
    },
    code: 'auth',
    retryable: false,
    remediation: /remove the credentials/,
  },
  {
    name: 'AUTH sent to Postfix without SASL (503 authentication not enabled)',
    failure: {
      message: 'Invalid login',
      code: 'EAUTH',
      responseCode: 503,
      command: 'AUTH PLAIN',
      response: '503 5.5.1 Error: authentication not enabled',
    },
    code: 'auth',
    retryable: false,
    remediation: /submission port/,
  },
  {
    name: 'Exchange Online with basic auth off (535 5.7.139)',
    failure: {
      message: 'Invalid login',
      code: 'EAUTH',
      responseCode: 535,
      command: 'AUTH LOGIN',
      response: '535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant.',
    },
    host: 'smtp.office365.com',
    code: 'auth',
    retryable: false,
    remediation: /Graph transport/,
  },
  {
    name: 'Exchange Online refusing basic auth for client submission (550 5.7.30)',
    failure: {
      message: 'Mail command failed',
      code: 'EENVELOPE',
      responseCode: 550,
      command: 'MAIL FROM',
      response: '550 5.7.30 Basic authentication is not supported for Client Submission.',
    },
    code: 'auth',
    retryable: false,
    remediation: /XOAUTH2|Graph/,
  },
  {
    name: 'Gmail refusing the account password (535-5.7.8)',
    failure: {
      message: 'Invalid login',
      code: 'EAUTH',
      responseCode: 535,
      command: 'AUTH PLAIN',
      response:
        '535-5.7.8 Username and Password not accepted. For more information, go to\n535 5.7.8  https://support.google.com/mail/?p=BadCredentials x1-20020a05 - gsmtp',
    },
    host: 'smtp.gmail.com',
    code: 'auth',
    retryable: false,
    remediation: /app password.*OAuth.*gmail:\/\//,
  },
  {
    name: 'Gmail asking for an application-specific password (534-5.7.9)',
    failure: {
      message: 'Invalid login',
      code: 'EAUTH',
      responseCode: 534,
      command: 'AUTH PLAIN',
      response:
        '534-5.7.9 Application-specific password required. Learn more at\n534 5.7.9  https://support.google.com/mail/?p=InvalidSecondFactor - gsmtp',
    },
    host: 'smtp.gmail.com',
    code: 'auth',
    retryable: false,
    remediation: /app password/,
  },
  {
    name: 'a plain 535 from another server',
    failure: {
      message: 'Invalid login',
      code: 'EAUTH',
      responseCode: 535,
      command: 'AUTH PLAIN',
      response: '535 5.7.8 Error: authentication failed',
    },
    code: 'auth',
    retryable: false,
    remediation: /user name and password/,
  },
  {
    name: 'XOAUTH2 refused after the refresh',
    failure: {
      message: 'Invalid login',
      code: 'EAUTH',
      responseCode: 535,
      command: 'AUTH XOAUTH2',
      response: '535 5.7.3 Authentication unsuccessful',
    },
    code: 'auth',
    retryable: false,
    remediation: /scope/,
  },
  {
    name: 'temporary auth failure (454 4.7.0)',
    failure: {
      message: 'Invalid login',
      code: 'EAUTH',
      responseCode: 454,
      command: 'AUTH PLAIN',
      response: '454 4.7.0 Temporary authentication failure',
    },
    code: 'transient',
    retryable: true,
  },
  {
    name: 'Exchange Online concurrent connection limit (432 4.3.2)',
    failure: {
      message: 'x',
      code: 'EENVELOPE',
      responseCode: 432,
      command: 'MAIL FROM',
      response: '432 4.3.2 STOREDRV.ClientSubmit; sender thread limit exceeded',
    },
    code: 'rate-limited',
    retryable: true,
    remediation: /max_connections=3/,
  },
  {
    name: 'SES SMTP throttling (454)',
    failure: {
      message: 'x',
      code: 'EENVELOPE',
      responseCode: 454,
      command: 'MAIL FROM',
      response: '454 Throttling failure: Maximum sending rate exceeded.',
    },
    code: 'rate-limited',
    retryable: true,
  },
  {
    name: 'Exchange submission quota (554 5.2.0)',
    failure: {
      message: 'x',
      code: 'EMESSAGE',
      responseCode: 554,
      command: 'DATA',
      response: '554 5.2.0 STOREDRV.Submission.Exception:SubmissionQuotaExceededException; Failed to process message',
    },
    code: 'quota-exceeded',
    retryable: false,
  },
  {
    name: '421 at any stage',
    failure: {
      message: 'x',
      code: 'ECONNECTION',
      responseCode: 421,
      command: 'CONN',
      response: '421 4.7.0 Try again later, closing connection.',
    },
    code: 'transient',
    retryable: true,
  },
  {
    name: 'STARTTLS refused',
    failure: { message: 'x', code: 'ETLS', responseCode: 502, command: 'STARTTLS', response: '502 5.5.1 Command not implemented' },
    code: 'configuration',
    retryable: false,
    remediation: /smtps:\/\//,
  },
  {
    name: '530 must issue STARTTLS / authenticate',
    failure: { message: 'x', code: 'EENVELOPE', responseCode: 530, command: 'MAIL FROM', response: '530 5.7.0 Authentication required' },
    code: 'auth',
    retryable: false,
  },
  {
    name: 'sender not allowed (550 5.7.60 SendAsDenied)',
    failure: {
      message: 'x',
      code: 'EENVELOPE',
      responseCode: 550,
      command: 'MAIL FROM',
      response: '550 5.7.60 SMTP; Client does not have permissions to send as this sender',
    },
    code: 'sender-rejected',
    retryable: false,
  },
  {
    name: 'declared size refused at MAIL FROM (552)',
    failure: {
      message: 'x',
      code: 'EENVELOPE',
      responseCode: 552,
      command: 'MAIL FROM',
      response: '552 5.3.4 Message size exceeds fixed maximum message size',
    },
    code: 'message-rejected',
    retryable: false,
  },
  {
    name: 'greeting refused (554)',
    failure: { message: 'x', code: 'EPROTOCOL', responseCode: 554, command: 'CONN', response: '554 5.7.1 Access denied' },
    code: 'configuration',
    retryable: false,
  },
  {
    name: 'connect timeout on 587: blocked port',
    failure: { message: 'Connection timeout', code: 'ETIMEDOUT', timeoutType: 'CONNECT_TIMEOUT', command: 'CONN' },
    code: 'timeout',
    retryable: true,
    remediation: /port 587 is often blocked.*HTTPS transport/,
  },
  {
    name: 'connect timeout on 25: blocked port',
    failure: { message: 'Connection timeout', code: 'ETIMEDOUT', timeoutType: 'CONNECT_TIMEOUT', command: 'CONN' },
    port: 25,
    code: 'timeout',
    retryable: true,
    remediation: /port 25 is often blocked/,
  },
  {
    name: 'connect timeout on 465: blocked port',
    failure: { message: 'Connection timeout', code: 'ETIMEDOUT', timeoutType: 'CONNECT_TIMEOUT', command: 'CONN' },
    port: 465,
    code: 'timeout',
    retryable: true,
    remediation: /port 465 is often blocked/,
  },
  {
    name: 'connect timeout on 2525: not a blocked-port hint',
    failure: { message: 'Connection timeout', code: 'ETIMEDOUT', timeoutType: 'CONNECT_TIMEOUT', command: 'CONN' },
    port: 2525,
    code: 'timeout',
    retryable: true,
    remediation: /firewall/,
  },
  {
    name: 'no greeting on 465 (plain SMTP to an implicit TLS port)',
    failure: { message: 'Greeting never received', code: 'ETIMEDOUT', timeoutType: 'GREETING_TIMEOUT', command: 'CONN' },
    port: 465,
    code: 'timeout',
    retryable: true,
    remediation: /smtps:\/\//,
  },
  {
    name: 'socket timeout before hand-over',
    failure: { message: 'Timeout', code: 'ETIMEDOUT', timeoutType: 'SOCKET_TIMEOUT', command: 'CONN' },
    code: 'timeout',
    retryable: true,
  },
  {
    name: 'socket timeout after hand-over',
    failure: { message: 'Timeout', code: 'ETIMEDOUT', timeoutType: 'SOCKET_TIMEOUT', command: 'CONN' },
    handedOver: true,
    code: 'unknown-outcome',
    retryable: false,
    remediation: /duplicate/,
  },
  {
    name: 'connection closed after hand-over',
    failure: { message: 'Connection closed unexpectedly', code: 'ECONNECTION', command: 'CONN' },
    handedOver: true,
    code: 'unknown-outcome',
    retryable: false,
  },
  {
    name: 'connection reset before hand-over',
    failure: { message: 'read ECONNRESET', code: 'ESOCKET', originalCode: 'ECONNRESET', command: 'CONN' },
    code: 'transient',
    retryable: true,
  },
  {
    name: 'self-signed certificate',
    failure: { message: 'self-signed certificate', code: 'ESOCKET', originalCode: 'DEPTH_ZERO_SELF_SIGNED_CERT', command: 'CONN' },
    code: 'configuration',
    retryable: false,
    remediation: /ca_file/,
  },
  {
    name: 'host name mismatch',
    failure: {
      message: "Hostname/IP does not match certificate's altnames",
      code: 'ESOCKET',
      originalCode: 'ERR_TLS_CERT_ALTNAME_INVALID',
      command: 'CONN',
    },
    code: 'configuration',
    retryable: false,
  },
  {
    name: 'implicit TLS against a STARTTLS port',
    failure: {
      message: 'ssl3_get_record:wrong version number',
      code: 'ESOCKET',
      originalCode: 'ERR_SSL_WRONG_VERSION_NUMBER',
      command: 'CONN',
    },
    code: 'configuration',
    retryable: false,
    remediation: /smtps:\/\/ for implicit TLS/,
  },
  {
    name: 'unknown host',
    failure: { message: 'getaddrinfo ENOTFOUND smtp.example.com', code: 'EDNS', originalCode: 'ENOTFOUND', command: 'CONN' },
    code: 'configuration',
    retryable: false,
  },
  {
    name: 'DNS temporarily failing',
    failure: { message: 'getaddrinfo EAI_AGAIN smtp.example.com', code: 'EDNS', originalCode: 'EAI_AGAIN', command: 'CONN' },
    code: 'transient',
    retryable: true,
  },
  {
    name: 'SIZE exceeded before sending',
    failure: { message: 'Message size larger than allowed 1000', code: 'EMESSAGE', command: 'MAIL FROM' },
    code: 'message-rejected',
    retryable: false,
  },
  {
    name: 'missing credentials',
    failure: { message: 'Missing credentials for "PLAIN"', code: 'EAUTH', command: 'API' },
    code: 'configuration',
    retryable: false,
  },
];

describe('mapSmtpError', () => {
  runErrorTable(
    (row: Row) =>
      mapSmtpError(row.failure, {
        ...context,
        host: row.host ?? context.host,
        port: row.port ?? context.port,
        handedOver: row.handedOver ?? false,
      }),
    rows.map((row) => ({ ...row, statusCode: row.failure.responseCode })),
    { transport: context.transport },
  );

  it('every error it makes tells the user what to do', () => {
    const extra: SmtpFailure[] = [
      { message: 'TLS handshake timed out', code: 'ETIMEDOUT', timeoutType: 'UPGRADE_TIMEOUT' },
      { message: 'x', code: 'ENOAUTH' },
      { message: 'x', code: 'EOAUTH2' },
      { message: 'x', code: 'EENVELOPE' },
      { message: 'x', code: 'EREQUIRETLS' },
      { message: 'x', code: 'EWHATEVER' },
      { message: 'x', code: 'EPROTOCOL' },
    ];
    for (const failure of [...rows.map((row) => row.failure), ...extra]) {
      for (const handedOver of [false, true]) {
        const error = mapSmtpError(failure, { ...context, handedOver });
        expect(error.remediation, `${failure.code} ${failure.responseCode}`).toMatch(/\w+/);
      }
    }
  });

  it('keeps only the verb of the command in the cause, never an AUTH argument', () => {
    const error = mapSmtpError(
      { message: 'Invalid login', code: 'EAUTH', responseCode: 535, command: 'AUTH PLAIN AHVzZXIAaHVudGVyMg==', response: '535 no' },
      context,
    );
    expect(JSON.stringify(error.cause)).not.toContain('AHVzZXIAaHVudGVyMg');
    expect((error.cause as { command?: string }).command).toBe('AUTH PLAIN');
  });

  it('reads enhanced status codes from single and multi-line replies', () => {
    expect(enhancedStatus('550 5.1.1 <a@b>: Recipient address rejected')).toBe('5.1.1');
    expect(enhancedStatus('535-5.7.8 Username and Password not accepted.\n535 5.7.8 https://support.google.com')).toBe('5.7.8');
    expect(enhancedStatus('250 OK')).toBeUndefined();
    expect(enhancedStatus(undefined)).toBeUndefined();
  });

  it('gives every rate limit a wait: the one the reply names, or a default', () => {
    expect(retryHint('454 4.7.0 Throttling failure, try again in 30 seconds')).toBe(30_000);
    expect(retryHint('421 4.7.0 Too many messages, retry in 2 minutes')).toBe(120_000);
    expect(retryHint('454 Throttling failure: Maximum sending rate exceeded.')).toBe(defaultSmtpRetryAfterMs);
    const error = mapSmtpError(
      { message: 'x', code: 'EENVELOPE', responseCode: 454, command: 'MAIL FROM', response: '454 Throttling failure' },
      context,
    );
    expect(error.retryAfterMs).toBe(defaultSmtpRetryAfterMs);
  });
});
