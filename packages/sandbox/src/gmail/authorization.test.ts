import { createHash } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Sandbox, startSandbox } from '../sandbox.js';

const send = 'https://www.googleapis.com/auth/gmail.send';
const verifier = 'v'.repeat(43);
const challenge = createHash('sha256').update(verifier).digest('base64url');

describe("sandbox: Google's authorization endpoint and the authorization-code grant", () => {
  let sandbox: Sandbox;
  beforeAll(async () => {
    sandbox = await startSandbox();
  });
  afterAll(() => sandbox.close());
  beforeEach(() => sandbox.faults.clear());

  const authorize = (overrides: Record<string, string | null> = {}): Promise<Response> => {
    const query = new URLSearchParams();
    const fields: Record<string, string | null> = {
      client_id: sandbox.accounts.google.clientId,
      redirect_uri: 'http://127.0.0.1:53682',
      response_type: 'code',
      scope: `${send} openid email`,
      state: 'xyz',
      code_challenge: challenge,
      code_challenge_method: 'S256',
      access_type: 'offline',
      prompt: 'consent',
      ...overrides,
    };
    for (const [name, value] of Object.entries(fields)) if (value !== null) query.set(name, value);
    return fetch(`${sandbox.httpUrl}/o/oauth2/v2/auth?${query}`, { redirect: 'manual' });
  };
  const redirected = async (response: Response): Promise<URLSearchParams> => {
    expect(response.status).toBe(302);
    return new URL(response.headers.get('location') ?? '').searchParams;
  };
  const exchange = (code: string, overrides: Record<string, string> = {}): Promise<Response> =>
    fetch(`${sandbox.httpUrl}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code,
        client_id: sandbox.accounts.google.clientId,
        client_secret: sandbox.accounts.google.clientSecret,
        redirect_uri: 'http://127.0.0.1:53682',
        code_verifier: verifier,
        ...overrides,
      }),
    });

  it('approves at once with a redirect; the code buys a refresh token the refresh grant then accepts', async () => {
    const back = await redirected(await authorize());
    expect(back.get('state')).toBe('xyz');
    expect(back.get('scope')).toBe(`${send} openid https://www.googleapis.com/auth/userinfo.email`);
    const tokens = (await (await exchange(back.get('code') ?? '')).json()) as Record<string, string>;
    expect(tokens).toMatchObject({
      token_type: 'Bearer',
      refresh_token: expect.stringMatching(/^1\/\/sandbox-/),
      scope: back.get('scope'),
    });
    const claims = JSON.parse(Buffer.from(tokens.id_token?.split('.')[1] ?? '', 'base64url').toString()) as Record<string, unknown>;
    expect(claims).toMatchObject({ iss: 'https://accounts.google.com', aud: sandbox.accounts.google.clientId, email: 'user@example.com' });
    expect(sandbox.tokens.find(tokens.access_token ?? '')?.scopes).toContain(send);

    const refreshed = (await (
      await fetch(`${sandbox.httpUrl}/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'refresh_token',
          refresh_token: tokens.refresh_token ?? '',
          client_id: sandbox.accounts.google.clientId,
          client_secret: sandbox.accounts.google.clientSecret,
        }),
      })
    ).json()) as Record<string, string>;
    expect(sandbox.tokens.find(refreshed.access_token ?? '')).toMatchObject({
      subject: 'user@example.com',
      scopes: back.get('scope')?.split(' '),
    });

    // One use only.
    expect(await (await exchange(back.get('code') ?? '')).json()).toEqual({ error: 'invalid_grant', error_description: 'Bad Request' });
  });

  it('checks the PKCE verifier, the redirect URI and the client at the exchange', async () => {
    const code = async (): Promise<string> => (await redirected(await authorize())).get('code') ?? '';
    expect(await (await exchange(await code(), { code_verifier: 'w'.repeat(43) })).json()).toMatchObject({
      error: 'invalid_grant',
      error_description: 'Invalid code verifier.',
    });
    expect(await (await exchange(await code(), { code_verifier: '' })).json()).toMatchObject({
      error_description: 'Missing code verifier.',
    });
    expect(await (await exchange(await code(), { redirect_uri: 'http://127.0.0.1:1' })).json()).toMatchObject({
      error: 'redirect_uri_mismatch',
    });
    const wrongSecret = await exchange(await code(), { client_secret: 'nope' });
    expect(wrongSecret.status).toBe(401);
    expect(await wrongSecret.json()).toEqual({ error: 'invalid_client', error_description: 'Unauthorized' });
    expect(await (await exchange('4/never-issued')).json()).toMatchObject({
      error: 'invalid_grant',
      error_description: 'Malformed auth code.',
    });
  });

  it('issues a refresh token for offline access on first consent, and again only with prompt=consent', async () => {
    const refreshTokenOf = async (query: Record<string, string | null>): Promise<unknown> => {
      const back = await redirected(await authorize({ login_hint: 'user@example.com', ...query }));
      return ((await (await exchange(back.get('code') ?? '')).json()) as Record<string, unknown>).refresh_token;
    };
    expect(await refreshTokenOf({ access_type: null })).toBeUndefined();
    expect(await refreshTokenOf({ prompt: null })).toBeUndefined(); // consented already above
    expect(await refreshTokenOf({})).toEqual(expect.any(String));
  });

  it('shows Google-style error pages for a bad request, and redirects with access_denied when the user cancels', async () => {
    const cases: [Record<string, string | null>, number, RegExp][] = [
      [{ client_id: 'unknown' }, 401, /Error 401: invalid_client/],
      [{ client_id: null }, 400, /Missing required parameter: client_id/],
      [{ redirect_uri: 'https://app.example.com/callback' }, 400, /Error 400: redirect_uri_mismatch/],
      [{ response_type: 'token' }, 400, /Invalid response_type: token/],
      [
        { scope: `${send} https://www.googleapis.com/auth/drive` },
        400,
        /invalid_scope[\s\S]*invalid=\[https:\/\/www.googleapis.com\/auth\/drive\]/,
      ],
      [{ code_challenge_method: 'S512' }, 400, /Invalid code_challenge_method/],
      [{ code_challenge: 'short' }, 400, /Invalid code_challenge/],
      [{ login_hint: 'stranger@example.com' }, 400, /no Google user stranger@example\.com/],
    ];
    for (const [query, status, text] of cases) {
      const response = await authorize(query);
      expect(response.status, JSON.stringify(query)).toBe(status);
      expect(await response.text()).toMatch(text);
    }
    const denied = await redirected(await authorize({ approve: 'false' }));
    expect(Object.fromEntries(denied)).toEqual({ state: 'xyz', error: 'access_denied' });

    sandbox.faults.inject({ endpoint: 'google.authorize', status: 403, message: 'The developer hasn’t given you access to this app.' });
    const blocked = await authorize();
    expect(blocked.status).toBe(403);
    expect(await blocked.text()).toMatch(/Error 403: access_denied/);
  });
});
