/**
 * Postbox's requests, built from a message: pure (no I/O, no token), so what goes on the wire is
 * tested with an inline snapshot and no server (postbox-request.test.ts).
 */
import type { EmailMessage } from '@mailport/core';
import type { HttpRequest, HttpResponse } from '@mailport/core/http';
import type { PostboxFailure } from './postbox-errors.ts';

/**
 * `POST /v1/messages`: the envelope beside the rendered MIME, which travels as it is (base64), so every header core wrote
 * reaches the recipient. `raw` is the rendering without the Bcc header; the Bcc recipients are in `to`, the envelope.
 *
 * @example
 * ```ts
 * const mime = await renderMimeParts(message);
 * const request = postboxSendRequest(endpoint, message, mime.toBuffer());
 * ```
 */
export function postboxSendRequest(endpoint: URL, message: EmailMessage, raw: Uint8Array): HttpRequest {
  return {
    method: 'POST',
    url: new URL('v1/messages', endpoint).href,
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify({
      from: message.envelope.from,
      to: message.envelope.to,
      raw: Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('base64'),
      tags: message.tags,
    }),
  };
}

/** `GET /v1/account`, which `verify()` reads. */
export function postboxAccountRequest(endpoint: URL): HttpRequest {
  return { method: 'GET', url: new URL('v1/account', endpoint).href, headers: { accept: 'application/json' } };
}

/**
 * What an error answer says: Postbox's body `{ error: { code, message, recipients } }`, as far as
 * it goes (a proxy's HTML page has none of it), and the Retry-After header.
 */
export function postboxFailureOf(answer: HttpResponse): PostboxFailure {
  const error = (answer.json().error ?? {}) as { code?: unknown; message?: unknown; recipients?: unknown };
  return {
    status: answer.status,
    code: typeof error.code === 'string' ? error.code : undefined,
    message: typeof error.message === 'string' ? error.message : `HTTP ${answer.status}`,
    retryAfter: answer.headers['retry-after'],
    recipients: Array.isArray(error.recipients) ? (error.recipients as { address: string; reason: string }[]) : undefined,
  };
}
