import { type ParsedMail, simpleParser } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Sandbox, startSandbox } from '../sandbox.js';

/** The message/delivery-status part: mailparser gives it as an attachment, or inline in `text` after a text part. */
const deliveryStatus = (parsed: ParsedMail): string | undefined =>
  parsed.attachments.find((part) => part.contentType === 'message/delivery-status')?.content.toString() ?? parsed.text;

describe('sandbox: the Graph sender inbox (scenario reports, list, $value, PATCH isRead)', () => {
  let sandbox: Sandbox;
  let mailbox: string;
  beforeAll(async () => {
    sandbox = await startSandbox();
    mailbox = `${sandbox.httpUrl}/v1.0/users/sender@contoso.example`;
  });
  afterAll(() => sandbox.close());

  const appToken = (target: Sandbox = sandbox): string =>
    target.tokens.issue({
      issuer: 'microsoft',
      subject: target.accounts.microsoft.clientId,
      clientId: target.accounts.microsoft.clientId,
      scopes: ['https://graph.microsoft.com/.default'],
      tenant: target.accounts.microsoft.tenantId,
    }).token;
  const delegatedToken = (scopes: readonly string[]): string =>
    sandbox.tokens.issue({
      issuer: 'microsoft',
      subject: 'sender@contoso.example',
      clientId: 'test',
      scopes: scopes.map((scope) => `https://graph.microsoft.com/${scope}`),
    }).token;
  const call = async (url: string, init: { method?: string; body?: unknown; bearer?: string; type?: string } = {}) => {
    const response = await fetch(url.startsWith('http') ? url : `${mailbox}${url}`, {
      method: init.method ?? 'GET',
      headers: { authorization: `Bearer ${init.bearer ?? appToken()}`, 'content-type': init.type ?? 'application/json' },
      body: init.body === undefined ? null : typeof init.body === 'string' ? init.body : JSON.stringify(init.body),
    });
    const bytes = Buffer.from(await response.arrayBuffer());
    const json = (): Record<string, unknown> => JSON.parse(bytes.toString()) as Record<string, unknown>;
    return { status: response.status, bytes, json };
  };
  const send = async (to: string, subject = 'Invoice 7'): Promise<string> => {
    const messageId = `<${Math.random().toString(36).slice(2)}@contoso.example>`;
    const mime = `From: sender@contoso.example\r\nTo: ${to}\r\nSubject: ${subject}\r\nMessage-ID: ${messageId}\r\n\r\nHello\r\n`;
    const sent = await call('/sendMail', { method: 'POST', body: Buffer.from(mime).toString('base64'), type: 'text/plain' });
    expect(sent.status).toBe(202);
    return messageId;
  };
  const reported = async (messageId: string) => {
    for (let attempt = 0; attempt < 200; attempt++) {
      const found = sandbox.events.list({ messageId }).find((event) => event.channel === 'graph-mailbox');
      if (found !== undefined) return found;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    throw new Error(`no report about ${messageId}`);
  };
  const unread = async (): Promise<{ id: string; internetMessageId: string; isRead: boolean }[]> => {
    const listed = await call('/mailFolders/inbox/messages?$select=id,internetMessageId,isRead&$filter=isRead eq false&$top=100');
    expect(listed.status).toBe(200);
    return listed.json().value as { id: string; internetMessageId: string; isRead: boolean }[];
  };

  it('puts an Exchange Online NDR for bounce@ into the sender inbox: multipart/report, 5.1.10, the original attached', async () => {
    const messageId = await send('bounce@simulator.amazonses.com');
    expect(await reported(messageId)).toMatchObject({ type: 'bounced', recipient: 'bounce@simulator.amazonses.com' });
    const [first] = await unread();
    const value = await call(`/messages/${first?.id}/$value`);
    expect(value.status).toBe(200);
    const parsed = await simpleParser(value.bytes);
    expect(parsed.from?.value[0]).toMatchObject({
      name: 'Microsoft Outlook',
      address: 'MicrosoftExchange329e71ec88ae4615bbc36ab6ce41109e@contoso.example',
    });
    expect(parsed.subject).toBe('Undeliverable: Invoice 7');
    expect(parsed.inReplyTo).toBe(messageId);
    expect(first?.internetMessageId).toBe(parsed.messageId);
    const status = deliveryStatus(parsed);
    expect(status).toMatch(/Action: failed\r?\nStatus: 5\.1\.10/);
    expect(status).toContain('Diagnostic-Code: smtp;550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup');
    const original = parsed.attachments.find((part) => part.contentType === 'message/rfc822');
    expect((await simpleParser(original?.content ?? Buffer.alloc(0))).messageId).toBe(messageId);
  });

  it('sends Delivery delayed for delay@ and an Automatic reply for ooto@', async () => {
    const delayed = await send('delay@simulator.amazonses.com', 'Slow');
    const ooto = await send('ooto@simulator.amazonses.com', 'Away');
    expect((await reported(delayed)).type).toBe('deferred');
    expect((await reported(ooto)).type).toBe('auto-replied');
    const subjects = new Map<string, ParsedMail>();
    for (const message of await unread()) {
      const parsed = await simpleParser((await call(`/messages/${message.id}/$value`)).bytes);
      subjects.set(String(parsed.subject), parsed);
    }
    expect(deliveryStatus(subjects.get('Delivery delayed: Slow') as ParsedMail)).toMatch(/Action: delayed\r?\nStatus: 4\.4\.7/);
    const reply = subjects.get('Automatic reply: Away') as ParsedMail;
    expect(reply.headers.get('auto-submitted')).toBe('auto-replied');
    expect(reply.inReplyTo).toBe(ooto);
  });

  it('marks messages read with PATCH; $filter=isRead eq false then leaves them out; pages with @odata.nextLink', async () => {
    for (let index = 0; index < 3; index++) await reported(await send('ooto@simulator.amazonses.com'));
    const ids: string[] = [];
    let next: string | undefined = `${mailbox}/mailFolders/inbox/messages?$select=id,isRead&$filter=isRead eq false&$top=2`;
    while (next !== undefined) {
      const page = (await call(next)).json();
      ids.push(...(page.value as { id: string }[]).map((message) => message.id));
      next = page['@odata.nextLink'] as string | undefined;
      if (next !== undefined) expect(new URL(next).origin).toBe(sandbox.httpUrl);
    }
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.length).toBe((await unread()).length);
    for (const id of ids) {
      const patched = await call(`/messages/${id}`, { method: 'PATCH', body: { isRead: true } });
      expect(patched.status).toBe(200);
      expect(patched.json().isRead).toBe(true);
    }
    expect(await unread()).toEqual([]);
    expect(((await call('/mailFolders/inbox/messages?$filter=isRead eq true&$top=1000')).json().value as unknown[]).length).toBe(
      ids.length,
    );
  });

  it('checks permissions as Graph does: Mail.Read reads but cannot PATCH; an app without Mail.ReadWrite reads nothing', async () => {
    const reader = delegatedToken(['Mail.Read']);
    const listed = await call('/mailFolders/inbox/messages', { bearer: reader });
    expect(listed.status).toBe(200);
    const id = (listed.json().value as { id: string }[])[0]?.id;
    expect((await call(`/messages/${id}`, { method: 'PATCH', body: { isRead: true }, bearer: reader })).status).toBe(403);
    expect((await call('/mailFolders/inbox/messages', { bearer: delegatedToken(['Mail.Send']) })).status).toBe(403);
    expect(
      (await call(`/messages/${id}`, { method: 'PATCH', body: { isRead: false }, bearer: delegatedToken(['Mail.ReadWrite']) })).status,
    ).toBe(200);
    await using sendOnly = await startSandbox({ accounts: { microsoft: { applicationPermissions: ['Mail.Send'] } } });
    const refused = await fetch(`${sendOnly.httpUrl}/v1.0/users/sender@contoso.example/mailFolders/inbox/messages`, {
      headers: { authorization: `Bearer ${appToken(sendOnly)}` },
    });
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('ErrorAccessDenied');
  });

  it('answers hostile input with 4xx, never 500', async () => {
    const [first] = await unread();
    const id = first?.id ?? (((await call('/mailFolders/inbox/messages')).json().value as { id: string }[])[0]?.id as string);
    const cases: [string, { method?: string; body?: unknown; type?: string }, number][] = [
      ["/mailFolders/inbox/messages?$filter=subject eq 'x'", {}, 400],
      ['/mailFolders/inbox/messages?$select=id,password', {}, 400],
      ['/mailFolders/inbox/messages?$top=0', {}, 400],
      ['/mailFolders/inbox/messages?$top=99999999', {}, 400],
      ['/mailFolders/inbox/messages?$skip=-1', {}, 400],
      ['/messages/AAMkADnope/$value', {}, 404],
      [`/messages/${id}`, { method: 'PATCH', body: { isRead: 'yes' } }, 400],
      [`/messages/${id}`, { method: 'PATCH', body: { subject: 'x' } }, 400],
      [`/messages/${id}`, { method: 'PATCH', body: '{' }, 400],
      [`/messages/${id}`, { method: 'PATCH', body: '[]' }, 400],
      [`/messages/${id}`, { method: 'PATCH', body: { isRead: true }, type: 'text/plain' }, 415],
      ['/messages/AAMkADnope', { method: 'PATCH', body: { isRead: true } }, 404],
    ];
    for (const [path, init, status] of cases) expect([path, (await call(path, init)).status]).toEqual([path, status]);
    // Another mailbox's inbox is its own: the report is not there.
    const other = await call(`${sandbox.httpUrl}/v1.0/users/other@contoso.example/messages/${id}/$value`);
    expect(other.status).toBe(404);
  });
});
