import { generateKeyPairSync, sign } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Sandbox, startSandbox } from '../sandbox.js';
import { gmailUploadLimit } from './index.js';

const gmailScope = (name: string): string => `https://www.googleapis.com/auth/gmail.${name}`;

describe('sandbox: Gmail API and Google token endpoint', () => {
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

  const form = (fields: Record<string, string>, headers: Record<string, string> = {}): Promise<Response> =>
    fetch(`${sandbox.httpUrl}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
      body: new URLSearchParams(fields),
    });
  const refreshGrant = (overrides: Record<string, string> = {}): Promise<Response> =>
    form({
      grant_type: 'refresh_token',
      client_id: sandbox.accounts.google.clientId,
      client_secret: sandbox.accounts.google.clientSecret,
      refresh_token: 'sandbox-google-refresh-token',
      ...overrides,
    });
  const userToken = async (): Promise<string> => ((await (await refreshGrant()).json()) as { access_token: string }).access_token;

  /** A service account assertion as Google documents it (RS256, iss, scope, aud, exp, iat, sub). */
  const assertion = (claims: Record<string, unknown> = {}, key: string = sandbox.accounts.google.serviceAccount.privateKey): string => {
    const now = Math.floor(Date.now() / 1000);
    const header = Buffer.from(JSON.stringify({ alg: 'RS256', typ: 'JWT' })).toString('base64url');
    const payload = Buffer.from(
      JSON.stringify({
        iss: sandbox.accounts.google.serviceAccount.clientEmail,
        scope: gmailScope('send'),
        aud: 'https://oauth2.googleapis.com/token',
        iat: now,
        exp: now + 3600,
        sub: 'user@example.com',
        ...claims,
      }),
    ).toString('base64url');
    const signature = sign('RSA-SHA256', Buffer.from(`${header}.${payload}`), key).toString('base64url');
    return `${header}.${payload}.${signature}`;
  };
  const jwtGrant = (claims: Record<string, unknown> = {}, key?: string): Promise<Response> =>
    form({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion: assertion(claims, key) });
  const serviceToken = async (claims: Record<string, unknown> = {}): Promise<string> =>
    ((await (await jwtGrant(claims)).json()) as { access_token: string }).access_token;

  const mime = (headers: string, body = 'Hello'): Buffer => Buffer.from(`${headers.trim().split('\n').join('\r\n')}\r\n\r\n${body}\r\n`);
  const sendJson = (token: string, resource: object, userId = 'me'): Promise<Response> =>
    fetch(`${sandbox.httpUrl}/gmail/v1/users/${encodeURIComponent(userId)}/messages/send`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(resource),
    });

  describe('token endpoint', () => {
    it('answers the refresh-token grant with a short-lived bearer token', async () => {
      const response = await refreshGrant();
      expect(response.status).toBe(200);
      const body = (await response.json()) as Record<string, unknown>;
      expect(body).toMatchObject({ token_type: 'Bearer', scope: 'https://mail.google.com/' });
      expect(body.access_token).toMatch(/^ya29\./);
      expect(body.expires_in).toBeGreaterThan(3500);
      expect(sandbox.tokens.check(`Bearer ${body.access_token}`, 'google')).toMatchObject({
        ok: true,
        token: { subject: 'user@example.com' },
      });
    });

    it('takes client credentials in a Basic header too', async () => {
      const { clientId, clientSecret } = sandbox.accounts.google;
      const response = await form(
        { grant_type: 'refresh_token', refresh_token: 'sandbox-google-refresh-token' },
        { authorization: `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString('base64')}` },
      );
      expect(response.status).toBe(200);
    });

    it.each([
      [{ refresh_token: 'revoked' }, 400, 'invalid_grant', 'Token has been expired or revoked.'],
      [{ client_id: 'other.apps.googleusercontent.com' }, 401, 'invalid_client', 'The OAuth client was not found.'],
      [{ client_secret: 'wrong' }, 401, 'invalid_client', 'Unauthorized'],
      [{ refresh_token: '' }, 400, 'invalid_request', 'Missing required parameter: refresh_token'],
      [{ grant_type: 'password' }, 400, 'unsupported_grant_type', 'Invalid grant_type: password'],
    ])('refuses %o with %i %s', async (overrides, status, error, description) => {
      const response = await refreshGrant(overrides);
      expect(response.status).toBe(status);
      expect(await response.json()).toEqual({ error, error_description: description });
    });

    it('verifies a service account assertion and issues a token for the delegated user', async () => {
      const response = await jwtGrant({ scope: `${gmailScope('send')} ${gmailScope('settings.basic')}` });
      expect(response.status).toBe(200);
      const body = (await response.json()) as { access_token: string };
      const checked = sandbox.tokens.check(`Bearer ${body.access_token}`, 'google');
      expect(checked).toMatchObject({
        ok: true,
        token: { subject: 'user@example.com', scopes: [gmailScope('send'), gmailScope('settings.basic')] },
      });
    });

    it.each([
      ['a signature by another key', {}, 'other-key', 400, 'invalid_grant', 'Invalid JWT Signature.'],
      ['another audience', { aud: 'https://example.com/token' }, undefined, 400, 'invalid_grant', 'Invalid JWT: Failed audience check.'],
      ['an expired assertion', { iat: 1_000_000, exp: 1_003_600 }, undefined, 400, 'invalid_grant', /short-lived token/],
      [
        'an unknown issuer',
        { iss: 'other@p.iam.gserviceaccount.com' },
        undefined,
        400,
        'invalid_grant',
        'Invalid grant: account not found',
      ],
      ['a user outside the domain', { sub: 'stranger@example.net' }, undefined, 400, 'invalid_grant', 'Invalid email or User ID'],
      [
        'a scope not delegated',
        { scope: 'https://www.googleapis.com/auth/drive' },
        undefined,
        401,
        'unauthorized_client',
        /not authorized for any of the scopes/,
      ],
      ['no scope', { scope: '' }, undefined, 400, 'invalid_scope', /Invalid OAuth scope/],
    ] as const)('refuses %s', async (_name, claims, keyKind, status, error, description) => {
      const otherKey = generateKeyPairSync('rsa', {
        modulusLength: 2048,
        privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
        publicKeyEncoding: { type: 'spki', format: 'pem' },
      });
      const response = await jwtGrant(claims, keyKind === 'other-key' ? otherKey.privateKey : undefined);
      expect(response.status).toBe(status);
      const body = (await response.json()) as { error: string; error_description: string };
      expect(body.error).toBe(error);
      if (typeof description === 'string') expect(body.error_description).toBe(description);
      else expect(body.error_description).toMatch(description);
    });

    it('answers an injected fault in the OAuth error shape', async () => {
      sandbox.faults.inject({
        endpoint: 'google.token',
        status: 400,
        code: 'invalid_grant',
        message: 'Token has been expired or revoked.',
      });
      const response = await refreshGrant();
      expect(response.status).toBe(400);
      expect(await response.json()).toEqual({ error: 'invalid_grant', error_description: 'Token has been expired or revoked.' });
      expect(sandbox.requests.count('google.token')).toBe(1);
    });
  });

  describe('authorization', () => {
    it('answers 401 in Google shape without a token or with an expired one', async () => {
      const missing = await fetch(`${sandbox.httpUrl}/gmail/v1/users/me/profile`);
      expect(missing.status).toBe(401);
      expect(missing.headers.get('www-authenticate')).toContain('Bearer realm="https://accounts.google.com/"');
      expect(await missing.json()).toMatchObject({
        error: {
          code: 401,
          errors: [{ message: 'Login Required.', domain: 'global', reason: 'required', location: 'Authorization', locationType: 'header' }],
          status: 'UNAUTHENTICATED',
        },
      });
      const token = await userToken();
      sandbox.tokens.expireAll();
      const expired = await fetch(`${sandbox.httpUrl}/gmail/v1/users/me/profile`, { headers: { authorization: `Bearer ${token}` } });
      expect(expired.status).toBe(401);
      expect(await expired.json()).toMatchObject({
        error: {
          code: 401,
          message: expect.stringContaining('Request had invalid authentication credentials'),
          errors: [
            { message: 'Invalid Credentials', domain: 'global', reason: 'authError', location: 'Authorization', locationType: 'header' },
          ],
          status: 'UNAUTHENTICATED',
        },
      });
    });

    it('answers 403 insufficientPermissions to a token without a scope the method takes', async () => {
      const token = await serviceToken({ scope: gmailScope('send') });
      const response = await fetch(`${sandbox.httpUrl}/gmail/v1/users/me/settings/sendAs`, {
        headers: { authorization: `Bearer ${token}` },
      });
      expect(response.status).toBe(403);
      expect(response.headers.get('www-authenticate')).toContain('error="insufficient_scope"');
      expect(await response.json()).toMatchObject({
        error: {
          code: 403,
          message: 'Request had insufficient authentication scopes.',
          errors: [{ domain: 'global', reason: 'insufficientPermissions' }],
          status: 'PERMISSION_DENIED',
          details: [{ reason: 'ACCESS_TOKEN_SCOPE_INSUFFICIENT' }],
        },
      });
      const readOnly = await serviceToken({ scope: gmailScope('readonly') });
      const send = await sendJson(readOnly, { raw: mime('To: a@example.org').toString('base64url') });
      expect(send.status).toBe(403);
    });

    it("refuses another user's mailbox, and a service account without delegation", async () => {
      const token = await userToken();
      const other = await sendJson(token, { raw: mime('To: a@example.org').toString('base64url') }, 'other@example.com');
      expect(other.status).toBe(403);
      expect(await other.json()).toMatchObject({
        error: { message: 'Delegation denied for other@example.com', errors: [{ reason: 'forbidden' }] },
      });
      const own = await serviceToken({ sub: undefined });
      const response = await sendJson(own, { raw: mime('To: a@example.org').toString('base64url') });
      expect(response.status).toBe(400);
      expect(await response.json()).toMatchObject({
        error: { message: 'Precondition check failed.', status: 'FAILED_PRECONDITION', errors: [{ reason: 'failedPrecondition' }] },
      });
      expect(sandbox.store.size).toBe(0);
    });
  });

  describe('messages.send', () => {
    it('delivers to To, Cc and Bcc, without the Bcc header, keeping the Message-ID', async () => {
      const token = await userToken();
      const raw = mime(`From: "Us" <user@example.com>
To: Ana <ana@example.org>, bob@example.org
Cc: carol@example.net
Bcc: dave@example.net
Subject: Hi
Message-ID: <kept-1@example.com>`);
      const response = await sendJson(token, { raw: raw.toString('base64url') }, 'user@example.com');
      expect(response.status).toBe(200);
      const body = (await response.json()) as { id: string; threadId: string; labelIds: string[] };
      expect(body.id).toMatch(/^[0-9a-f]{16}$/);
      expect(body.threadId).toBe(body.id);
      expect(body.labelIds).toEqual(['SENT']);
      const stored = sandbox.store.last();
      expect(stored).toMatchObject({
        api: 'gmail',
        operation: 'messages.send',
        providerMessageId: body.id,
        envelope: { from: 'user@example.com', to: ['ana@example.org', 'bob@example.org', 'carol@example.net', 'dave@example.net'] },
        metadata: { threadId: body.threadId, user: 'user@example.com', uploadType: 'json' },
      });
      const parsed = await simpleParser(stored?.raw ?? Buffer.alloc(0));
      expect(parsed.bcc).toBeUndefined();
      expect(stored?.raw.toString()).not.toContain('dave@example.net');
      expect(parsed.messageId).toBe('<kept-1@example.com>');
      expect(parsed.from?.text).toBe('"Us" <user@example.com>');
    });

    it('sends from the primary address when the From is not a send-as address, and keeps an alias', async () => {
      const token = await userToken();
      await sendJson(token, { raw: mime('From: stranger@example.net\nTo: a@example.org\nSubject: x').toString('base64url') });
      expect((await simpleParser(sandbox.store.last()?.raw ?? Buffer.alloc(0))).from?.text).toBe('user@example.com');
      await sendJson(token, { raw: mime('From: Alias <alias@example.com>\nTo: a@example.org\nSubject: x').toString('base64url') });
      const stored = sandbox.store.last();
      expect(stored?.envelope.from).toBe('alias@example.com');
      expect((await simpleParser(stored?.raw ?? Buffer.alloc(0))).from?.value[0]).toMatchObject({
        name: 'Alias',
        address: 'alias@example.com',
      });
    });

    it('adds a Message-ID when there is none and replaces a malformed one', async () => {
      const token = await userToken();
      await sendJson(token, { raw: mime('To: a@example.org\nSubject: x').toString('base64url') });
      expect((await simpleParser(sandbox.store.last()?.raw ?? Buffer.alloc(0))).messageId).toMatch(/@mail\.gmail\.com>$/);
      await sendJson(token, { raw: mime('To: a@example.org\nMessage-ID: not-an-id\nSubject: x').toString('base64url') });
      const raw = sandbox.store.last()?.raw.toString() ?? '';
      expect(raw).toContain('X-Google-Original-Message-ID: not-an-id');
      expect(raw).toMatch(/Message-ID: <[^>]+@mail\.gmail\.com>/);
    });

    it.each([
      ['no recipient', { raw: mime('Subject: x').toString('base64url') }, 400, 'invalidArgument', 'Recipient address required'],
      [
        'a malformed To',
        { raw: mime('To: not an address\nSubject: x').toString('base64url') },
        400,
        'invalidArgument',
        'Invalid To header',
      ],
      ['no raw', {}, 400, 'badRequest', "'raw' RFC822 payload message string or uploading message via /upload/* URL required"],
      [
        'a malformed threadId',
        { raw: mime('To: a@example.org').toString('base64url'), threadId: 'xyz' },
        400,
        'invalidArgument',
        'Invalid thread_id value',
      ],
      [
        'an unknown threadId',
        { raw: mime('To: a@example.org').toString('base64url'), threadId: '0123456789abcdef' },
        404,
        'notFound',
        'Requested entity was not found.',
      ],
    ])('refuses %s', async (_name, resource, status, reason, message) => {
      const response = await sendJson(await userToken(), resource);
      expect(response.status).toBe(status);
      expect(await response.json()).toMatchObject({ error: { code: status, message, errors: [{ reason, domain: 'global' }] } });
      expect(sandbox.store.size).toBe(0);
    });

    it('refuses more than 100 recipients', async () => {
      const to = Array.from({ length: 60 }, (_, index) => `to${index}@example.org`).join(', ');
      const bcc = Array.from({ length: 41 }, (_, index) => `bcc${index}@example.net`).join(', ');
      const response = await sendJson(await userToken(), { raw: mime(`To: ${to}\nBcc: ${bcc}\nSubject: x`).toString('base64url') });
      expect(response.status).toBe(400);
      expect(await response.json()).toMatchObject({ error: { errors: [{ reason: 'invalidArgument' }], status: 'INVALID_ARGUMENT' } });
    });

    it('keeps a reply in the thread it names, and starts a new one when the subject differs', async () => {
      const token = await userToken();
      const first = (await (
        await sendJson(token, { raw: mime('To: a@example.org\nSubject: Plans\nMessage-ID: <t1@example.com>').toString('base64url') })
      ).json()) as {
        threadId: string;
      };
      const reply = mime('To: a@example.org\nSubject: Re: Plans\nIn-Reply-To: <t1@example.com>\nReferences: <t1@example.com>');
      const second = (await (await sendJson(token, { raw: reply.toString('base64url'), threadId: first.threadId })).json()) as {
        threadId: string;
      };
      expect(second.threadId).toBe(first.threadId);
      const other = mime('To: a@example.org\nSubject: Something else\nIn-Reply-To: <t1@example.com>');
      const third = (await (await sendJson(token, { raw: other.toString('base64url'), threadId: first.threadId })).json()) as {
        id: string;
        threadId: string;
      };
      expect(third.threadId).toBe(third.id);
      expect(sandbox.store.list().map((message) => message.metadata.threadId)).toEqual([first.threadId, first.threadId, third.id]);
    });

    it('answers 413 in HTML for a JSON body over the limit, before reading it', async () => {
      const token = await userToken();
      const response = await new Promise<{ status: number; type: string; body: string }>((resolve, reject) => {
        const request = httpRequest(`${sandbox.httpUrl}/gmail/v1/users/me/messages/send`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'content-length': String(9 * 1024 * 1024) },
        });
        request.on('response', (incoming) => {
          let body = '';
          incoming.on('data', (chunk: Buffer) => {
            body += chunk.toString();
          });
          incoming.on('end', () => resolve({ status: incoming.statusCode ?? 0, type: String(incoming.headers['content-type']), body }));
        });
        request.on('error', reject);
        request.flushHeaders();
      });
      expect(response.status).toBe(413);
      expect(response.type).toContain('text/html');
      expect(response.body).toContain('Your client issued a request that was too large.');
    });
  });

  describe('upload endpoint', () => {
    const upload = (token: string, query: string, contentType: string, body: Buffer): Promise<Response> =>
      fetch(`${sandbox.httpUrl}/upload/gmail/v1/users/me/messages/send?${query}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': contentType },
        body: new Uint8Array(body),
      });

    it('takes a media upload of message/rfc822', async () => {
      const response = await upload(
        await userToken(),
        'uploadType=media',
        'message/rfc822',
        mime('To: a@example.org\nBcc: b@example.net\nSubject: Up'),
      );
      expect(response.status).toBe(200);
      expect(sandbox.store.last()).toMatchObject({
        operation: 'messages.send (upload)',
        envelope: { to: ['a@example.org', 'b@example.net'] },
        metadata: { uploadType: 'media' },
      });
    });

    it('takes a multipart/related upload with the metadata first, as googleapis sends it', async () => {
      const token = await userToken();
      const first = (await (
        await sendJson(token, { raw: mime('To: a@example.org\nSubject: Big\nMessage-ID: <big@example.com>').toString('base64url') })
      ).json()) as {
        threadId: string;
      };
      const boundary = '3b87f886-2147-4785-96ae-bf0f8de4089e';
      const message = mime('To: a@example.org\nSubject: Re: Big\nIn-Reply-To: <big@example.com>', 'binary-safe \u00e9');
      const body = Buffer.concat([
        Buffer.from(`--${boundary}\r\ncontent-type: application/json\r\n\r\n${JSON.stringify({ threadId: first.threadId })}\r\n`),
        Buffer.from(`--${boundary}\r\ncontent-type: message/rfc822\r\n\r\n`),
        message,
        Buffer.from(`\r\n--${boundary}--`),
      ]);
      const response = await upload(token, 'uploadType=multipart', `multipart/related; boundary=${boundary}`, body);
      expect(response.status).toBe(200);
      const stored = sandbox.store.last();
      expect(stored?.metadata).toMatchObject({ threadId: first.threadId, uploadType: 'multipart' });
      expect(stored?.raw.subarray(-message.length + message.indexOf('\r\n\r\n') + 4).toString()).toBe('binary-safe \u00e9\r\n');
    });

    it.each([
      [
        'a media type that is not message/*',
        'uploadType=media',
        'text/plain',
        "Media type 'text/plain' is not supported. Valid media types: [message/*]",
      ],
      [
        'no uploadType',
        '',
        'message/rfc822',
        'Upload requests must include an uploadType URL parameter and a URL path beginning with /upload/',
      ],
    ])('refuses %s', async (_name, query, contentType, message) => {
      const response = await upload(await userToken(), query, contentType, mime('To: a@example.org'));
      expect(response.status).toBe(400);
      expect(await response.json()).toMatchObject({ error: { message } });
    });

    it('refuses media over 35 MB with 413 uploadTooLarge', async () => {
      const token = await userToken();
      const big = Buffer.alloc(gmailUploadLimit + 1, 'a');
      mime('To: a@example.org').copy(big);
      const response = await upload(token, 'uploadType=media', 'message/rfc822', big);
      expect(response.status).toBe(413);
      expect(await response.json()).toMatchObject({ error: { code: 413, errors: [{ reason: 'uploadTooLarge' }] } });
      expect(sandbox.store.size).toBe(0);
    });
  });

  describe('profile, send-as and faults', () => {
    it('reads the profile and the send-as addresses', async () => {
      const token = await userToken();
      const profile = await (
        await fetch(`${sandbox.httpUrl}/gmail/v1/users/me/profile`, { headers: { authorization: `Bearer ${token}` } })
      ).json();
      expect(profile).toMatchObject({
        emailAddress: 'user@example.com',
        messagesTotal: expect.any(Number),
        threadsTotal: expect.any(Number),
        historyId: expect.any(String),
      });
      const sendAs = await (
        await fetch(`${sandbox.httpUrl}/gmail/v1/users/user%40example.com/settings/sendAs`, {
          headers: { authorization: `Bearer ${token}` },
        })
      ).json();
      expect(sendAs).toEqual({
        sendAs: [
          { sendAsEmail: 'user@example.com', displayName: '', replyToAddress: '', signature: '', isPrimary: true, isDefault: true },
          {
            sendAsEmail: 'alias@example.com',
            displayName: '',
            replyToAddress: '',
            signature: '',
            treatAsAlias: true,
            verificationStatus: 'accepted',
          },
        ],
      });
    });

    it('answers injected faults in Google shape with Retry-After', async () => {
      const token = await userToken();
      sandbox.faults.inject({ endpoint: 'gmail.messages.send', status: 429, code: 'rateLimitExceeded', retryAfter: 3 });
      const response = await sendJson(token, { raw: mime('To: a@example.org').toString('base64url') });
      expect(response.status).toBe(429);
      expect(response.headers.get('retry-after')).toBe('3');
      expect(await response.json()).toMatchObject({
        error: { code: 429, errors: [{ reason: 'rateLimitExceeded', domain: 'usageLimits' }], status: 'RESOURCE_EXHAUSTED' },
      });
      sandbox.faults.inject({ endpoint: 'gmail.getProfile', status: 503 });
      const unavailable = await fetch(`${sandbox.httpUrl}/gmail/v1/users/me/profile`, { headers: { authorization: `Bearer ${token}` } });
      expect(await unavailable.json()).toMatchObject({
        error: { code: 503, message: 'The service is currently unavailable.', status: 'UNAVAILABLE' },
      });
    });
  });
});
