import { inspect } from 'node:util';
import { MailError, parseTransportUrl, Secret, urlParams } from '@mailport/core';
import { type Sandbox, startSandbox } from '@mailport/sandbox';
import { generate } from 'selfsigned';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type MicrosoftTokenFailure, mapMicrosoftTokenError, microsoftAppOnly, microsoftDelegated, tokenProviderFromUrl } from './index.js';

let sandbox: Sandbox;
let certificate: { key: string; cert: string };
// The sandbox's refresh tokens work once: every test starts from the latest one handed over.
let live = '';

beforeAll(async () => {
  // Entra signs client assertions with RSA keys: the app's certificate is one.
  const generated = await generate([{ name: 'commonName', value: 'mailport test app' }], {
    keyType: 'rsa',
    keySize: 2048,
    algorithm: 'sha256',
  });
  certificate = { key: generated.private, cert: generated.cert };
  sandbox = await startSandbox({ accounts: { microsoft: { certificates: [certificate.cert] } } });
  live = sandbox.accounts.microsoft.refreshToken;
});
afterAll(() => sandbox.close());
beforeEach(() => {
  sandbox.requests.clear();
  sandbox.faults.clear();
});

const failureOf = async (promise: Promise<unknown>): Promise<MailError> => {
  const error = await promise.then(
    () => {
      throw new Error('expected a failure');
    },
    (caught: unknown) => caught,
  );
  expect(MailError.isInstance(error), String(error)).toBe(true);
  return error as MailError;
};

describe('microsoftDelegated', () => {
  it('hands every rotated refresh token to onRefreshToken, once each and in order, before using the access token', async () => {
    const microsoft = sandbox.accounts.microsoft;
    const handed: string[] = [];
    let persisted = true;
    const tokens = microsoftDelegated({
      clientId: microsoft.clientId,
      tenantId: microsoft.tenantId,
      refreshToken: new Secret(live),
      authorityHost: sandbox.httpsUrl,
      ca: sandbox.ca,
      onRefreshToken: async (token) => {
        persisted = false;
        await new Promise((resolve) => setTimeout(resolve, 20));
        handed.push(token);
        persisted = true;
      },
    });
    const first = await tokens.getAccessToken();
    expect(persisted).toBe(true);
    // Concurrent forced refreshes share one rotation.
    const [second, third] = await Promise.all([
      tokens.getAccessToken({ forceRefresh: true, refusedToken: first.token }),
      tokens.getAccessToken({ forceRefresh: true, refusedToken: first.token }),
    ]);
    expect(second.token).toBe(third.token);
    await tokens.getAccessToken({ forceRefresh: true, refusedToken: second.token });
    expect(handed).toHaveLength(3);
    expect(new Set(handed).size).toBe(3);
    expect(sandbox.requests.count('microsoft.token')).toBe(3);
    expect(sandbox.tokens.find(first.token)?.subject).toBe(microsoft.delegatedUser);
    // The last one handed over is the one that works now; the first is dead.
    const next = microsoftDelegated({
      clientId: microsoft.clientId,
      refreshToken: handed.at(-1) as string,
      authorityHost: sandbox.httpsUrl,
      ca: sandbox.ca,
      onRefreshToken: (token) => {
        handed.push(token);
      },
    });
    await next.getAccessToken();
    live = handed.at(-1) as string;
    const dead = microsoftDelegated({
      clientId: microsoft.clientId,
      refreshToken: handed[0] as string,
      authorityHost: sandbox.httpsUrl,
      ca: sandbox.ca,
      onRefreshToken: () => undefined,
    });
    const error = await failureOf(dead.getAccessToken());
    expect(error).toMatchObject({ code: 'auth', retryable: false, providerCode: 'AADSTS50173', statusCode: 400 });
    expect(error.remediation).toMatch(/consent again.*mailport auth microsoft/);
  });

  it('fails the refresh when onRefreshToken fails, and keeps the new token for the next try', async () => {
    const microsoft = sandbox.accounts.microsoft;
    let fail = true;
    const handed: string[] = [];
    const tokens = microsoftDelegated({
      clientId: microsoft.clientId,
      refreshToken: live,
      authorityHost: sandbox.httpsUrl,
      ca: sandbox.ca,
      onRefreshToken: (token) => {
        handed.push(token);
        live = token;
        if (fail) throw new Error('disk full');
      },
    });
    const error = await failureOf(tokens.getAccessToken());
    expect(error.code).toBe('configuration');
    expect(error.message).toMatch(/disk full/);
    fail = false;
    await tokens.getAccessToken();
    expect(handed).toHaveLength(2);
  });

  it('never shows the refresh token', async () => {
    const tokens = microsoftDelegated({
      clientId: 'c',
      refreshToken: 'super-secret-refresh',
      onRefreshToken: () => undefined,
      authorityHost: 'https://127.0.0.1:9',
    });
    expect(`${String(tokens)} ${inspect(tokens, { showHidden: true, depth: 10 })} ${JSON.stringify(tokens)}`).not.toContain(
      'super-secret-refresh',
    );
    const error = await failureOf(tokens.getAccessToken());
    expect(error.code).toBe('transient');
    expect(`${String(error)} ${JSON.stringify(error)} ${inspect(error, { showHidden: true, depth: 10 })}`).not.toContain(
      'super-secret-refresh',
    );
  });
});

describe('microsoftAppOnly', () => {
  const options = () => ({
    tenantId: sandbox.accounts.microsoft.tenantId,
    clientId: sandbox.accounts.microsoft.clientId,
    authorityHost: sandbox.httpsUrl,
    ca: sandbox.ca,
  });

  it('gets a token with a client secret, and a forced refresh goes past MSAL’s cache', async () => {
    const tokens = microsoftAppOnly({ ...options(), clientSecret: new Secret(sandbox.accounts.microsoft.clientSecret) });
    const first = await tokens.getAccessToken();
    expect(sandbox.tokens.find(first.token)?.scopes).toEqual(['https://graph.microsoft.com/.default']);
    expect(await tokens.getAccessToken()).toEqual(first);
    const second = await tokens.getAccessToken({ forceRefresh: true, refusedToken: first.token });
    expect(second.token).not.toBe(first.token);
    expect(sandbox.requests.count('microsoft.token')).toBe(2);
  });

  it('gets a token with a certificate registered on the app', async () => {
    const tokens = microsoftAppOnly({ ...options(), certificate: new Secret(`${certificate.key}\n${certificate.cert}`) });
    expect(sandbox.tokens.find((await tokens.getAccessToken()).token)?.clientId).toBe(sandbox.accounts.microsoft.clientId);
  });

  it('maps a wrong secret to auth, an unknown app or tenant to configuration, and a 503 to transient', async () => {
    const wrong = microsoftAppOnly({ ...options(), clientSecret: 'nope' });
    expect(await failureOf(wrong.getAccessToken())).toMatchObject({ code: 'auth', providerCode: 'AADSTS7000215' });
    const unknownApp = microsoftAppOnly({ ...options(), clientId: '99999999-0000-4000-8000-000000000000', clientSecret: 'x' });
    expect(await failureOf(unknownApp.getAccessToken())).toMatchObject({ code: 'configuration', providerCode: 'AADSTS700016' });
    sandbox.faults.inject({ endpoint: 'microsoft.token', status: 503, code: 'temporarily_unavailable' });
    const busy = microsoftAppOnly({ ...options(), clientSecret: sandbox.accounts.microsoft.clientSecret });
    expect(await failureOf(busy.getAccessToken())).toMatchObject({ code: 'transient', retryable: true });
    // MSAL would refuse for a minute after a 503; the next attempt asks Entra ID again.
    await busy.getAccessToken();
  });

  it('refuses both a secret and a certificate', () => {
    expect(() => microsoftAppOnly({ ...options(), clientSecret: 'a', certificatePath: '/x.pem' })).toThrow(/exactly one/);
  });
});

describe('tokenProviderFromUrl', () => {
  it('reads an SMTP URL and asks for the Exchange Online scope', async () => {
    const microsoft = sandbox.accounts.microsoft;
    const url = parseTransportUrl(
      `smtp://sender%40contoso.example@smtp.office365.com:587?auth=xoauth2&oauth=microsoft&tenant=${microsoft.tenantId}` +
        `&client_id=${microsoft.clientId}&authority_host=${encodeURIComponent(sandbox.httpsUrl)}&ca_file=${encodeURIComponent(sandbox.caFile)}`,
    );
    const params = urlParams(url);
    params.string('auth');
    params.string('oauth');
    const tokens = tokenProviderFromUrl(
      url,
      { env: { AZURE_CLIENT_SECRET: microsoft.clientSecret }, options: {} },
      { purpose: 'smtp', params },
    );
    params.done();
    expect(sandbox.tokens.find((await tokens.getAccessToken()).token)?.scopes).toEqual(['https://outlook.office365.com/.default']);
  });

  it('names what is missing', () => {
    const url = parseTransportUrl('smtp://a%40b.example@smtp.office365.com:587?auth=xoauth2');
    expect(() => tokenProviderFromUrl(url, { env: {}, options: {} }, { purpose: 'smtp' })).toThrow(/tenant.*AZURE_TENANT_ID/);
  });
});

describe('mapMicrosoftTokenError', () => {
  const rows: [string, MicrosoftTokenFailure, string, boolean][] = [
    ['dead refresh token', { error: 'invalid_grant', aadsts: 70008, status: 400, description: 'AADSTS70008: expired' }, 'auth', false],
    [
      'wrong secret',
      { error: 'invalid_client', aadsts: 7000215, status: 401, description: 'AADSTS7000215: Invalid client secret' },
      'auth',
      false,
    ],
    [
      'expired secret',
      { error: 'invalid_client', aadsts: 7000222, status: 401, description: 'AADSTS7000222: expired keys' },
      'auth',
      false,
    ],
    [
      'unknown certificate',
      { error: 'invalid_client', aadsts: 700027, status: 401, description: 'AADSTS700027: key not found' },
      'auth',
      false,
    ],
    [
      'unknown app',
      { error: 'unauthorized_client', aadsts: 700016, status: 400, description: 'AADSTS700016: not found' },
      'configuration',
      false,
    ],
    [
      'unknown tenant',
      { error: 'invalid_request', aadsts: 90002, status: 400, description: 'AADSTS90002: Tenant not found' },
      'configuration',
      false,
    ],
    ['bad scope', { error: 'invalid_scope', aadsts: 1002012, status: 400, description: 'AADSTS1002012: scope' }, 'configuration', false],
    ['throttled', { error: 'request_throttled', status: 429, description: 'slow down' }, 'rate-limited', true],
    ['down', { error: 'temporarily_unavailable', status: 503, description: 'AADSTS90033: transient' }, 'transient', true],
    ['unreachable', { description: 'connect ECONNREFUSED', unreachable: true }, 'transient', true],
    [
      'untrusted certificate',
      { description: 'self-signed certificate', unreachable: true, networkCode: 'DEPTH_ZERO_SELF_SIGNED_CERT' },
      'configuration',
      false,
    ],
    [
      'host not found',
      { description: 'getaddrinfo ENOTFOUND login.example', unreachable: true, networkCode: 'ENOTFOUND' },
      'configuration',
      false,
    ],
    [
      'unknown tenant at discovery',
      { error: 'invalid_tenant', aadsts: 90002, status: 400, description: "AADSTS90002: Tenant 'x' not found." },
      'configuration',
      false,
    ],
  ];
  it.each(rows)('%s', (_name, failure, code, retryable) => {
    const error = mapMicrosoftTokenError(failure, { authority: 'https://login.microsoftonline.com/t' });
    expect(error.code).toBe(code);
    expect(error.retryable).toBe(retryable);
    expect(error.remediation).toMatch(/\w/);
  });
});
