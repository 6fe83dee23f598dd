import type { Emulator, HttpRequest, HttpResponse, Route } from '../http.js';
import type { MessageStore } from '../store.js';
import { inboxClient } from './inbox-client.js';
import { inboxEventStream } from './inbox-events.js';
import { htmlForFrame, messageHtmlPolicy } from './inbox-html.js';
import { createParsedMessages, type ParsedMessages } from './inbox-messages.js';
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
const loopbackNames = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** The dev inbox: an emulator of nothing, serving the page and the JSON, HTML and event routes it reads. */
export interface Inbox extends Emulator {
  /** Stops following the store. */
  close(): void;
}

/**
 * The web inbox, served on the sandbox's HTTP(S) listeners: the page at `/`, and
 *
 * - `GET /sandbox/inbox/messages`: every message's summary (subject, from, to, date, size, api,
 *   operation, attachment count), newest first;
 * - `GET /sandbox/messages/{id}/parsed`: one message parsed (text, headers, attachments, URLs);
 * - `GET /sandbox/messages/{id}/html`: its HTML body, under a sandboxing Content-Security-Policy;
 * - `GET /sandbox/messages/{id}/attachments/{index}`: one part, as a download;
 * - `GET /sandbox/events`: Server-Sent Events (`snapshot`, `message`, `clear`).
 *
 * It answers only requests addressed to a loopback name (or the host the sandbox binds), so a web
 * page that rebinds its own domain to 127.0.0.1 cannot read the messages.
 */
export function createInbox(options: { store: MessageStore; host: string }): Inbox {
  const { store } = options;
  const parsed: ParsedMessages = createParsedMessages(store);
  const boundHost = options.host.includes(':') ? `[${options.host}]` : options.host;
  const allowed = (request: HttpRequest): boolean => {
    const name = (request.headers.host ?? '').replace(/:\d+$/, '').toLowerCase();
    return loopbackNames.has(name) || name === boundHost.toLowerCase();
  };
  const guarded = (route: Route): Route => ({
    ...route,
    handle: (request) =>
      allowed(request)
        ? route.handle(request)
        : {
            status: 403,
            headers: { 'content-type': 'text/plain; charset=utf-8' },
            body:
              `The mailport inbox answers only requests addressed to 127.0.0.1, localhost or [::1] (this one was for ` +
              `"${request.headers.host ?? ''}"), so that no other site can read the messages. Open http://127.0.0.1:PORT/ instead.\n`,
          },
  });
  const notFound: HttpResponse = { status: 404, body: { error: 'no such message' } };

  const routes: Route[] = [
    {
      method: 'GET',
      path: '/',
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
      handle: async () => ({ status: 200, headers: common, body: { messages: await parsed.summaries() } }),
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
      handle: async (request) => {
        const entry = await parsed.get(request.params.id ?? '');
        if (entry === undefined) return notFound;
        if (entry.html === undefined) return { status: 404, body: { error: 'this message has no HTML body' } };
        const origin = `${request.secure ? 'https' : 'http'}://${request.headers.host ?? ''}`;
        return {
          status: 200,
          headers: { ...common, 'content-type': 'text/html; charset=utf-8', 'content-security-policy': messageHtmlPolicy(origin) },
          body: htmlForFrame(entry.html, entry.message.attachments, origin),
        };
      },
    },
    {
      method: 'GET',
      path: '/sandbox/messages/:id/attachments/:index',
      handle: async (request) => {
        const entry = await parsed.get(request.params.id ?? '');
        const part = entry?.parts[Number(request.params.index)];
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
      path: '/sandbox/events',
      handle: () => ({
        status: 200,
        headers: { ...common, 'content-type': 'text/event-stream; charset=utf-8', connection: 'keep-alive' },
        body: inboxEventStream(store, parsed),
      }),
    },
  ];

  return {
    name: 'inbox',
    routes: routes.map(guarded),
    errorResponse: (fault) => ({ status: fault.status, body: { error: fault.code ?? 'error', message: fault.message } }),
    tooLarge: (limit) => ({ status: 413, body: { error: 'too large', limit } }),
    close: parsed.close,
  };
}

/** `attachment; filename="report.csv"; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf` (RFC 6266). */
function contentDisposition(filename: string): string {
  const fallback = filename.replace(/[^\x20-\x7e]|["\\]/g, '_');
  const encoded = encodeURIComponent(filename).replace(/['()*]/g, (character) => `%${character.charCodeAt(0).toString(16).toUpperCase()}`);
  return `attachment; filename="${fallback}"; filename*=UTF-8''${encoded}`;
}
