import { generateKeyPairSync } from 'node:crypto';
import { inspect } from 'node:util';
import { MailError, type TokenProvider } from '@mailport/core';
import { type Sandbox, startSandbox } from '@mailport/sandbox';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { googleServiceAccount, googleTokensFetch, googleUserOAuth } from './index.js';

// Issue 11: where google-auth-library cannot run (Cloudflare Workers), googleUserOAuth and
// googleServiceAccount get their tokens with fetch and WebCrypto (google-oauth-fetch.ts). That code
// is runtime-neutral, so it is tested here on Node against the sandbox's token endpoint, side by side
// with the library path: the same tokens, the same error classes. The runtime matrix sends with it on workerd.

let sandbox: Sandbox;
beforeAll(async () => {
  sandbox = await startSandbox();
});
afterAll(() => sandbox.close());
beforeEach(() => {
  sandbox.faults.clear();
  sandbox.requests.clear();
  vi.unstubAllGlobals();
});

/** Builds a provider as it would be built on Cloudflare Workers (navigator.userAgent is how the choice is made). */
function asOnWorkers<T>(build: () => T): T {
  vi.stubGlobal('navigator', { userAgent: 'Cloudflare-Workers' });
  try {
    return build();
  } finally {
    vi.unstubAllGlobals();
  }
}

const tokenUrl = (): string => `${sandbox.httpUrl}/token`;
const user = (overrides: { refreshToken?: string; clientSecret?: string; tokenUrl?: string } = {}) =>
  googleUserOAuth({
    clientId: sandbox.accounts.google.clientId,
    clientSecret: overrides.clientSecret ?? sandbox.accounts.google.clientSecret,
    refreshToken: overrides.refreshToken ?? 'sandbox-google-refresh-token',
    tokenUrl: overrides.tokenUrl ?? tokenUrl(),
  });
const serviceKey = () => ({
  client_email: sandbox.accounts.google.serviceAccount.clientEmail,
  private_key: sandbox.accounts.google.serviceAccount.privateKey,
  private_key_id: sandbox.accounts.google.serviceAccount.privateKeyId,
});
const failure = async (provider: TokenProvider): Promise<MailError> => {
  const error = await provider.getAccessToken().then(
    () => new Error('expected a failure'),
    (caught: unknown) => caught,
  );
  expect(MailError.isInstance(error), String(error)).toBe(true);
  return error as MailError;
};
const shape = (error: MailError) => ({
  code: error.code,
  providerCode: error.providerCode,
  statusCode: error.statusCode,
  retryable: error.retryable,
});

describe('Google tokens without google-auth-library (the Workers path)', () => {
  it('gets a user token with the refresh token, and a forced refresh asks again', async () => {
    const provider = asOnWorkers(() => user());
    const first = await provider.getAccessToken();
    expect(sandbox.tokens.check(`Bearer ${first.token}`, 'google')).toMatchObject({ ok: true, token: { subject: 'user@example.com' } });
    expect(first.expiresAt).toBeGreaterThan(Date.now() + 3_000_000);
    const renewed = await provider.getAccessToken({ forceRefresh: true, refusedToken: first.token });
    expect(renewed.token).not.toBe(first.token);
    expect(sandbox.requests.count('google.token')).toBe(2);
  });

  it('signs the service account assertion with WebCrypto (RS256) and acts for the delegated user', async () => {
    const provider = asOnWorkers(() =>
      googleServiceAccount({ credentials: serviceKey(), subject: 'user@example.com', tokenUrl: tokenUrl() }),
    );
    const token = await provider.getAccessToken();
    expect(sandbox.tokens.check(`Bearer ${token.token}`, 'google')).toMatchObject({
      ok: true,
      token: { subject: 'user@example.com', scopes: ['https://www.googleapis.com/auth/gmail.send'] },
    });
  });

  it('takes a PKCS#1 key as well (BEGIN RSA PRIVATE KEY)', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const own = await startSandbox({
      accounts: {
        google: {
          serviceAccount: {
            ...sandbox.accounts.google.serviceAccount,
            privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
            publicKey: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
          },
        },
      },
    });
    try {
      const provider = googleTokensFetch({
        grant: {
          kind: 'service-account',
          email: own.accounts.google.serviceAccount.clientEmail,
          privateKey: privateKey.export({ type: 'pkcs1', format: 'pem' }).toString(),
          scopes: ['https://www.googleapis.com/auth/gmail.send'],
          subject: 'user@example.com',
        },
        tokenUrl: `${own.httpUrl}/token`,
        context: { kind: 'service-account', host: '127.0.0.1' },
      });
      expect((await provider.getAccessToken()).token).toMatch(/^ya29\./);
    } finally {
      await own.close();
    }
  });

  // Each failure through the library (Node) and through fetch (Workers) must be the same MailError.
  const failures: ReadonlyArray<readonly [string, () => TokenProvider]> = [
    ['a revoked refresh token (invalid_grant: auth, consent again)', () => user({ refreshToken: 'revoked-refresh-token' })],
    ['a wrong client secret (invalid_client: auth)', () => user({ clientSecret: 'wrong-secret' })],
    [
      'missing domain-wide delegation (unauthorized_client: configuration)',
      () =>
        googleServiceAccount({
          credentials: { ...serviceKey(), client_id: '1234567890' },
          subject: 'user@example.com',
          scopes: ['https://www.googleapis.com/auth/drive'],
          tokenUrl: tokenUrl(),
        }),
    ],
    [
      'a subject outside the domain (invalid_grant: configuration)',
      () => googleServiceAccount({ credentials: serviceKey(), subject: 'stranger@example.net', tokenUrl: tokenUrl() }),
    ],
    [
      'a key the account does not have (invalid_grant: auth)',
      () =>
        googleServiceAccount({
          credentials: {
            ...serviceKey(),
            private_key: generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
          },
          subject: 'user@example.com',
          tokenUrl: tokenUrl(),
        }),
    ],
    ['a refused connection (transient)', () => user({ tokenUrl: 'http://127.0.0.1:9/token' })],
  ];
  for (const [name, build] of failures) {
    it(`fails as the library does: ${name}`, async () => {
      const library = await failure(build());
      const fetched = await failure(asOnWorkers(build));
      expect(shape(fetched)).toEqual(shape(library));
      expect(fetched.remediation).toBe(library.remediation);
      for (const text of [String(fetched), JSON.stringify(fetched), inspect(fetched, { depth: 10, showHidden: true })]) {
        expect(text).not.toContain('revoked-refresh-token');
        expect(text).not.toContain(sandbox.accounts.google.clientSecret);
        expect(text).not.toContain('PRIVATE KEY');
      }
    });
  }

  it('makes a 503 transient and a 429 rate-limited (core retries them; the library retries a 503 once itself)', async () => {
    sandbox.faults.inject({ endpoint: 'google.token', status: 503 });
    expect(shape(await failure(asOnWorkers(() => user())))).toMatchObject({ code: 'transient', retryable: true });
    sandbox.faults.inject({ endpoint: 'google.token', status: 429, code: 'rate_limit_exceeded', retryAfter: 7 });
    expect(shape(await failure(asOnWorkers(() => user())))).toMatchObject({ code: 'rate-limited', retryable: true });
    expect(sandbox.requests.count('google.token')).toBe(2);
  });

  it('refuses a private_key that is not PEM as configuration, before any request', async () => {
    const provider = asOnWorkers(() =>
      googleServiceAccount({
        credentials: { ...serviceKey(), private_key: 'not a key' },
        subject: 'user@example.com',
        tokenUrl: tokenUrl(),
      }),
    );
    expect(shape(await failure(provider))).toMatchObject({ code: 'configuration' });
    expect(sandbox.requests.count('google.token')).toBe(0);
  });
});
