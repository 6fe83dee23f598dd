import { MailError, type MailErrorCode, noAnswerError, parseRetryAfter } from '@mailport/core';

/** The Graph calls a send makes. `sendMail` and `send` hand the message over; the rest prepare a draft. */
export type GraphOperation =
  | 'sendMail'
  | 'createMessage'
  | 'addAttachment'
  | 'createUploadSession'
  | 'uploadChunk'
  | 'send'
  | 'getUser'
  | 'deleteDraft'
  | 'listSentItems';

/** What the mapping reads from a failed Graph call: an HTTP answer, or a network failure. */
export interface GraphFailure {
  readonly operation: GraphOperation;
  /** The HTTP status; undefined when no response came. */
  readonly status?: number | undefined;
  /** Graph's `error.code` (`ErrorSendAsDenied`, `ApplicationThrottled`, ...). */
  readonly code?: string | undefined;
  /** Graph's `error.message`, or the network error's message. */
  readonly message: string;
  readonly requestId?: string | undefined;
  /** The Retry-After header as sent: seconds or an HTTP date. */
  readonly retryAfter?: string | undefined;
  /** For a failure without a response (core's `HttpError`): the system error code, and whether the request body had been handed over. */
  readonly network?: { readonly code: string | undefined; readonly handedOver: boolean; readonly timedOut: boolean } | undefined;
}

/** Where the failure happened. */
export interface GraphErrorContext {
  readonly transport: string;
  /** The mailbox sending (`/users/{mailbox}`), or `me`. */
  readonly mailbox: string;
  /** The clock for HTTP-date Retry-After values. Default `Date.now`. */
  readonly now?: (() => number) | undefined;
}

const delivering: ReadonlySet<GraphOperation> = new Set(['sendMail', 'send']);

const messageCodes = new Set([
  'ErrorMimeContentInvalidBase64String',
  'ErrorMimeContentInvalid',
  'InvalidInternetMessageHeaderCollection',
  'InvalidInternetMessageHeader',
  'ErrorMessageSizeExceeded',
  'ErrorAttachmentSizeShouldNotBeLessThanMinimumSize',
  'ErrorTooManyRecipients',
  'ErrorInvalidInternetMessageId',
  'RequestEntityTooLarge',
  'RequestBodyRead',
  'ErrorInvalidParameter',
  'InvalidContentRange',
]);

const quotaCodes = new Set(['ErrorQuotaExceeded', 'ErrorSubmissionQuotaExceeded', 'MailboxStoreUnavailable_QuotaExceeded']);

/**
 * Maps a failed Graph call to a `MailError`. Pure, so that every row is tested without a server.
 *
 * The rule that matters most: once `sendMail` or `send` has sent its body, only an answer that
 * proves the message was refused (4xx) lets a retry happen; a 5xx or a lost connection is an
 * `unknown-outcome`, because Graph may have sent the message anyway.
 *
 * @example
 * ```ts
 * mapGraphError({ operation: 'sendMail', status: 429, code: 'ApplicationThrottled', message: '...', retryAfter: '30' }, context);
 * // MailError { code: 'rate-limited', retryable: true, retryAfterMs: 30000 }
 * ```
 */
export function mapGraphError(failure: GraphFailure, context: GraphErrorContext): MailError {
  const { transport, mailbox } = context;
  const handsOver = delivering.has(failure.operation);
  const said = failure.code === undefined ? failure.message : `${failure.code}: ${failure.message}`;
  const where = `Graph ${failure.operation} for ${mailbox}`;
  const make = (
    code: MailErrorCode,
    message: string,
    remediation: string,
    extra: { retryable?: boolean; retryAfterMs?: number | undefined } = {},
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
    // No answer came: core's rule. Only sendMail and send deliver; the other calls are safe to repeat.
    const slow = 'Check that graph.microsoft.com (or endpoint) is reachable; mailport retries timeouts.';
    return noAnswerError(
      { code: network?.code, message: failure.message, handedOver: network?.handedOver, timedOut: network?.timedOut },
      {
        transport,
        operation: where,
        idempotent: !handsOver,
        providerCode: failure.code ?? network?.code,
        remediations: {
          'unknown-outcome':
            'Check the Sent Items of the mailbox (or the recipients) before sending it again; mailport does not resend it on its own.',
          refused: 'Check endpoint and that the host is reachable from here (proxy, firewall, DNS); mailport retries it.',
          'connect-timeout': slow,
          timeout: slow,
        },
      },
    );
  }

  const status = failure.status;
  const code = failure.code ?? '';
  const retryAfterMs = parseRetryAfter(failure.retryAfter, context.now);

  if (status === 429) {
    const concurrency = /MailboxConcurrency/i.test(failure.message);
    return make(
      'rate-limited',
      `${where} was throttled: ${said}`,
      concurrency
        ? 'Graph allows 4 requests in flight per mailbox: lower the concurrency of other clients of this mailbox.'
        : 'Graph throttles per app and mailbox (10,000 requests per 10 minutes) and Exchange limits sending (30 messages a minute): send more slowly.',
      { retryAfterMs },
    );
  }
  if (status >= 500) {
    if (handsOver) {
      return make(
        'unknown-outcome',
        `${where} answered ${status} after receiving the message (${said}); Graph may have sent it`,
        'Check the Sent Items of the mailbox before sending it again; mailport does not resend it on its own.',
        { retryAfterMs },
      );
    }
    return make(
      'transient',
      `${where} failed with ${status}: ${said}`,
      'A temporary failure before the message was sent: mailport retries it.',
      {
        retryAfterMs,
      },
    );
  }
  if (quotaCodes.has(code)) {
    return make(
      'quota-exceeded',
      `${where}: ${said}`,
      'The mailbox reached an Exchange sending limit (10,000 recipients a day): wait for it to reset.',
      {
        retryable: false,
      },
    );
  }
  if (code === 'ErrorSendAsDenied') {
    return make(
      'sender-rejected',
      `${where}: the From address is not one this mailbox may send as (${said})`,
      `Send from ${mailbox} itself, or grant ${mailbox} the Send As permission on the From address (Exchange admin center > Recipients > Mailboxes > Delegation).`,
    );
  }
  if (code === 'MailboxNotEnabledForRESTAPI' || code === 'MailboxNotSupportedForRESTAPI') {
    return make(
      'configuration',
      `${where}: the mailbox cannot use the Graph mail API (${said})`,
      'The mailbox must be an Exchange Online mailbox with a license: unlicensed, inactive, soft-deleted, guest and on-premises mailboxes cannot send through Graph.',
    );
  }
  if (code === 'ErrorInvalidRecipients') {
    return make(
      'recipient-rejected',
      `${where}: ${said}`,
      'Check the recipient addresses: Graph refused at least one of them, and then sends to none.',
    );
  }
  if (status === 413 || messageCodes.has(code)) {
    return make('message-rejected', `${where} refused the message: ${said}`, messageRemediation(code, status));
  }
  if (status === 401) {
    return make(
      'auth',
      `${where}: the access token was refused, also after a refresh (${said})`,
      'Check the token: app-only tokens need the scope https://graph.microsoft.com/.default and the tenant of the mailbox; an expired client secret or a revoked consent also shows here.',
    );
  }
  if (status === 403) {
    return make(
      'configuration',
      `${where} was denied: ${said}`,
      'Grant the app the Mail.Send application permission with admin consent (and Mail.ReadWrite for large messages), and check that no application access policy excludes this mailbox.',
    );
  }
  if (status === 404) {
    if (code === 'ErrorItemNotFound' && !handsOver && failure.operation !== 'getUser') {
      return make(
        'transient',
        `${where}: the draft disappeared while it was being prepared (${said})`,
        'mailport retries it with a new draft.',
      );
    }
    return make(
      'configuration',
      `${where}: the mailbox was not found (${said})`,
      `Check the sender: ${mailbox} must be a mailbox (user principal name or object id) in the app's tenant.`,
    );
  }
  if (status === 400 && code === 'BadRequest' && /\/me request is only valid/i.test(failure.message)) {
    return make('configuration', `${where}: ${said}`, 'Use an app-only token with /users/{sender}, or a delegated (user) token with /me.');
  }
  if (status >= 400 && status < 500) {
    return make('message-rejected', `${where} refused the request: ${said}`, "Read Graph's answer: the message was refused as it is.");
  }
  return make(
    'unknown-outcome',
    `${where} answered ${status}: ${said}`,
    'An unexpected answer: check the Sent Items before sending again.',
  );
}

function messageRemediation(code: string, status: number): string {
  if (code === 'ErrorMimeContentInvalidBase64String' || code === 'ErrorMimeContentInvalid') {
    return 'Graph could not read the MIME content: this is a bug in mailport if the message came from createMessage.';
  }
  if (code === 'InvalidInternetMessageHeaderCollection' || code === 'InvalidInternetMessageHeader') {
    return 'JSON mode takes at most 5 custom headers, each named x-...: use mode=mime to send other headers.';
  }
  if (code === 'ErrorMessageSizeExceeded' || code === 'RequestEntityTooLarge' || status === 413) {
    return 'The message is over a size limit (4 MB per request, the mailbox maximum up to 150 MB): make it smaller, or raise the mailbox limit in Exchange.';
  }
  if (code === 'ErrorTooManyRecipients') return 'Exchange Online allows 500 recipients per message: split the recipients.';
  return "Read Graph's answer: the message was refused as it is, so change it before sending again.";
}
