import {
  GetAccountCommand,
  type GetAccountCommandOutput,
  SESv2Client,
  type SESv2ClientConfig,
  SendEmailCommand,
  type SendEmailCommandInput,
} from '@aws-sdk/client-sesv2';
import {
  type DefinedTransport,
  defineTransport,
  type EmailMessage,
  MailError,
  raceAbort,
  renderMimeParts,
  type SendOptions,
  type SendResult,
  type VerifyReport,
} from '@mailport/core';
import { createHttpClient, HttpError } from '@mailport/core/http';
import { mapSesError, type SesErrorContext, sesFailureOf } from './ses-errors.js';
import { sesRequestHandler } from './ses-http-handler.js';
import { type ResolvedSesOptions, resolveSesOptions, revealCredentials, type SesTransportOptions } from './ses-options.js';
import { createRateLimiter, type RateLimiter } from './ses-rate-limit.js';
import {
  contentKind,
  type SesContentKind,
  senderAddresses,
  sesMaxMessageBytes,
  sesMaxRecipients,
  sesRawRequest,
  sesSimpleRequest,
} from './ses-request.js';

/** The credential provider the SDK's config takes. */
type SesSdkCredentialProvider = Extract<SESv2ClientConfig['credentials'], (...args: never[]) => unknown>;

/** The SES transport: a `Transport` with `verify()` through GetAccount. */
export type SesTransport = DefinedTransport;

/**
 * Creates an Amazon SES v2 transport over `@aws-sdk/client-sesv2`. Messages go as Simple
 * content when SES can build them exactly, else as Raw content rendered by `@mailport/core`
 * with the envelope in Destination. The SDK's own retries are off (mailport retries by error
 * class); connections are kept alive.
 *
 * @example
 * ```ts
 * const transport = createSesTransport({ region: 'eu-west-1', configurationSet: 'transactional' });
 * const mailer = createMailer({ transport });
 * ```
 */
export function createSesTransport(input: SesTransportOptions = {}): SesTransport {
  const options: ResolvedSesOptions = resolveSesOptions(input);
  const id = options.id;
  const injected = options.client;
  let client: SESv2Client | undefined = injected;
  let region: string | undefined = options.region;
  let limiter: Promise<RateLimiter | undefined> | undefined;

  const getClient = (): SESv2Client => {
    if (client !== undefined) return client;
    const http = createHttpClient({ connectTimeoutMs: options.connectionTimeoutMs, timeoutMs: options.socketTimeoutMs, maxSockets: 50 });
    const credentials = options.credentials;
    // The SDK's config types take no explicit undefined: unset settings are left out.
    client = new SESv2Client({
      ...(options.region === undefined ? {} : { region: options.region }),
      ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
      ...(credentials === undefined
        ? {}
        : {
            credentials:
              typeof credentials === 'function'
                ? // Passed as it is, so it still gets the SDK's caller config. A SesCredentialIdentity may hold an
                  // explicit undefined `sessionToken` or `expiration`, which the SDK's type refuses but the SDK reads as absent.
                  (credentials as SesSdkCredentialProvider)
                : // Revealed inside a provider, so the plain secret is never a property of the client config.
                  async () => revealCredentials(credentials),
          }),
      // mailport owns retries: an SDK retry of SendEmail after a 5xx or a dropped connection could send twice.
      maxAttempts: 1,
      // Core's HTTP client: its errors say whether the request body was handed over, which the SDK's do not.
      requestHandler: sesRequestHandler(http),
    });
    return client;
  };

  const resolveRegion = async (sdk: SESv2Client): Promise<string | undefined> => {
    if (region !== undefined) return region;
    try {
      region = await sdk.config.region();
    } catch {
      // The send itself reports a missing region.
    }
    return region;
  };

  const call = async <T>(
    operation: SesErrorContext['operation'],
    run: (sdk: SESv2Client) => Promise<T>,
    signal: AbortSignal | undefined,
    senders: readonly string[],
  ): Promise<T> => {
    const sdk = getClient();
    try {
      return await run(sdk);
    } catch (error) {
      // The caller's abort leaves as its reason (the shell sees to that); nothing to classify.
      if (signal?.aborted === true) throw error;
      const failure = sesFailureOf(error);
      throw mapSesError(failure, {
        transport: id,
        operation,
        region: await resolveRegion(sdk),
        // An answer came, so the request had gone out. Without one, only core's HTTP client can
        // tell: a failure that is no HttpError never reached the connection.
        handedOver:
          failure.statusCode !== undefined ? true : injected === undefined ? (HttpError.find(error)?.handedOver ?? false) : undefined,
        senders,
      });
    }
  };

  const getAccount = (signal: AbortSignal | undefined): Promise<GetAccountCommandOutput> =>
    call('GetAccount', (sdk) => sdk.send(new GetAccountCommand({}), abortOptions(signal)), signal, []);

  const rateLimiter = (signal: AbortSignal | undefined): Promise<RateLimiter | undefined> => {
    const rate = options.rateLimit;
    if (rate === undefined) return Promise.resolve(undefined);
    if (rate !== 'auto') {
      limiter ??= Promise.resolve(createRateLimiter(rate));
      return limiter;
    }
    // Shared by concurrent sends, so not tied to one caller's signal; each caller waits with its own.
    limiter ??= getAccount(undefined).then(
      (account) => {
        const maxSendRate = account.SendQuota?.MaxSendRate;
        return maxSendRate !== undefined && maxSendRate > 0 ? createRateLimiter(maxSendRate) : undefined;
      },
      (error: unknown) => {
        // Asked again on the next send.
        limiter = undefined;
        if (MailError.isInstance(error) && error.code === 'configuration') {
          throw new MailError('configuration', `rate_limit=auto could not read the account's MaxSendRate: ${error.message}`, {
            transport: id,
            providerCode: error.providerCode,
            statusCode: error.statusCode,
            remediation: 'Allow ses:GetAccount to these credentials, or set rate_limit to a number of recipients per second.',
            cause: error,
          });
        }
        throw error;
      },
    );
    return raceAbort(limiter, signal);
  };

  // The shell has checked the 50 recipients, SMTPUTF8 and the 40 MB (on the rendering Raw content sends).
  const send = async (message: EmailMessage, sendOptions: SendOptions): Promise<SendResult> => {
    const signal = sendOptions.signal;
    const kind: SesContentKind = contentKind(message, options.content);
    // The SDK takes one Uint8Array; joined once and cached with the rendering, so a retry does not copy again.
    const request: SendEmailCommandInput =
      kind === 'raw'
        ? sesRawRequest(message, (await renderMimeParts(message)).toBuffer(), { configurationSet: options.configurationSet })
        : sesSimpleRequest(message, { configurationSet: options.configurationSet });
    signal?.throwIfAborted();
    await (await rateLimiter(signal))?.acquire(message.envelope.to.length, signal);
    const output = await call(
      'SendEmail',
      (sdk) => sdk.send(new SendEmailCommand(request), abortOptions(signal)),
      signal,
      senderAddresses(message),
    );
    const providerMessageId = output.MessageId;
    const resolvedRegion = await resolveRegion(getClient());
    const domain =
      options.messageIdDomain ??
      (resolvedRegion === undefined || resolvedRegion === 'us-east-1' ? 'email.amazonses.com' : `${resolvedRegion}.amazonses.com`);
    return {
      // SES replaces the Message-ID with its own (SES header-fields documentation): the receipt gives the one recipients see.
      messageId: providerMessageId === undefined ? undefined : `<${providerMessageId}@${domain}>`,
      providerMessageId,
      details: { submittedMessageId: message.messageId, region: resolvedRegion, content: kind, configurationSet: options.configurationSet },
    };
  };

  const verify = async (verifyOptions: SendOptions): Promise<VerifyReport> => {
    const account = await getAccount(verifyOptions.signal);
    const resolvedRegion = await resolveRegion(getClient());
    const quota = account.SendQuota ?? {};
    const max = quota.Max24HourSend;
    const sent = quota.SentLast24Hours ?? 0;
    const production = account.ProductionAccessEnabled === true;
    const sending = account.SendingEnabled !== false;
    const enforcement = account.EnforcementStatus;
    if (enforcement === 'SHUTDOWN') {
      throw new MailError('sender-rejected', `${id}: the SES account is suspended (EnforcementStatus SHUTDOWN)`, {
        transport: id,
        providerCode: 'AccountSuspendedException',
        remediation:
          'SES suspended sending for this account in this region: read the notice in the SES console and contact AWS Support to appeal.',
      });
    }
    if (!sending) {
      throw new MailError('sender-rejected', `${id}: sending is paused for this SES account (SendingEnabled false)`, {
        transport: id,
        providerCode: 'SendingPausedException',
        remediation: 'Resume sending (aws sesv2 put-account-sending-attributes --sending-enabled) after fixing the cause.',
      });
    }
    const unlimited = max === undefined || max < 0;
    return {
      transport: id,
      checks: [
        { name: 'auth', ok: true, detail: `credentials accepted by SES in ${resolvedRegion ?? 'the default region'}` },
        { name: 'sending', ok: true, detail: `sending enabled, enforcement status ${enforcement ?? 'unknown'}` },
        {
          name: 'quota',
          ok: unlimited || sent < max,
          detail: `${sent} of ${unlimited ? 'unlimited' : max} recipients in the last 24 hours, at most ${quota.MaxSendRate ?? '?'} per second`,
        },
        {
          name: 'production-access',
          ok: production,
          detail: production
            ? 'production access: any recipient'
            : 'in the SES sandbox: verified recipients only, 200 a day, 1 a second; request production access in the SES console',
        },
      ],
      details: {
        region: resolvedRegion,
        max24HourSend: max,
        maxSendRate: quota.MaxSendRate,
        sentLast24Hours: sent,
        productionAccessEnabled: production,
        sandbox: !production,
        sendingEnabled: sending,
        enforcementStatus: enforcement,
        configurationSet: options.configurationSet,
      },
    };
  };

  const close = (): void => {
    // The SDK's destroy() closes the request handler, and with it core's HTTP client.
    if (injected === undefined) client?.destroy();
    client = undefined;
  };

  return defineTransport({
    id,
    name: 'SesTransport',
    capabilities: {
      maxMessageSize: sesMaxMessageBytes,
      maxRecipients: sesMaxRecipients,
      customHeaders: true,
      // Raw content with an explicit Destination carries any envelope.
      envelope: true,
      // SES does not support SMTPUTF8 (API_Destination).
      smtpUtf8: false,
      concurrency: options.concurrency,
      // Raw content keeps a DKIM signature, but SES rewrites Message-ID and Date and takes one
      // DKIM-Signature ("Manual DKIM signing": do not sign those two; SES header-fields documentation).
      dkim: 'one-key-no-id-date',
    },
    send,
    verify,
    close,
  });
}

/** The SDK's per-request options: `abortSignal` only when there is a signal (the SDK type takes no explicit undefined). */
function abortOptions(signal: AbortSignal | undefined): { abortSignal?: AbortSignal } {
  return signal === undefined ? {} : { abortSignal: signal };
}
