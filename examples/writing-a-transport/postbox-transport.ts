/**
 * The Postbox transport: the factory, `send`, `verify` and `close`. It maps an `EmailMessage` to
 * one request, `POST /v1/messages` with the rendered MIME, and every failure to a `MailError`.
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import {
  assertCapabilities,
  type EmailMessage,
  isAbortFrom,
  MailError,
  renderMimeParts,
  type SendOptions,
  type SendReceipt,
  type Transport,
  type TransportCapabilities,
  type VerifyReport,
  withTransport,
} from '@mailport/core';
import { mapPostboxError, type PostboxErrorContext, type PostboxFailure } from './postbox-errors.ts';
import { type PostboxTransportOptions, postboxMaxMessageBytes, postboxMaxRecipients, resolvePostboxOptions } from './postbox-options.ts';

/** The Postbox transport: a {@link Transport} whose `verify()` reads the account. */
export interface PostboxTransport extends Transport {
  verify(options?: SendOptions): Promise<VerifyReport>;
  close(): Promise<void>;
}

/** A whole HTTP answer. */
interface Answer {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

/** No answer came. `bodySent` says whether Postbox may have acted on the request anyway. */
class NoAnswer extends Error {
  readonly code: string | undefined;
  readonly bodySent: boolean;
  readonly timedOut: boolean;

  constructor(message: string, details: { code: string | undefined; bodySent: boolean; timedOut: boolean }) {
    super(message);
    this.code = details.code;
    this.bodySent = details.bodySent;
    this.timedOut = details.timedOut;
  }
}

/**
 * Creates a Postbox transport. Options are checked here (a `configuration` error at start-up);
 * the first connection is made by the first send.
 *
 * @example
 * ```ts
 * const transport = createPostboxTransport({ apiKey: new Secret(process.env.POSTBOX_API_KEY ?? '') });
 * await using mailer = createMailer({ transport });
 * ```
 */
export function createPostboxTransport(options: PostboxTransportOptions): PostboxTransport {
  const resolved = resolvePostboxOptions(options);
  const { endpoint, id, tokenProvider, timeoutMs } = resolved;
  // Keep-alive agents: one connection serves many sends. Destroyed by close().
  const agent = endpoint.protocol === 'https:' ? new HttpsAgent({ keepAlive: true }) : new HttpAgent({ keepAlive: true });
  const context: PostboxErrorContext = { transport: id, host: endpoint.host, staticKey: resolved.staticKey };
  let closed = false;

  const capabilities: TransportCapabilities = Object.freeze({
    maxMessageSize: postboxMaxMessageBytes,
    maxRecipients: postboxMaxRecipients,
    // The rendered MIME goes through as it is, with the envelope beside it.
    customHeaders: true,
    envelope: true,
    // Postbox does not document SMTPUTF8: a non-ASCII local part is refused before sending.
    smtpUtf8: false,
    concurrency: resolved.concurrency,
  });

  /** One request over node:http(s). Rejects with the signal's reason on abort, or with {@link NoAnswer}. */
  const request = (
    method: string,
    path: string,
    token: string,
    body: string | undefined,
    signal: AbortSignal | undefined,
  ): Promise<Answer> =>
    new Promise<Answer>((resolve, reject) => {
      if (signal?.aborted === true) return reject(signal.reason);
      const bytes = body === undefined ? undefined : Buffer.from(body);
      let bodySent = false;
      let timedOut = false;
      let settled = false;
      const finish = (action: () => void): void => {
        if (settled) return;
        settled = true;
        signal?.removeEventListener('abort', onAbort);
        action();
      };
      const url = new URL(path, endpoint);
      const outgoing = (url.protocol === 'https:' ? httpsRequest : httpRequest)(url, {
        method,
        agent,
        headers: {
          authorization: `Bearer ${token}`,
          accept: 'application/json',
          ...(bytes === undefined ? {} : { 'content-type': 'application/json', 'content-length': String(bytes.length) }),
        },
      });
      const onAbort = (): void => {
        finish(() => reject(signal?.reason));
        outgoing.destroy();
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      outgoing.setTimeout(timeoutMs, () => {
        timedOut = true;
        outgoing.destroy(Object.assign(new Error(`no answer within ${timeoutMs} ms`), { code: 'ETIMEDOUT' }));
      });
      outgoing.on('error', (error: Error & { code?: string }) =>
        finish(() => reject(new NoAnswer(`${method} ${url.pathname} failed: ${error.message}`, { code: error.code, bodySent, timedOut }))),
      );
      outgoing.on('response', (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('error', (error: Error & { code?: string }) =>
          finish(() => reject(new NoAnswer(`reading the answer failed: ${error.message}`, { code: error.code, bodySent: true, timedOut }))),
        );
        response.on('end', () =>
          finish(() => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks) })),
        );
      });
      // end()'s callback runs once the last byte is handed to the socket: from then on Postbox may act on it.
      outgoing.end(bytes, () => {
        bodySent = true;
      });
    });

  /**
   * An authenticated request. With OAuth tokens, a 401 gets one refresh and one retry: Postbox
   * answers 401 before it acts, so repeating the request cannot send the message twice.
   */
  const call = async (method: string, path: string, body: string | undefined, signal: AbortSignal | undefined): Promise<Answer> => {
    const token = await tokenProvider.getAccessToken({ signal });
    const answer = await request(method, path, token.token, body, signal);
    if (answer.status !== 401 || resolved.staticKey) return answer;
    const fresh = await tokenProvider.getAccessToken({ forceRefresh: true, refusedToken: token.token, signal });
    return request(method, path, fresh.token, body, signal);
  };

  /** Runs `work`, turning whatever it throws into a `MailError` of this transport (a caller's abort stays as it is). */
  const guarded = async <T>(signal: AbortSignal | undefined, work: () => Promise<T>): Promise<T> => {
    try {
      return await work();
    } catch (error) {
      if (isAbortFrom(signal, error)) throw error;
      if (MailError.isInstance(error)) throw withTransport(error, id);
      if (error instanceof NoAnswer) {
        throw mapPostboxError(
          { message: error.message, network: { code: error.code, bodySent: error.bodySent, timedOut: error.timedOut } },
          context,
        );
      }
      // Anything else is a bug here; the mailer reports it as an unknown outcome, never retried.
      throw error;
    }
  };

  const send = (message: EmailMessage, sendOptions: SendOptions = {}): Promise<SendReceipt> => {
    const { signal } = sendOptions;
    return guarded(signal, async () => {
      signal?.throwIfAborted();
      if (closed) throw new MailError('configuration', `${id} is closed`, { remediation: 'Create a new transport after close().' });
      const started = performance.now();
      // The mailer checks this too; a transport called directly must not send what Postbox would refuse.
      await assertCapabilities(message, transport);
      // Rendered once per message (cached), without the Bcc header: recipients go in `to`, the envelope.
      const mime = await renderMimeParts(message);
      const body = JSON.stringify({
        from: message.envelope.from,
        to: message.envelope.to,
        raw: mime.toBuffer().toString('base64'),
        tags: message.tags,
      });
      const answer = await call('POST', 'v1/messages', body, signal);
      if (answer.status !== 201) throw mapPostboxError(failureOf(answer), context);
      const queued = parseJson(answer.body) as { id?: unknown };
      return Object.freeze({
        messageId: message.messageId,
        transport: id,
        providerMessageId: typeof queued.id === 'string' ? queued.id : undefined,
        accepted: Object.freeze([...message.envelope.to]),
        rejected: Object.freeze([]),
        attempts: 1,
        elapsedMs: performance.now() - started,
        response: `${answer.status} queued`,
      });
    });
  };

  const verify = (verifyOptions: SendOptions = {}): Promise<VerifyReport> =>
    guarded(verifyOptions.signal, async () => {
      const answer = await call('GET', 'v1/account', undefined, verifyOptions.signal);
      if (answer.status !== 200) throw mapPostboxError(failureOf(answer), context);
      const account = parseJson(answer.body) as { name?: unknown; dailyQuota?: unknown; sentToday?: unknown };
      return {
        transport: id,
        checks: [
          { name: 'auth', ok: true, detail: `Postbox accepted the ${resolved.staticKey ? 'API key' : 'access token'}` },
          {
            name: 'quota',
            ok: true,
            detail: `${String(account.sentToday ?? '?')} of ${String(account.dailyQuota ?? '?')} messages sent today`,
          },
        ],
        details: { account: account.name, dailyQuota: account.dailyQuota, sentToday: account.sentToday },
      };
    });

  const close = async (): Promise<void> => {
    closed = true;
    agent.destroy();
  };

  const transport: PostboxTransport = Object.freeze({
    id,
    capabilities,
    send,
    verify,
    close,
    // What String(transport) and console.log(transport) show: the id, never the credentials.
    toString: () => id,
    [Symbol.for('nodejs.util.inspect.custom')]: () => `PostboxTransport(${id})`,
  });
  return transport;
}

/** Postbox's error body `{ error: { code, message, recipients } }`, as far as it goes. */
function failureOf(answer: Answer): PostboxFailure {
  const error = (parseJson(answer.body) as { error?: { code?: unknown; message?: unknown; recipients?: unknown } }).error ?? {};
  const retryAfter = answer.headers['retry-after'];
  return {
    status: answer.status,
    code: typeof error.code === 'string' ? error.code : undefined,
    message: typeof error.message === 'string' ? error.message : `HTTP ${answer.status}`,
    retryAfter: typeof retryAfter === 'string' ? retryAfter : undefined,
    recipients: Array.isArray(error.recipients) ? (error.recipients as { address: string; reason: string }[]) : undefined,
  };
}

function parseJson(body: Buffer): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(body.toString('utf8'));
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}
