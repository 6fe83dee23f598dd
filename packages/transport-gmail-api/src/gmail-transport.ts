import { gmail, type gmail_v1 } from '@googleapis/gmail';
import {
  capabilityError,
  type DefinedTransport,
  defineTransport,
  type EmailMessage,
  isBeforeConnect,
  MailError,
  raceAbort,
  readJson,
  renderMimeParts,
  type SendOptions,
  type SendResult,
  type SentLookup,
  sizeProblem,
  type TransportCapabilities,
  type VerifyCheck,
  type VerifyReport,
} from '@mailport/core';
import { createHttpClient, type HttpClient, HttpError } from '@mailport/core/http';
import { type GmailFailure, type GmailOperation, googleApiError, mapGmailError } from './gmail-errors.js';
import { type GmailTransportOptions, gmailMaxRecipients, resolveGmailOptions } from './gmail-options.js';
import { type GmailSendRequest, gmailSendRequest, matchSendAs, threadIdOf } from './gmail-request.js';

/**
 * The Gmail API transport: a `Transport` whose `verify` reads the profile and the send-as addresses,
 * and whose `lookup` searches the mailbox by Message-ID (needs the gmail.readonly scope).
 */
export type GmailTransport = DefinedTransport<{ lookup(messageId: string, options?: SendOptions): Promise<SentLookup> }>;

/** The addresses the account may send as, and where they came from. */
interface SendAsList {
  readonly addresses: readonly string[];
  /** `send-as`: users.settings.sendAs.list; `profile`: only the primary address (getProfile); `configured`: only `user`. */
  readonly source: 'send-as' | 'profile' | 'configured';
  readonly fetchedAt: number;
}

// A cached send-as list is fetched again when a From is missing from it, but not more often than this.
const sendAsRefetchMs = 10_000;

/**
 * Creates a Gmail API transport over @googleapis/gmail. Every message is rendered once by
 * `@mailport/core` with its Bcc header kept (Gmail reads the recipients from To, Cc and Bcc, and
 * delivers no Bcc header), then sent as base64url `raw` JSON, or through the upload endpoint
 * when that JSON body would be over `uploadThreshold` (5 MB), up to 35 MB. A 413 from the JSON
 * endpoint (Google refused the body before reading it) sends it once more through the upload
 * endpoint.
 *
 * Before the first send the From is checked against the account's send-as addresses, because
 * Gmail would otherwise silently send from the primary address. googleapis' own retries are off;
 * on a 401 the token is refreshed once and the request sent once more.
 *
 * Replies join a Gmail thread with `metadata: { 'gmail.threadId': receipt.details.threadId }`.
 *
 * @example
 * ```ts
 * const transport = createGmailTransport({
 *   user: 'billing@example.com',
 *   auth: { clientId, clientSecret: new Secret(secret), refreshToken: new Secret(refreshToken) },
 * });
 * const receipt = await transport.send(createMessage({ from: 'billing@example.com', to: 'ana@example.org', text: 'Hi' }));
 * receipt.details?.threadId; // for a reply in the same thread
 * ```
 */
export function createGmailTransport(input: GmailTransportOptions): GmailTransport {
  const options = resolveGmailOptions(input);
  const { id, user, tokenProvider } = options;
  const userId = user;
  const host = new URL(options.endpoint).host;
  let client: gmail_v1.Gmail | undefined;
  let http: HttpClient | undefined;
  let sendAs: SendAsList | undefined;
  let loadingSendAs: Promise<SendAsList> | undefined;

  // HTTPS_PROXY and friends are honoured by gaxios's own fetch and agent; core's client would bypass
  // them. Behind a proxy, hand-over cannot be watched, and a failure after connecting counts as handed over.
  const proxied = ['HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy'].some((name) => (environment(name) ?? '') !== '');

  const api = (): gmail_v1.Gmail => {
    client ??= gmail({ version: 'v1' });
    return client;
  };
  /** gaxios sends through core's HTTP client, whose errors say whether the body was handed over. */
  const transportOptions = (): { fetchImplementation: HttpClient['fetch'] } | { timeout: number } => {
    if (proxied) return { timeout: options.timeoutMs };
    http ??= createHttpClient({ connectTimeoutMs: options.connectionTimeoutMs, timeoutMs: options.timeoutMs });
    return { fetchImplementation: http.fetch };
  };

  /** Per-call options: googleapis ignores a client-level rootUrl for uploads, so it goes on every call. */
  const callOptions = (token: string, signal: AbortSignal | undefined, headers: Record<string, string> = {}) => ({
    rootUrl: options.endpoint,
    // Core owns retries: googleapis retries by default (GETs and connection failures).
    retry: false,
    // gaxios's types take no explicit undefined: without a signal the key is left out.
    ...(signal === undefined ? {} : { signal }),
    ...transportOptions(),
    headers: { authorization: `Bearer ${token}`, ...headers },
  });

  const getToken = async (signal: AbortSignal | undefined, refusedToken?: string): Promise<string> => {
    try {
      const token = await tokenProvider.getAccessToken({ signal, forceRefresh: refusedToken !== undefined, refusedToken });
      return token.token;
    } catch (error) {
      // The shell tags a MailError with this transport, and turns an abort into the caller's reason.
      if (MailError.isInstance(error) || signal?.aborted === true) throw error;
      throw new MailError('auth', `${id}: could not get an access token: ${error instanceof Error ? error.message : String(error)}`, {
        transport: id,
        remediation: 'Check the token provider and the OAuth credentials it uses.',
      });
    }
  };

  /**
   * One API call with a token; on a 401 the token is refreshed once and the call made once more
   * (Google refused the request before acting on it, so it cannot be a duplicate).
   */
  const call = async <T>(
    operation: GmailOperation,
    signal: AbortSignal | undefined,
    run: (token: string) => Promise<{ data: T }>,
  ): Promise<T> => {
    let token = await getToken(signal);
    for (let round = 0; ; round++) {
      try {
        return (await run(token)).data;
      } catch (error) {
        // The caller's abort, however gaxios wrapped it: the shell rejects with the signal's own reason.
        if (signal?.aborted === true) throw error;
        const failure = failureFrom(error, operation);
        if (failure.status === 401 && round === 0) {
          token = await getToken(signal, token);
          continue;
        }
        throw mapGmailError(failure, { transport: id, host });
      }
    }
  };

  const fetchSendAs = async (signal: AbortSignal | undefined): Promise<SendAsList> => {
    const fetchedAt = Date.now();
    try {
      const list = await call<gmail_v1.Schema$ListSendAsResponse>('sendAs.list', signal, (token) =>
        api().users.settings.sendAs.list({ userId }, callOptions(token, signal)),
      );
      // Only verified aliases can send; the primary address has no verification status.
      const addresses = (list.sendAs ?? [])
        .filter((entry) => entry.isPrimary === true || entry.verificationStatus === 'accepted' || entry.verificationStatus == null)
        .map((entry) => entry.sendAsEmail ?? '')
        .filter((address) => address !== '');
      return { addresses, source: 'send-as', fetchedAt };
    } catch (error) {
      if (!isScopeError(error)) throw error;
    }
    // gmail.send alone may read neither list: fall back to the profile, then to the configured address.
    try {
      const profile = await call<gmail_v1.Schema$Profile>('getProfile', signal, (token) =>
        api().users.getProfile({ userId }, callOptions(token, signal)),
      );
      if (profile.emailAddress) return { addresses: [profile.emailAddress], source: 'profile', fetchedAt };
    } catch (error) {
      if (!isScopeError(error)) throw error;
    }
    if (user === 'me') {
      throw new MailError('configuration', `${id} cannot check the From: the token may read neither the send-as list nor the profile`, {
        transport: id,
        remediation:
          'Set user to the mailbox address (gmail://user@example.com), grant https://www.googleapis.com/auth/gmail.settings.basic, or set checkSendAs to false.',
      });
    }
    return { addresses: [user], source: 'configured', fetchedAt };
  };

  const loadSendAs = (signal: AbortSignal | undefined): Promise<SendAsList> => {
    // One fetch serves every send waiting for it; it ignores their signals, so one caller giving up fails no other.
    loadingSendAs ??= fetchSendAs(undefined).then(
      (list) => {
        sendAs = list;
        loadingSendAs = undefined;
        return list;
      },
      (error: unknown) => {
        loadingSendAs = undefined;
        throw error;
      },
    );
    return raceAbort(loadingSendAs, signal);
  };

  const assertSender = async (from: string, signal: AbortSignal | undefined): Promise<void> => {
    let list = sendAs ?? (await loadSendAs(signal));
    if (matchSendAs(from, list.addresses) !== undefined) return;
    // A new alias may have been added since the list was read.
    if (Date.now() - list.fetchedAt > sendAsRefetchMs) {
      list = await loadSendAs(signal);
      if (matchSendAs(from, list.addresses) !== undefined) return;
    }
    const allowed = list.addresses.join(', ');
    throw new MailError('sender-rejected', `${id} may not send as ${from}: Gmail would send it from ${list.addresses[0] ?? user} instead`, {
      transport: id,
      field: 'from',
      remediation:
        list.source === 'send-as'
          ? `Use one of the account's send-as addresses (${allowed}), or add and verify ${from} as a send-as alias in Gmail settings.`
          : `Use ${allowed}; the token cannot read the account's aliases, so grant https://www.googleapis.com/auth/gmail.settings.basic to allow them, or set checkSendAs to false.`,
    });
  };

  // The shell checks every capability but the size, which is measured here on what is sent: the
  // rendering with its Bcc header.
  const send = async (message: EmailMessage, sendOptions: SendOptions): Promise<SendResult> => {
    const signal = sendOptions.signal;
    const threadId = threadIdOf(message);
    const mime = await renderMimeParts(message, { keepBcc: true });
    const tooLarge = sizeProblem(mime.size, limits);
    if (tooLarge !== undefined) throw capabilityError(tooLarge, id);
    signal?.throwIfAborted();
    if (options.checkSendAs) await assertSender(message.from.address, signal);
    let request = gmailSendRequest(mime, threadId, { uploadThreshold: options.uploadThreshold });
    const sendBy = (plan: GmailSendRequest): Promise<gmail_v1.Schema$Message> =>
      call<gmail_v1.Schema$Message>('messages.send', signal, (token) => {
        const body = plan.body();
        if (plan.uploadType === 'json') {
          // The JSON body streams from the rendered chunks; googleapis passes a stream through as it is.
          return api().users.messages.send(
            { userId, requestBody: body as unknown as gmail_v1.Schema$Message },
            callOptions(token, signal, { 'content-type': 'application/json', 'content-length': String(plan.length) }),
          );
        }
        const media = { mimeType: plan.contentType, body };
        if (plan.uploadType === 'media') {
          return api().users.messages.send({ userId, media }, callOptions(token, signal, { 'content-length': String(plan.length) }));
        }
        const requestBody = plan.threadId === undefined ? {} : { threadId: plan.threadId };
        return api().users.messages.send({ userId, requestBody, media }, callOptions(token, signal));
      });
    let sent: gmail_v1.Schema$Message;
    let jsonRefused = false;
    try {
      sent = await sendBy(request);
    } catch (error) {
      // Google's front end answers 413 to a JSON body it will not read, whatever uploadThreshold
      // says: the request was refused whole, nothing was accepted, so the upload endpoint (up to
      // 35 MB) takes it, once.
      if (request.uploadType !== 'json' || !MailError.isInstance(error) || error.statusCode !== 413) throw error;
      jsonRefused = true;
      request = gmailSendRequest(mime, threadId, { uploadThreshold: options.uploadThreshold, endpoint: 'upload' });
      sent = await sendBy(request);
    }
    // Gmail keeps a well-formed Message-ID, and core always writes one: the receipt's default.
    return {
      providerMessageId: sent.id ?? undefined,
      response: `Gmail message ${sent.id ?? '?'} in thread ${sent.threadId ?? '?'}`,
      details: {
        threadId: sent.threadId ?? undefined,
        labelIds: sent.labelIds ?? undefined,
        uploadType: request.uploadType,
        ...(jsonRefused ? { jsonRefused: true } : {}),
      },
    };
  };

  const verify = async (verifyOptions: SendOptions): Promise<VerifyReport> => {
    const signal = verifyOptions.signal;
    await getToken(signal);
    const checks: VerifyCheck[] = [{ name: 'auth', ok: true, detail: `access token obtained for ${user}` }];
    const details: Record<string, unknown> = {};
    try {
      const profile = await call<gmail_v1.Schema$Profile>('getProfile', signal, (token) =>
        api().users.getProfile({ userId }, callOptions(token, signal)),
      );
      details.emailAddress = profile.emailAddress;
      details.messagesTotal = profile.messagesTotal;
      checks.push({ name: 'profile', ok: true, detail: `mailbox ${profile.emailAddress}` });
    } catch (error) {
      if (!isScopeError(error)) throw error;
      checks.push({ name: 'profile', ok: true, detail: 'not readable with the granted scopes (gmail.send alone cannot read it)' });
    }
    try {
      const list = await call<gmail_v1.Schema$ListSendAsResponse>('sendAs.list', signal, (token) =>
        api().users.settings.sendAs.list({ userId }, callOptions(token, signal)),
      );
      const addresses = (list.sendAs ?? []).map((entry) => ({
        address: entry.sendAsEmail,
        primary: entry.isPrimary === true,
        verified: entry.isPrimary === true || entry.verificationStatus === 'accepted' || entry.verificationStatus == null,
      }));
      details.sendAs = addresses;
      sendAs = {
        addresses: addresses.filter((entry) => entry.verified).map((entry) => entry.address ?? ''),
        source: 'send-as',
        fetchedAt: Date.now(),
      };
      checks.push({ name: 'send-as', ok: true, detail: addresses.map((entry) => entry.address).join(', ') });
    } catch (error) {
      if (!isScopeError(error)) throw error;
      checks.push({
        name: 'send-as',
        ok: true,
        detail:
          'not readable with the granted scopes: the From is checked against the primary address only (grant gmail.settings.basic for aliases)',
      });
    }
    details.uploadThreshold = options.uploadThreshold;
    details.maxMessageSize = options.maxMessageSize;
    return { transport: id, checks, details };
  };

  const capabilities: TransportCapabilities = Object.freeze({
    maxMessageSize: options.maxMessageSize,
    maxRecipients: gmailMaxRecipients,
    customHeaders: true,
    // Gmail reads the recipients from the headers: there is no separate envelope.
    envelope: false,
    // Gmail sends to and from internationalized addresses (RFC 6530) since 2014.
    smtpUtf8: true,
    concurrency: options.concurrency,
    // Gmail rebuilds the message it is given and signs it for the Workspace domain itself.
    dkim: {
      remediation:
        'Gmail signs what the API sends with your domain’s own key: turn it on in the Google Admin console (Apps > Google Workspace > Gmail > Authenticate email), and leave dkim out of the mailer for this transport; or send DKIM-signed mail over SMTP or SES.',
    },
  });

  const limits = { id, capabilities };

  /**
   * users.messages.list with `q: rfc822msgid:<id>` in the sender's mailbox, where sent mail is kept
   * (label SENT). The `q` search needs gmail.readonly (or gmail.modify, or mail.google.com):
   * gmail.metadata does not allow `q`, and gmail.send reads nothing. Any failure is `unknown`.
   */
  const lookup = async (messageId: string, lookupOptions: SendOptions = {}): Promise<SentLookup> => {
    const signal = lookupOptions.signal;
    const bare = messageId.replace(/^<|>$/g, '');
    try {
      const found = await call('messages.list', signal, (token) =>
        api().users.messages.list({ userId, q: `rfc822msgid:${bare}`, maxResults: 1, includeSpamTrash: true }, callOptions(token, signal)),
      );
      return (found.messages?.length ?? 0) > 0 ? 'sent' : 'not-found';
    } catch {
      return 'unknown';
    }
  };

  return defineTransport(
    {
      id,
      name: 'GmailTransport',
      capabilities,
      skip: ['maxMessageSize'],
      send,
      verify,
      close: () => http?.close(),
    },
    { lookup },
  );
}

/** True for a 403 that says the token lacks the scope (insufficientPermissions). */
function isScopeError(error: unknown): boolean {
  return MailError.isInstance(error) && error.statusCode === 403 && error.providerCode === 'insufficientPermissions';
}

/** The failure googleapis (gaxios) reported, reduced to what the mapping needs, without the request. */
function failureFrom(error: unknown, operation: GmailOperation): GmailFailure {
  const failure = error as {
    message?: unknown;
    code?: unknown;
    response?: { status?: number; data?: unknown; headers?: { get?: (name: string) => string | null } };
  };
  const status = failure.response?.status;
  // Core's HTTP client says what happened on the connection; gaxios keeps its error as the cause.
  const network = HttpError.find(error);
  const code = network?.code ?? (typeof failure.code === 'string' ? failure.code : undefined);
  const data = failure.response?.data;
  // An HTML page from Google's front end is kept as text.
  const json = typeof data === 'string' ? readJson(data) : undefined;
  const body = json === undefined || Object.keys(json).length === 0 ? data : json;
  return {
    operation,
    status,
    body: status === undefined ? undefined : body,
    retryAfter: failure.response?.headers?.get?.('retry-after') ?? undefined,
    code,
    message: status === undefined ? String(failure.message ?? error) : (googleApiError(body).message ?? `HTTP ${status}`),
    // Without core's client (behind a proxy) nobody watched: only a failure to connect proves nothing went out.
    handedOver: network === undefined ? !isBeforeConnect(code) : network.handedOver,
  };
}

/**
 * One environment variable where the runtime has `process.env` (a Worker without nodejs_compat
 * has none; Deno without --allow-env refuses to read it): there is no proxy to honour then.
 */
function environment(name: string): string | undefined {
  try {
    return (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env?.[name];
  } catch {
    return undefined;
  }
}
