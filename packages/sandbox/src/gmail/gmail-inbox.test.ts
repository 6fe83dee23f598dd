import { type ParsedMail, simpleParser } from 'mailparser';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Sandbox, startSandbox } from '../sandbox.js';

/** The message/delivery-status part: mailparser gives it as an attachment, or inline in `text` after a text part. */
const deliveryStatus = (parsed: ParsedMail): string | undefined =>
  parsed.attachments.find((part) => part.contentType === 'message/delivery-status')?.content.toString() ?? parsed.text;
const scope = (name: string): string => `https://www.googleapis.com/auth/gmail.${name}`;

describe('sandbox: the Gmail sender inbox (scenario reports, messages.get, modify, labels)', () => {
  let sandbox: Sandbox;
  let base: string;
  beforeAll(async () => {
    sandbox = await startSandbox();
    base = `${sandbox.httpUrl}/gmail/v1/users/me`;
  });
  afterAll(() => sandbox.close());
  beforeEach(() => sandbox.faults.clear());

  const token = (scopes: readonly string[] = ['https://mail.google.com/'], subject = 'user@example.com'): string =>
    sandbox.tokens.issue({ issuer: 'google', subject, clientId: 'test', scopes }).token;
  const call = async (path: string, init: { method?: string; body?: unknown; bearer?: string } = {}) => {
    const response = await fetch(`${base}${path}`, {
      method: init.method ?? 'GET',
      headers: { authorization: `Bearer ${init.bearer ?? token()}`, 'content-type': 'application/json' },
      body: init.body === undefined ? null : typeof init.body === 'string' ? init.body : JSON.stringify(init.body),
    });
    return { status: response.status, headers: response.headers, body: (await response.json()) as Record<string, unknown> };
  };
  const send = async (to: string, subject = 'Order 42'): Promise<{ id: string; messageId: string }> => {
    const messageId = `<${Math.random().toString(36).slice(2)}@shop.example>`;
    const raw = Buffer.from(`From: user@example.com\r\nTo: ${to}\r\nSubject: ${subject}\r\nMessage-ID: ${messageId}\r\n\r\nHello\r\n`);
    const sent = await call('/messages/send', { method: 'POST', body: { raw: raw.toString('base64url') } });
    expect(sent.status).toBe(200);
    return { id: String(sent.body.id), messageId };
  };
  /** Waits until the sandbox recorded the report about `messageId` (it builds it right after the send). */
  const reported = async (messageId: string) => {
    for (let attempt = 0; attempt < 200; attempt++) {
      const found = sandbox.events.list({ messageId }).find((event) => event.channel === 'gmail-mailbox');
      if (found !== undefined) return found;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    throw new Error(`no report about ${messageId}`);
  };
  const inboxIds = async (q: string): Promise<string[]> => {
    const listed = await call(`/messages?q=${encodeURIComponent(q)}`);
    expect(listed.status).toBe(200);
    return ((listed.body.messages as { id: string }[] | undefined) ?? []).map((message) => message.id);
  };

  it('puts a Gmail DSN for bounce@ into the sender inbox: multipart/report, 5.1.1, the original headers', async () => {
    const { messageId } = await send('bounce@simulator.amazonses.com', 'Welcome');
    const event = await reported(messageId);
    expect(event).toMatchObject({ type: 'bounced', recipient: 'bounce@simulator.amazonses.com', channel: 'gmail-mailbox' });
    const [id] = await inboxIds('in:inbox is:unread');
    const got = await call(`/messages/${id}?format=raw`);
    expect(got.body.labelIds).toEqual(['INBOX', 'UNREAD']);
    const parsed = await simpleParser(Buffer.from(String(got.body.raw), 'base64url'));
    expect(parsed.from?.value[0]).toMatchObject({ name: 'Mail Delivery Subsystem', address: 'mailer-daemon@googlemail.com' });
    expect(parsed.subject).toBe('Delivery Status Notification (Failure)');
    expect(parsed.inReplyTo).toBe(messageId);
    expect(parsed.headers.get('content-type')).toMatchObject({ value: 'multipart/report', params: { 'report-type': 'delivery-status' } });
    const status = deliveryStatus(parsed);
    expect(status).toContain('Reporting-MTA: dns; googlemail.com');
    expect(status).toContain('Final-Recipient: rfc822; bounce@simulator.amazonses.com');
    expect(status).toMatch(/Action: failed\r?\nStatus: 5\.1\.1/);
    expect(status).toContain('Diagnostic-Code: smtp; 550-5.1.1 The email account that you tried to reach does not exist.');
    const headers = parsed.attachments.find((part) => part.contentType === 'text/rfc822-headers')?.content.toString();
    expect(headers).toContain(`Message-ID: ${messageId}`);
  });

  it('sends a Delay notice for delay@ and an auto-reply for ooto@; an ordinary recipient gets nothing', async () => {
    const delayed = await send('delay@simulator.amazonses.com');
    const ooto = await send('ooto@simulator.amazonses.com');
    const plain = await send('ana@example.org');
    expect((await reported(delayed.messageId)).type).toBe('deferred');
    expect((await reported(ooto.messageId)).type).toBe('auto-replied');
    expect(sandbox.events.list({ messageId: plain.messageId })).toEqual([]);
    const subjects: string[] = [];
    for (const id of await inboxIds('in:inbox')) {
      const parsed = await simpleParser(Buffer.from(String((await call(`/messages/${id}?format=raw`)).body.raw), 'base64url'));
      subjects.push(String(parsed.subject));
      if (parsed.subject === 'Delivery Status Notification (Delay)') {
        const status = deliveryStatus(parsed);
        expect(status).toMatch(/Action: delayed\r?\nStatus: 4\.4\.7/);
        expect(status).toContain('Will-Retry-Until:');
      }
      if (parsed.subject?.startsWith('Automatic reply:')) {
        expect(parsed.headers.get('auto-submitted')).toBe('auto-replied');
        expect(parsed.inReplyTo).toBe(ooto.messageId);
      }
    }
    expect(subjects).toEqual(expect.arrayContaining(['Delivery Status Notification (Delay)', 'Automatic reply: Order 42']));
    // Sent mail is not in the inbox; in:sent finds it.
    expect(await inboxIds(`in:sent rfc822msgid:${plain.messageId}`)).toHaveLength(1);
    // messages.get finds a sent message by its id too; modify leaves its labels as they are.
    const sent = await call(`/messages/${plain.id}?format=raw`);
    expect(sent.body).toMatchObject({ id: plain.id, labelIds: ['SENT'] });
    expect(Buffer.from(String(sent.body.raw), 'base64url').toString()).toContain(`Message-ID: ${plain.messageId}`);
    expect((await call(`/messages/${plain.id}/modify`, { method: 'POST', body: { addLabelIds: ['STARRED'] } })).status).toBe(400);
    expect((await call('/messages/ffffffffffffffff?format=raw')).status).toBe(404);
  });

  it('labels: create (409 on a duplicate), list, modify; -label: leaves processed mail out', async () => {
    const { messageId } = await send('bounce@simulator.amazonses.com');
    await reported(messageId);
    const created = await call('/labels', { method: 'POST', body: { name: 'mailport-processed' } });
    expect(created.status).toBe(200);
    expect(created.body).toMatchObject({ name: 'mailport-processed', type: 'user' });
    expect((await call('/labels', { method: 'POST', body: { name: 'Mailport-Processed' } })).status).toBe(409);
    const labels = (await call('/labels')).body.labels as { id: string; name: string }[];
    expect(labels.find((label) => label.name === 'mailport-processed')?.id).toBe(created.body.id);

    const before = await inboxIds('in:inbox -label:mailport-processed');
    expect(before.length).toBeGreaterThan(0);
    for (const id of before) {
      const modified = await call(`/messages/${id}/modify`, { method: 'POST', body: { addLabelIds: [created.body.id] } });
      expect(modified.body.labelIds).toContain(created.body.id);
    }
    expect(await inboxIds('in:inbox -label:mailport-processed')).toEqual([]);
    expect((await call(`/messages?labelIds=${created.body.id}`)).body.resultSizeEstimate).toBe(before.length);
  });

  it('pages with nextPageToken', async () => {
    for (let index = 0; index < 3; index++) await reported((await send('ooto@simulator.amazonses.com')).messageId);
    const seen: string[] = [];
    let pageToken: string | undefined;
    do {
      const page = await call(`/messages?q=in:inbox&maxResults=2${pageToken === undefined ? '' : `&pageToken=${pageToken}`}`);
      seen.push(...((page.body.messages as { id: string }[]) ?? []).map((message) => message.id));
      pageToken = page.body.nextPageToken as string | undefined;
    } while (pageToken !== undefined);
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen.length).toBe((await inboxIds('in:inbox')).length);
  });

  it('checks scopes as Gmail does: gmail.send cannot read, gmail.readonly cannot label, metadata cannot read raw', async () => {
    const send = token([scope('send')]);
    const listed = await call('/messages?q=in:inbox', { bearer: send });
    expect(listed.status).toBe(403);
    expect(listed.headers.get('www-authenticate')).toContain(scope('readonly'));
    const [id] = await inboxIds('in:inbox');
    const readonly = token([scope('readonly')]);
    expect((await call(`/messages/${id}?format=raw`, { bearer: readonly })).status).toBe(200);
    const refused = await call(`/messages/${id}/modify`, { method: 'POST', body: { addLabelIds: ['STARRED'] }, bearer: readonly });
    expect(refused.status).toBe(403);
    expect(refused.headers.get('www-authenticate')).toContain(scope('modify'));
    expect((await call('/labels', { method: 'POST', body: { name: 'x' }, bearer: readonly })).status).toBe(403);
    expect((await call(`/messages/${id}?format=raw`, { bearer: token([scope('metadata')]) })).status).toBe(403);
    expect((await call('/messages?q=in:inbox', { bearer: 'nonsense' })).status).toBe(401);
  });

  it('answers hostile input with 4xx, never 500', async () => {
    const [id] = await inboxIds('in:inbox');
    const cases: [string, { method?: string; body?: unknown }, number][] = [
      ['/messages?q=in:inbox%20from:x', {}, 400],
      ['/messages?q=in:inbox&pageToken=%E2%80%AE', {}, 400],
      ['/messages/ffffffffffffffff?format=raw', {}, 404],
      [`/messages/${id}?format=full`, {}, 400],
      [`/messages/${id}/modify`, { method: 'POST', body: '{' }, 400],
      [`/messages/${id}/modify`, { method: 'POST', body: { addLabelIds: 'INBOX' } }, 400],
      [`/messages/${id}/modify`, { method: 'POST', body: { addLabelIds: ['Label_999'] } }, 400],
      [`/messages/${id}/modify`, { method: 'POST', body: { addLabelIds: [{ toString: 1 }] } }, 400],
      [`/messages/${id}/modify`, { method: 'POST', body: {} }, 400],
      ['/messages/nope/modify', { method: 'POST', body: { addLabelIds: ['STARRED'] } }, 404],
      ['/labels', { method: 'POST', body: { name: '' } }, 400],
      ['/labels', { method: 'POST', body: { name: 'INBOX' } }, 400],
      ['/labels', { method: 'POST', body: { name: 'a\u0000b' } }, 400],
      ['/labels', { method: 'POST', body: { name: 'x'.repeat(300) } }, 400],
      ['/labels', { method: 'POST', body: [] }, 400],
    ];
    for (const [path, init, status] of cases) expect([path, (await call(path, init)).status]).toEqual([path, status]);
    const big = await fetch(`${base}/messages/${id}/modify`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token()}`, 'content-type': 'application/json' },
      body: 'x'.repeat(70 * 1024),
    });
    expect(big.status).toBe(413);
    // Another user's token cannot read this inbox.
    expect((await call('/messages?q=in:inbox', { bearer: token(['https://mail.google.com/'], 'stranger@example.com') })).status).toBe(400);
  });
});
