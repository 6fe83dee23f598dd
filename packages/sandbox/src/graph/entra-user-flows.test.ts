import { createHash } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Sandbox, startSandbox } from '../sandbox.js';

const deviceGrant = 'urn:ietf:params:oauth:grant-type:device_code';

describe('sandbox: Entra ID device code and authorization code flows', () => {
  let sandbox: Sandbox;
  beforeAll(async () => {
    sandbox = await startSandbox({ accounts: { microsoft: { deviceCodeIntervalSeconds: 0.05 } } });
  });
  afterAll(() => sandbox.close());
  beforeEach(() => sandbox.faults.clear());

  const post = async (path: string, fields: Record<string, string>): Promise<{ status: number; body: Record<string, unknown> }> => {
    const response = await fetch(`${sandbox.httpUrl}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(fields),
    });
    const text = await response.text();
    return { status: response.status, body: text.startsWith('{') ? (JSON.parse(text) as Record<string, unknown>) : { html: text } };
  };
  const clientId = (): string => sandbox.accounts.microsoft.clientId;
  const start = async (scope = 'offline_access openid profile https://graph.microsoft.com/Mail.Send'): Promise<Record<string, unknown>> =>
    (await post('/organizations/oauth2/v2.0/devicecode', { client_id: clientId(), scope })).body;
  const poll = (deviceCode: unknown): Promise<{ status: number; body: Record<string, unknown> }> =>
    post('/organizations/oauth2/v2.0/token', { grant_type: deviceGrant, client_id: clientId(), device_code: String(deviceCode) });

  it('answers pending until the code is entered, then tokens whose refresh token rotates', async () => {
    const started = await start();
    expect(started).toMatchObject({
      user_code: expect.stringMatching(/^[A-Z2-9]{8}$/),
      device_code: expect.any(String),
      verification_uri: `${sandbox.httpUrl}/devicelogin`,
      expires_in: 900,
      interval: 0.05,
      message: expect.stringContaining(String(started.user_code)),
    });
    expect((await fetch(String(started.verification_uri))).status).toBe(200);
    const pending = await poll(started.device_code);
    expect(pending).toMatchObject({ status: 400, body: { error: 'authorization_pending', error_codes: [70016] } });

    const page = await post('/devicelogin', { otc: String(started.user_code).toLowerCase() });
    expect(page.body.html).toMatch(/Signed in as sender@contoso\.example/);
    const granted = await poll(started.device_code);
    expect(granted.status).toBe(200);
    expect(granted.body).toMatchObject({
      token_type: 'Bearer',
      scope: 'https://graph.microsoft.com/Mail.Send offline_access openid profile',
      refresh_token: expect.stringMatching(/^sandbox-microsoft-refresh-token-/),
    });
    const claims = JSON.parse(Buffer.from(String(granted.body.id_token).split('.')[1] ?? '', 'base64url').toString()) as Record<
      string,
      unknown
    >;
    expect(claims).toMatchObject({
      aud: clientId(),
      preferred_username: 'sender@contoso.example',
      tid: sandbox.accounts.microsoft.tenantId,
    });
    expect(sandbox.tokens.find(String(granted.body.access_token))).toMatchObject({ subject: 'sender@contoso.example' });

    expect((await poll(started.device_code)).body).toMatchObject({ error: 'invalid_grant', error_codes: [54005] });
    const refresh = (token: unknown): Promise<{ status: number; body: Record<string, unknown> }> =>
      post('/organizations/oauth2/v2.0/token', { grant_type: 'refresh_token', client_id: clientId(), refresh_token: String(token) });
    const rotated = await refresh(granted.body.refresh_token);
    expect(rotated.status).toBe(200);
    expect((await refresh(granted.body.refresh_token)).body).toMatchObject({ error: 'invalid_grant', error_codes: [50173] });
  });

  it('declined, unknown and wrong codes, and bad requests, as Entra answers them', async () => {
    const declined = await start();
    await post('/devicelogin', { otc: String(declined.user_code), action: 'deny' });
    expect((await poll(declined.device_code)).body).toMatchObject({ error: 'authorization_declined' });
    expect((await poll('never-issued')).body).toMatchObject({ error: 'bad_verification_code' });
    expect((await post('/devicelogin', { otc: 'NOPE1234' })).status).toBe(400);
    const other = await start();
    expect((await post('/devicelogin', { otc: String(other.user_code), user: 'stranger@contoso.example' })).status).toBe(400);
    expect(await post('/organizations/oauth2/v2.0/devicecode', { client_id: 'unknown', scope: 'openid' })).toMatchObject({
      status: 400,
      body: { error: 'unauthorized_client', error_codes: [700016] },
    });
    expect((await post('/organizations/oauth2/v2.0/devicecode', { client_id: clientId() })).body).toMatchObject({ error_codes: [900144] });
    expect((await post('/nowhere.example/oauth2/v2.0/devicecode', { client_id: clientId(), scope: 'openid' })).body).toMatchObject({
      error_codes: [90002],
    });
    sandbox.faults.inject({ endpoint: 'microsoft.devicecode', status: 503 });
    expect(await post('/organizations/oauth2/v2.0/devicecode', { client_id: clientId(), scope: 'openid' })).toMatchObject({
      status: 503,
      body: { error: 'temporarily_unavailable' },
    });
  });

  it('a code expires after deviceCodeLifetimeSeconds', async () => {
    await using short = await startSandbox({ accounts: { microsoft: { deviceCodeLifetimeSeconds: 0.05 } } });
    const response = await fetch(`${short.httpUrl}/organizations/oauth2/v2.0/devicecode`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ client_id: clientId(), scope: 'offline_access Mail.Send' }),
    });
    const started = (await response.json()) as { device_code: string };
    await new Promise((resolve) => setTimeout(resolve, 80));
    const expired = await fetch(`${short.httpUrl}/organizations/oauth2/v2.0/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: deviceGrant, client_id: clientId(), device_code: started.device_code }),
    });
    expect(await expired.json()).toMatchObject({ error: 'expired_token', error_codes: [70019] });
  });

  it('authorize approves at once to a loopback redirect; the code grant checks PKCE and the redirect URI', async () => {
    const verifier = 'v'.repeat(43);
    const authorize = async (extra: Record<string, string> = {}): Promise<Response> =>
      fetch(
        `${sandbox.httpUrl}/organizations/oauth2/v2.0/authorize?${new URLSearchParams({
          client_id: clientId(),
          response_type: 'code',
          redirect_uri: 'http://localhost:8400',
          scope: 'offline_access openid https://outlook.office.com/SMTP.Send',
          state: 's1',
          code_challenge: createHash('sha256').update(verifier).digest('base64url'),
          code_challenge_method: 'S256',
          ...extra,
        })}`,
        { redirect: 'manual' },
      );
    const code = async (): Promise<string> => new URL((await authorize()).headers.get('location') ?? '').searchParams.get('code') ?? '';
    const redeem = (value: string, extra: Record<string, string> = {}): Promise<{ status: number; body: Record<string, unknown> }> =>
      post('/organizations/oauth2/v2.0/token', {
        grant_type: 'authorization_code',
        client_id: clientId(),
        code: value,
        redirect_uri: 'http://localhost:8400',
        code_verifier: verifier,
        ...extra,
      });
    const first = await code();
    const tokens = await redeem(first);
    expect(tokens.body).toMatchObject({
      scope: 'https://outlook.office.com/SMTP.Send offline_access openid',
      refresh_token: expect.any(String),
    });
    expect((await redeem(first)).body).toMatchObject({ error: 'invalid_grant', error_codes: [54005] });
    expect((await redeem(await code(), { code_verifier: 'w'.repeat(43) })).body).toMatchObject({ error_codes: [50148] });
    expect((await redeem(await code(), { redirect_uri: 'http://localhost:1' })).body).toMatchObject({ error: 'invalid_grant' });

    const denied = new URL((await authorize({ approve: 'false' })).headers.get('location') ?? '').searchParams;
    expect(denied.get('error')).toBe('access_denied');
    expect(denied.get('state')).toBe('s1');
    const page = await authorize({ redirect_uri: 'https://app.example.com/' });
    expect(page.status).toBe(400);
    expect(await page.text()).toMatch(/AADSTS50011/);
  });
});
