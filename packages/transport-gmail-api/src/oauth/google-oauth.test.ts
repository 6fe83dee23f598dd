import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { createMessage, MailError, parseTransportUrl, urlParams } from '@mailport/core';
import { type Sandbox, startSandbox } from '@mailport/sandbox';
import { createSmtpTransport } from '@mailport/transport-smtp';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { gmailSettingsScope } from './google-oauth.js';
import { googleServiceAccount, googleUserOAuth, tokenProviderFromUrl } from './index.js';

describe('Google OAuth token providers against the sandbox', () => {
  let sandbox: Sandbox;
  let directory: string;
  beforeAll(async () => {
    sandbox = await startSandbox();
    directory = await mkdtemp(join(tmpdir(), 'mailport-gmail-oauth-'));
  });
  afterAll(async () => {
    await sandbox.close();
    await rm(directory, { recursive: true, force: true });
  });
  beforeEach(() => {
    sandbox.faults.clear();
    sandbox.requests.clear();
  });

  const tokenUrl = (): string => `${sandbox.httpUrl}/token`;
  const user = (refreshToken = 'sandbox-google-refresh-token') =>
    googleUserOAuth({
      clientId: sandbox.accounts.google.clientId,
      clientSecret: sandbox.accounts.google.clientSecret,
      refreshToken,
      tokenUrl: tokenUrl(),
    });
  const serviceKey = () => ({
    client_email: sandbox.accounts.google.serviceAccount.clientEmail,
    private_key: sandbox.accounts.google.serviceAccount.privateKey,
    private_key_id: sandbox.accounts.google.serviceAccount.privateKeyId,
  });
  const failure = async (promise: Promise<unknown>): Promise<MailError> => {
    const error = await promise.then(
      () => new Error('expected a failure'),
      (caught: unknown) => caught,
    );
    expect(MailError.isInstance(error), String(error)).toBe(true);
    return error as MailError;
  };

  it('gets a user token with the refresh token, caches it, and refreshes once when it is refused', async () => {
    const provider = user();
    const [first, second] = await Promise.all([provider.getAccessToken(), provider.getAccessToken()]);
    expect(first.token).toBe(second.token);
    expect(first.expiresAt).toBeGreaterThan(Date.now() + 3_000_000);
    expect(sandbox.tokens.check(`Bearer ${first.token}`, 'google')).toMatchObject({ ok: true, token: { subject: 'user@example.com' } });
    expect(sandbox.requests.count('google.token')).toBe(1);
    // Two sends learn the token was refused at once: one refresh serves both.
    const [renewed, again] = await Promise.all([
      provider.getAccessToken({ forceRefresh: true, refusedToken: first.token }),
      provider.getAccessToken({ forceRefresh: true, refusedToken: first.token }),
    ]);
    expect(renewed.token).not.toBe(first.token);
    expect(again.token).toBe(renewed.token);
    expect(sandbox.requests.count('google.token')).toBe(2);
    expect(String(provider)).toBe('[TokenProvider]');
  });

  it('makes a revoked refresh token an auth error that asks for consent again', async () => {
    const error = await failure(user('revoked-refresh-token').getAccessToken());
    expect(error).toMatchObject({ code: 'auth', retryable: false, statusCode: 400, providerCode: 'invalid_grant' });
    expect(error.message).toContain('Token has been expired or revoked.');
    expect(error.remediation).toMatch(/consent again/);
    expect(error.remediation).toContain('mailport auth google');
    for (const text of [String(error), JSON.stringify(error), inspect(error, { depth: 10, showHidden: true })]) {
      expect(text).not.toContain('revoked-refresh-token');
      expect(text).not.toContain(sandbox.accounts.google.clientSecret);
    }
  });

  it('makes a wrong client secret an auth error', async () => {
    const provider = googleUserOAuth({
      clientId: sandbox.accounts.google.clientId,
      clientSecret: 'wrong-secret',
      refreshToken: 'sandbox-google-refresh-token',
      tokenUrl: tokenUrl(),
    });
    expect(await failure(provider.getAccessToken())).toMatchObject({ code: 'auth', statusCode: 401, providerCode: 'invalid_client' });
  });

  it('lets google-auth-library retry a token request the endpoint failed for now', async () => {
    sandbox.faults.inject({ endpoint: 'google.token', status: 503 });
    await expect(user().getAccessToken()).resolves.toMatchObject({ token: expect.stringMatching(/^ya29\./) });
    expect(sandbox.requests.count('google.token')).toBe(2);
  });

  it('gets a token for the delegated user with the library-signed assertion of a service account', async () => {
    const provider = googleServiceAccount({ credentials: serviceKey(), subject: 'user@example.com', tokenUrl: tokenUrl() });
    const token = await provider.getAccessToken();
    expect(sandbox.tokens.check(`Bearer ${token.token}`, 'google')).toMatchObject({
      ok: true,
      token: { subject: 'user@example.com', scopes: ['https://www.googleapis.com/auth/gmail.send'] },
    });
    expect(sandbox.requests.count('google.token')).toBe(1);
    // After a 401 the library's own cached token must not come back.
    const renewed = await provider.getAccessToken({ forceRefresh: true, refusedToken: token.token });
    expect(renewed.token).not.toBe(token.token);
    expect(sandbox.requests.count('google.token')).toBe(2);
  });

  it('makes missing domain-wide delegation a configuration error naming the admin console', async () => {
    const provider = googleServiceAccount({
      credentials: { ...serviceKey(), client_id: '1234567890' },
      subject: 'user@example.com',
      scopes: ['https://www.googleapis.com/auth/drive'],
      tokenUrl: tokenUrl(),
    });
    const error = await failure(provider.getAccessToken());
    expect(error).toMatchObject({ code: 'configuration', retryable: false, statusCode: 401, providerCode: 'unauthorized_client' });
    expect(error.remediation).toMatch(/Domain-wide delegation.*1234567890/);
  });

  it('makes a subject outside the domain a configuration error, and a wrong key an auth error', async () => {
    const stranger = googleServiceAccount({ credentials: serviceKey(), subject: 'stranger@example.net', tokenUrl: tokenUrl() });
    expect(await failure(stranger.getAccessToken())).toMatchObject({ code: 'configuration', providerCode: 'invalid_grant' });
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const wrongKey = googleServiceAccount({
      credentials: { ...serviceKey(), private_key: other },
      subject: 'user@example.com',
      tokenUrl: tokenUrl(),
    });
    const error = await failure(wrongKey.getAccessToken());
    expect(error).toMatchObject({ code: 'auth', providerCode: 'invalid_grant' });
    expect(inspect(error, { depth: 10, showHidden: true })).not.toContain('PRIVATE KEY');
  });

  it('refuses bad options before any request', () => {
    expect(() => googleUserOAuth({ clientId: '', clientSecret: 'x', refreshToken: 'y' })).toThrow(/clientId is required/);
    expect(() => googleUserOAuth({ clientId: 'x', clientSecret: 'x', refreshToken: 'y', tokenUrl: 'ftp://x' })).toThrow(
      /not an http\(s\) URL/,
    );
    expect(() => googleServiceAccount({ credentials: { client_email: 'x@y', private_key: '' } })).toThrow(/private_key is required/);
  });

  it('plugs into SMTP XOAUTH2, refreshing once when the server refuses an expired token', async () => {
    const { clientId, clientSecret } = sandbox.accounts.google;
    const url = parseTransportUrl(
      `smtp://user%40example.com@127.0.0.1:${sandbox.smtpPort}?auth=xoauth2&oauth=google&client_id=${encodeURIComponent(clientId)}` +
        `&client_secret=${encodeURIComponent(clientSecret)}&refresh_token=sandbox-google-refresh-token&token_url=${encodeURIComponent(tokenUrl())}`,
    );
    const tokenProvider = tokenProviderFromUrl(url, { env: {} }, { purpose: 'smtp' });
    const smtp = createSmtpTransport({
      host: '127.0.0.1',
      port: sandbox.smtpPort,
      ca: sandbox.ca,
      auth: { user: 'user@example.com', tokenProvider },
      pool: false,
    });
    try {
      sandbox.store.clear();
      await smtp.send(createMessage({ from: 'user@example.com', to: 'ana@example.org', text: 'over SMTP' }));
      sandbox.tokens.expireAll();
      await smtp.send(createMessage({ from: 'user@example.com', to: 'ana@example.org', text: 'after expiry' }));
      expect(sandbox.store.list().map((message) => message.api)).toEqual(['smtp', 'smtp']);
      expect(sandbox.requests.count('google.token')).toBe(2);
    } finally {
      await smtp.close();
    }
  });

  describe('tokenProviderFromUrl', () => {
    const smtpUrl = (query: string) => parseTransportUrl(`smtp://user%40example.com@smtp.gmail.com:587?auth=xoauth2&oauth=google&${query}`);

    it('reads user OAuth from the URL, counting its parameters as known for the caller', async () => {
      const { clientId, clientSecret } = sandbox.accounts.google;
      const url = smtpUrl(
        `client_id=${encodeURIComponent(clientId)}&client_secret=${encodeURIComponent(clientSecret)}&refresh_token=sandbox-google-refresh-token&token_url=${encodeURIComponent(tokenUrl())}`,
      );
      const params = urlParams(url);
      params.string('auth');
      params.string('oauth');
      const provider = tokenProviderFromUrl(url, { env: {} }, { purpose: 'smtp', params });
      expect(() => params.done()).not.toThrow();
      expect((await provider.getAccessToken()).token).toMatch(/^ya29\./);
    });

    it('fills user OAuth from GOOGLE_* environment variables', async () => {
      const { clientId, clientSecret } = sandbox.accounts.google;
      const env = { GOOGLE_CLIENT_ID: clientId, GOOGLE_CLIENT_SECRET: clientSecret, GOOGLE_REFRESH_TOKEN: 'sandbox-google-refresh-token' };
      const provider = tokenProviderFromUrl(smtpUrl(`token_url=${encodeURIComponent(tokenUrl())}`), { env }, { purpose: 'smtp' });
      expect((await provider.getAccessToken()).token).toMatch(/^ya29\./);
    });

    it('reads a service account key file, from the URL or GOOGLE_APPLICATION_CREDENTIALS, with the SMTP scope', async () => {
      const keyFile = join(directory, 'key.json');
      await writeFile(keyFile, JSON.stringify({ type: 'service_account', ...serviceKey() }));
      const fromUrl = tokenProviderFromUrl(
        smtpUrl(`credentials_file=${encodeURIComponent(keyFile)}&token_url=${encodeURIComponent(tokenUrl())}`),
        { env: {} },
        { purpose: 'smtp' },
      );
      const token = await fromUrl.getAccessToken();
      expect(sandbox.tokens.check(`Bearer ${token.token}`, 'google')).toMatchObject({
        ok: true,
        token: { subject: 'user@example.com', scopes: ['https://mail.google.com/'] },
      });
      const fromEnv = tokenProviderFromUrl(
        parseTransportUrl(
          `gmail://user@example.com?token_url=${encodeURIComponent(tokenUrl())}&scopes=https://www.googleapis.com/auth/gmail.send,${gmailSettingsScope}`,
        ),
        { env: { GOOGLE_APPLICATION_CREDENTIALS: keyFile } },
        { purpose: 'api', subject: 'user@example.com' },
      );
      const apiToken = await fromEnv.getAccessToken();
      expect(sandbox.tokens.check(`Bearer ${apiToken.token}`, 'google')).toMatchObject({
        ok: true,
        token: { scopes: ['https://www.googleapis.com/auth/gmail.send', gmailSettingsScope] },
      });
    });

    it('reads an authorized_user file as user OAuth', async () => {
      const file = join(directory, 'adc.json');
      const { clientId, clientSecret } = sandbox.accounts.google;
      await writeFile(
        file,
        JSON.stringify({
          type: 'authorized_user',
          client_id: clientId,
          client_secret: clientSecret,
          refresh_token: 'sandbox-google-refresh-token',
        }),
      );
      const provider = tokenProviderFromUrl(
        smtpUrl(`credentials_file=${encodeURIComponent(file)}&token_url=${encodeURIComponent(tokenUrl())}`),
        { env: {} },
        { purpose: 'smtp' },
      );
      expect((await provider.getAccessToken()).token).toMatch(/^ya29\./);
    });

    it('says what is missing, without quoting credentials', async () => {
      expect(() => tokenProviderFromUrl(smtpUrl(''), { env: {} }, { purpose: 'smtp' })).toThrow(/no Google credentials/);
      expect(() => tokenProviderFromUrl(smtpUrl('client_id=abc&refresh_token=top-secret'), { env: {} }, { purpose: 'smtp' })).toThrow(
        /needs client_secret \(GOOGLE_CLIENT_SECRET\)/,
      );
      const error = (() => {
        try {
          tokenProviderFromUrl(
            smtpUrl('client_id=abc&refresh_token=top-secret&client_secret=s&scopes=x'),
            { env: {} },
            { purpose: 'smtp' },
          );
        } catch (caught) {
          return caught as MailError;
        }
        return undefined;
      })();
      expect(error?.message).toMatch(/scopes applies to service accounts only/);
      expect(error?.message).not.toContain('top-secret');
      const notJson = join(directory, 'bad.json');
      await writeFile(notJson, '-----BEGIN PRIVATE KEY----- secret');
      expect(() =>
        tokenProviderFromUrl(smtpUrl(`credentials_file=${encodeURIComponent(notJson)}`), { env: {} }, { purpose: 'smtp' }),
      ).toThrow(/is not a JSON key file/);
      const keyFile = join(directory, 'key2.json');
      await writeFile(keyFile, JSON.stringify({ type: 'service_account', ...serviceKey() }));
      expect(() =>
        tokenProviderFromUrl(
          parseTransportUrl(`gmail://me?credentials_file=${encodeURIComponent(keyFile)}`),
          { env: {} },
          { purpose: 'api' },
        ),
      ).toThrow(/needs the mailbox it acts for/);
    });
  });
});
