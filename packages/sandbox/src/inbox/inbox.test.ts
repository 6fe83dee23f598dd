import { request as httpRequest } from 'node:http';
import { createMailer } from '@mailport/core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Sandbox, startSandbox } from '../sandbox.js';
import { createMessageStore } from '../store.js';
import { htmlForFrame } from './inbox-html.js';
import { createParsedMessages, decodeEncodedWords, type InboxMessage, type InboxSummary } from './inbox-messages.js';

// A 1x1 PNG.
const pixel = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==', 'base64');

const richMessage = {
  from: 'Shop <app@example.com>',
  to: 'Ana <ana@example.org>',
  cc: 'team@example.org',
  bcc: 'audit@example.net',
  subject: 'Café receipt ☕',
  text: 'Thank you.\nYour receipt is attached.',
  html: '<html><head><title>r</title></head><body><h1>Thanks</h1><img src="cid:logo@shop.example"><script>parent.pwned = true</script></body></html>',
  attachments: [
    { filename: 'receipt.csv', content: 'item,price\ncoffee,3\n' },
    { filename: 'logo.png', content: pixel, contentType: 'image/png', contentId: '<logo@shop.example>' },
  ],
};

/** The control API's token (`/sandbox/...` wants it), once the sandbox started. */
const control: { headers: Record<string, string> } = { headers: {} };

async function getJson<T>(url: string): Promise<T> {
  const response = await fetch(url, { headers: control.headers });
  expect(response.status).toBe(200);
  return (await response.json()) as T;
}

/** Reads Server-Sent Events from `url` until `until` says stop. */
async function readEvents(
  url: string,
  until: (events: { event: string; data: unknown }[]) => boolean,
  onOpen: () => Promise<void>,
): Promise<{ event: string; data: unknown }[]> {
  const controller = new AbortController();
  const response = await fetch(url, { signal: controller.signal, headers: control.headers });
  expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  const events: { event: string; data: unknown }[] = [];
  let buffer = '';
  let opened = false;
  try {
    while (!until(events)) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let end = buffer.indexOf('\n\n');
      while (end !== -1) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        end = buffer.indexOf('\n\n');
        const event = /^event: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (event !== undefined && data !== undefined) events.push({ event, data: JSON.parse(data) });
      }
      if (!opened && events.length > 0) {
        opened = true;
        await onOpen();
      }
    }
  } finally {
    controller.abort();
  }
  return events;
}

describe('dev inbox: HTTP routes', () => {
  let sandbox: Sandbox;
  beforeAll(async () => {
    sandbox = await startSandbox();
    control.headers = { authorization: `Bearer ${sandbox.controlToken}` };
  });
  afterAll(() => sandbox.close());
  beforeEach(() => {
    sandbox.store.clear();
    sandbox.requests.clear();
  });

  it('lists parsed summaries, newest first, with the Bcc recipients the envelope had', async () => {
    await using smtp = createMailer({ transport: sandbox.urls.smtp });
    await using ses = createMailer({ transport: sandbox.urls.ses });
    await smtp.send(richMessage);
    await ses.send({ from: 'app@example.com', to: 'bo@example.org', subject: 'Second', text: 'plain' });
    const { messages } = await getJson<{ messages: InboxSummary[] }>(`${sandbox.httpUrl}/sandbox/inbox/messages`);
    expect(messages.map((message) => [message.api, message.subject])).toEqual([
      ['ses', 'Second'],
      ['smtp', 'Café receipt ☕'],
    ]);
    expect(messages[1]).toMatchObject({
      operation: 'SMTP DATA',
      from: 'Shop <app@example.com>',
      to: ['Ana <ana@example.org>'],
      cc: ['team@example.org'],
      bcc: ['audit@example.net'],
      envelope: { from: 'app@example.com', to: ['ana@example.org', 'team@example.org', 'audit@example.net'] },
      attachmentCount: 1,
      hasHtml: true,
      preview: 'Thank you. Your receipt is attached.',
    });
    expect(messages[1]?.size).toBe(sandbox.store.list()[0]?.size);
    expect(Date.parse(messages[1]?.date ?? '')).not.toBeNaN();
  });

  it('shows one message parsed: text, decoded headers, attachments with download URLs', async () => {
    await using mailer = createMailer({ transport: sandbox.urls.smtp });
    await mailer.send({ ...richMessage, replyTo: 'help@example.com' });
    const id = sandbox.store.last()?.id ?? '';
    const message = await getJson<InboxMessage>(`${sandbox.httpUrl}/sandbox/messages/${id}/parsed`);
    expect(message.text).toBe('Thank you.\nYour receipt is attached.');
    expect(message.replyTo).toEqual(['help@example.com']);
    expect(message.htmlUrl).toBe(`/sandbox/messages/${id}/html`);
    expect(message.rawUrl).toBe(`/sandbox/messages/${id}/raw`);
    expect(message.headers).toContainEqual({ name: 'Subject', value: 'Café receipt ☕' });
    expect(message.headers.some((header) => header.name.toLowerCase() === 'bcc')).toBe(false);
    expect(message.metadata).toMatchObject({ user: 'sandbox' });
    const csv = message.attachments.find((attachment) => attachment.filename === 'receipt.csv');
    const logo = message.attachments.find((attachment) => attachment.filename === 'logo.png');
    expect(csv).toMatchObject({ contentType: 'text/csv', inline: false });
    expect(csv?.contentId).toBeUndefined();
    expect(logo).toMatchObject({ contentType: 'image/png', inline: true, contentId: 'logo@shop.example' });

    const download = await fetch(`${sandbox.httpUrl}${csv?.url}`, control);
    expect(download.headers.get('content-type')).toBe('text/csv');
    expect(download.headers.get('content-disposition')).toBe(`attachment; filename="receipt.csv"; filename*=UTF-8''receipt.csv`);
    expect(download.headers.get('content-security-policy')).toMatch(/^sandbox;/);
    expect(await download.text()).toBe('item,price\ncoffee,3\n');
    expect(Buffer.from(await (await fetch(`${sandbox.httpUrl}${logo?.url}`, control)).arrayBuffer())).toEqual(pixel);

    expect((await fetch(`${sandbox.httpUrl}/sandbox/messages/${id}/attachments/9`, control)).status).toBe(404);
    expect((await fetch(`${sandbox.httpUrl}/sandbox/messages/m-999999/parsed`, control)).status).toBe(404);
  });

  it('serves the HTML body sandboxed: no scripts, no same origin, images only from itself', async () => {
    await using mailer = createMailer({ transport: sandbox.urls.gmail });
    await mailer.send({ ...richMessage, from: 'user@example.com' });
    const id = sandbox.store.last()?.id ?? '';
    const message = await getJson<InboxMessage>(`${sandbox.httpUrl}/sandbox/messages/${id}/parsed`);
    const response = await fetch(`${sandbox.httpUrl}${message.htmlUrl}`, control);
    const policy = response.headers.get('content-security-policy') ?? '';
    expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(policy).toMatch(/^sandbox allow-popups allow-popups-to-escape-sandbox;/);
    expect(policy).not.toMatch(/allow-scripts|allow-same-origin/);
    expect(policy).toContain("default-src 'none'");
    expect(policy).toContain(`img-src data: cid: ${sandbox.httpUrl};`);
    const html = await response.text();
    const logo = message.attachments.find((attachment) => attachment.inline);
    // A capability URL: the frame's opaque origin sends neither the token nor the cookie.
    expect(html).toMatch(new RegExp(`<img src="${sandbox.httpUrl}${logo?.url}\\?cap=[\\w-]{32}">`));
    expect(html).toContain('<head><base target="_blank"><title>');
  });

  it('streams a snapshot, then new messages and clears, as Server-Sent Events', async () => {
    await using mailer = createMailer({ transport: sandbox.urls.ses });
    await mailer.send({ from: 'app@example.com', to: 'ana@example.org', subject: 'Before', text: 'x' });
    const events = await readEvents(
      `${sandbox.httpUrl}/sandbox/events`,
      (seen) => seen.some((event) => event.event === 'clear'),
      async () => {
        await mailer.send({ from: 'app@example.com', to: 'bo@example.org', subject: 'Live', text: 'y' });
        await fetch(`${sandbox.httpUrl}/sandbox/messages`, { method: 'DELETE', ...control });
      },
    );
    expect(events.map((event) => event.event)).toEqual(['snapshot', 'message', 'clear']);
    const snapshot = events[0]?.data as { messages: InboxSummary[] } | undefined;
    expect(snapshot?.messages.map((message) => message.subject)).toEqual(['Before']);
    expect(events[1]?.data).toMatchObject({ subject: 'Live', api: 'ses', to: ['bo@example.org'] });
  });

  it("lists a message's events, and streams new ones as they are recorded, hostile text as data", async () => {
    await using mailer = createMailer({ transport: sandbox.urls.smtp });
    const receipt = await mailer.send({ from: 'app@example.com', to: 'ana@example.org', subject: 'Evented', text: 'x' });
    const stored = sandbox.store.last();
    expect((await getJson<InboxMessage>(`${sandbox.httpUrl}/sandbox/messages/${stored?.id}/parsed`)).subject).toBe('Evented');
    const id = stored?.id ?? '';
    const hostile = '<img src=x onerror=alert(1)>"\u2028</script>';
    sandbox.events.record({
      storeId: id,
      messageId: receipt.messageId,
      type: 'bounced',
      recipient: `${hostile}@example.org`,
      channel: 'smtp',
      detail: `550 5.1.1 ${hostile}`,
    });
    // By Message-ID alone (no store id), and one about another message, which must not show.
    sandbox.events.record({
      storeId: undefined,
      messageId: receipt.messageId,
      type: 'deferred',
      recipient: 'ana@example.org',
      channel: 'sns',
      detail: 'POST -> 200',
    });
    sandbox.events.record({
      storeId: 'm-999999',
      messageId: '<other@example.com>',
      type: 'delivered',
      recipient: 'bo@example.org',
      channel: 'sns',
      detail: 'x',
    });
    const listed = await getJson<{ events: { type: string; recipient: string; detail: string; channel: string }[] }>(
      `${sandbox.httpUrl}/sandbox/messages/${encodeURIComponent(id)}/events`,
    );
    expect(listed.events.map((event) => event.type)).toEqual(['bounced', 'deferred']);
    expect(listed.events[0]).toMatchObject({ recipient: `${hostile}@example.org`, detail: `550 5.1.1 ${hostile}`, channel: 'smtp' });
    expect((await fetch(`${sandbox.httpUrl}/sandbox/messages/m-424242/events`, control)).status).toBe(404);

    const streamed = await readEvents(
      `${sandbox.httpUrl}/sandbox/events`,
      (seen) => seen.some((event) => event.event === 'mail-event'),
      async () => {
        sandbox.events.record({
          storeId: id,
          messageId: receipt.messageId,
          type: 'complained',
          recipient: 'ana@example.org',
          channel: 'sns',
          detail: hostile,
        });
      },
    );
    const live = streamed.find((event) => event.event === 'mail-event')?.data;
    expect(live).toMatchObject({ storeId: id, type: 'complained', detail: hostile });
    // The snapshot carries each message's event types, for the list's badges (the one by Message-ID included).
    const snapshot = streamed[0]?.data as { mailEvents?: Record<string, string[]> } | undefined;
    expect(snapshot?.mailEvents?.[id]).toEqual(['bounced', 'deferred']);
    sandbox.events.clear();
  });

  it('serves the page with a strict policy, and keeps it out of the request log', async () => {
    const page = await fetch(`${sandbox.httpUrl}/`);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(await page.text()).toContain('<script type="module" src="/sandbox/inbox/inbox.js">');
    const script = await fetch(`${sandbox.httpUrl}/sandbox/inbox/inbox.js`, control);
    expect(script.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(await script.text()).toMatch(/^\(function inboxClient\(\)/);
    expect((await fetch(`${sandbox.httpUrl}/sandbox/inbox/inbox.css`, control)).status).toBe(200);
    expect(sandbox.requests.entries).toEqual([]);
  });

  it('refuses requests addressed to another host name (DNS rebinding)', async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const request = httpRequest(`${sandbox.httpUrl}/sandbox/inbox/messages`, {
        headers: { host: `attacker.example:${sandbox.httpPort}` },
      });
      request.on('response', (response) => {
        response.resume();
        resolve(response.statusCode ?? 0);
      });
      request.on('error', reject);
      request.end();
    });
    expect(status).toBe(421);
    expect((await fetch(`http://localhost:${sandbox.httpPort}/sandbox/inbox/messages`, control)).status).toBe(200);
  });
});

describe('dev inbox: parsing', () => {
  it('parses each message once and forgets them when the store is cleared', async () => {
    const store = createMessageStore();
    const parsed = createParsedMessages(store);
    const raw = Buffer.from('From: a@example.com\r\nTo: b@example.org\r\nSubject: One\r\n\r\nbody\r\n');
    const stored = store.add({
      api: 'smtp',
      operation: 'SMTP DATA',
      envelope: { from: 'a@example.com', to: ['b@example.org'] },
      raw,
      metadata: {},
    });
    const first = await parsed.get(stored.id);
    expect(first?.summary.subject).toBe('One');
    expect(await parsed.get(stored.id)).toBe(first);
    store.clear();
    expect(await parsed.get(stored.id)).toBeUndefined();
    parsed.close();
  });

  it.each([
    ['=?UTF-8?Q?Caf=C3=A9?=', 'Café'],
    ['=?utf-8?B?4piV?= and tea', '☕ and tea'],
    ['=?UTF-8?Q?a?= =?UTF-8?Q?b?=', 'ab'],
    ['=?ISO-8859-1?Q?Gr=FC=DFe_aus_K=F6ln?=', 'Grüße aus Köln'],
    ['=?x-unknown?Q?abc?=', '=?x-unknown?Q?abc?='],
    ['plain text', 'plain text'],
  ])('decodes the encoded words in %s', (encoded, decoded) => {
    expect(decodeEncodedWords(encoded)).toBe(decoded);
  });

  it('points cid: references at the parts and leaves unknown ones alone', () => {
    const attachments = [
      {
        index: 0,
        filename: 'a.png',
        contentType: 'image/png',
        size: 1,
        contentId: 'Logo@Shop',
        inline: true,
        url: '/sandbox/messages/m-1/attachments/0',
      },
    ];
    expect(htmlForFrame('<img src="cid:logo@shop"><img src=\'cid:other\'>', attachments, 'http://127.0.0.1:8025')).toBe(
      '<base target="_blank"><img src="http://127.0.0.1:8025/sandbox/messages/m-1/attachments/0"><img src=\'cid:other\'>',
    );
    expect(htmlForFrame('<!doctype html><html lang="en"><body>x</body></html>', [], 'http://h')).toBe(
      '<!doctype html><html lang="en"><base target="_blank"><body>x</body></html>',
    );
  });
});
