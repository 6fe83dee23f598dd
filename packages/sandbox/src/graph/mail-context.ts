import { createHash } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import type { EmulatorContext } from '../context.js';
import type { HttpRequest, HttpResponse, Route } from '../http.js';
import type { IssuedToken } from '../tokens.js';
import type { GraphMessage, SandboxAttachment } from './compose.js';
import { graphError, headerValue } from './errors.js';
import { graphLimits, processingMs } from './mail-limits.js';
import type { Parsed } from './mail-request.js';

/** Who called, after {@link GraphMailContext.mailboxRoute} checked the token. */
export interface Caller {
  readonly token: IssuedToken;
  /** The mailbox address the request acts on. */
  readonly mailbox: string;
  readonly delegated: boolean;
}

/** A message created with POST /messages, until it is sent or deleted. */
export interface Draft {
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

/** An attachment upload session and the chunks received so far. */
export interface UploadSession {
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

/**
 * What every Graph mail route group shares: the emulator context, the drafts and upload sessions,
 * and the route shell (authorization, then a mailbox concurrency slot).
 */
export interface GraphMailContext {
  readonly context: EmulatorContext;
  readonly drafts: Map<string, Draft>;
  readonly sessions: Map<string, UploadSession>;
  /** The sandbox's base URL for the listener the request came in on. */
  base(request: HttpRequest): string;
  /**
   * Runs a mailbox request while holding one of its concurrency slots: the fifth request in flight
   * for the same mailbox is answered 429 ApplicationThrottled (MailboxConcurrency), as Outlook does.
   */
  inMailbox(request: HttpRequest, mailbox: string, work: () => Promise<HttpResponse> | HttpResponse): Promise<HttpResponse>;
  /** A mailbox route under `/v1.0/users/{id}` and `/v1.0/me`: authorization, then the concurrency slot, then the handler. */
  mailboxRoute(
    method: Route['method'],
    suffix: string,
    endpoint: string | undefined,
    handle: (request: HttpRequest, caller: Caller) => Promise<HttpResponse> | HttpResponse,
    kind?: 'mail' | 'directory',
  ): Route[];
  /** The caller's draft named by `:messageId`, or 404 ErrorItemNotFound. */
  findDraft(request: HttpRequest, caller: Caller): Parsed<Draft>;
}

/** The shared state of one sandbox's Graph mailboxes: its drafts, upload sessions and requests in flight. */
export function createGraphMailContext(context: EmulatorContext): GraphMailContext {
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

  const findDraft = (request: HttpRequest, caller: Caller): Parsed<Draft> => {
    const draft = drafts.get(request.params.messageId ?? '');
    if (draft === undefined || draft.mailbox.toLowerCase() !== caller.mailbox.toLowerCase()) {
      return { ok: false, response: graphError(404, 'ErrorItemNotFound', 'The specified object was not found in the store.', { request }) };
    }
    return { ok: true, value: draft };
  };

  return { context, drafts, sessions, base, inMailbox, mailboxRoute, findDraft };
}

/** A stable directory object id for a mailbox address. */
export function userId(address: string): string {
  const hex = createHash('sha256').update(address.toLowerCase()).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** `sender@contoso.example` -> `Sender`. */
export function displayName(address: string): string {
  const local = address.slice(0, address.indexOf('@'));
  return local
    .split(/[._-]+/)
    .filter((part) => part !== '')
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join(' ');
}
