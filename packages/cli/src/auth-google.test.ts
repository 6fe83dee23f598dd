import { describe, expect, it } from 'vitest';
import { googleAuthorizationUrl, googleEndpoints, googleScopes, mapGoogleCodeExchangeError } from './auth-google.js';

describe('googleAuthorizationUrl', () => {
  it('asks for a code with PKCE S256, offline access and a fresh consent, so a refresh token is issued', () => {
    const url = googleAuthorizationUrl({
      authorizationUrl: googleEndpoints.authorization,
      clientId: 'id.apps.googleusercontent.com',
      redirectUri: 'http://127.0.0.1:53682',
      scopes: [googleScopes.send, ...googleScopes.identity],
      state: 'state-1',
      challenge: 'c'.repeat(43),
      loginHint: 'ana@example.com',
    });
    expect(url.origin + url.pathname).toBe('https://accounts.google.com/o/oauth2/v2/auth');
    expect(Object.fromEntries(url.searchParams)).toEqual({
      client_id: 'id.apps.googleusercontent.com',
      redirect_uri: 'http://127.0.0.1:53682',
      response_type: 'code',
      scope: 'https://www.googleapis.com/auth/gmail.send openid email',
      state: 'state-1',
      code_challenge: 'c'.repeat(43),
      code_challenge_method: 'S256',
      access_type: 'offline',
      prompt: 'consent',
      login_hint: 'ana@example.com',
    });
  });
});

describe('mapGoogleCodeExchangeError', () => {
  const host = 'oauth2.googleapis.com';
  it.each([
    [401, 'invalid_client', 'auth', /Check --client-id and --client-secret/],
    [400, 'invalid_grant', 'auth', /run the command again/],
    [400, 'redirect_uri_mismatch', 'configuration', /type Desktop app/],
    [401, 'unauthorized_client', 'configuration', /type Desktop app/],
    [400, 'invalid_request', 'configuration', /--token-url/],
    [429, undefined, 'rate-limited', /Wait a minute/],
    [503, undefined, 'transient', /again in a moment/],
    [418, undefined, 'auth', /client secret and --token-url/],
  ] as const)('HTTP %i %s is %s', (status, error, code, remediation) => {
    const mapped = mapGoogleCodeExchangeError({ status, error, description: 'Unauthorized', host });
    expect(mapped.code).toBe(code);
    expect(mapped.remediation).toMatch(remediation);
    expect(mapped.message).toContain(host);
    expect(mapped.statusCode).toBe(status);
  });
});
