import type { SandboxEvent, SandboxEventLog } from '../events/event-log.js';
import type { Emulator, HttpResponse, Route } from '../http.js';
import type { MessageStore } from '../store.js';
import { inboxClient } from './inbox-client.js';
import { inboxEventStream, storeState } from './inbox-events.js';
import { htmlForFrame, messageHtmlPolicy } from './inbox-html.js';
import { createParsedMessages, type ParsedMessages, type ParseLimits } from './inbox-messages.js';
import { inboxPage } from './inbox-page.js';
import { inboxStyle } from './inbox-style.js';

const pagePolicy = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "frame-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const common = { 'cache-control': 'no-store', 'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer' };
const script = `(${inboxClient.toString()})();\n`;

/** The dev inbox: an emulator of nothing, serving the page and the JSON, HTML and event routes it reads. */
export interface Inbox extends Emulator {
  /** Stops following the store. */
  close(): void;
}

/**
 * The web inbox, served on the sandbox's HTTP(S) listeners: the page at `/`, and
 *
 * - `GET /sandbox/inbox/messages`: every message's summary (subject, from, to, date, size, api,
 *   operation, attachment count, read), newest first, with the store's size and limits;
 * - `DELETE /sandbox/messages/{id}`: deletes one message;
 * - `PATCH /sandbox/messages/{id}` with `{"read": true|false}`: marks it read or unread;
 * - `GET /sandbox/messages/{id}/parsed`: one message parsed (text, headers, attachments, URLs), with
 *   a warning when a limit stopped the parse;
 * - `GET /sandbox/messages/{id}/html`: its HTML body, under a sandboxing Content-Security-Policy;
 * - `GET /sandbox/messages/{id}/html/source`: the same HTML as plain text;
 * - `GET /sandbox/messages/{id}/attachments/{index}`: one part, as a download;
 * - `GET /sandbox/messages/{id}/events`: what the sandbox reported about it after accepting it
 *   (SNS notifications, bounces mailed back: `sandbox.events`), oldest first;
 * - `GET /sandbox/events`: Server-Sent Events (`snapshot`, `message`, `remove`, `read`, `clear`,
 *   and `mail-event` for each event the sandbox records).
 *
 * The front end guards them all (`http.ts`, `access.ts`): a loopback `Host` only, so a web page
 * that rebinds its own domain to 127.0.0.1 cannot read the messages; the `/sandbox/` routes from
 * the page's own origin only, with the control token, which the page's cookie carries (it comes
 * with `/`). `capabilityUrl` signs the inline parts' URLs, which the message frame (an opaque
 * origin, so neither same-origin nor sent the cookie) loads.
 */
export function createInbox(options: {
  store: MessageStore;
  capabilityUrl: (path: string) => string;
  parseLimits?: Partial<ParseLimits> | undefined;
  /** The sandbox's event log, whose events the message view and the live feed show. */
  events?: SandboxEventLog | undefined;
}): Inbox {
  const { store, events } = options;
  const parsed: ParsedMessages = createParsedMessages(store, options.parseLimits);
  const notFound: HttpResponse = { status: 404, body: { error: 'no such message' } };

  const routes: Route[] = [
    {
      method: 'GET',
      path: '/',
      // Opened by a person, from a bookmark or another site's link; it sets the cookie its own requests need.
      access: 'navigation',
      grantsSession: true,
      handle: () => ({
        status: 200,
        headers: { ...common, 'content-type': 'text/html; charset=utf-8', 'content-security-policy': pagePolicy },
        body: inboxPage,
      }),
    },
    {
      method: 'GET',
      path: '/sandbox/inbox/inbox.js',
      handle: () => ({ status: 200, headers: { ...common, 'content-type': 'text/javascript; charset=utf-8' }, body: script }),
    },
    {
      method: 'GET',
      path: '/sandbox/inbox/inbox.css',
      handle: () => ({ status: 200, headers: { ...common, 'content-type': 'text/css; charset=utf-8' }, body: inboxStyle }),
    },
    {
      method: 'GET',
      path: '/sandbox/inbox/messages',
      // Summaries are outlines read from the headers and the MIME structure: listing never waits for a parse.
      handle: () => ({ status: 200, headers: common, body: { messages: parsed.summaries(), ...storeState(store) } }),
    },
    {
      method: 'DELETE',
      path: '/sandbox/messages/:id',
      handle: (request) => (store.delete(request.params.id ?? '') ? { status: 204 } : notFound),
    },
    {
      method: 'PATCH',
      path: '/sandbox/messages/:id',
      maxBodyBytes: 4096,
      handle: (request) => {
        const id = request.params.id ?? '';
        if (store.get(id) === undefined) return notFound;
        let read: unknown;
        try {
          read = (JSON.parse(request.body.toString('utf8')) as { read?: unknown } | null)?.read;
        } catch {
          read = undefined;
        }
        if (typeof read !== 'boolean') return { status: 400, body: { error: 'send a JSON body: {"read": true} or {"read": false}' } };
        store.markRead([id], read);
        return { status: 200, headers: common, body: { id, read: store.isRead(id) } };
      },
    },
    {
      method: 'GET',
      path: '/sandbox/messages/:id/parsed',
      handle: async (request) => {
        const entry = await parsed.get(request.params.id ?? '');
        return entry === undefined ? notFound : { status: 200, headers: common, body: entry.message };
      },
    },
    {
      method: 'GET',
      path: '/sandbox/messages/:id/html',
      // The inbox frames it; its Content-Security-Policy names the inbox's origin in frame-ancestors.
      framing: 'self',
      handle: async (request) => {
        const entry = await parsed.get(request.params.id ?? '');
        if (entry === undefined) return notFound;
        if (entry.html === undefined) return { status: 404, body: { error: 'this message has no HTML body' } };
        const origin = `${request.secure ? 'https' : 'http'}://${request.headers.host ?? ''}`;
        return {
          status: 200,
          headers: { ...common, 'content-type': 'text/html; charset=utf-8', 'content-security-policy': messageHtmlPolicy(origin) },
          body: htmlForFrame(
            entry.html,
            // The frame's opaque origin sends no cookie: its inline parts come through capability URLs.
            entry.message.attachments.map((attachment) => ({ ...attachment, url: options.capabilityUrl(attachment.url) })),
            origin,
          ),
        };
      },
    },
    {
      method: 'GET',
      path: '/sandbox/messages/:id/html/source',
      handle: async (request) => {
        const entry = await parsed.get(request.params.id ?? '');
        if (entry === undefined) return notFound;
        if (entry.html === undefined) return { status: 404, body: { error: 'this message has no HTML body' } };
        // As text: the inbox shows the HTML the message carries, not a page to render.
        return { status: 200, headers: { ...common, 'content-type': 'text/plain; charset=utf-8' }, body: entry.html };
      },
    },
    {
      method: 'GET',
      path: '/sandbox/messages/:id/attachments/:index',
      capabilityUrls: true,
      handle: async (request) => {
        const entry = await parsed.get(request.params.id ?? '');
        const index = request.params.index ?? '';
        const part = /^\d{1,6}$/.test(index) ? entry?.parts[Number(index)] : undefined;
        if (part === undefined) return { status: 404, body: { error: 'no such message or attachment' } };
        return {
          status: 200,
          headers: {
            ...common,
            'content-type': /^[\w.+-]+\/[\w.+-]+$/.test(part.contentType) ? part.contentType : 'application/octet-stream',
            'content-disposition': contentDisposition(part.filename),
            // Opened on its own (an HTML or SVG attachment), a part gets an opaque origin and no scripts.
            'content-security-policy': "sandbox; default-src 'none'; img-src data:; style-src 'unsafe-inline'",
          },
          body: part.content,
        };
      },
    },
    {
      method: 'GET',
      path: '/sandbox/messages/:id/events',
      handle: (request) => {
        const message = store.get(request.params.id ?? '');
        if (message === undefined) return notFound;
        return { status: 200, headers: common, body: { events: eventsAbout(events, message.id, parsed.summary(message).messageId) } };
      },
    },
    {
      method: 'GET',
      path: '/sandbox/events',
      handle: () => ({
        status: 200,
        headers: { ...common, 'content-type': 'text/event-stream; charset=utf-8', connection: 'keep-alive' },
        body: inboxEventStream(store, parsed, events),
      }),
    },
  ];

  return {
    name: 'inbox',
    routes,
    errorResponse: (fault) => ({ status: fault.status, body: { error: fault.code ?? 'error', message: fault.message } }),
    tooLarge: (limit) => ({ status: 413, body: { error: 'too large', limit } }),
    close: parsed.close,
  };
}

/** Events recorded for a stored message: by its store id, or by its Message-ID when the event names no store id. */
function eventsAbout(log: SandboxEventLog | undefined, storeId: string, messageId: string | undefined): readonly SandboxEvent[] {
  if (log === undefined) return [];
  return log
    .list()
    .filter(
      (event) => event.storeId === storeId || (event.storeId === undefined && messageId !== undefined && event.messageId === messageId),
    );
}

/** `attachment; filename="report.csv"; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf` (RFC 6266). */
function contentDisposition(filename: string): string {
  const fallback = filename.replace(/[^\x20-\x7e]|["\\]/g, '_');
  const encoded = encodeURIComponent(filename).replace(/['()*]/g, (character) => `%${character.charCodeAt(0).toString(16).toUpperCase()}`);
  return `attachment; filename="${fallback}"; filename*=UTF-8''${encoded}`;
}
