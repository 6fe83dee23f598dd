import { createHash, randomBytes } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import type { EmulatorContext } from '../context.js';
import type { HttpRequest, HttpResponse, Route } from '../http.js';
import type { IssuedToken } from '../tokens.js';
import {
  addressesOf,
  appendAttachments,
  composeJsonMessage,
  exchangeMessageId,
  type GraphMessage,
  type GraphRecipient,
  headerOf,
  rebuildMessage,
  rfc5322Date,
  type SandboxAttachment,
  splitMessage,
} from './compose.js';
import { graphError, graphHeaders, headerValue } from './errors.js';

/** Limits the emulator enforces, with where each comes from. */
export const graphLimits: Readonly<{
  requestBytes: number;
  maxMessageBytes: number;
  minUploadSessionBytes: number;
  maxChunkBytes: number;
  maxRecipients: number;
  maxCustomHeaders: number;
  mailboxConcurrency: number;
}> = Object.freeze({
  // "The maximum request length supported is 4MB." (Graph, for sendMail and every mail write).
  requestBytes: 4 * 1024 * 1024,
  // Exchange Online's message size limit can be raised to 150 MB; the sandbox's mailboxes are set so.
  maxMessageBytes: 150 * 1024 * 1024,
  // attachment: createUploadSession: "between 3 MB and 150 MB"; smaller ones go to the attachments endpoint.
  minUploadSessionBytes: 3_000_000,
  // Upload ranges "up to 4 MB each time".
  maxChunkBytes: 4 * 1024 * 1024,
  // Exchange Online: 500 recipients per message.
  maxRecipients: 500,
  // internetMessageHeaders: at most 5, each named x-... (InvalidInternetMessageHeaderCollection).
  maxCustomHeaders: 5,
  // Outlook service limits: 4 concurrent requests per app per mailbox.
  mailboxConcurrency: 4,
});

// How long a mailbox request holds its slot, so that concurrent requests overlap as they do on
// Exchange (whose answers take tens of milliseconds) and the concurrency limit can be observed.
const processingMs = 10;

const messageProperties = new Set([
  'subject',
  'body',
  'from',
  'sender',
  'toRecipients',
  'ccRecipients',
  'bccRecipients',
  'replyTo',
  'attachments',
  'internetMessageHeaders',
  'internetMessageId',
  'importance',
  'categories',
  'flag',
  'inferenceClassification',
  'isDeliveryReceiptRequested',
  'isReadReceiptRequested',
  'singleValueExtendedProperties',
  'multiValueExtendedProperties',
  'mentions',
]);
const attachmentProperties = new Set([
  'name',
  'contentType',
  'contentBytes',
  'isInline',
  'contentId',
  'contentLocation',
  'size',
  'id',
  'lastModifiedDateTime',
]);

interface Caller {
  readonly token: IssuedToken;
  /** The mailbox address the request acts on. */
  readonly mailbox: string;
  readonly delegated: boolean;
}

interface Draft {
  readonly id: string;
  readonly mailbox: string;
  readonly mode: 'json' | 'mime';
  readonly json: GraphMessage | undefined;
  readonly mime: Buffer | undefined;
  readonly internetMessageId: string;
  readonly attachments: SandboxAttachment[];
  uploads: number;
  size: number;
}

interface UploadSession {
  readonly id: string;
  readonly token: string;
  readonly draftId: string;
  readonly mailbox: string;
  readonly name: string;
  readonly size: number;
  readonly contentType: string;
  readonly isInline: boolean;
  readonly contentId: string | undefined;
  readonly expiresAt: number;
  readonly chunks: Buffer[];
  next: number;
}

type Parsed<T> = { ok: true; value: T } | { ok: false; response: HttpResponse };

/**
 * Microsoft Graph v1.0 mail: sendMail (JSON and MIME), drafts, small attachments, upload
 * sessions with a pre-authenticated upload URL, draft send, and the user object; for
 * `/users/{id}` (app-only or delegated tokens) and `/me` (delegated).
 */
export function graphMailRoutes(context: EmulatorContext): Route[] {
  const microsoft = context.accounts.microsoft;
  const mailboxes = new Map(microsoft.mailboxes.map((address) => [address.toLowerCase(), address]));
  const userIds = new Map(microsoft.mailboxes.map((address) => [userId(address), address]));
  const drafts = new Map<string, Draft>();
  const sessions = new Map<string, UploadSession>();
  const inFlight = new Map<string, number>();

  const base = (request: HttpRequest): string => (request.secure ? context.urls.https : context.urls.http);

  /** Checks the bearer token and resolves the mailbox (`me` or an address or user id). */
  const authorize = (request: HttpRequest, user: string, kind: 'mail' | 'directory'): Parsed<Caller> => {
    const checked = context.tokens.check(headerValue(request, 'authorization'), 'microsoft');
    const unauthorized = (message: string): Parsed<Caller> => ({
      ok: false,
      response: graphError(401, 'InvalidAuthenticationToken', message, {
        request,
        headers: {
          'www-authenticate':
            'Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", client_id="00000003-0000-0000-c000-000000000000"',
        },
      }),
    });
    if (!checked.ok) {
      if (checked.problem === 'missing') return unauthorized('Access token is empty.');
      if (checked.problem === 'expired') return unauthorized('Lifetime validation failed, the token is expired.');
      return unauthorized('CompactToken parsing failed with error code: 80049217');
    }
    const token = checked.token;
    if (!token.scopes.some((scope) => scope.startsWith('https://graph.microsoft.com/'))) {
      return unauthorized('Access token validation failure. Invalid audience.');
    }
    const delegated = token.subject.includes('@');
    if (user === 'me') {
      if (!delegated) {
        return {
          ok: false,
          response: graphError(400, 'BadRequest', '/me request is only valid with delegated authentication flow.', { request }),
        };
      }
      return { ok: true, value: { token, mailbox: mailboxes.get(token.subject.toLowerCase()) ?? token.subject, delegated } };
    }
    const mailbox = mailboxes.get(user.toLowerCase()) ?? userIds.get(user.toLowerCase());
    if (mailbox === undefined) {
      return {
        ok: false,
        response:
          kind === 'directory'
            ? graphError(
                404,
                'Request_ResourceNotFound',
                `Resource '${user}' does not exist or one of its queried reference-property objects are not present.`,
                { request },
              )
            : graphError(404, 'ErrorInvalidUser', `The requested user '${user}' is invalid.`, { request }),
      };
    }
    if (delegated && mailbox.toLowerCase() !== token.subject.toLowerCase()) {
      // A delegated token reaches other mailboxes only with Mail.Send.Shared and a delegate grant.
      return {
        ok: false,
        response: graphError(403, 'ErrorAccessDenied', 'Access is denied. Check credentials and try again.', { request }),
      };
    }
    return { ok: true, value: { token, mailbox, delegated } };
  };

  /**
   * Runs a mailbox request while holding one of its concurrency slots: the fifth request in flight
   * for the same mailbox is answered 429 ApplicationThrottled (MailboxConcurrency), as Outlook does.
   */
  const inMailbox = async (
    request: HttpRequest,
    mailbox: string,
    work: () => Promise<HttpResponse> | HttpResponse,
  ): Promise<HttpResponse> => {
    const key = mailbox.toLowerCase();
    const busy = inFlight.get(key) ?? 0;
    if (busy >= graphLimits.mailboxConcurrency) {
      return graphError(429, 'ApplicationThrottled', 'Application is over its MailboxConcurrency limit.', {
        request,
        headers: { 'retry-after': '1' },
      });
    }
    inFlight.set(key, busy + 1);
    try {
      await delay(processingMs);
      return await work();
    } finally {
      const left = (inFlight.get(key) ?? 1) - 1;
      if (left === 0) inFlight.delete(key);
      else inFlight.set(key, left);
    }
  };

  /** A mailbox route: authorization, then the concurrency slot, then the handler. */
  const mailboxRoute = (
    method: Route['method'],
    suffix: string,
    endpoint: string | undefined,
    handle: (request: HttpRequest, caller: Caller) => Promise<HttpResponse> | HttpResponse,
    kind: 'mail' | 'directory' = 'mail',
  ): Route[] =>
    [`/v1.0/users/:user${suffix}`, `/v1.0/me${suffix}`].map((path) => ({
      method,
      path,
      endpoint,
      maxBodyBytes: graphLimits.requestBytes,
      handle: async (request: HttpRequest) => {
        const caller = authorize(request, path.startsWith('/v1.0/me') ? 'me' : (request.params.user ?? ''), kind);
        if (!caller.ok) return caller.response;
        return inMailbox(request, caller.value.mailbox, () => handle(request, caller.value));
      },
    }));

  const sendMail = async (request: HttpRequest, caller: Caller): Promise<HttpResponse> => {
    const type = contentType(request);
    if (type === 'text/plain') {
      const decoded = decodeMime(request);
      if (!decoded.ok) return decoded.response;
      return deliverMime(request, caller, decoded.value, { operation: 'sendMail (MIME)', path: 'sendMail', saveToSentItems: true });
    }
    const parsed = parseJson(request);
    if (!parsed.ok) return parsed.response;
    const body = parsed.value;
    const unknown = Object.keys(body).find((key) => key !== 'message' && key !== 'saveToSentItems' && !key.startsWith('@odata.'));
    if (unknown !== undefined) return unknownProperty(request, unknown, 'microsoft.graph.sendMail');
    if (typeof body.message !== 'object' || body.message === null) {
      return graphError(400, 'ErrorInvalidParameter', "The value of the parameter 'Message' is empty.", { request });
    }
    const save = body.saveToSentItems;
    if (save !== undefined && save !== true && save !== false && save !== 'true' && save !== 'false') {
      return graphError(400, 'RequestBodyRead', `Cannot convert the literal '${String(save)}' to the expected type 'Edm.Boolean'.`, {
        request,
      });
    }
    const message = checkJsonMessage(request, body.message as Record<string, unknown>);
    if (!message.ok) return message.response;
    const attachments = readJsonAttachments(request, (body.message as Record<string, unknown>).attachments);
    if (!attachments.ok) return attachments.response;
    return deliverJson(request, caller, message.value, attachments.value, {
      operation: 'sendMail (JSON)',
      path: 'sendMail',
      saveToSentItems: save !== false && save !== 'false',
      messageId: message.value.internetMessageId,
      providerMessageId: undefined,
    });
  };

  const createMessage = async (request: HttpRequest, caller: Caller): Promise<HttpResponse> => {
    const id = itemId();
    let draft: Draft;
    if (contentType(request) === 'text/plain') {
      const decoded = decodeMime(request);
      if (!decoded.ok) return decoded.response;
      const { headers } = splitMessage(decoded.value);
      draft = {
        id,
        mailbox: caller.mailbox,
        mode: 'mime',
        json: undefined,
        mime: decoded.value,
        internetMessageId: headerOf(headers, 'message-id') ?? exchangeMessageId(),
        attachments: [],
        uploads: 0,
        size: decoded.value.length,
      };
    } else {
      const parsed = parseJson(request);
      if (!parsed.ok) return parsed.response;
      const message = checkJsonMessage(request, parsed.value);
      if (!message.ok) return message.response;
      const attachments = readJsonAttachments(request, parsed.value.attachments);
      if (!attachments.ok) return attachments.response;
      draft = {
        id,
        mailbox: caller.mailbox,
        mode: 'json',
        json: message.value,
        mime: undefined,
        internetMessageId: message.value.internetMessageId ?? exchangeMessageId(),
        attachments: attachments.value,
        uploads: 0,
        size: request.body.length,
      };
    }
    drafts.set(id, draft);
    return {
      status: 201,
      headers: { ...graphHeaders(request), location: `${base(request)}/v1.0/users('${caller.mailbox}')/messages('${id}')` },
      body: draftResource(request, draft),
    };
  };

  const findDraft = (request: HttpRequest, caller: Caller): Parsed<Draft> => {
    const draft = drafts.get(request.params.messageId ?? '');
    if (draft === undefined || draft.mailbox.toLowerCase() !== caller.mailbox.toLowerCase()) {
      return { ok: false, response: graphError(404, 'ErrorItemNotFound', 'The specified object was not found in the store.', { request }) };
    }
    return { ok: true, value: draft };
  };

  const tooBig = (request: HttpRequest): HttpResponse =>
    graphError(
      400,
      'ErrorMessageSizeExceeded',
      'The message exceeds the maximum supported size., Cannot save changes made to an item to store.',
      {
        request,
      },
    );

  const addAttachment = (request: HttpRequest, caller: Caller): HttpResponse => {
    const found = findDraft(request, caller);
    if (!found.ok) return found.response;
    const parsed = parseJson(request);
    if (!parsed.ok) return parsed.response;
    const read = readJsonAttachments(request, [parsed.value]);
    if (!read.ok) return read.response;
    const attachment = read.value[0] as SandboxAttachment;
    const draft = found.value;
    if (draft.size + attachment.bytes.length > graphLimits.maxMessageBytes) return tooBig(request);
    draft.attachments.push(attachment);
    draft.size += attachment.bytes.length;
    return { status: 201, headers: graphHeaders(request), body: attachmentResource(request, draft, attachment) };
  };

  const createUploadSession = (request: HttpRequest, caller: Caller): HttpResponse => {
    const found = findDraft(request, caller);
    if (!found.ok) return found.response;
    const parsed = parseJson(request);
    if (!parsed.ok) return parsed.response;
    const item = parsed.value.AttachmentItem as Record<string, unknown> | undefined;
    if (typeof item !== 'object' || item === null) {
      return graphError(400, 'ErrorInvalidParameter', "The value of the parameter 'AttachmentItem' is empty.", { request });
    }
    if (item.attachmentType !== 'file') {
      return graphError(
        400,
        'ErrorInvalidParameter',
        `The attachment type '${String(item.attachmentType)}' is not supported; use 'file'.`,
        { request },
      );
    }
    if (typeof item.name !== 'string' || item.name === '')
      return graphError(400, 'ErrorInvalidParameter', "The value of the parameter 'Name' is empty.", { request });
    if (typeof item.size !== 'number' || !Number.isInteger(item.size) || item.size <= 0) {
      return graphError(400, 'ErrorInvalidParameter', "The value of the parameter 'Size' is invalid.", { request });
    }
    if (item.size < graphLimits.minUploadSessionBytes) {
      return graphError(
        400,
        'ErrorAttachmentSizeShouldNotBeLessThanMinimumSize',
        'Attachment size must be greater than the minimum size.',
        { request },
      );
    }
    const draft = found.value;
    if (draft.size + item.size > graphLimits.maxMessageBytes) return tooBig(request);
    const session: UploadSession = {
      id: itemId(),
      token: randomBytes(24).toString('base64url'),
      draftId: draft.id,
      mailbox: caller.mailbox,
      name: item.name,
      size: item.size,
      contentType: typeof item.contentType === 'string' && item.contentType !== '' ? item.contentType : 'application/octet-stream',
      isInline: item.isInline === true,
      contentId: typeof item.contentId === 'string' && item.contentId !== '' ? item.contentId : undefined,
      expiresAt: context.now() + 15 * 60_000,
      chunks: [],
      next: 0,
    };
    sessions.set(session.id, session);
    const uploadUrl = `${base(request)}/api/v2.0/Users/${encodeURIComponent(caller.mailbox)}/Messages/${draft.id}/AttachmentSessions/${session.id}?authtoken=${session.token}`;
    return {
      status: 201,
      headers: graphHeaders(request),
      body: {
        '@odata.context': `${base(request)}/v1.0/$metadata#microsoft.graph.uploadSession`,
        uploadUrl,
        expirationDateTime: new Date(session.expiresAt).toISOString(),
        nextExpectedRanges: ['0-'],
      },
    };
  };

  /** A PUT of one byte range to a pre-authenticated upload URL. */
  const uploadChunk = async (request: HttpRequest): Promise<HttpResponse> => {
    const session = sessions.get(request.params.sessionId ?? '');
    if (headerValue(request, 'authorization') !== undefined) {
      // The URL carries its own token for outlook.office.com; a Graph bearer token there is refused.
      return graphError(
        401,
        'InvalidAudienceForResource',
        'The upload URL is pre-authenticated: do not send an Authorization header with it.',
        {
          request,
        },
      );
    }
    if (
      session === undefined ||
      session.token !== request.url.searchParams.get('authtoken') ||
      session.draftId !== request.params.messageId
    ) {
      return graphError(404, 'ErrorItemNotFound', 'The upload session was not found or its token is not valid.', { request });
    }
    if (session.expiresAt <= context.now()) return graphError(404, 'ErrorItemNotFound', 'The upload session has expired.', { request });
    return inMailbox(request, session.mailbox, () => acceptChunk(request, session));
  };

  const acceptChunk = (request: HttpRequest, session: UploadSession): HttpResponse => {
    const range = /^bytes (\d+)-(\d+)\/(\d+)$/.exec((headerValue(request, 'content-range') ?? '').trim());
    if (range === null)
      return graphError(400, 'InvalidContentRange', 'The Content-Range header is missing or not of the form bytes {start}-{end}/{total}.', {
        request,
      });
    const [start, end, total] = [Number(range[1]), Number(range[2]), Number(range[3])];
    if (total !== session.size) {
      return graphError(400, 'InvalidContentRange', `The total size ${total} does not match the upload session's size ${session.size}.`, {
        request,
      });
    }
    if (start !== session.next) {
      return graphError(416, 'InvalidContentRange', `Bytes must be uploaded in order: expected a range starting at ${session.next}.`, {
        request,
      });
    }
    if (end < start || end >= total || end - start + 1 !== request.body.length) {
      return graphError(400, 'InvalidContentRange', `The range ${start}-${end} does not match the ${request.body.length} bytes sent.`, {
        request,
      });
    }
    session.chunks.push(request.body);
    session.next = end + 1;
    const expiration = new Date(session.expiresAt).toISOString();
    if (session.next < session.size) {
      return {
        status: 200,
        headers: graphHeaders(request),
        body: {
          '@odata.context': `${base(request)}/api/v2.0/$metadata#Users('${session.mailbox}')/Messages('${session.draftId}')/AttachmentSessions/$entity`,
          ExpirationDateTime: expiration,
          // Outlook attachments: "a single value {start}, the location in the file where the next upload should begin".
          nextExpectedRanges: [String(session.next)],
        },
      };
    }
    sessions.delete(session.id);
    const draft = drafts.get(session.draftId);
    if (draft === undefined) return graphError(404, 'ErrorItemNotFound', 'The specified object was not found in the store.', { request });
    const attachment: SandboxAttachment = {
      id: itemId(),
      name: session.name,
      contentType: session.contentType,
      isInline: session.isInline,
      contentId: session.contentId,
      bytes: Buffer.concat(session.chunks, session.size),
    };
    draft.attachments.push(attachment);
    draft.uploads++;
    draft.size += attachment.bytes.length;
    return {
      status: 201,
      headers: {
        ...graphHeaders(request),
        location: `${base(request)}/api/v2.0/Users('${session.mailbox}')/Messages('${draft.id}')/Attachments('${attachment.id}')`,
      },
    };
  };

  const sendDraft = async (request: HttpRequest, caller: Caller): Promise<HttpResponse> => {
    const found = findDraft(request, caller);
    if (!found.ok) return found.response;
    const draft = found.value;
    if (draft.size > graphLimits.maxMessageBytes) return tooBig(request);
    const meta = {
      operation: `send (draft, ${draft.mode === 'mime' ? 'MIME' : 'JSON'})`,
      path: draft.uploads > 0 ? 'draft+upload' : 'draft',
      saveToSentItems: true,
      messageId: draft.internetMessageId,
      providerMessageId: draft.id,
    };
    const response =
      draft.mode === 'mime'
        ? await deliverMime(request, caller, draft.mime as Buffer, { ...meta, attachments: draft.attachments })
        : await deliverJson(request, caller, draft.json as GraphMessage, draft.attachments, meta);
    // Sent: the draft leaves Drafts for Sent Items and its id is no longer valid.
    if (response.status === 202) drafts.delete(draft.id);
    return response;
  };

  const deliverJson = async (
    request: HttpRequest,
    caller: Caller,
    message: GraphMessage,
    attachments: readonly SandboxAttachment[],
    meta: {
      operation: string;
      path: string;
      saveToSentItems: boolean;
      messageId: string | undefined;
      providerMessageId: string | undefined;
    },
  ): Promise<HttpResponse> => {
    const refused = checkSender(request, caller, [message.from?.emailAddress?.address, message.sender?.emailAddress?.address]);
    if (refused !== undefined) return refused;
    const recipients = [...(message.toRecipients ?? []), ...(message.ccRecipients ?? []), ...(message.bccRecipients ?? [])].map(
      (recipient) => recipient.emailAddress?.address ?? '',
    );
    const invalid = checkRecipients(request, recipients);
    if (invalid !== undefined) return invalid;
    const raw = await composeJsonMessage(message, {
      mailbox: { name: displayName(caller.mailbox), address: caller.mailbox },
      messageId: meta.messageId ?? exchangeMessageId(),
      attachments,
      date: new Date(context.now()),
    });
    if (raw.length > graphLimits.maxMessageBytes) return tooBig(request);
    store(caller, raw, recipients, { ...meta, mode: 'json' });
    return { status: 202, headers: graphHeaders(request) };
  };

  const deliverMime = async (
    request: HttpRequest,
    caller: Caller,
    mime: Buffer,
    meta: {
      operation: string;
      path: string;
      saveToSentItems: boolean;
      providerMessageId?: string | undefined;
      messageId?: string | undefined;
      attachments?: readonly SandboxAttachment[] | undefined;
    },
  ): Promise<HttpResponse> => {
    const { headers, body } = splitMessage(mime);
    const refused = checkSender(request, caller, [...addressesOf(headers, 'from'), ...addressesOf(headers, 'sender')]);
    if (refused !== undefined) return refused;
    if (addressesOf(headers, 'from').length === 0) {
      return graphError(400, 'ErrorMimeContentInvalid', 'The MIME content has no From header.', { request });
    }
    const recipients = ['to', 'cc', 'bcc'].flatMap((name) => addressesOf(headers, name));
    const invalid = checkRecipients(request, recipients);
    if (invalid !== undefined) return invalid;
    // Exchange adds the Message-ID and Date a submitted message lacks, and recipients never see Bcc.
    const add: string[] = [];
    if (headerOf(headers, 'message-id') === undefined) add.push(`Message-ID: ${meta.messageId ?? exchangeMessageId()}`);
    if (headerOf(headers, 'date') === undefined) add.push(`Date: ${rfc5322Date(new Date(context.now()))}`);
    const delivered = await appendAttachments(rebuildMessage(headers, body, { drop: ['bcc'], add }), meta.attachments ?? []);
    if (delivered.length > graphLimits.maxMessageBytes) return tooBig(request);
    store(caller, delivered, recipients, { ...meta, mode: 'mime' });
    return { status: 202, headers: graphHeaders(request) };
  };

  const store = (
    caller: Caller,
    raw: Buffer,
    recipients: readonly string[],
    meta: {
      operation: string;
      path: string;
      saveToSentItems: boolean;
      providerMessageId?: string | undefined;
      mode: 'json' | 'mime';
      attachments?: unknown;
    },
  ): void => {
    const seen = new Set<string>();
    const to = recipients.filter((address) => {
      const key = address.toLowerCase();
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
    context.store.add({
      api: 'graph',
      operation: meta.operation,
      envelope: { from: caller.mailbox, to },
      raw,
      providerMessageId: meta.providerMessageId,
      metadata: {
        mode: meta.mode,
        path: meta.path,
        saveToSentItems: meta.saveToSentItems,
        mailbox: caller.mailbox,
        auth: caller.delegated ? 'delegated' : 'app-only',
        clientId: caller.token.clientId,
      },
    });
  };

  const checkSender = (request: HttpRequest, caller: Caller, addresses: readonly (string | undefined)[]): HttpResponse | undefined => {
    const foreign = addresses.find((address) => address !== undefined && address.toLowerCase() !== caller.mailbox.toLowerCase());
    if (foreign === undefined) return undefined;
    return graphError(
      403,
      'ErrorSendAsDenied',
      'The user account which was used to submit this request does not have the right to send mail on behalf of the specified sending account., Cannot submit message.',
      { request },
    );
  };

  const checkRecipients = (request: HttpRequest, recipients: readonly string[]): HttpResponse | undefined => {
    if (recipients.length === 0) {
      return graphError(400, 'ErrorInvalidRecipients', 'At least one recipient is required, but none were found.', { request });
    }
    const bad = recipients.find((address) => !/^[^\s@<>(),;:"]+@[^\s@<>(),;:"]+\.[^\s@<>(),;:"]+$/.test(address));
    if (bad !== undefined) {
      return graphError(
        400,
        'ErrorInvalidRecipients',
        `At least one recipient isn't valid., Recipient '${bad}' isn't resolved. All recipients must be resolved before a message can be submitted.`,
        { request },
      );
    }
    if (recipients.length > graphLimits.maxRecipients) {
      return graphError(
        400,
        'ErrorTooManyRecipients',
        `The message has ${recipients.length} recipients, more than the ${graphLimits.maxRecipients} a message may have.`,
        { request },
      );
    }
    return undefined;
  };

  const deleteDraft = (request: HttpRequest, caller: Caller): HttpResponse => {
    const found = findDraft(request, caller);
    if (!found.ok) return found.response;
    drafts.delete(found.value.id);
    for (const [id, session] of sessions) if (session.draftId === found.value.id) sessions.delete(id);
    return { status: 204, headers: graphHeaders(request) };
  };

  const getUser = (request: HttpRequest, caller: Caller): HttpResponse => {
    const name = displayName(caller.mailbox);
    const [given, ...rest] = name.split(' ');
    return {
      status: 200,
      headers: graphHeaders(request),
      body: {
        '@odata.context': `${base(request)}/v1.0/$metadata#users/$entity`,
        businessPhones: [],
        displayName: name,
        givenName: given ?? null,
        jobTitle: null,
        mail: caller.mailbox,
        mobilePhone: null,
        officeLocation: null,
        preferredLanguage: 'en-US',
        surname: rest.join(' ') || null,
        userPrincipalName: caller.mailbox,
        id: userId(caller.mailbox),
      },
    };
  };

  return [
    ...mailboxRoute('POST', '/sendMail', 'graph.sendMail', sendMail),
    ...mailboxRoute('POST', '/messages', 'graph.createMessage', createMessage),
    ...mailboxRoute('POST', '/messages/:messageId/attachments', 'graph.addAttachment', addAttachment),
    ...mailboxRoute('POST', '/messages/:messageId/attachments/createUploadSession', 'graph.createUploadSession', createUploadSession),
    ...mailboxRoute('POST', '/messages/:messageId/send', 'graph.send', sendDraft),
    ...mailboxRoute('GET', '', 'graph.getUser', getUser, 'directory'),
    // Deleting a draft is not a fault endpoint: clients do it to clean up after a failure.
    ...mailboxRoute('DELETE', '/messages/:messageId', undefined, deleteDraft),
    {
      method: 'PUT',
      path: '/api/v2.0/Users/:user/Messages/:messageId/AttachmentSessions/:sessionId',
      endpoint: 'graph.uploadChunk',
      maxBodyBytes: graphLimits.maxChunkBytes,
      handle: uploadChunk,
    },
  ];
}

function contentType(request: HttpRequest): string {
  return (headerValue(request, 'content-type') ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
}

function parseJson(request: HttpRequest): Parsed<Record<string, unknown>> {
  const type = contentType(request);
  if (request.body.length === 0)
    return { ok: false, response: graphError(400, 'BadRequest', 'Empty Payload. JSON content expected.', { request }) };
  if (type !== 'application/json') {
    return {
      ok: false,
      response: graphError(
        415,
        'UnsupportedMediaType',
        `The content type '${type}' is not supported: use application/json, or text/plain for MIME.`,
        {
          request,
        },
      ),
    };
  }
  try {
    const value = JSON.parse(request.body.toString('utf8')) as unknown;
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) return { ok: true, value: value as Record<string, unknown> };
  } catch {
    // Answered below.
  }
  return {
    ok: false,
    response: graphError(
      400,
      'BadRequest',
      'Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.',
      { request },
    ),
  };
}

/** The MIME bytes of a text/plain body: base64, line breaks allowed, anything else refused. */
function decodeMime(request: HttpRequest): Parsed<Buffer> {
  const text = request.body.toString('latin1').replace(/[\r\n\t ]/g, '');
  if (text === '' || text.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(text)) {
    return {
      ok: false,
      response: graphError(400, 'ErrorMimeContentInvalidBase64String', 'Invalid base64 string for MIME content.', { request }),
    };
  }
  return { ok: true, value: Buffer.from(text, 'base64') };
}

function unknownProperty(request: HttpRequest, name: string, type: string): HttpResponse {
  return graphError(
    400,
    'RequestBodyRead',
    `The property '${name}' does not exist on type '${type}'. Make sure to only use property names that are defined by the type or mark the type as open type.`,
    { request },
  );
}

/** Validates a JSON `message` the way Graph's OData layer and Exchange do. */
function checkJsonMessage(request: HttpRequest, message: Record<string, unknown>): Parsed<GraphMessage> {
  const fail = (response: HttpResponse): Parsed<GraphMessage> => ({ ok: false, response });
  const unknown = Object.keys(message).find((key) => !messageProperties.has(key) && !key.startsWith('@odata.'));
  if (unknown !== undefined) return fail(unknownProperty(request, unknown, 'microsoft.graph.message'));
  const body = message.body as { contentType?: unknown; content?: unknown } | undefined;
  if (body !== undefined && body !== null) {
    const kind = body.contentType;
    if (kind !== undefined && (typeof kind !== 'string' || !/^(text|html)$/i.test(kind))) {
      return fail(
        graphError(
          400,
          'RequestBodyRead',
          `Cannot convert the literal '${String(kind)}' to the expected type 'microsoft.graph.bodyType'.`,
          { request },
        ),
      );
    }
    if (body.content !== undefined && typeof body.content !== 'string') {
      return fail(graphError(400, 'RequestBodyRead', "The value of 'content' must be a string.", { request }));
    }
  }
  for (const field of ['toRecipients', 'ccRecipients', 'bccRecipients', 'replyTo'] as const) {
    const list = message[field];
    if (list === undefined) continue;
    if (!Array.isArray(list) || list.some((entry) => typeof (entry as GraphRecipient)?.emailAddress?.address !== 'string')) {
      return fail(
        graphError(400, 'ErrorInvalidRecipients', `At least one recipient isn't valid., '${field}' has a recipient without an address.`, {
          request,
        }),
      );
    }
  }
  const headers = message.internetMessageHeaders;
  if (headers !== undefined) {
    if (!Array.isArray(headers) || headers.length === 0 || headers.length > 5) {
      // Graph refuses an empty collection with the same error as an over-long one (msgraph-sdk-dotnet#2208).
      return fail(
        graphError(
          400,
          'InvalidInternetMessageHeaderCollection',
          'Maximum number of headers in one message should be less than or equal to 5.',
          {
            request,
          },
        ),
      );
    }
    for (const header of headers as { name?: unknown; value?: unknown }[]) {
      const name = typeof header?.name === 'string' ? header.name : '';
      if (!/^x-/i.test(name)) {
        return fail(
          graphError(400, 'InvalidInternetMessageHeader', `The internet message header name '${name}' should start with 'x-' or 'X-'.`, {
            request,
          }),
        );
      }
      if (typeof header.value !== 'string') {
        return fail(graphError(400, 'InvalidInternetMessageHeader', `The internet message header '${name}' has no value.`, { request }));
      }
    }
  }
  const id = message.internetMessageId;
  if (id !== undefined && (typeof id !== 'string' || !/^<[^<>\s@]+@[^<>\s@]+>$/.test(id))) {
    return fail(graphError(400, 'ErrorInvalidInternetMessageId', `The internet message id '${String(id)}' is not valid.`, { request }));
  }
  return { ok: true, value: message as GraphMessage };
}

/** Reads `fileAttachment`s with their base64 `contentBytes`. */
function readJsonAttachments(request: HttpRequest, list: unknown): Parsed<SandboxAttachment[]> {
  if (list === undefined || list === null) return { ok: true, value: [] };
  if (!Array.isArray(list))
    return { ok: false, response: graphError(400, 'RequestBodyRead', "The value of 'attachments' must be an array.", { request }) };
  const attachments: SandboxAttachment[] = [];
  for (const entry of list as Record<string, unknown>[]) {
    const type = entry?.['@odata.type'];
    if (type !== '#microsoft.graph.fileAttachment' && type !== '#Microsoft.Graph.FileAttachment') {
      return {
        ok: false,
        response: graphError(
          400,
          'ErrorInvalidParameter',
          `The attachment type '${String(type)}' is not supported here; use #microsoft.graph.fileAttachment.`,
          {
            request,
          },
        ),
      };
    }
    const unknown = Object.keys(entry).find((key) => !attachmentProperties.has(key) && !key.startsWith('@odata.'));
    if (unknown !== undefined) return { ok: false, response: unknownProperty(request, unknown, 'microsoft.graph.fileAttachment') };
    if (typeof entry.name !== 'string' || entry.name === '') {
      return { ok: false, response: graphError(400, 'ErrorInvalidParameter', "The value of the parameter 'Name' is empty.", { request }) };
    }
    const bytes = typeof entry.contentBytes === 'string' ? entry.contentBytes.replace(/\s/g, '') : '';
    if (bytes.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(bytes)) {
      return { ok: false, response: graphError(400, 'RequestBodyRead', "The value of 'contentBytes' is not valid base64.", { request }) };
    }
    attachments.push({
      id: itemId(),
      name: entry.name,
      contentType: typeof entry.contentType === 'string' && entry.contentType !== '' ? entry.contentType : 'application/octet-stream',
      isInline: entry.isInline === true,
      contentId: typeof entry.contentId === 'string' && entry.contentId !== '' ? entry.contentId : undefined,
      bytes: Buffer.from(bytes, 'base64'),
    });
  }
  return { ok: true, value: attachments };
}

function draftResource(request: HttpRequest, draft: Draft): Record<string, unknown> {
  const now = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
  const base = request.secure ? 'https' : 'http';
  let summary: Record<string, unknown>;
  if (draft.mode === 'json') {
    const json = draft.json as GraphMessage;
    summary = {
      subject: json.subject ?? '',
      body: { contentType: json.body?.contentType?.toLowerCase() === 'html' ? 'html' : 'text', content: json.body?.content ?? '' },
      toRecipients: json.toRecipients ?? [],
      ccRecipients: json.ccRecipients ?? [],
      bccRecipients: json.bccRecipients ?? [],
      replyTo: json.replyTo ?? [],
    };
  } else {
    const { headers } = splitMessage(draft.mime as Buffer);
    const recipients = (name: string): GraphRecipient[] =>
      addressesOf(headers, name).map((address) => ({ emailAddress: { address, name: address } }));
    summary = {
      subject: headerOf(headers, 'subject') ?? '',
      toRecipients: recipients('to'),
      ccRecipients: recipients('cc'),
      bccRecipients: recipients('bcc'),
      replyTo: recipients('reply-to'),
    };
  }
  const sender = { emailAddress: { name: displayName(draft.mailbox), address: draft.mailbox } };
  return {
    '@odata.context': `${base}://graph/v1.0/$metadata#users('${draft.mailbox}')/messages/$entity`,
    '@odata.etag': `W/"${randomBytes(12).toString('base64')}"`,
    id: draft.id,
    createdDateTime: now,
    lastModifiedDateTime: now,
    changeKey: randomBytes(12).toString('base64'),
    categories: [],
    receivedDateTime: now,
    sentDateTime: now,
    hasAttachments: draft.attachments.length > 0,
    internetMessageId: draft.internetMessageId,
    importance: 'normal',
    parentFolderId: 'drafts',
    conversationId: randomBytes(16).toString('base64url'),
    isDeliveryReceiptRequested: false,
    isReadReceiptRequested: false,
    isRead: true,
    isDraft: true,
    webLink: `https://outlook.office365.com/owa/?ItemID=${encodeURIComponent(draft.id)}&exvsurl=1&viewmodel=ReadMessageItem`,
    inferenceClassification: 'focused',
    sender,
    from: sender,
    flag: { flagStatus: 'notFlagged' },
    ...summary,
  };
}

function attachmentResource(request: HttpRequest, draft: Draft, attachment: SandboxAttachment): Record<string, unknown> {
  return {
    '@odata.context': `${request.secure ? 'https' : 'http'}://graph/v1.0/$metadata#users('${draft.mailbox}')/messages('${draft.id}')/attachments/$entity`,
    '@odata.type': '#microsoft.graph.fileAttachment',
    '@odata.mediaContentType': attachment.contentType,
    id: attachment.id,
    lastModifiedDateTime: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
    name: attachment.name,
    contentType: attachment.contentType,
    size: attachment.bytes.length,
    isInline: attachment.isInline,
    contentId: attachment.contentId ?? null,
    contentLocation: null,
  };
}

/** An Exchange-looking item id: `AAMkAD...=`, URL-safe. */
function itemId(): string {
  return `AAMkAD${randomBytes(30).toString('base64url')}`;
}

/** A stable directory object id for a mailbox address. */
function userId(address: string): string {
  const hex = createHash('sha256').update(address.toLowerCase()).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** `sender@contoso.example` -> `Sender`. */
function displayName(address: string): string {
  const local = address.slice(0, address.indexOf('@'));
  return local
    .split(/[._-]+/)
    .filter((part) => part !== '')
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join(' ');
}
