/**
 * The Postbox transport: what is Postbox's own, on core's kit. `defineTransport` does what every transport does the same
 * way (aborts, the closed and capability checks, the receipt, `close()` once, no credential in `String()` or `util.inspect`);
 * `@mailport/core/http` sends and says whether the body was handed over, and `noAnswerError` maps a request that got no answer.
 */
import { type DefinedTransport, defineTransport, noAnswerError, renderMimeParts } from '@mailport/core';
import { createHttpClient, HttpError, type HttpRequest, type HttpResponse } from '@mailport/core/http';
import { mapPostboxError, type PostboxErrorContext } from './postbox-errors.ts';
import { type PostboxTransportOptions, postboxMaxMessageBytes, postboxMaxRecipients, resolvePostboxOptions } from './postbox-options.ts';
import { postboxAccountRequest, postboxFailureOf, postboxSendRequest } from './postbox-request.ts';

/** The Postbox transport: a `Transport` whose `verify()` reads the account. */
export type PostboxTransport = DefinedTransport;

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
  const { endpoint, id, tokenProvider } = resolved;
  // Keep-alive connections, closed by close().
  const http = createHttpClient({ timeoutMs: resolved.timeoutMs });
  const context: PostboxErrorContext = { transport: id, staticKey: resolved.staticKey };

  /**
   * An authenticated request. With OAuth tokens, a 401 gets one refresh and one retry: Postbox
   * answers 401 before it acts, so repeating the request cannot send the message twice.
   */
  const call = async (request: HttpRequest, signal: AbortSignal | undefined): Promise<HttpResponse> => {
    const send = (token: string): Promise<HttpResponse> =>
      http.send({ ...request, headers: { ...request.headers, authorization: `Bearer ${token}` }, signal });
    try {
      const token = await tokenProvider.getAccessToken({ signal });
      const answer = await send(token.token);
      if (answer.status !== 401 || resolved.staticKey) return answer;
      const fresh = await tokenProvider.getAccessToken({ forceRefresh: true, refusedToken: token.token, signal });
      return await send(fresh.token);
    } catch (error) {
      // No answer came: core's rule, from whether the HttpError says the body was handed over.
      if (!HttpError.isInstance(error)) throw error;
      throw noAnswerError(error, { transport: id, operation: endpoint.host, idempotent: request.method === 'GET' });
    }
  };

  return defineTransport({
    id,
    name: 'PostboxTransport',
    capabilities: {
      maxMessageSize: postboxMaxMessageBytes,
      maxRecipients: postboxMaxRecipients,
      // The rendered MIME goes through as it is, with the envelope beside it.
      customHeaders: true,
      envelope: true,
      // Postbox does not document SMTPUTF8: a non-ASCII local part is refused before sending.
      smtpUtf8: false,
      concurrency: resolved.concurrency,
    },

    // Called only for a message the capabilities allow, while open and not aborted.
    async send(message, { signal }) {
      // Rendered once per message (cached), without the Bcc header: recipients go in `to`, the envelope.
      const mime = await renderMimeParts(message);
      const answer = await call(postboxSendRequest(endpoint, message, mime.toBuffer()), signal);
      if (answer.status !== 201) throw mapPostboxError(postboxFailureOf(answer), context);
      const queued = answer.json();
      // The shell fills in the rest of the receipt: messageId, accepted, attempts, elapsedMs, ...
      return { providerMessageId: typeof queued.id === 'string' ? queued.id : undefined, response: `${answer.status} queued` };
    },

    async verify({ signal }) {
      const answer = await call(postboxAccountRequest(endpoint), signal);
      if (answer.status !== 200) throw mapPostboxError(postboxFailureOf(answer), context);
      const account = answer.json();
      return {
        transport: id,
        checks: [
          { name: 'auth', ok: true, detail: `Postbox accepted the ${resolved.staticKey ? 'API key' : 'access token'}` },
          { name: 'quota', ok: true, detail: `${String(account.sentToday ?? '?')} of ${String(account.dailyQuota ?? '?')} sent today` },
        ],
        details: { account: account.name, dailyQuota: account.dailyQuota, sentToday: account.sentToday },
      };
    },

    close: () => http.close(),
  });
}
