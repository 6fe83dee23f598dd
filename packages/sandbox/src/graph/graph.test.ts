import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Sandbox, startSandbox } from '../sandbox.js';

let sandbox: Sandbox;

beforeAll(async () => {
  sandbox = await startSandbox();
});
afterAll(() => sandbox.close());
beforeEach(() => {
  sandbox.store.clear();
  sandbox.faults.clear();
  sandbox.requests.clear();
});

const form = (fields: Record<string, string>): RequestInit => ({
  method: 'POST',
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
  body: new URLSearchParams(fields).toString(),
});
const tokenUrl = (tenant = sandbox.accounts.microsoft.tenantId): string => `${sandbox.httpUrl}/${tenant}/oauth2/v2.0/token`;

async function appToken(scope = 'https://graph.microsoft.com/.default'): Promise<string> {
  const microsoft = sandbox.accounts.microsoft;
  const response = await fetch(
    tokenUrl(),
    form({ grant_type: 'client_credentials', client_id: microsoft.clientId, client_secret: microsoft.clientSecret, scope }),
  );
  expect(response.status).toBe(200);
  return ((await response.json()) as { access_token: string }).access_token;
}

const graph = (
  path: string,
  token: string | undefined,
  init: { method?: string; type?: string; body?: string | Uint8Array } = {},
): Promise<Response> =>
  fetch(`${sandbox.httpUrl}/v1.0${path}`, {
    method: init.method ?? 'POST',
    headers: {
      ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
      ...(init.type === undefined ? {} : { 'content-type': init.type }),
    },
    // RequestInit takes no explicit undefined body: without one the key is left out.
    ...(init.body === undefined ? {} : { body: init.body as BodyInit }),
  });
const json = (body: unknown): { type: string; body: string } => ({ type: 'application/json', body: JSON.stringify(body) });
const mime = (text: string): { type: string; body: string } => ({
  type: 'text/plain',
  body: Buffer.from(text.replace(/\n/g, '\r\n')).toString('base64'),
});
const errorOf = async (response: Response): Promise<{ code: string; message: string; innerError: Record<string, string> }> =>
  ((await response.json()) as { error: { code: string; message: string; innerError: Record<string, string> } }).error;

const simple = {
  subject: 'Hi',
  body: { contentType: 'Text', content: 'Hello' },
  toRecipients: [{ emailAddress: { address: 'ana@example.org' } }],
};
const sendMailPath = '/users/sender@contoso.example/sendMail';

describe('Entra token endpoint', () => {
  it('serves the OpenID configuration MSAL reads for a custom authority', async () => {
    const tenant = sandbox.accounts.microsoft.tenantId;
    const config = (await (await fetch(`${sandbox.httpUrl}/${tenant}/v2.0/.well-known/openid-configuration`)).json()) as Record<
      string,
      string
    >;
    expect(config).toMatchObject({
      issuer: `${sandbox.httpsUrl}/${tenant}/v2.0`,
      token_endpoint: `${sandbox.httpsUrl}/${tenant}/oauth2/v2.0/token`,
      authorization_endpoint: `${sandbox.httpsUrl}/${tenant}/oauth2/v2.0/authorize`,
      jwks_uri: `${sandbox.httpsUrl}/${tenant}/discovery/v2.0/keys`,
    });
    const unknown = await fetch(`${sandbox.httpUrl}/no-such-tenant/v2.0/.well-known/openid-configuration`);
    expect(unknown.status).toBe(400);
    expect(((await unknown.json()) as { error_codes: number[] }).error_codes).toEqual([90002]);
  });

  it('issues client-credentials tokens and answers a wrong secret as Entra does', async () => {
    const microsoft = sandbox.accounts.microsoft;
    const ok = await fetch(
      tokenUrl(),
      form({
        grant_type: 'client_credentials',
        client_id: microsoft.clientId,
        client_secret: microsoft.clientSecret,
        scope: 'https://graph.microsoft.com/.default',
      }),
    );
    expect(await ok.json()).toMatchObject({
      token_type: 'Bearer',
      expires_in: 3600,
      ext_expires_in: 3600,
      access_token: expect.any(String),
    });
    const wrong = await fetch(
      tokenUrl(),
      form({
        grant_type: 'client_credentials',
        client_id: microsoft.clientId,
        client_secret: 'nope',
        scope: 'https://graph.microsoft.com/.default',
      }),
    );
    expect(wrong.status).toBe(401);
    const body = (await wrong.json()) as Record<string, unknown>;
    expect(Object.keys(body).sort()).toEqual([
      'correlation_id',
      'error',
      'error_codes',
      'error_description',
      'error_uri',
      'timestamp',
      'trace_id',
    ]);
    expect(body).toMatchObject({ error: 'invalid_client', error_codes: [7000215] });
    expect(body.error_description).toMatch(
      /^AADSTS7000215: Invalid client secret provided\..*\r\nTrace ID: .*\r\nCorrelation ID: .*\r\nTimestamp: \d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ$/s,
    );
  });

  it.each([
    [{ scope: 'https://graph.microsoft.com/Mail.Send' }, 400, 'invalid_scope', 1002012],
    [{ scope: 'https://example.com/.default' }, 400, 'invalid_resource', 500011],
    [{ scope: undefined }, 400, 'invalid_request', 900144],
    [{ client_id: 'someone-else' }, 400, 'unauthorized_client', 700016],
    [{ grant_type: 'password' }, 400, 'unsupported_grant_type', 70003],
    [{ client_secret: undefined }, 401, 'invalid_client', 7000218],
  ])('refuses %o', async (change, status, error, code) => {
    const microsoft = sandbox.accounts.microsoft;
    const fields: Record<string, string | undefined> = {
      grant_type: 'client_credentials',
      client_id: microsoft.clientId,
      client_secret: microsoft.clientSecret,
      scope: 'https://graph.microsoft.com/.default',
      ...change,
    };
    const response = await fetch(
      tokenUrl(),
      form(Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined)) as Record<string, string>),
    );
    expect(response.status).toBe(status);
    expect(await response.json()).toMatchObject({ error, error_codes: [code] });
  });

  it('rotates refresh tokens: each works once, then invalid_grant', async () => {
    const microsoft = sandbox.accounts.microsoft;
    const refresh = (token: string): Promise<Response> =>
      fetch(
        tokenUrl(),
        form({
          grant_type: 'refresh_token',
          client_id: microsoft.clientId,
          refresh_token: token,
          scope: 'https://graph.microsoft.com/Mail.Send offline_access',
        }),
      );
    const first = (await (await refresh(microsoft.refreshToken)).json()) as { refresh_token: string; access_token: string; scope: string };
    expect(first.refresh_token).not.toBe(microsoft.refreshToken);
    expect(first.scope).toBe('https://graph.microsoft.com/Mail.Send offline_access');
    expect(sandbox.tokens.find(first.access_token)?.subject).toBe(microsoft.delegatedUser);
    const reused = await refresh(microsoft.refreshToken);
    expect(reused.status).toBe(400);
    expect(await reused.json()).toMatchObject({ error: 'invalid_grant', error_codes: [50173] });
    expect((await refresh(first.refresh_token)).status).toBe(200);
    expect(await (await refresh('made-up')).json()).toMatchObject({ error: 'invalid_grant', error_codes: [9002313] });
  });

  it('answers an injected token fault in Entra’s shape', async () => {
    sandbox.faults.inject({ endpoint: 'microsoft.token', status: 503, code: 'temporarily_unavailable' });
    const response = await fetch(tokenUrl(), form({ grant_type: 'client_credentials' }));
    expect(response.status).toBe(503);
    expect(await response.json()).toMatchObject({ error: 'temporarily_unavailable', error_codes: [90033] });
  });
});

describe('Graph sendMail', () => {
  it('accepts MIME, answers 202 with no body, and stores it without Bcc', async () => {
    const token = await appToken();
    const response = await graph(
      sendMailPath,
      token,
      mime(
        'From: Sender <sender@contoso.example>\nTo: ana@example.org\nBcc: audit@example.net\nSubject: MIME\nMessage-ID: <m-1@contoso.example>\n\nHello\n',
      ),
    );
    expect(response.status).toBe(202);
    expect(await response.text()).toBe('');
    const stored = sandbox.store.last();
    expect(stored).toMatchObject({ api: 'graph', operation: 'sendMail (MIME)', providerMessageId: undefined });
    expect(stored?.envelope).toEqual({ from: 'sender@contoso.example', to: ['ana@example.org', 'audit@example.net'] });
    expect(stored?.metadata).toMatchObject({
      mode: 'mime',
      path: 'sendMail',
      saveToSentItems: true,
      mailbox: 'sender@contoso.example',
      auth: 'app-only',
    });
    const raw = stored?.raw.toString() ?? '';
    expect(raw).not.toMatch(/^Bcc:/im);
    expect((await simpleParser(stored?.raw ?? Buffer.alloc(0))).messageId).toBe('<m-1@contoso.example>');
  });

  it('builds JSON mode into RFC 5322, with an Exchange Message-ID when none was given', async () => {
    const token = await appToken();
    const response = await graph(
      sendMailPath,
      token,
      json({ message: { ...simple, bccRecipients: [{ emailAddress: { address: 'audit@example.net' } }] }, saveToSentItems: 'false' }),
    );
    expect(response.status).toBe(202);
    const stored = sandbox.store.last();
    expect(stored?.metadata).toMatchObject({ mode: 'json', saveToSentItems: false });
    const parsed = await simpleParser(stored?.raw ?? Buffer.alloc(0));
    expect(parsed.messageId).toMatch(/^<SA1PR12MB\d{4}[0-9A-F]{32}@SA1PR12MB\d{4}\.namprd12\.prod\.outlook\.com>$/);
    expect(parsed.from?.value[0]?.address).toBe('sender@contoso.example');
    expect(parsed.text?.trim()).toBe('Hello');
    expect(parsed.bcc).toBeUndefined();
  });

  it.each([
    ['invalid base64', { type: 'text/plain', body: 'not base64!' }, 400, 'ErrorMimeContentInvalidBase64String'],
    [
      '6 custom headers',
      json({
        message: { ...simple, internetMessageHeaders: Array.from({ length: 6 }, (_, index) => ({ name: `x-h${index}`, value: 'v' })) },
      }),
      400,
      'InvalidInternetMessageHeaderCollection',
    ],
    [
      'an empty header collection',
      json({ message: { ...simple, internetMessageHeaders: [] } }),
      400,
      'InvalidInternetMessageHeaderCollection',
    ],
    [
      'a header not named x-',
      json({ message: { ...simple, internetMessageHeaders: [{ name: 'List-Unsubscribe', value: '<x>' }] } }),
      400,
      'InvalidInternetMessageHeader',
    ],
    [
      'a body type other than text or html',
      json({ message: { ...simple, body: { contentType: 'Markdown', content: '*' } } }),
      400,
      'RequestBodyRead',
    ],
    ['an unknown property', json({ message: { ...simple, colour: 'blue' } }), 400, 'RequestBodyRead'],
    ['no recipients', json({ message: { ...simple, toRecipients: [] } }), 400, 'ErrorInvalidRecipients'],
    [
      'a malformed recipient',
      json({ message: { ...simple, toRecipients: [{ emailAddress: { address: 'nobody' } }] } }),
      400,
      'ErrorInvalidRecipients',
    ],
    [
      '501 recipients',
      json({
        message: {
          ...simple,
          toRecipients: Array.from({ length: 501 }, (_, index) => ({ emailAddress: { address: `r${index}@example.org` } })),
        },
      }),
      400,
      'ErrorTooManyRecipients',
    ],
    [
      'a From that is not the mailbox',
      json({ message: { ...simple, from: { emailAddress: { address: 'ceo@contoso.example' } } } }),
      403,
      'ErrorSendAsDenied',
    ],
    ['a MIME From that is not the mailbox', mime('From: ceo@contoso.example\nTo: ana@example.org\n\nx\n'), 403, 'ErrorSendAsDenied'],
    ['invalid JSON', { type: 'application/json', body: '{' }, 400, 'BadRequest'],
  ])('refuses %s', async (_name, request, status, code) => {
    const response = await graph(sendMailPath, await appToken(), request);
    expect(response.status).toBe(status);
    const error = await errorOf(response);
    expect(error.code).toBe(code);
    expect(error.innerError).toMatchObject({
      date: expect.any(String),
      'request-id': expect.any(String),
      'client-request-id': expect.any(String),
    });
    expect(sandbox.store.size).toBe(0);
  });

  it('refuses a request over 4 MB with 413', async () => {
    const response = await graph(sendMailPath, await appToken(), { type: 'text/plain', body: Buffer.alloc(4 * 1024 * 1024 + 1, 'A') });
    expect(response.status).toBe(413);
  });

  it('checks bearer tokens: missing, expired, for another resource, and /me with an app token', async () => {
    expect(await errorOf(await graph(sendMailPath, undefined, json({ message: simple })))).toMatchObject({
      code: 'InvalidAuthenticationToken',
      message: 'Access token is empty.',
    });
    const token = await appToken();
    sandbox.tokens.expireAll();
    const expired = await graph(sendMailPath, token, json({ message: simple }));
    expect(expired.status).toBe(401);
    expect(expired.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect((await errorOf(expired)).message).toBe('Lifetime validation failed, the token is expired.');
    const smtp = await appToken('https://outlook.office365.com/.default');
    expect((await errorOf(await graph(sendMailPath, smtp, json({ message: simple })))).message).toMatch(/Invalid audience/);
    const me = await graph('/me/sendMail', await appToken(), json({ message: simple }));
    expect(me.status).toBe(400);
    expect((await errorOf(me)).message).toBe('/me request is only valid with delegated authentication flow.');
  });

  it('answers an unknown mailbox as Graph does', async () => {
    const token = await appToken();
    expect(await errorOf(await graph('/users/nobody@contoso.example/sendMail', token, json({ message: simple })))).toMatchObject({
      code: 'ErrorInvalidUser',
    });
    const user = await graph('/users/nobody@contoso.example', token, { method: 'GET' });
    expect(user.status).toBe(404);
    expect((await errorOf(user)).code).toBe('Request_ResourceNotFound');
    expect(await (await graph('/users/sender@contoso.example', token, { method: 'GET' })).json()).toMatchObject({
      mail: 'sender@contoso.example',
      userPrincipalName: 'sender@contoso.example',
      displayName: 'Sender',
    });
  });

  it('answers the fifth request in flight to a mailbox with 429 MailboxConcurrency and Retry-After', async () => {
    const token = await appToken();
    const responses = await Promise.all(Array.from({ length: 6 }, () => graph(sendMailPath, token, json({ message: simple }))));
    const throttled = responses.filter((response) => response.status === 429);
    expect(throttled.length).toBeGreaterThan(0);
    expect(throttled[0]?.headers.get('retry-after')).toBe('1');
    expect(await errorOf(throttled[0] as Response)).toMatchObject({
      code: 'ApplicationThrottled',
      message: 'Application is over its MailboxConcurrency limit.',
    });
  });
});

describe('Graph drafts and upload sessions', () => {
  it('creates a MIME draft, adds a small and an uploaded attachment, and sends it as one message', async () => {
    const token = await appToken();
    const created = await graph(
      '/users/sender@contoso.example/messages',
      token,
      mime(
        'From: sender@contoso.example\nTo: ana@example.org\nSubject: Draft\nMessage-ID: <d-1@contoso.example>\nContent-Type: text/plain\n\nBody\n',
      ),
    );
    expect(created.status).toBe(201);
    const draft = (await created.json()) as { id: string; isDraft: boolean; internetMessageId: string };
    expect(draft).toMatchObject({ isDraft: true, internetMessageId: '<d-1@contoso.example>' });
    const small = await graph(
      `/users/sender@contoso.example/messages/${draft.id}/attachments`,
      token,
      json({
        '@odata.type': '#microsoft.graph.fileAttachment',
        name: 'small.txt',
        contentType: 'text/plain',
        contentBytes: Buffer.from('small').toString('base64'),
      }),
    );
    expect(small.status).toBe(201);

    const tooSmall = await graph(
      `/users/sender@contoso.example/messages/${draft.id}/attachments/createUploadSession`,
      token,
      json({ AttachmentItem: { attachmentType: 'file', name: 'x', size: 1000 } }),
    );
    expect((await errorOf(tooSmall)).code).toBe('ErrorAttachmentSizeShouldNotBeLessThanMinimumSize');

    const bytes = Buffer.alloc(5_000_000, 7);
    const session = (await (
      await graph(
        `/users/sender@contoso.example/messages/${draft.id}/attachments/createUploadSession`,
        token,
        json({ AttachmentItem: { attachmentType: 'file', name: 'big.bin', size: bytes.length } }),
      )
    ).json()) as { uploadUrl: string; nextExpectedRanges: string[]; expirationDateTime: string };
    expect(session.nextExpectedRanges).toEqual(['0-']);
    const put = (start: number, end: number, authorization?: string): Promise<Response> =>
      fetch(session.uploadUrl, {
        method: 'PUT',
        headers: {
          'content-type': 'application/octet-stream',
          'content-range': `bytes ${start}-${end}/${bytes.length}`,
          ...(authorization === undefined ? {} : { authorization }),
        },
        body: bytes.subarray(start, end + 1),
      });
    expect((await put(0, 999, `Bearer ${token}`)).status).toBe(401);
    expect((await put(1000, 1999)).status).toBe(416);
    const first = await put(0, 4_194_303);
    expect(first.status).toBe(200);
    expect(await first.json()).toMatchObject({ nextExpectedRanges: ['4194304'] });
    const last = await put(4_194_304, bytes.length - 1);
    expect(last.status).toBe(201);
    expect(last.headers.get('location')).toMatch(/\/Attachments\('AAMkAD/);

    const sent = await graph(`/users/sender@contoso.example/messages/${draft.id}/send`, token, {});
    expect(sent.status).toBe(202);
    const stored = sandbox.store.last();
    expect(stored).toMatchObject({ operation: 'send (draft, MIME)', providerMessageId: draft.id });
    expect(stored?.metadata).toMatchObject({ mode: 'mime', path: 'draft+upload' });
    const parsed = await simpleParser(stored?.raw ?? Buffer.alloc(0));
    expect(parsed.messageId).toBe('<d-1@contoso.example>');
    expect(parsed.text?.trim()).toBe('Body');
    expect(parsed.attachments.map((attachment) => [attachment.filename, attachment.size])).toEqual([
      ['small.txt', 5],
      ['big.bin', bytes.length],
    ]);
    // Sent: the draft is gone.
    expect((await graph(`/users/sender@contoso.example/messages/${draft.id}/send`, token, {})).status).toBe(404);
  });
});
