import { AsyncLocalStorage } from 'node:async_hooks';
import { type ClientRequest, Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import {
  GetAccountCommand,
  type GetAccountCommandOutput,
  SESv2Client,
  SendEmailCommand,
  type SendEmailCommandInput,
} from '@aws-sdk/client-sesv2';
import {
  type EmailMessage,
  isAbortFrom,
  MailError,
  raceAbort,
  renderMimeParts,
  type SendOptions,
  type SendReceipt,
  type Transport,
  type TransportCapabilities,
  type VerifyReport,
  withTransport,
} from '@mailport/core';
import { mapSesError, sesFailureOf } from './ses-errors.js';
import { type ResolvedSesOptions, resolveSesOptions, revealCredentials, type SesTransportOptions } from './ses-options.js';
import { createRateLimiter, type RateLimiter } from './ses-rate-limit.js';
import {
  assertSesLimits,
  assertSesSize,
  contentKind,
  type SesContentKind,
  senderAddresses,
  sesMaxMessageBytes,
  sesMaxRecipients,
  sesRawRequest,
  sesSimpleRequest,
  simpleSizeBound,
} from './ses-request.js';

/** The SES transport: a {@link Transport} with `verify()` through GetAccount. */
export interface SesTransport extends Transport {
  verify(options?: SendOptions): Promise<VerifyReport>;
  close(): Promise<void>;
}

/** Per request: whether its body has been handed to the connection. */
interface RequestState {
  handedOver: boolean;
}

// Each send runs in its own context, so the agent can tell which send a request belongs to.
const requests = new AsyncLocalStorage<RequestState>();

// ClientRequest emits 'finish' once the request, body included, has been handed to the operating
// system: a connection failure after that may have reached SES. The AWS SDK's error does not say.
function track(request: ClientRequest): void {
  const state = requests.getStore();
  if (state !== undefined) request.once('finish', () => (state.handedOver = true));
}

type AddRequest = (request: ClientRequest, options: unknown) => void;

class TrackingHttpAgent extends HttpAgent {
  addRequest(request: ClientRequest, options: unknown): void {
    track(request);
    (HttpAgent.prototype as unknown as { addRequest: AddRequest }).addRequest.call(this, request, options);
  }
}

class TrackingHttpsAgent extends HttpsAgent {
  addRequest(request: ClientRequest, options: unknown): void {
    track(request);
    (HttpsAgent.prototype as unknown as { addRequest: AddRequest }).addRequest.call(this, request, options);
  }
}

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
  let agents: { http: HttpAgent; https: HttpsAgent } | undefined;
  let closed = false;
  let region: string | undefined = options.region;
  let limiter: Promise<RateLimiter | undefined> | undefined;

  const getClient = (): SESv2Client => {
    if (client !== undefined) return client;
    agents = {
      http: new TrackingHttpAgent({ keepAlive: true, maxSockets: 50 }),
      https: new TrackingHttpsAgent({ keepAlive: true, maxSockets: 50 }),
    };
    const credentials = options.credentials;
    client = new SESv2Client({
      region: options.region,
      endpoint: options.endpoint,
      credentials:
        credentials === undefined
          ? undefined
          : typeof credentials === 'function'
            ? credentials
            : // Revealed inside a provider, so the plain secret is never a property of the client config.
              async () => revealCredentials(credentials),
      // mailport owns retries: an SDK retry of SendEmail after a 5xx or a dropped connection could send twice.
      maxAttempts: 1,
      requestHandler: {
        httpAgent: agents.http,
        httpsAgent: agents.https,
        connectionTimeout: options.connectionTimeoutMs,
        socketTimeout: options.socketTimeoutMs,
      },
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
    run: (sdk: SESv2Client) => Promise<T>,
    signal: AbortSignal | undefined,
    senders: readonly string[],
  ): Promise<T> => {
    const sdk = getClient();
    const state: RequestState = { handedOver: false };
    try {
      return await requests.run(state, () => run(sdk));
    } catch (error) {
      if (isAbortFrom(signal, error) || (signal?.aborted === true && (error as Error)?.name === 'AbortError')) throw signal?.reason;
      throw mapSesError(sesFailureOf(error), {
        transport: id,
        region: await resolveRegion(sdk),
        handedOver: injected === undefined ? state.handedOver : undefined,
        senders,
      });
    }
  };

  const getAccount = (signal: AbortSignal | undefined): Promise<GetAccountCommandOutput> =>
    call((sdk) => sdk.send(new GetAccountCommand({}), { abortSignal: signal }), signal, []);

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

  const send = async (message: EmailMessage, sendOptions: SendOptions = {}): Promise<SendReceipt> => {
    const signal = sendOptions.signal;
    const started = performance.now();
    signal?.throwIfAborted();
    if (closed) throw new MailError('configuration', `${id} was closed`, { transport: id, remediation: 'Create a new transport.' });
    assertSesLimits(message, id);
    const kind: SesContentKind = contentKind(message, options.content);
    let request: SendEmailCommandInput;
    try {
      if (kind === 'raw') {
        const mime = await renderMimeParts(message);
        assertSesSize(mime.size, id);
        // The SDK takes one Uint8Array; joined once and cached with the rendering, so a retry does not copy again.
        request = sesRawRequest(message, mime.toBuffer(), { configurationSet: options.configurationSet });
      } else {
        if (simpleSizeBound(message) > sesMaxMessageBytes) assertSesSize((await renderMimeParts(message)).size, id);
        request = sesSimpleRequest(message, { configurationSet: options.configurationSet });
      }
    } catch (error) {
      throw MailError.isInstance(error) ? withTransport(error, id) : error;
    }
    signal?.throwIfAborted();
    await (await rateLimiter(signal))?.acquire(message.envelope.to.length, signal);
    const output = await call((sdk) => sdk.send(new SendEmailCommand(request), { abortSignal: signal }), signal, senderAddresses(message));
    const providerMessageId = output.MessageId;
    const resolvedRegion = await resolveRegion(getClient());
    const domain =
      options.messageIdDomain ??
      (resolvedRegion === undefined || resolvedRegion === 'us-east-1' ? 'email.amazonses.com' : `${resolvedRegion}.amazonses.com`);
    return Object.freeze({
      // SES replaces the Message-ID with its own (SES header-fields documentation): the receipt gives the one recipients see.
      messageId: providerMessageId === undefined ? message.messageId : `<${providerMessageId}@${domain}>`,
      transport: id,
      providerMessageId,
      accepted: Object.freeze([...message.envelope.to]),
      rejected: Object.freeze([]),
      attempts: 1,
      elapsedMs: performance.now() - started,
      details: Object.freeze({
        submittedMessageId: message.messageId,
        region: resolvedRegion,
        content: kind,
        configurationSet: options.configurationSet,
      }),
    });
  };

  const verify = async (verifyOptions: SendOptions = {}): Promise<VerifyReport> => {
    if (closed) throw new MailError('configuration', `${id} was closed`, { transport: id, remediation: 'Create a new transport.' });
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

  const close = async (): Promise<void> => {
    closed = true;
    if (injected === undefined) {
      client?.destroy();
      agents?.http.destroy();
      agents?.https.destroy();
    }
    client = undefined;
    agents = undefined;
  };

  const capabilities: TransportCapabilities = Object.freeze({
    maxMessageSize: sesMaxMessageBytes,
    maxRecipients: sesMaxRecipients,
    customHeaders: true,
    // Raw content with an explicit Destination carries any envelope.
    envelope: true,
    smtpUtf8: false,
    concurrency: options.concurrency,
  });

  return Object.freeze({
    id,
    capabilities,
    send,
    verify,
    close,
    toString: () => id,
    [Symbol.for('nodejs.util.inspect.custom')]: () => `SesTransport(${id})`,
  });
}
