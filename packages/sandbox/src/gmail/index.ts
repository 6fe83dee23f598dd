import type { EmulatorContext } from '../context.js';
import type { Emulator, HttpRequest, HttpResponse } from '../http.js';
import { sentWithMessageId } from '../sent-lookup.js';
import type { StoredMessage } from '../store.js';
import { authorizationErrorPage, googleAuthorizationRoutes } from './authorization.js';
import { createGmailInbox } from './gmail-inbox.js';
import { defaultGoogleError, googleError, oauthError, unauthenticated } from './google-errors.js';
import { createMailboxes, type GmailMailboxes } from './mailbox.js';
import { boundaryOf, parseMultipart } from './multipart.js';
import { handleTokenRequest } from './token-endpoint.js';

/** `mediaUpload.maxSize` of `users.messages.send` in Gmail's discovery document: 35 MiB. */
export const gmailUploadLimit = 36_700_160;

/**
 * Largest JSON request body the sandbox takes on `messages.send` before answering 413, as
 * Google's front end does "at a few MB": 8 MiB, which holds a message of about 6 MB once
 * base64url-encoded (reports put the real limit between 5 and 6.5 MB of message).
 */
export const gmailJsonLimit: number = 8 * 1024 * 1024;

const gmail = 'https://www.googleapis.com/auth/gmail';
// Scopes that allow each method, from Gmail's API reference.
const sendScopes = [
  'https://mail.google.com/',
  `${gmail}.modify`,
  `${gmail}.compose`,
  `${gmail}.send`,
  `${gmail}.addons.current.action.compose`,
];
const profileScopes = ['https://mail.google.com/', `${gmail}.modify`, `${gmail}.compose`, `${gmail}.readonly`, `${gmail}.metadata`];
const sendAsScopes = ['https://mail.google.com/', `${gmail}.modify`, `${gmail}.readonly`, `${gmail}.settings.basic`];

// users.messages.list: gmail.metadata lists too, but does not allow the `q` search.
const listScopes = ['https://mail.google.com/', `${gmail}.modify`, `${gmail}.readonly`];

const methodNames: Readonly<Record<string, string>> = {
  list: 'caribou.api.proto.MailboxService.ListMessages',
  send: 'caribou.api.proto.MailboxService.SendMessage',
  profile: 'caribou.api.proto.MailboxService.GetProfile',
  sendAs: 'caribou.api.proto.MailboxService.ListSendAs',
};

/**
 * The Gmail API (`users.messages.send` over JSON and the upload endpoint, `users.messages.list`, `users.getProfile`,
 * `users.settings.sendAs.list`; the sender's inbox with `users.messages.get`, `users.messages.modify`
 * and `users.labels`, where the scenario recipients' reports arrive) and Google's OAuth token
 * endpoint (`POST /token`), written from Google's documentation and from what @googleapis/gmail and
 * google-auth-library send.
 *
 * Fault endpoints: `gmail.messages.send`, `gmail.messages.list`, `gmail.messages.get`, `gmail.messages.modify`,
 * `gmail.labels.list`, `gmail.labels.create`, `gmail.labels.delete`, `gmail.getProfile`, `gmail.sendAs.list`, `google.token`,
 * `google.authorize` (the authorization endpoint, `GET /o/oauth2/v2/auth`).
 */
export function createGmailEmulator(context: EmulatorContext): Emulator {
  const mailboxes = createMailboxes(context);
  // The sender's inbox (reports of the scenario recipients), its labels, messages.get and modify.
  const inbox = createGmailInbox(context, authorize);
  return {
    name: 'gmail',
    errorResponse: (fault) => {
      // The authorization endpoint is a page in the user's browser: Google shows its error page there.
      if (fault.endpoint === 'google.authorize') {
        return authorizationErrorPage(fault.status, fault.code ?? 'access_denied', fault.message ?? 'Access blocked.');
      }
      if (fault.endpoint === 'google.token') {
        return oauthError(
          fault.status,
          fault.code ?? (fault.status >= 500 ? 'internal_failure' : 'invalid_request'),
          fault.message ?? (fault.status >= 500 ? 'Internal failure.' : 'Bad Request'),
        );
      }
      if (fault.status === 401 && (fault.code === undefined || fault.code === 'authError') && fault.message === undefined)
        return unauthenticated(false);
      const chosen = defaultGoogleError(fault.status, fault.code);
      return googleError(fault.status, chosen.reason, fault.message ?? chosen.message);
    },
    tooLarge: (limit) => {
      if (limit > gmailJsonLimit) return uploadTooLarge();
      if (limit < gmailJsonLimit) return oauthError(413, 'invalid_request', 'Request too large.');
      // Google's front end refuses an oversized JSON body before the API sees it, with its own HTML page.
      return {
        status: 413,
        headers: { 'content-type': 'text/html; charset=UTF-8' },
        body: '<!DOCTYPE html>\n<html lang=en>\n<title>Error 413 (Request Entity Too Large)!!1</title>\n<p><b>413.</b> <ins>That’s an error.</ins>\n<p>Your client issued a request that was too large.  <ins>That’s all we know.</ins>\n',
      };
    },
    routes: [
      ...googleAuthorizationRoutes(context),
      {
        method: 'POST',
        path: '/token',
        endpoint: 'google.token',
        maxBodyBytes: 64 * 1024,
        handle: (request) => handleTokenRequest(request, context),
      },
      {
        method: 'POST',
        path: '/gmail/v1/users/:userId/messages/send',
        endpoint: 'gmail.messages.send',
        maxBodyBytes: gmailJsonLimit,
        handle: (request) => sendJson(request, context, mailboxes),
      },
      {
        method: 'POST',
        path: '/upload/gmail/v1/users/:userId/messages/send',
        endpoint: 'gmail.messages.send',
        // The multipart form carries a small JSON part and boundaries besides the message.
        maxBodyBytes: gmailUploadLimit + 64 * 1024,
        handle: (request) => sendUpload(request, context, mailboxes),
      },
      {
        method: 'GET',
        path: '/gmail/v1/users/:userId/profile',
        endpoint: 'gmail.getProfile',
        handle: (request) => {
          const caller = authorize(request, context, profileScopes, methodNames.profile as string);
          if ('response' in caller) return caller.response;
          const totals = mailboxes.totals(caller.user);
          return json({
            emailAddress: caller.user,
            messagesTotal: totals.messages,
            threadsTotal: totals.threads,
            historyId: mailboxes.historyId(),
          });
        },
      },
      {
        method: 'GET',
        path: '/gmail/v1/users/:userId/messages',
        endpoint: 'gmail.messages.list',
        access: 'api',
        handle: (request) => inbox.list(request) ?? listMessages(request, context),
      },
      ...inbox.routes,
      {
        method: 'GET',
        path: '/gmail/v1/users/:userId/settings/sendAs',
        endpoint: 'gmail.sendAs.list',
        handle: (request) => {
          const caller = authorize(request, context, sendAsScopes, methodNames.sendAs as string);
          if ('response' in caller) return caller.response;
          const [primary, ...aliases] = context.accounts.google.users[caller.user]?.sendAs ?? [caller.user];
          return json({
            sendAs: [
              { sendAsEmail: primary, displayName: '', replyToAddress: '', signature: '', isPrimary: true, isDefault: true },
              ...aliases.map((alias) => ({
                sendAsEmail: alias,
                displayName: '',
                replyToAddress: '',
                signature: '',
                treatAsAlias: true,
                verificationStatus: 'accepted',
              })),
            ],
          });
        },
      },
    ],
  };
}

/**
 * users.messages.list over the user's sent mail; of Gmail's search it knows `rfc822msgid:<id>` only
 * (what a queue asks after a crash), and lists everything the user sent without `q`.
 */
function listMessages(request: HttpRequest, context: EmulatorContext): HttpResponse {
  const query = request.url.searchParams.get('q');
  const caller = authorize(
    request,
    context,
    query === null ? [...listScopes, `${gmail}.metadata`] : listScopes,
    methodNames.list as string,
  );
  if ('response' in caller) return caller.response;
  let wanted: string | undefined;
  if (query !== null && query.trim() !== '') {
    const match = /^\s*rfc822msgid:(\S+)\s*$/i.exec(query);
    if (match === null) return googleError(400, 'invalidArgument', `The sandbox searches by rfc822msgid: only, not: ${query}`);
    wanted = match[1] as string;
  }
  const own = (message: StoredMessage) =>
    message.api === 'gmail' && String(message.metadata.user ?? '').toLowerCase() === caller.user.toLowerCase();
  const found = wanted === undefined ? context.store.list().filter(own) : sentWithMessageId(context.store, wanted, own);
  const max = Number.parseInt(request.url.searchParams.get('maxResults') ?? '100', 10);
  // Newest first, as Gmail lists.
  const page = [...found].reverse().slice(0, Number.isFinite(max) && max > 0 ? Math.min(max, 500) : 100);
  if (page.length === 0) return json({ resultSizeEstimate: 0 });
  return json({
    messages: page.map((message) => ({ id: message.providerMessageId, threadId: message.metadata.threadId })),
    resultSizeEstimate: found.length,
  });
}

function sendJson(request: HttpRequest, context: EmulatorContext, mailboxes: GmailMailboxes): HttpResponse {
  const caller = authorize(request, context, sendScopes, methodNames.send as string);
  if ('response' in caller) return caller.response;
  let resource: { raw?: unknown; threadId?: unknown };
  try {
    resource = JSON.parse(request.body.toString('utf8')) as typeof resource;
    if (typeof resource !== 'object' || resource === null) throw new Error('not an object');
  } catch {
    return googleError(400, 'parseError', 'Invalid JSON payload received. Unexpected token.');
  }
  if (typeof resource.raw !== 'string' || resource.raw === '') {
    return googleError(400, 'badRequest', "'raw' RFC822 payload message string or uploading message via /upload/* URL required", {
      status: 'INVALID_ARGUMENT',
    });
  }
  // A protobuf `bytes` field in JSON: base64 or base64url, padding optional.
  if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(resource.raw)) {
    return googleError(
      400,
      'invalid',
      `Invalid value at 'message.raw' (TYPE_BYTES), Base64 decoding failed for "${resource.raw.slice(0, 40)}"`,
    );
  }
  return mailboxes.send({
    user: caller.user,
    raw: Buffer.from(resource.raw, 'base64url'),
    threadId: typeof resource.threadId === 'string' ? resource.threadId : undefined,
    uploadType: 'json',
  });
}

function sendUpload(request: HttpRequest, context: EmulatorContext, mailboxes: GmailMailboxes): HttpResponse {
  const caller = authorize(request, context, sendScopes, methodNames.send as string);
  if ('response' in caller) return caller.response;
  const uploadType = request.url.searchParams.get('uploadType');
  const contentType = String(request.headers['content-type'] ?? '');
  if (uploadType === 'media') {
    if (!/^message\//i.test(contentType)) return unsupportedMedia(contentType);
    if (request.body.length > gmailUploadLimit) return uploadTooLarge();
    return mailboxes.send({ user: caller.user, raw: request.body, threadId: undefined, uploadType: 'media' });
  }
  if (uploadType === 'multipart') {
    const boundary = /^multipart\/related/i.test(contentType) ? boundaryOf(contentType) : undefined;
    const parts = boundary === undefined ? undefined : parseMultipart(request.body, boundary);
    if (parts === undefined || parts.length !== 2) {
      return googleError(
        400,
        'badRequest',
        'Bad multipart request: expected multipart/related with a JSON metadata part and a media part.',
      );
    }
    const [metadataPart, mediaPart] = parts as [(typeof parts)[0], (typeof parts)[0]];
    let metadata: { threadId?: unknown };
    try {
      metadata = JSON.parse(metadataPart.body.toString('utf8') || '{}') as typeof metadata;
    } catch {
      return googleError(400, 'parseError', 'Invalid JSON payload received. Unexpected token.');
    }
    const mediaType = mediaPart.headers['content-type'] ?? '';
    if (!/^message\//i.test(mediaType)) return unsupportedMedia(mediaType);
    if (mediaPart.body.length > gmailUploadLimit) return uploadTooLarge();
    return mailboxes.send({
      user: caller.user,
      raw: mediaPart.body,
      threadId: typeof metadata.threadId === 'string' ? metadata.threadId : undefined,
      uploadType: 'multipart',
    });
  }
  if (uploadType === null) {
    return googleError(
      400,
      'badRequest',
      'Upload requests must include an uploadType URL parameter and a URL path beginning with /upload/',
    );
  }
  return googleError(400, 'badRequest', `Invalid upload type "${uploadType}": the sandbox takes uploadType=media or multipart`);
}

/**
 * Checks the bearer token, its scopes and the `userId` of the path, in the order Google does:
 * credentials, then scopes, then whose mailbox it is.
 */
function authorize(
  request: HttpRequest,
  context: EmulatorContext,
  scopes: readonly string[],
  method: string,
): { user: string } | { response: HttpResponse } {
  const checked = context.tokens.check(request.headers.authorization, 'google');
  if (!checked.ok) return { response: unauthenticated(checked.problem === 'missing') };
  const token = checked.token;
  if (!token.scopes.some((scope) => scopes.includes(scope))) {
    return {
      response: googleError(403, 'insufficientPermissions', 'Request had insufficient authentication scopes.', {
        details: [
          {
            '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
            reason: 'ACCESS_TOKEN_SCOPE_INSUFFICIENT',
            domain: 'googleapis.com',
            metadata: { method, service: 'gmail.googleapis.com' },
          },
        ],
        headers: {
          'www-authenticate': `Bearer realm="https://accounts.google.com/", error="insufficient_scope", scope="${scopes.join(' ')}"`,
        },
      }),
    };
  }
  const userId = request.params.userId ?? '';
  const user = token.subject;
  if (userId !== 'me' && userId.toLowerCase() !== user.toLowerCase()) {
    return { response: googleError(403, 'forbidden', `Delegation denied for ${userId}`) };
  }
  // A service account's own token (no `sub`) or a user without Gmail: Google's answer for both.
  const known = Object.keys(context.accounts.google.users).find((name) => name.toLowerCase() === user.toLowerCase());
  if (known === undefined)
    return { response: googleError(400, 'failedPrecondition', 'Precondition check failed.', { status: 'FAILED_PRECONDITION' }) };
  return { user: known };
}

function unsupportedMedia(contentType: string): HttpResponse {
  return googleError(400, 'badRequest', `Media type '${contentType}' is not supported. Valid media types: [message/*]`);
}

function uploadTooLarge(): HttpResponse {
  return googleError(413, 'uploadTooLarge', 'Media is too large. Limit: 35MB', { status: 'INVALID_ARGUMENT' });
}

function json(body: object): HttpResponse {
  return { status: 200, headers: { 'content-type': 'application/json; charset=UTF-8' }, body };
}
