import { MailError, type MailErrorCode, noAnswerError, parseRetryAfter, type RecipientError, safeCause } from '@mailport/core';

/** What mailport reads from an AWS SDK error or a Node network error: safe fields only, never credentials. */
export interface SesFailure {
  /** The SES error name (`MessageRejected`, `TooManyRequestsException`, ...) or the JavaScript error name. */
  readonly name: string;
  readonly message: string;
  /** HTTP status of SES's answer; undefined when no answer came. */
  readonly statusCode?: number | undefined;
  /** A Node system error code (`ECONNREFUSED`, `ECONNRESET`, `ETIMEDOUT`, `ECONNECT_TIMEOUT`, ...). */
  readonly code?: string | undefined;
  /** Whether SES typed the error (`x-amzn-ErrorType`); false for an untyped answer such as a proxy's 504. */
  readonly typed?: boolean | undefined;
  readonly requestId?: string | undefined;
  /** The Retry-After header, when some hop sent one (SES itself does not). */
  readonly retryAfter?: string | undefined;
}

/** Where the failure happened. */
export interface SesErrorContext {
  readonly transport: string;
  readonly region?: string | undefined;
  /**
   * The call that failed. Default `SendEmail`, the one that sends; `GetAccount` (verify,
   * rate_limit=auto) is a read, which a 5xx never makes uncertain.
   */
  readonly operation?: 'SendEmail' | 'GetAccount' | undefined;
  /**
   * Whether the request body had been handed to the connection when it failed: true (always, once
   * an answer came), false, or undefined when mailport cannot tell (an injected client).
   */
  readonly handedOver?: boolean | undefined;
  /** The message's sender addresses (From, Sender, envelope sender), to tell a sender from a recipient problem. */
  readonly senders?: readonly string[] | undefined;
}

// Names the AWS SDK and SES use for refused credentials.
const credentialErrors = new Set([
  'UnrecognizedClientException',
  'InvalidClientTokenId',
  'SignatureDoesNotMatch',
  'IncompleteSignatureException',
  'IncompleteSignature',
  'MissingAuthenticationTokenException',
  'MissingAuthenticationToken',
  'ExpiredTokenException',
  'ExpiredToken',
  'InvalidSignatureException',
  'AuthFailure',
]);

const leaveSandbox = (region: string): string =>
  `In the SES sandbox every recipient must be a verified identity: verify the recipient in the SES console for ${region}, or request production access (SES console, Account dashboard).`;
const verifySender = (region: string): string =>
  `Verify the sending address or its domain in the SES console for ${region} (identities are per region), or send from an identity that is verified there.`;

/**
 * The safe fields of any error thrown by `client.send()`: name, message, status, system code,
 * request id and Retry-After. Credentials and the request are never read.
 *
 * @example
 * ```ts
 * try {
 *   await client.send(command);
 * } catch (error) {
 *   throw mapSesError(sesFailureOf(error), { transport: 'ses://eu-west-1' });
 * }
 * ```
 */
export function sesFailureOf(error: unknown): SesFailure {
  const value = (typeof error === 'object' && error !== null ? error : { message: String(error) }) as Record<string, unknown>;
  const metadata = value.$metadata as { httpStatusCode?: number; requestId?: string } | undefined;
  const response = value.$response as { statusCode?: number; headers?: Record<string, string | undefined> } | undefined;
  const headers = response?.headers ?? {};
  const header = (name: string): string | undefined => {
    const key = Object.keys(headers).find((candidate) => candidate.toLowerCase() === name);
    return key === undefined ? undefined : headers[key];
  };
  return {
    name: typeof value.name === 'string' ? value.name : 'Error',
    message: typeof value.message === 'string' ? value.message : String(error),
    statusCode: metadata?.httpStatusCode ?? response?.statusCode,
    code: typeof value.code === 'string' ? value.code : undefined,
    typed: header('x-amzn-errortype') !== undefined,
    requestId: metadata?.requestId ?? header('x-amzn-requestid'),
    retryAfter: header('retry-after'),
  };
}

/**
 * Maps an SES failure to a `MailError` by error name, HTTP status, the call that failed and
 * whether the request body had been sent. A 5xx to SendEmail after its body went out is
 * `unknown-outcome` (never retried); throttling is `rate-limited` whatever its status. Pure, so
 * every row is table-tested.
 *
 * @example
 * ```ts
 * const error = mapSesError(
 *   { name: 'TooManyRequestsException', statusCode: 429, message: 'Maximum sending rate exceeded.', typed: true },
 *   { transport: 'ses://eu-west-1' },
 * );
 * error.code; // 'rate-limited'
 * ```
 */
export function mapSesError(failure: SesFailure, context: SesErrorContext): MailError {
  const { transport } = context;
  const message = cleanMessage(failure.message);
  const status = failure.statusCode;
  const name = failure.name;
  const cause = safeCause(failure.name, message, { statusCode: failure.statusCode, code: failure.code, requestId: failure.requestId });
  const make = (
    code: MailErrorCode,
    text: string,
    extra: { retryable?: boolean; retryAfterMs?: number; remediation: string; recipients?: readonly RecipientError[] },
  ): MailError =>
    new MailError(code, text, {
      transport,
      statusCode: status,
      providerCode: status === undefined ? (failure.code ?? name) : name,
      cause,
      ...extra,
    });
  const said = `SES answered ${status ?? ''} ${name}: ${message}`.replace(/\s+/g, ' ');

  if (status === undefined) return networkError(failure, context, message, cause);

  // Throttling whatever the status: SES drops a throttled message and does not send it (SES developer
  // guide, "Errors related to the sending quotas"), so a retry cannot send it twice.
  if (name === 'TooManyRequestsException' || name === 'ThrottlingException' || name === 'Throttling' || status === 429) {
    if (/daily (message )?quota/i.test(message)) {
      return make('quota-exceeded', `Daily sending quota exceeded: ${said}`, {
        retryable: false,
        remediation:
          'The account sent its Max24HourSend recipients in the last 24 hours: wait for the rolling window, or request a higher quota in the SES console.',
      });
    }
    // SES sends no Retry-After; its rate is per second, so one second is the natural wait.
    return make('rate-limited', `Sending rate exceeded: ${said}`, {
      retryAfterMs: parseRetryAfter(failure.retryAfter) ?? 1000,
      remediation:
        'Send more slowly: set rate_limit=auto (the account MaxSendRate) or a lower mailer concurrency, or request a higher sending rate.',
    });
  }
  if (name === 'MessageRejected') return messageRejected(failure, context, message, said, make);
  if (name === 'MailFromDomainNotVerifiedException') {
    return make('sender-rejected', `MAIL FROM domain not verified: ${said}`, {
      remediation:
        "The identity's custom MAIL FROM domain is not verified: publish its MX and SPF records (SES console, identity, Custom MAIL FROM domain), or turn the custom MAIL FROM domain off.",
    });
  }
  if (name === 'SendingPausedException') {
    return make('sender-rejected', `Sending is paused: ${said}`, {
      remediation:
        'Sending is paused for the account or the configuration set in this region: resume it (aws sesv2 put-account-sending-attributes --sending-enabled, or the configuration set setting) after fixing the cause.',
    });
  }
  if (name === 'AccountSuspendedException') {
    return make('sender-rejected', `The SES account is suspended: ${said}`, {
      remediation:
        'SES suspended sending for this account in this region: read the notice in the SES console and contact AWS Support to appeal.',
    });
  }
  if (name === 'NotFoundException' || (status === 404 && !failure.typed)) {
    return make('configuration', `Not found: ${said}`, {
      retryable: false,
      remediation: /configuration set/i.test(message)
        ? 'Create the configuration set in this region (SES console, Configuration sets), or fix configuration_set in the transport URL.'
        : 'Check the region and the resource names in the transport configuration.',
    });
  }
  if (name === 'LimitExceededException') {
    return make('configuration', `SES limit exceeded: ${said}`, {
      retryable: false,
      remediation: 'An SES resource limit was reached: check the SES quotas of the account for this region.',
    });
  }
  if (name === 'AccessDeniedException' || name === 'AccessDenied') {
    return make('configuration', `Access denied: ${said}`, {
      retryable: false,
      remediation:
        'The credentials may not send through SES: allow ses:SendEmail (and ses:SendRawEmail) on the identity, and ses:GetAccount for verify() and rate_limit=auto, in the IAM policy.',
    });
  }
  if (credentialErrors.has(name) || status === 403) {
    if (/signature expired|clock|time|skew/i.test(message) && !/region/i.test(message)) {
      return make('configuration', `Request signature expired: ${said}`, {
        retryable: false,
        remediation: "The machine's clock is off by more than 15 minutes: synchronise it (NTP).",
      });
    }
    if (/scoped to a valid region|scoped to correct service/i.test(message)) {
      return make('configuration', `Wrong region for these credentials: ${said}`, {
        retryable: false,
        remediation: "The request was signed for another region than the endpoint's: make the transport's region and endpoint agree.",
      });
    }
    return make('auth', `SES refused the credentials: ${said}`, {
      retryable: false,
      remediation:
        name === 'ExpiredTokenException' || name === 'ExpiredToken'
          ? 'The temporary credentials expired: refresh them (the default chain does this for roles and SSO; re-run aws sso login for SSO).'
          : 'Check the access key id and secret access key (they are per IAM user, not SES SMTP credentials), and that the key is active.',
    });
  }
  if (name === 'BadRequestException' || status === 400) {
    if (/attachment|file type|content type|mime|not supported/i.test(message)) {
      return make('message-rejected', `SES refused the content: ${said}`, {
        retryable: false,
        remediation: 'SES refuses some attachment types and malformed MIME: read its answer and change the message.',
      });
    }
    return make('invalid-message', `SES refused the request: ${said}`, {
      retryable: false,
      remediation: 'Fix the message as SES says (addresses, headers, tags, size); it was not sent.',
    });
  }
  if (status === 413) {
    return make('message-rejected', `The request was too large: ${said}`, {
      retryable: false,
      remediation: 'SES sends messages up to 40 MB including attachments after encoding: make it smaller or link to large files.',
    });
  }
  if (status >= 500) {
    // A 5xx to SendEmail once its body went out says SES (or a gateway in front of it) failed, not
    // that nothing was sent, and SendEmail takes no idempotency key: a retry could send it twice.
    // Throttling, which proves the message was dropped, was answered above. docs/errors.md,
    // "A 5xx after the message was handed over".
    if ((context.operation ?? 'SendEmail') === 'SendEmail' && context.handedOver !== false) {
      const who = failure.typed ? 'SES' : 'a gateway in front of SES';
      return unknownOutcome(context, `${who} answered ${status} ${name} after the request was sent (${message})`, cause, status, name);
    }
    return make('transient', `SES failed temporarily: ${said}`, {
      remediation: 'A temporary SES failure: mailport retries it by default; if it persists, check the AWS Health Dashboard.',
    });
  }
  if (status >= 200 && status < 300) {
    return unknownOutcome(context, `SES answered ${status} but the answer could not be read (${message})`, cause, status, name);
  }
  return make('message-rejected', `SES refused the message: ${said}`, {
    retryable: false,
    remediation: "Read SES's answer: the message was refused as it is.",
  });
}

function messageRejected(
  failure: SesFailure,
  context: SesErrorContext,
  message: string,
  said: string,
  make: (
    code: MailErrorCode,
    text: string,
    extra: { retryable?: boolean; remediation: string; recipients?: readonly RecipientError[] },
  ) => MailError,
): MailError {
  const unverified = /not verified\.? The following identities failed the check in region [^:]*:\s*(.*)$/is.exec(message);
  if (unverified === null) {
    return make('message-rejected', `SES rejected the message: ${said}`, {
      retryable: false,
      remediation: /length|size|bytes/i.test(message)
        ? 'SES sends messages up to 40 MB including attachments after encoding: make it smaller or link to large files.'
        : 'SES refused the content (for example a virus or a refused attachment): read its answer and change the message.',
    });
  }
  const identities = (unverified[1] ?? '')
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '' && entry !== '...')
    .map((entry) => (/<([^>]+)>/.exec(entry)?.[1] ?? entry).toLowerCase());
  const senders = new Set((context.senders ?? []).map((sender) => sender.toLowerCase()));
  const senderFailed = identities.length === 0 || identities.some((identity) => senders.has(identity));
  if (senderFailed) {
    return make('sender-rejected', `The sender is not a verified SES identity: ${said}`, {
      retryable: false,
      remediation: verifySender(context.region ?? 'this region'),
    });
  }
  return make('recipient-rejected', `Recipients are not verified (the SES account is in the sandbox): ${said}`, {
    retryable: false,
    remediation: leaveSandbox(context.region ?? 'this region'),
    recipients: identities.map((address) => ({
      address,
      message: 'not a verified identity, and the SES account is in the sandbox',
      statusCode: failure.statusCode,
      providerCode: 'MessageRejected',
      retryable: false,
    })),
  });
}

function networkError(failure: SesFailure, context: SesErrorContext, message: string, cause: Error): MailError {
  const { transport } = context;
  const make = (code: MailErrorCode, text: string, remediation: string, retryable?: boolean): MailError =>
    new MailError(code, text, { transport, providerCode: failure.code ?? failure.name, cause, remediation, retryable });
  if (failure.name === 'CredentialsProviderError' || /could not load credentials/i.test(message)) {
    return make(
      'auth',
      `No AWS credentials: ${message}`,
      'Give keys in the URL (ses://KEY:SECRET@REGION) or options, or set them up for the AWS SDK default chain: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE with ~/.aws/credentials or SSO, a web identity token, or an instance/container role.',
      false,
    );
  }
  if (/region is missing|invalid region/i.test(message)) {
    return make(
      'configuration',
      `No AWS region: ${message}`,
      'Put the region in the URL (ses://eu-west-1) or the region option, or set AWS_REGION.',
      false,
    );
  }
  // No answer came: core's rule. The SDK words a connect timeout without a code; GetAccount sends nothing.
  const connectTimeout = failure.code === undefined && /did not establish a connection/i.test(message);
  return noAnswerError(
    {
      code: connectTimeout ? 'ECONNECT_TIMEOUT' : failure.code,
      message,
      handedOver: context.handedOver,
      timedOut: /timed out/i.test(message) || failure.code === 'ETIMEDOUT',
    },
    {
      transport,
      operation: 'the SES endpoint',
      idempotent: context.operation === 'GetAccount',
      providerCode: failure.code ?? failure.name,
      cause,
      remediations: {
        'host-not-found': 'Check the region and the endpoint option.',
        'connect-timeout': 'Check the network path to SES (proxy, firewall, VPC endpoint); mailport retries timeouts by default.',
        timeout: 'Check the network path to SES (proxy, firewall, VPC endpoint); mailport retries timeouts by default.',
        'unknown-outcome':
          'Check whether it was sent (SES event publishing, or the recipient) before sending it again; mailport does not retry it, to avoid a duplicate.',
      },
    },
  );
}

function unknownOutcome(
  context: SesErrorContext,
  what: string,
  cause: Error,
  statusCode: number | undefined,
  providerCode: string,
): MailError {
  return new MailError('unknown-outcome', `Unknown outcome: ${what}; the message may have been sent`, {
    transport: context.transport,
    statusCode,
    providerCode,
    retryable: false,
    remediation:
      'Check whether it was sent (SES event publishing, or the recipient) before sending it again; mailport does not retry it, to avoid a duplicate.',
    cause,
  });
}

// Some AWS signature errors append the canonical request, which can name signed headers such as the session token.
function cleanMessage(message: string): string {
  const cut = message.search(/\n\s*\n|The Canonical String|The String-to-Sign/);
  return (cut === -1 ? message : message.slice(0, cut)).trim();
}
