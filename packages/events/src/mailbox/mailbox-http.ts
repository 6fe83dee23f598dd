// One authorised API call of a mailbox reader and what its failures mean, as MailErrors.
import { MailError, noAnswerError, type TokenProvider } from '@mailport/core';
import { type HttpClient, HttpError, type HttpResponse, parseRetryAfter } from '@mailport/core/http';

/** A request of a reader: the method, the URL, an optional JSON body. */
export interface MailboxRequest {
  readonly method: 'GET' | 'POST' | 'PATCH';
  readonly url: string;
  readonly json?: unknown;
  /** What it does, for errors: `users.messages.list of user@example.com`. */
  readonly what: string;
  /** Answers that are not failures (404 for a message deleted in the meantime). */
  readonly accept?: readonly number[] | undefined;
  /** The most bytes of answer to read; past it the call throws {@link MessageTooLarge} and reads no more. */
  readonly maxResponseBytes?: number | undefined;
}

/** An answer past `maxResponseBytes`: the message is left alone unread, as one over `maxMessageBytes`. */
export class MessageTooLarge extends Error {}

/** Turns a provider's 403 into the error that names what is missing. */
export type ForbiddenMapper = (response: HttpResponse, what: string) => MailError;

/**
 * Sends `request` with a bearer token from `tokens`; a 401 gets one fresh token and one more try.
 * A 2xx (or an accepted status) is returned; anything else is a {@link MailError}: `auth` (401),
 * what `forbidden` says (403), `rate-limited` (429), `transient` (5xx), `configuration` (another
 * 4xx: the reader and the API disagree); no answer is core's `noAnswerError` for a call safe to repeat.
 */
export async function mailboxCall(
  client: HttpClient,
  tokens: TokenProvider,
  request: MailboxRequest,
  forbidden: ForbiddenMapper,
): Promise<HttpResponse> {
  let refused: string | undefined;
  for (let attempt = 0; ; attempt++) {
    const token = await tokens.getAccessToken(refused === undefined ? {} : { forceRefresh: true, refusedToken: refused });
    let response: HttpResponse;
    try {
      response = await client.send({
        method: request.method,
        url: request.url,
        headers: {
          authorization: `Bearer ${token.token}`,
          accept: 'application/json',
          ...(request.json === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: request.json === undefined ? undefined : JSON.stringify(request.json),
        maxResponseBytes: request.maxResponseBytes,
      });
    } catch (error) {
      const http = HttpError.find(error);
      if (http === undefined) throw error;
      if (http.code === 'ERESPONSETOOLARGE') throw new MessageTooLarge(`${request.what}: ${http.message}`);
      // Core's rule; every call of a reader is safe to repeat (a label or isRead set twice is set once).
      throw noAnswerError(http, { operation: request.what, idempotent: true, cause: http });
    }
    const { status } = response;
    if ((status >= 200 && status < 300) || request.accept?.includes(status) === true) return response;
    if (status === 401 && attempt === 0) {
      refused = token.token;
      continue;
    }
    const said = providerMessage(response);
    if (status === 401) {
      throw new MailError('auth', `${request.what}: the access token was refused (401${said})`, {
        statusCode: status,
        remediation: 'Check the credentials in the transport URL: the same ones the mailer sends with.',
      });
    }
    if (status === 403) throw forbidden(response, request.what);
    if (status === 429) {
      const retryAfterMs = parseRetryAfter(response.headers['retry-after']);
      throw new MailError('rate-limited', `${request.what}: too many requests (429${said})`, { statusCode: status, retryAfterMs });
    }
    if (status >= 500) throw new MailError('transient', `${request.what}: the API failed (${status}${said})`, { statusCode: status });
    throw new MailError('configuration', `${request.what}: unexpected answer ${status}${said}`, { statusCode: status });
  }
}

/** `: <the provider's code and message>`, printable and short, or `''`. */
export function providerMessage(response: HttpResponse): string {
  const error = response.json().error;
  if (typeof error !== 'object' || error === null) return '';
  const { code, message, status } = error as Record<string, unknown>;
  const parts = [
    typeof code === 'string' ? code : typeof status === 'string' ? status : undefined,
    typeof message === 'string' ? message : undefined,
  ]
    .filter((part) => part !== undefined)
    .join(' ');
  const clean = parts.replace(/[^\x20-\x7e]/g, '?').slice(0, 200);
  return clean === '' ? '' : ` ${clean}`;
}

/** The provider's error code (Graph `error.code`, Google `error.errors[0].reason` or `error.status`). */
export function providerCode(response: HttpResponse): string | undefined {
  const error = response.json().error;
  if (typeof error !== 'object' || error === null) return undefined;
  const record = error as Record<string, unknown>;
  const first = Array.isArray(record.errors) ? (record.errors[0] as Record<string, unknown> | undefined) : undefined;
  const code = typeof record.code === 'string' ? record.code : typeof first?.reason === 'string' ? first.reason : record.status;
  return typeof code === 'string' ? code.slice(0, 100) : undefined;
}
