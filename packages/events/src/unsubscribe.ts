import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ListUnsubscribeInput } from '@mailport/core';
import { eventId, type MailEvent, type SuppressionStore, suppressionKey } from './model.js';
import { nodeListener, readBodyUpTo } from './node-handler.js';
import { isAddressKey } from './suppression.js';

/** Options of {@link createUnsubscribe}. */
export interface UnsubscribeOptions {
  /** The HMAC-SHA256 key that signs each link: at least 16 bytes, kept secret, stable across restarts. */
  readonly secret: string | Uint8Array;
  /** Earlier secrets whose links still work (links already mailed live for months): rotate by moving `secret` here. Default none. */
  readonly previousSecrets?: readonly (string | Uint8Array)[] | undefined;
  /** Where the handler is served, `https://shop.example/unsubscribe`; the token goes in its `t` query parameter. */
  readonly baseUrl: string;
  /** Where an unsubscribe is written: `unsubscribe`, for the link's stream (or `*`), for ever. */
  readonly store: SuppressionStore;
  /**
   * Told about each new unsubscribe (type `unsubscribed`, source `unsubscribe`, the stream in
   * `metadata.stream`), before the store is written; when it throws the request gets 500 and
   * nothing is stored, so the client's retry does it again. Its id is stable per recipient and stream.
   */
  readonly onEvent?: ((event: MailEvent) => void | Promise<void>) | undefined;
  /** The largest request body read, in bytes (413 past it). Default 8 KiB: a one-click body is 26 bytes. */
  readonly maxBodyBytes?: number | undefined;
}

/** One-click unsubscribe links and the handler that serves them, from {@link createUnsubscribe}. */
export interface Unsubscribe {
  /** The signed link for one recipient (and stream): `${baseUrl}?t=TOKEN`. */
  url(recipient: string, stream?: string): string;
  /** What a message's `listUnsubscribe` takes: `{ url, oneClick: true }` (RFC 8058). */
  listUnsubscribe(recipient: string, stream?: string): ListUnsubscribeInput;
  /** The Fetch handler: `POST` unsubscribes, `GET` shows a page, a bad token gets 400. Never throws. */
  handle(request: Request): Promise<Response>;
  /** The same handler as a Node `http` listener (also Express's `app.all(path, unsubscribe.node)`). */
  readonly node: (request: IncomingMessage, response: ServerResponse) => void;
}

const version = '1';
// Kept apart from any other use of the same secret (VERP): a MAC made here is only valid here.
const context = 'mailport-unsubscribe\u0000';
const macBytes = 16;
const maxTokenLength = 1024;
const streamPattern = /^[\x21-\x7e]{1,128}$/;

const csp = "default-src 'none'; style-src 'sha256-HASH'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";
const style =
  'body{font:16px/1.5 system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem}button{font:inherit;padding:.5rem 1rem}';
const pageHeaders: Record<string, string> = {
  'content-type': 'text/html; charset=utf-8',
  'content-security-policy': csp.replace('HASH', createHash('sha256').update(style).digest('base64')),
  'x-content-type-options': 'nosniff',
  // The token is in the URL: never hand it to another site, never keep the page.
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
  'x-frame-options': 'DENY',
};

/**
 * One-click unsubscribe (RFC 8058): signed `List-Unsubscribe` links per recipient and stream, and
 * the handler behind them.
 *
 * - The token is the recipient, the stream and a version, signed with HMAC-SHA256 (128 bits) and
 *   compared in constant time; it is signed, not encrypted, so the link shows the address it is for.
 * - `POST` with the form field `List-Unsubscribe=One-Click` (urlencoded or multipart, as RFC 8058
 *   allows) writes an `unsubscribe` suppression for the stream, or `*` when the link has none, and
 *   answers 200. Again, it changes nothing and still answers 200.
 * - `GET` and `HEAD` answer a page with a button that posts the same form, and change nothing: link
 *   scanners and previews follow links. The page escapes everything it shows and sends a strict CSP.
 * - A missing, forged or truncated token gets 400; other methods 405; a body past `maxBodyBytes` 413.
 * - No `Origin` check: mail clients post from their own origin by design (RFC 8058), so the
 *   signed token alone authorises the request.
 *
 * @example
 * ```ts
 * const unsubscribe = createUnsubscribe({ secret: process.env.UNSUBSCRIBE_SECRET ?? '', baseUrl: 'https://shop.example/unsubscribe', store });
 * createServer(unsubscribe.node).listen(8080);
 * await mailer.send({ to, subject, html, metadata: { stream: 'newsletter' }, listUnsubscribe: unsubscribe.listUnsubscribe(to, 'newsletter') });
 * ```
 */
export function createUnsubscribe(options: UnsubscribeOptions): Unsubscribe {
  const toKey = (value: string | Uint8Array | undefined): Buffer => {
    const key = typeof value === 'string' ? Buffer.from(value) : Buffer.from(value ?? []);
    if (key.byteLength < 16) throw new TypeError('createUnsubscribe: every secret must be at least 16 bytes');
    return key;
  };
  const secret = toKey(options.secret);
  const keys = [secret, ...(options.previousSecrets ?? []).map(toKey)];
  let base: URL;
  try {
    base = new URL(options.baseUrl);
  } catch {
    throw new TypeError('createUnsubscribe: baseUrl must be an absolute URL');
  }
  if (base.protocol !== 'https:' && base.protocol !== 'http:') throw new TypeError('createUnsubscribe: baseUrl must be an https URL');
  if (base.username !== '' || base.password !== '') throw new TypeError('createUnsubscribe: baseUrl must not carry credentials');
  const store = options.store;
  const maxBodyBytes = options.maxBodyBytes ?? 8 * 1024;

  const sign = (payload: Buffer, key: Buffer = secret): Buffer =>
    createHmac('sha256', key).update(context).update(payload).digest().subarray(0, macBytes);

  const token = (recipient: string, stream: string | undefined): string => {
    if (typeof recipient !== 'string') throw new TypeError('unsubscribe: recipient must be a string');
    const address = suppressionKey(recipient);
    if (!isAddressKey(address)) {
      throw new TypeError('unsubscribe: recipient must be an email address');
    }
    if (stream !== undefined && (typeof stream !== 'string' || stream === '*' || !streamPattern.test(stream))) {
      throw new TypeError('unsubscribe: stream must be 1 to 128 printable ASCII characters, not "*"');
    }
    const payload = Buffer.from(`${version}\u0000${address}\u0000${stream ?? ''}`);
    return `${payload.toString('base64url')}.${sign(payload).toString('base64url')}`;
  };

  const verify = (value: string): { address: string; stream: string | undefined } | undefined => {
    if (value.length > maxTokenLength || !/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(value)) return undefined;
    const [encoded = '', mac = ''] = value.split('.');
    const payload = Buffer.from(encoded, 'base64url');
    const given = Buffer.from(mac, 'base64url');
    if (given.length !== macBytes) return undefined;
    // Every key is tried, so the time taken does not tell which one matched.
    let valid = false;
    for (const key of keys) valid = timingSafeEqual(given, sign(payload, key)) || valid;
    if (!valid) return undefined;
    // Signed by us, so well formed; checked anyway in case an old version's token is ever read.
    const [tokenVersion, address, stream, ...rest] = payload.toString('utf8').split('\u0000');
    if (tokenVersion !== version || address === undefined || stream === undefined || rest.length > 0) return undefined;
    return { address, stream: stream === '' ? undefined : stream };
  };

  const unsubscribe = async (address: string, stream: string | undefined): Promise<void> => {
    const scope = stream ?? '*';
    const existing = (await store.check([address], stream)).get(address);
    // Already stopped for good on exactly this scope: nothing to change, nothing to report.
    if (existing !== undefined && existing.scope === scope && existing.expiresAt === undefined) return;
    const createdAt = new Date().toISOString();
    const id = eventId(['unsubscribe', address, scope]);
    const event: MailEvent = Object.freeze({
      id,
      type: 'unsubscribed',
      timestamp: createdAt,
      messageId: undefined,
      providerMessageId: undefined,
      source: 'unsubscribe',
      recipient: address,
      tags: Object.freeze([]),
      metadata: Object.freeze(stream === undefined ? {} : { stream }),
      providerEventType: 'List-Unsubscribe=One-Click',
      raw: Object.freeze({ recipient: address, stream }),
    });
    await options.onEvent?.(event);
    await store.add({ address, scope, reason: 'unsubscribe', createdAt, eventId: id, detail: 'one-click unsubscribe (RFC 8058)' });
  };

  const handle = async (request: Request): Promise<Response> => {
    try {
      const method = request.method.toUpperCase();
      if (method !== 'GET' && method !== 'HEAD' && method !== 'POST') {
        return text(405, 'Method Not Allowed', { allow: 'GET, HEAD, POST' });
      }
      const tokens = new URL(request.url).searchParams.getAll('t');
      const subject = tokens.length === 1 ? verify(tokens[0] as string) : undefined;
      if (subject === undefined) return text(400, 'This unsubscribe link is not valid.');
      if (method !== 'POST') return page(200, confirmPage(subject.address, subject.stream));

      const body = await readBodyUpTo(request, maxBodyBytes);
      if (body === undefined) return text(413, 'Payload Too Large');
      const type = request.headers.get('content-type') ?? 'application/x-www-form-urlencoded';
      let form: FormData;
      try {
        form = await new Response(body, { headers: { 'content-type': type } }).formData();
      } catch {
        return text(400, 'The body must be the form List-Unsubscribe=One-Click.');
      }
      const values = form.getAll('List-Unsubscribe');
      if (values.length !== 1 || values[0] !== 'One-Click') return text(400, 'The body must be the form List-Unsubscribe=One-Click.');
      await unsubscribe(subject.address, subject.stream);
      return page(200, donePage(subject.address, subject.stream));
    } catch {
      return text(500, 'The unsubscribe could not be saved; please try again.');
    }
  };

  return {
    url(recipient, stream) {
      const url = new URL(base);
      url.searchParams.set('t', token(recipient, stream));
      return url.href;
    },
    listUnsubscribe(recipient, stream) {
      return { url: this.url(recipient, stream), oneClick: true };
    },
    handle,
    node: nodeListener(handle, { maxBodyBytes }),
  };
}

function text(status: number, message: string, headers: Record<string, string> = {}): Response {
  return new Response(message, {
    status,
    headers: { 'content-type': 'text/plain; charset=utf-8', 'x-content-type-options': 'nosniff', 'cache-control': 'no-store', ...headers },
  });
}

function page(status: number, body: string): Response {
  return new Response(body, { status, headers: pageHeaders });
}

function escapeHtml(value: string): string {
  return value.replace(
    /[&<>"'`]/g,
    (character) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;', '`': '&#96;' })[character] as string,
  );
}

function shell(title: string, content: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><meta name="robots" content="noindex,nofollow"><title>${title}</title><style>${style}</style></head><body><main>${content}</main></body></html>`;
}

function what(address: string, stream: string | undefined): string {
  return stream === undefined
    ? `all mail to <strong>${escapeHtml(address)}</strong>`
    : `<strong>${escapeHtml(stream)}</strong> mail to <strong>${escapeHtml(address)}</strong>`;
}

function confirmPage(address: string, stream: string | undefined): string {
  // No action attribute: the form posts to this very URL, token included.
  return shell(
    'Unsubscribe',
    `<h1>Unsubscribe</h1><p>Stop ${what(address, stream)}?</p><form method="post"><input type="hidden" name="List-Unsubscribe" value="One-Click"><button type="submit">Unsubscribe</button></form>`,
  );
}

function donePage(address: string, stream: string | undefined): string {
  return shell('Unsubscribed', `<h1>Unsubscribed</h1><p>No more of ${what(address, stream)}.</p>`);
}
