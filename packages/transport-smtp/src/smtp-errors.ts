import { isCertificateError, MailError, type MailErrorCode, type RecipientError, safeCause } from '@mailport/core';

/** The parts of a nodemailer error the mapping reads. */
export interface SmtpFailure {
  readonly message: string;
  /** nodemailer's code: EAUTH, ECONNECTION, ETIMEDOUT, EENVELOPE, EMESSAGE, ... */
  readonly code?: string | undefined;
  /** The system error code nodemailer replaced (ECONNREFUSED, ENOTFOUND, a TLS code, ...). */
  readonly originalCode?: string | undefined;
  readonly responseCode?: number | undefined;
  /** The server's reply, lines joined by "\n". */
  readonly response?: string | undefined;
  /** The SMTP command in flight: CONN, EHLO, STARTTLS, AUTH PLAIN, MAIL FROM, RCPT TO, DATA, API. */
  readonly command?: string | undefined;
  /** For ETIMEDOUT: CONNECT_TIMEOUT, GREETING_TIMEOUT, UPGRADE_TIMEOUT or SOCKET_TIMEOUT. */
  readonly timeoutType?: string | undefined;
  readonly rejectedErrors?: readonly SmtpFailure[] | undefined;
  readonly recipient?: string | undefined;
}

/** Where the failure happened. */
export interface SmtpErrorContext {
  readonly transport: string;
  readonly host: string;
  readonly port: number;
  /** True once the whole message was handed to the connection (DATA sent up to the final dot). */
  readonly handedOver: boolean;
}

const blockedPortRemediation = (port: number): string =>
  `Outbound port ${port} is often blocked on cloud hosts, CI runners and containers: run "mailport doctor", or switch to an HTTPS transport (graph://, gmail:// or ses://).`;

const microsoftBasicAuthOff =
  'Microsoft 365 has basic authentication for SMTP turned off: authenticate with OAuth (XOAUTH2 with a Microsoft token provider) or switch to the Graph transport (graph://).';

const gmailPasswordRefused =
  'Gmail no longer accepts the account password over SMTP: use an app password (with 2-Step Verification), OAuth (XOAUTH2), or the Gmail API transport (gmail://).';

// Used when a case has nothing more specific to say.
const defaultRemediation: Partial<Record<MailErrorCode, string>> = {
  transient: 'A temporary failure: mailport retries it by default; if it persists, check the server and its logs.',
  timeout: 'Check that the server is reachable and not overloaded; mailport retries timeouts by default.',
  auth: 'Check the credentials and that the account may send over SMTP.',
  configuration: 'Check the transport URL and the server settings (mailport verify shows what the server offers).',
  'message-rejected': "Read the server's answer: the message was refused as it is, so change it before sending again.",
  'invalid-message': 'Fix the message; it was not sent.',
};

/** SMTP has no Retry-After: when a throttling reply gives no delay of its own, wait this long. */
export const defaultSmtpRetryAfterMs = 5_000;

/** The delay a throttling reply asks for ("try again in 30 seconds", "in 2 minutes"), or the default. */
export function retryHint(response: string | undefined): number {
  const match = /\b(\d{1,5})\s*(seconds?|secs?|s|minutes?|mins?|m)\b/i.exec(response ?? '');
  if (match === null) return defaultSmtpRetryAfterMs;
  const amount = Number(match[1]);
  return /^m/i.test(match[2] as string) ? amount * 60_000 : amount * 1000;
}

/** `5.7.139` from `535 5.7.139 Authentication unsuccessful`, or undefined. */
export function enhancedStatus(response: string | undefined): string | undefined {
  if (response === undefined) return undefined;
  return /^\d{3}[ -]([245]\.\d{1,3}\.\d{1,3})\b/m.exec(response)?.[1];
}

/** The recipients of an all-recipients-refused error, or of a partly refused send. */
export function recipientErrors(failures: readonly SmtpFailure[] | undefined): RecipientError[] {
  return (failures ?? []).map((failure) => ({
    address: failure.recipient ?? '',
    message: failure.response ?? failure.message,
    statusCode: failure.responseCode,
    providerCode: enhancedStatus(failure.response),
    retryable: failure.responseCode !== undefined && failure.responseCode < 500,
  }));
}

/**
 * Maps a nodemailer failure to a `MailError` by RFC 5321 reply class, enhanced status code and
 * nodemailer code. Pure, so that every row can be tested without a server.
 */
export function mapSmtpError(failure: SmtpFailure, context: SmtpErrorContext): MailError {
  const { transport, host, port } = context;
  const where = `${host}:${port}`;
  const response = failure.response?.replace(/\s*\n\s*/g, ' ');
  const status = enhancedStatus(failure.response);
  const replyCode = failure.responseCode;
  const command = (failure.command ?? '').toUpperCase();
  const cause = sanitizedCause(failure);
  const make = (
    code: MailErrorCode,
    message: string,
    extra: { retryable?: boolean; remediation?: string; retryAfterMs?: number } = {},
  ): MailError =>
    new MailError(code, message, {
      transport,
      statusCode: replyCode,
      providerCode: status ?? failure.code,
      cause,
      ...extra,
      remediation: extra.remediation ?? defaultRemediation[code],
    });

  if (replyCode !== undefined) {
    const said = `${where} answered ${command === '' ? '' : `${command} with `}"${response}"`;
    if (status === '5.7.139' || status === '5.7.30' || /basic auth|SmtpClientAuthentication is disabled/i.test(response ?? '')) {
      return make('auth', `Basic authentication refused: ${said}`, { retryable: false, remediation: microsoftBasicAuthOff });
    }
    if (command.startsWith('STARTTLS')) {
      return make('configuration', `STARTTLS failed: ${said}`, {
        retryable: false,
        remediation:
          'The server does not offer STARTTLS: use smtps:// on port 465 if it supports implicit TLS, or add require_tls=false to the URL on a trusted network only.',
      });
    }
    if (replyCode === 432 && status === '4.3.2') {
      return make('rate-limited', `Too many connections: ${said}`, {
        retryAfterMs: retryHint(response),
        remediation: 'Exchange Online allows 3 SMTP connections per mailbox: set max_connections=3 or lower.',
      });
    }
    if (status === '5.4.5' || /quota|daily (user )?sending|sending limit exceeded|SubmissionQuotaExceeded/i.test(response ?? '')) {
      return make('quota-exceeded', `Sending quota exceeded: ${said}`, {
        retryable: false,
        remediation: 'The account reached its sending quota; wait for it to reset (usually daily) or raise it with the provider.',
      });
    }
    if (replyCode >= 400 && replyCode < 500 && /throttl|rate|too many|frequency|slow down/i.test(response ?? '')) {
      return make('rate-limited', `Rate limited: ${said}`, {
        retryAfterMs: retryHint(response),
        remediation: 'Send more slowly: lower max_connections or the mailer concurrency.',
      });
    }
    if (command.startsWith('AUTH') || replyCode === 535 || replyCode === 534) {
      if (replyCode >= 400 && replyCode < 500) return make('transient', `Authentication temporarily failed: ${said}`);
      if (command.startsWith('AUTH') && offersNoAuth(replyCode, response)) {
        // mailport sends AUTH whenever credentials are given, offered or not: this is the server saying it has none.
        return make(
          'auth',
          `${where} offers no authentication mailport can use, so the credentials given cannot be used and nothing was sent: ${said}`,
          {
            retryable: false,
            remediation:
              "Use the server's submission port, where it offers AUTH (587 with STARTTLS, or 465 with smtps://); if this server takes mail without authentication, remove the credentials from the URL. mailport never sends unauthenticated when credentials are given.",
          },
        );
      }
      const gmail = /gmail|google|gsmtp/i.test(`${host} ${response}`);
      const oauth = command.includes('XOAUTH2');
      return make('auth', `Authentication failed: ${said}`, {
        retryable: false,
        remediation:
          gmail && !oauth
            ? gmailPasswordRefused
            : oauth
              ? 'The server refused the OAuth token, also after one refresh: check its scope (https://mail.google.com/ for Gmail, https://outlook.office.com/SMTP.Send for Microsoft 365) and that the mailbox may send over SMTP.'
              : 'Check the user name and password, and that the account may send over SMTP.',
      });
    }
    if (replyCode === 530) {
      return make('auth', `The server requires authentication or TLS: ${said}`, {
        retryable: false,
        remediation: 'Add credentials to the URL (smtp://user:password@host), and keep STARTTLS on.',
      });
    }
    if (command.startsWith('RCPT') && replyCode !== 421 && (failure.rejectedErrors?.length ?? 0) > 0) {
      const recipients = recipientErrors(failure.rejectedErrors);
      return new MailError('recipient-rejected', `Every recipient was refused: ${said}`, {
        transport,
        statusCode: replyCode,
        providerCode: status,
        recipients,
        retryable: recipients.some((recipient) => recipient.retryable),
        remediation: recipients.some((recipient) => recipient.retryable)
          ? 'The server deferred some recipients; a later attempt may succeed.'
          : 'Check the recipient addresses; the server refused all of them.',
        cause,
      });
    }
    if (replyCode === 421 || (replyCode >= 400 && replyCode < 500) || replyCode === 503) {
      return make('transient', `Temporary failure: ${said}`, { retryable: true });
    }
    // 5yz: permanent, classified by the command it answered.
    if (command.startsWith('MAIL')) {
      if (replyCode === 552) {
        return make('message-rejected', `Message too large: ${said}`, {
          remediation: 'The server refused the declared size: send a smaller message or use a transport with a higher limit.',
        });
      }
      return make('sender-rejected', `Sender refused: ${said}`, {
        remediation: "The server does not let this account send as this address: use the account's own address or get send-as permission.",
      });
    }
    if (command.startsWith('RCPT')) {
      return make('recipient-rejected', `Recipient refused: ${said}`, { remediation: 'Check the recipient addresses.' });
    }
    if (command.startsWith('DATA')) {
      if (replyCode === 552 || status === '5.3.4') {
        return make('message-rejected', `Message too large: ${said}`, {
          remediation: 'The server refused the message size: send a smaller message or use a transport with a higher limit.',
        });
      }
      return make('message-rejected', `Message refused: ${said}`, {
        remediation: 'The server refused the content; read its answer (policy, spam or format).',
      });
    }
    return make('configuration', `The server refused the session: ${said}`, {
      retryable: false,
      remediation: 'The server refuses this client; check the host, port and whether your address is allowed to connect.',
    });
  }

  // No reply from the server: what matters is how far the message got.
  if (failure.code === 'ETIMEDOUT') {
    const seconds = failure.timeoutType === 'SOCKET_TIMEOUT' ? 'an answer' : 'a response';
    if (context.handedOver) return unknownOutcome(failure, context, `${where} stopped answering after the message was sent`);
    switch (failure.timeoutType) {
      case 'CONNECT_TIMEOUT':
        return make('timeout', `Could not connect to ${where}: no answer in time`, {
          remediation: [25, 465, 587].includes(port)
            ? blockedPortRemediation(port)
            : 'Check the host and port, and that no firewall drops the connection.',
        });
      case 'GREETING_TIMEOUT':
        return make('timeout', `Connected to ${where} but the server sent no greeting`, {
          remediation:
            port === 465
              ? 'Port 465 expects implicit TLS: use smtps:// for it.'
              : 'Check that this is an SMTP port; a server expecting implicit TLS needs smtps://.',
        });
      case 'UPGRADE_TIMEOUT':
        return make('timeout', `TLS negotiation with ${where} timed out`);
      default:
        return make('timeout', `${where} did not send ${seconds} in time (${failure.command ?? 'CONN'})`);
    }
  }
  const system = failure.originalCode;
  if (isCertificateError(system)) {
    return make('configuration', `The TLS certificate of ${where} is not trusted: ${failure.message}`, {
      retryable: false,
      remediation: 'Fix the server certificate, or trust its CA with ca_file=/path/to/ca.pem; never turn verification off.',
    });
  }
  if (/wrong version number|packet length too long|unknown protocol/i.test(failure.message)) {
    return make('configuration', `TLS does not match what ${where} speaks: ${failure.message}`, {
      retryable: false,
      remediation: 'Use smtps:// for implicit TLS (usually port 465) and smtp:// for STARTTLS (usually 587).',
    });
  }
  if (system === 'ECONNREFUSED') {
    return make('transient', `Connection refused by ${where}`, {
      remediation: 'Nothing accepts connections there: check the host and port, and that the server is running.',
    });
  }
  if (failure.code === 'EDNS' || system === 'ENOTFOUND') {
    if (system === 'EAI_AGAIN') return make('transient', `DNS lookup for ${host} failed for now: ${failure.message}`);
    return make('configuration', `Host ${host} not found`, { retryable: false, remediation: 'Check the host name in the transport URL.' });
  }
  switch (failure.code) {
    case 'ECONNECTION':
    case 'ESOCKET':
    case 'EPROTOCOL':
    case 'EMAXLIMIT':
      if (context.handedOver)
        return unknownOutcome(failure, context, `the connection to ${where} ended after the message was sent, before the server answered`);
      return make('transient', `Connection to ${where} failed: ${failure.message}`);
    case 'ETLS':
      return make('configuration', `TLS with ${where} failed: ${failure.message}`, {
        retryable: false,
        remediation: 'Check that the server offers STARTTLS on this port, or use smtps:// for implicit TLS.',
      });
    case 'EAUTH':
      if (/missing credentials/i.test(failure.message)) {
        return make('configuration', `No credentials for ${where}: ${failure.message}`, {
          retryable: false,
          remediation: 'Put the user and password in the URL (smtp://user:password@host), or use auth=xoauth2 with a token provider.',
        });
      }
      return make('auth', `Authentication with ${where} failed: ${failure.message}`, {
        retryable: false,
        remediation: 'Check the credentials and the authentication methods the server offers (mailport verify).',
      });
    case 'ENOAUTH':
      return make('configuration', `The server at ${where} offers no usable authentication method`, { retryable: false });
    case 'EOAUTH2':
      return make('auth', `Could not get an OAuth token: ${failure.message}`, { retryable: false });
    case 'EMESSAGE':
      return make('message-rejected', `${where} refused the message: ${failure.message}`, {
        retryable: false,
        remediation: 'The server limits message size (SIZE): send a smaller message or use a transport with a higher limit.',
      });
    case 'EENVELOPE':
      return make('invalid-message', `Invalid envelope: ${failure.message}`, { retryable: false });
    case 'EREQUIRETLS':
      return make('configuration', failure.message, { retryable: false });
    default:
      if (context.handedOver)
        return unknownOutcome(failure, context, `sending to ${where} failed after the message was sent: ${failure.message}`);
      return make('transient', `Sending to ${where} failed: ${failure.message}`);
  }
}

/**
 * Whether a 5yz reply to AUTH says the server has no authentication at all (rather than refusing
 * the credentials): 500/502 (command not recognized or not implemented), 503 "authentication not
 * enabled" (Postfix) or "AUTH not available" (Sendmail), 504 "Unrecognized authentication type"
 * (Exchange on a connector without AUTH).
 */
function offersNoAuth(replyCode: number, response: string | undefined): boolean {
  if (replyCode === 500 || replyCode === 502) return true;
  if (replyCode === 503 || replyCode === 504) {
    return /not (enabled|available|supported|offered|allowed)|unrecognized authentication|no (authentication|auth)\b/i.test(response ?? '');
  }
  return false;
}

function unknownOutcome(failure: SmtpFailure, context: SmtpErrorContext, what: string): MailError {
  return new MailError('unknown-outcome', `Unknown outcome: ${what}; the message may have been delivered`, {
    transport: context.transport,
    providerCode: failure.code,
    retryable: false,
    remediation: 'Check whether it arrived before sending it again; mailport does not retry it, to avoid a duplicate.',
    cause: sanitizedCause(failure),
  });
}

/** A copy of the nodemailer error with only what helps debugging, never credentials. */
function sanitizedCause(failure: SmtpFailure): Error {
  return safeCause('SmtpError', failure.message, {
    code: failure.code,
    originalCode: failure.originalCode,
    responseCode: failure.responseCode,
    response: failure.response,
    // Only the verb: an AUTH command line carries the credentials.
    command: failure.command?.split(' ').slice(0, 2).join(' '),
    timeoutType: failure.timeoutType,
  });
}
