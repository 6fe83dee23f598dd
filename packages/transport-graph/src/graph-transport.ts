import {
  copyMessage,
  type DefinedTransport,
  defineTransport,
  type EmailMessage,
  MailError,
  readAttachment,
  readJson,
  renderMimeParts,
  type SendOptions,
  type SendResult,
  type SentLookup,
  type VerifyReport,
} from '@mailport/core';
import { createHttpClient, type HttpClient, HttpError } from '@mailport/core/http';
import { Client, ResponseType } from '@microsoft/microsoft-graph-client';
import { type GraphFailure, type GraphOperation, mapGraphError } from './graph-errors.js';
import { GraphAuthMiddleware, GraphCallState, HttpClientHandler } from './graph-middleware.js';
import { type GraphTransportOptions, type ResolvedGraphOptions, resolveGraphOptions } from './graph-options.js';
import {
  base64Length,
  graphLimits,
  jsonHeaderRule,
  jsonModeProblem,
  planSend,
  type ReadAttachment,
  type SendPlan,
  toFileAttachment,
  toGraphJsonMessage,
  uploadSessionRequest,
} from './graph-request.js';

/**
 * The Graph transport: a `Transport` whose `verify()` reads the mailbox (`GET /users/{sender}` or `/me`)
 * and whose `lookup` looks for a Message-ID in its Sent Items (needs Mail.ReadBasic or Mail.Read).
 */
export type GraphTransport = DefinedTransport<{ lookup(messageId: string, options?: SendOptions): Promise<SentLookup> }>;

/** A Graph answer that was not an error. */
interface GraphAnswer {
  readonly status: number;
  readonly headers: Headers;
  readonly json: Record<string, unknown>;
}

/**
 * Builds the Graph client mailport uses: `Client.initWithMiddleware` with an auth middleware fed
 * by `tokenProvider` (one forced refresh and one retry on a 401) and a last handler that sends
 * through core's HTTP client. No RetryHandler: it would resend sendMail on 429 and 5xx, and Graph may
 * have sent the message already; retries are core's, by error class.
 *
 * @example
 * ```ts
 * const http = createHttpClient({ ca: readFileSync('ca.pem'), timeoutMs: 120_000 });
 * const client = createGraphClient({ tokenProvider, origin: 'https://graph.microsoft.com', version: 'v1.0' }, http);
 * const me = await client.api('/users/noreply@contoso.com').get();
 * ```
 */
export function createGraphClient(options: Pick<ResolvedGraphOptions, 'tokenProvider' | 'origin' | 'version'>, http: HttpClient): Client {
  return Client.initWithMiddleware({
    baseUrl: options.origin,
    defaultVersion: options.version,
    middleware: [new GraphAuthMiddleware(options.tokenProvider), new HttpClientHandler(http)],
  });
}

/**
 * Creates a Microsoft Graph transport. MIME mode (default) posts the rendered message to
 * `sendMail` as base64, so every header, the Message-ID, Bcc handling and multipart/alternative
 * are exactly what core rendered. Messages over one request (about 4 MB) go as a draft: the
 * draft carries the message without its large attachments, which are added through upload
 * sessions (3 MB and more, in ranges of 4 MB) or the attachments endpoint, and the draft is then
 * sent; up to 150 MB. At most 4 requests are in flight to the mailbox.
 *
 * @example
 * ```ts
 * const transport = createGraphTransport({
 *   sender: 'noreply@contoso.com',
 *   auth: { tenantId: '...', clientId: '...', clientSecret: new Secret(process.env.AZURE_CLIENT_SECRET ?? '') },
 * });
 * await createMailer({ transport }).send({ from: 'noreply@contoso.com', to: 'ana@example.com', subject: 'Hi', text: 'Hello' });
 * ```
 */
export function createGraphTransport(input: GraphTransportOptions): GraphTransport {
  const options = resolveGraphOptions(input);
  const id = options.id;
  const http = createHttpClient({ ca: options.ca, timeoutMs: options.timeoutMs });
  const client = options.client ?? createGraphClient(options, http);
  const userPath = options.delegated ? '/me' : `/users/${encodeURIComponent(options.sender)}`;
  const mailbox = options.delegated ? 'me' : options.sender;
  const permits = createSemaphore(options.concurrency);
  const errorContext = { transport: id, mailbox };

  /** One Graph call through the client, holding a mailbox permit. */
  const call = (
    operation: GraphOperation,
    method: 'GET' | 'POST' | 'DELETE',
    path: string,
    body: { json: unknown } | { mime: string } | { empty: true } | undefined,
    signal: AbortSignal | undefined,
  ): Promise<GraphAnswer> =>
    permits.run(signal, async () => {
      const state = new GraphCallState(signal);
      let request = client.api(path).middlewareOptions([state]).responseType(ResponseType.RAW);
      let payload: string | undefined;
      if (body !== undefined && 'mime' in body) {
        request = request.header('Content-Type', 'text/plain');
        payload = body.mime;
      } else if (body !== undefined && 'json' in body) {
        request = request.header('Content-Type', 'application/json');
        payload = JSON.stringify(body.json);
      } else if (body !== undefined) {
        payload = '';
      }
      let response: Response;
      try {
        response = (await (method === 'GET'
          ? request.get()
          : method === 'DELETE'
            ? request.delete()
            : request.post(payload ?? ''))) as Response;
      } catch (error) {
        throw callFailure(error, state, operation, signal);
      }
      const text = await response.text();
      const json = readJson(text);
      if (response.ok) return { status: response.status, headers: response.headers, json };
      const graphError = (json.error ?? {}) as { code?: unknown; message?: unknown; innerError?: { 'request-id'?: unknown } };
      const failure: GraphFailure = {
        operation,
        status: response.status,
        code: typeof graphError.code === 'string' ? graphError.code : undefined,
        message: typeof graphError.message === 'string' ? graphError.message : text.slice(0, 300) || `HTTP ${response.status}`,
        requestId: response.headers.get('request-id') ?? undefined,
        retryAfter: response.headers.get('retry-after') ?? undefined,
      };
      throw mapGraphError(failure, errorContext);
    });

  /** What a call that got no Graph answer becomes: a token error, or a mapped network failure. */
  const callFailure = (error: unknown, state: GraphCallState, operation: GraphOperation, signal: AbortSignal | undefined): unknown => {
    // The shell rejects with the caller's own reason.
    if (signal?.aborted === true) return error;
    // A token provider's MailError, which the shell tags with this transport.
    const inner = MailError.isInstance(state.thrown) ? state.thrown : findMailError(error);
    if (inner !== undefined) return inner;
    const failure = state.failure ?? HttpError.find(error);
    if (failure !== undefined) return mapGraphError({ operation, message: failure.message, network: failure }, errorContext);
    // Something failed that cannot say where it stopped: assume the worst, that the body went out.
    const message = error instanceof Error ? error.message : String(error);
    return mapGraphError({ operation, message, network: { code: undefined, handedOver: true, timedOut: false } }, errorContext);
  };

  /** A PUT of one range to the pre-authenticated upload URL: no Authorization header, not through the Graph client. */
  const putRange = (
    url: URL,
    bytes: Buffer,
    start: number,
    end: number,
    total: number,
    signal: AbortSignal | undefined,
  ): Promise<number | 'done'> =>
    permits.run(signal, async () => {
      const answer = await http
        .send({
          method: 'PUT',
          url,
          headers: { 'content-type': 'application/octet-stream', 'content-range': `bytes ${start}-${end}/${total}` },
          body: bytes.subarray(start, end + 1),
          signal,
        })
        .catch((error: unknown) => {
          if (!HttpError.isInstance(error)) throw error;
          throw mapGraphError({ operation: 'uploadChunk', message: error.message, network: error }, errorContext);
        });
      if (answer.status === 201) return 'done';
      const json = answer.json();
      if (answer.status === 200) {
        const next = Number.parseInt(String((json.nextExpectedRanges as unknown[] | undefined)?.[0] ?? ''), 10);
        return Number.isFinite(next) ? next : end + 1;
      }
      const graphError = (json.error ?? {}) as { code?: unknown; message?: unknown };
      throw mapGraphError(
        {
          operation: 'uploadChunk',
          status: answer.status,
          code: typeof graphError.code === 'string' ? graphError.code : undefined,
          message: typeof graphError.message === 'string' ? graphError.message : `HTTP ${answer.status}`,
          retryAfter: answer.headers['retry-after'],
        },
        errorContext,
      );
    });

  const upload = async (draftId: string, entry: ReadAttachment, index: number, signal: AbortSignal | undefined): Promise<void> => {
    const session = await call(
      'createUploadSession',
      'POST',
      `${userPath}/messages/${encodeURIComponent(draftId)}/attachments/createUploadSession`,
      { json: uploadSessionRequest(entry, index) },
      signal,
    );
    const uploadUrl = new URL(String(session.json.uploadUrl));
    const total = entry.bytes.length;
    let start = 0;
    while (start < total) {
      const end = Math.min(total, start + graphLimits.chunkBytes) - 1;
      const next = await putRange(uploadUrl, entry.bytes, start, end, total, signal);
      if (next === 'done') return;
      if (next <= start) {
        throw new MailError(
          'transient',
          `${id}: the upload of ${entry.attachment.filename ?? 'an attachment'} did not advance past byte ${start}`,
          {
            transport: id,
            remediation: 'mailport retries it with a new draft.',
          },
        );
      }
      start = next;
    }
    throw new MailError(
      'transient',
      `${id}: the upload of ${entry.attachment.filename ?? 'an attachment'} ended without Graph confirming it`,
      {
        transport: id,
      },
    );
  };

  /** The message with only `kept` of its attachments: what a draft carries when the others travel separately. */
  const draftOf = (message: EmailMessage, kept: readonly ReadAttachment[]): EmailMessage =>
    copyMessage(message, { attachments: kept.map((entry) => entry.attachment) });

  const readAll = (message: EmailMessage): Promise<ReadAttachment[]> =>
    Promise.all(message.attachments.map(async (attachment) => ({ attachment, bytes: await readAttachment(attachment) })));

  /** The JSON request size of a message with `kept` attachments, without building the base64. */
  const jsonSize = (message: EmailMessage, kept: readonly ReadAttachment[]): number =>
    Buffer.byteLength(JSON.stringify({ message: toGraphJsonMessage(message, []), saveToSentItems: options.saveToSentItems })) +
    kept.reduce((sum, entry) => sum + base64Length(entry.bytes.length) + 300 + Buffer.byteLength(entry.attachment.filename ?? ''), 0);

  const sendAsDraft = async (
    message: EmailMessage,
    plan: Extract<SendPlan, { kind: 'draft' }>,
    signal: AbortSignal | undefined,
  ): Promise<{ draftId: string; uploads: number }> => {
    const draftBody =
      options.mode === 'mime'
        ? { mime: (await renderMimeParts(draftOf(message, plan.inDraft), { keepBcc: true })).toBuffer().toString('base64') }
        : { json: toGraphJsonMessage(message, plan.inDraft) };
    const created = await call('createMessage', 'POST', `${userPath}/messages`, draftBody, signal);
    const draftId = String(created.json.id ?? '');
    if (draftId === '') throw new MailError('transient', `${id}: Graph created a draft without an id`, { transport: id });
    const draftPath = `${userPath}/messages/${encodeURIComponent(draftId)}`;
    try {
      for (const entry of plan.posted) {
        await call(
          'addAttachment',
          'POST',
          `${draftPath}/attachments`,
          { json: toFileAttachment(entry, message.attachments.indexOf(entry.attachment)) },
          signal,
        );
      }
      for (const entry of plan.uploaded) await upload(draftId, entry, message.attachments.indexOf(entry.attachment), signal);
    } catch (error) {
      // Nothing was sent: leave no half-built draft behind (best effort, without the caller's signal).
      await call('deleteDraft', 'DELETE', draftPath, undefined, undefined).catch(() => undefined);
      throw error;
    }
    await call('send', 'POST', `${draftPath}/send`, { empty: true }, signal);
    return { draftId, uploads: plan.uploaded.length };
  };

  // The shell has checked the capabilities: 500 recipients, no SMTPUTF8, no envelope, 150 MB, and in
  // JSON mode the 5 x- headers; JSON mode's other gaps are checked here.
  const send = async (message: EmailMessage, sendOptions: SendOptions): Promise<SendResult> => {
    const signal = sendOptions.signal;
    if (options.mode === 'json') {
      const problem = jsonModeProblem(message);
      if (problem !== undefined) {
        throw new MailError('unsupported', `${id} (JSON mode) cannot send this message: ${problem}`, {
          transport: id,
          field: 'headers',
          remediation: 'Use mode=mime (the default), which sends every header as written.',
        });
      }
    }

    let plan: SendPlan;
    let single: { mime: string } | { json: unknown };
    if (options.mode === 'mime') {
      // Graph reads the recipients of a MIME message from its headers, Bcc included; Exchange drops Bcc before delivery.
      const mime = await renderMimeParts(message, { keepBcc: true });
      const size = base64Length(mime.size);
      plan =
        size <= graphLimits.requestBytes
          ? { kind: 'single' }
          : await planSend(size, await readAll(message), async (kept) =>
              base64Length((await renderMimeParts(draftOf(message, kept), { keepBcc: true })).size),
            );
      single = plan.kind === 'single' ? { mime: mime.toBuffer().toString('base64') } : { mime: '' };
    } else {
      const attachments = await readAll(message);
      plan = await planSend(jsonSize(message, attachments), attachments, async (kept) => jsonSize(message, kept));
      single =
        plan.kind === 'single'
          ? { json: { message: toGraphJsonMessage(message, attachments), saveToSentItems: options.saveToSentItems } }
          : { json: {} };
    }
    signal?.throwIfAborted();

    let draft: { draftId: string; uploads: number } | undefined;
    if (plan.kind === 'single') {
      await call('sendMail', 'POST', `${userPath}/sendMail`, single, signal);
    } else {
      draft = await sendAsDraft(message, plan, signal);
    }
    // Graph sendMail: 202 and no body; the Message-ID is core's, the receipt's default.
    return {
      providerMessageId: draft?.draftId,
      response: '202 Accepted',
      details: {
        mode: options.mode,
        path: draft === undefined ? 'sendMail' : draft.uploads > 0 ? 'draft+upload' : 'draft',
        saveToSentItems: draft === undefined && options.mode === 'json' ? options.saveToSentItems : true,
      },
    };
  };

  const verify = async (verifyOptions: SendOptions): Promise<VerifyReport> => {
    const answer = await call('getUser', 'GET', userPath, undefined, verifyOptions.signal);
    const user = answer.json;
    const address = String(user.mail ?? user.userPrincipalName ?? options.sender);
    return {
      transport: id,
      checks: [
        { name: 'auth', ok: true, detail: `Graph accepted the ${options.delegated ? 'delegated' : 'app-only'} token` },
        { name: 'mailbox', ok: true, detail: `${String(user.displayName ?? '')} <${address}>`.trim() },
      ],
      details: {
        mailbox: address,
        displayName: user.displayName,
        userPrincipalName: user.userPrincipalName,
        id: user.id,
        mode: options.mode,
        endpoint: `${options.origin}/${options.version}`,
      },
    };
  };

  /**
   * The mailbox's Sent Items by internetMessageId. Needs Mail.ReadBasic or Mail.Read (the send needs
   * only Mail.Send); finds nothing for messages sent with saveToSentItems off, and Exchange files a
   * message there a little after sendMail's 202, so `not-found` soon after a send is no proof.
   * Any failure is `unknown`.
   */
  const lookup = async (messageId: string, lookupOptions: SendOptions = {}): Promise<SentLookup> => {
    // OData string literals double their single quotes.
    const filter = `internetMessageId eq '${messageId.replaceAll("'", "''")}'`;
    const path = `${userPath}/mailFolders/sentitems/messages?$filter=${encodeURIComponent(filter)}&$select=id&$top=1`;
    try {
      const answer = await call('listSentItems', 'GET', path, undefined, lookupOptions.signal);
      const found = answer.json.value;
      return Array.isArray(found) && found.length > 0 ? 'sent' : 'not-found';
    } catch {
      return 'unknown';
    }
  };

  return defineTransport(
    {
      id,
      name: 'GraphTransport',
      capabilities: {
        maxMessageSize: graphLimits.maxMessageBytes,
        maxRecipients: graphLimits.maxRecipients,
        // MIME mode sends every header as written; JSON mode's internetMessageHeaders take at most 5, named x-....
        customHeaders: options.mode === 'mime' ? true : jsonHeaderRule,
        envelope: false,
        smtpUtf8: false,
        concurrency: options.concurrency,
        // Exchange Online rebuilds the message from the mailbox and signs it for the domain itself.
        dkim: {
          remediation:
            'Exchange Online signs what Graph sends with your domain’s own key: turn it on in the Microsoft Defender portal (Email & collaboration > Policies & rules > Threat policies > Email authentication settings > DKIM) or with New-DkimSigningConfig in Exchange Online PowerShell, and leave dkim out of the mailer for this transport; or send DKIM-signed mail over SMTP or SES.',
        },
      },
      send,
      verify,
      close: () => http.close(),
    },
    { lookup },
  );
}

/** A MailError carried inside an error the Graph SDK wrapped (a token provider's error thrown in the middleware). */
function findMailError(error: unknown): MailError | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current !== undefined && current !== null; depth++) {
    if (MailError.isInstance(current)) return current;
    current = (current as { cause?: unknown; baseError?: unknown }).baseError ?? (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/** Permits for requests in flight; waiters are served in order and may give up with their signal. */
function createSemaphore(size: number): { run<T>(signal: AbortSignal | undefined, work: () => Promise<T>): Promise<T> } {
  let free = size;
  const waiting: { grant: () => void; signal: AbortSignal | undefined }[] = [];
  const release = (): void => {
    const next = waiting.shift();
    if (next === undefined) free++;
    else next.grant();
  };
  const acquire = (signal: AbortSignal | undefined): Promise<void> => {
    if (signal?.aborted === true) return Promise.reject(signal.reason);
    if (free > 0) {
      free--;
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const entry = {
        signal,
        grant: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      const onAbort = (): void => {
        const index = waiting.indexOf(entry);
        if (index !== -1) waiting.splice(index, 1);
        reject(signal?.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      waiting.push(entry);
    });
  };
  return {
    async run(signal, work) {
      await acquire(signal);
      try {
        return await work();
      } finally {
        release();
      }
    },
  };
}
