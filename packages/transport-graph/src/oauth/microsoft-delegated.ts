import { type AccessToken, createTokenCache, MailError, Secret, type TokenProvider } from '@mailport/core';
import { type CaInput, createHttpClient, HttpError, type HttpResponse } from '@mailport/core/http';
import { microsoftAuthorityHosts } from './microsoft-app-only.js';
import { mapMicrosoftTokenError } from './microsoft-errors.js';

/** Options of {@link microsoftDelegated}. */
export interface MicrosoftDelegatedOptions {
  /** The application (client) id of the app registration the user consented to. */
  clientId: string;
  /** The tenant: its id, a verified domain, or `organizations` / `common`. Default `organizations`. */
  tenantId?: string | undefined;
  /** The refresh token from the user's sign-in (authorization code or device code flow, with `offline_access`). */
  refreshToken: string | Secret;
  /**
   * Receives every new refresh token, in order, before its access token is used: store it, and
   * use it next time instead of the old one, which stops working. The refresh is not used until
   * the returned promise resolves; if it rejects, the send fails with a `configuration` error
   * (the new token is still used in this process).
   */
  onRefreshToken: (refreshToken: string) => void | Promise<void>;
  /** The client secret, for a confidential (web) app; public clients send none. */
  clientSecret?: string | Secret | undefined;
  /** Entra ID host: default `https://login.microsoftonline.com`. */
  authorityHost?: string | undefined;
  /**
   * Delegated scopes. Default `['https://graph.microsoft.com/.default', 'offline_access']`: every
   * Graph permission the user consented to, so Mail.ReadWrite (needed for the draft path of
   * messages over about 3 MB) is used when granted. For SMTP `https://outlook.office.com/SMTP.Send`.
   */
  scopes?: readonly string[] | undefined;
  /** CA certificates (PEM) to trust besides the system's. */
  ca?: CaInput | undefined;
  /** Refresh this long before the token expires, in ms. Default 60 000. */
  refreshAheadMs?: number | undefined;
  /** Longest wait for the token endpoint, in ms. Default 30 000. */
  timeoutMs?: number | undefined;
}

/**
 * Delegated (user) tokens from a refresh token. Microsoft rotates refresh tokens: every refresh
 * returns a new one, handed to `onRefreshToken` for the caller to persist, awaited before the new
 * access token is used, so that a crash cannot lose the latest refresh token. Wrapped in core's
 * token cache: one refresh in flight, so rotations happen one after the other.
 *
 * MSAL keeps refresh tokens inside its cache and never returns them (`AuthenticationResult` has
 * no refresh token), so this is a plain `refresh_token` grant POST to the v2.0 token endpoint.
 *
 * A refused refresh token (`invalid_grant`) is an `auth` error whose remediation says the user
 * must consent again.
 *
 * @example
 * ```ts
 * const tokens = microsoftDelegated({
 *   clientId: '11111111-2222-3333-4444-555555555555',
 *   refreshToken: await store.get('graph-refresh-token'),
 *   onRefreshToken: (next) => store.set('graph-refresh-token', next),
 * });
 * const transport = createGraphTransport({ sender: 'me@contoso.com', tokenProvider: tokens, delegated: true });
 * ```
 */
export function microsoftDelegated(options: MicrosoftDelegatedOptions): TokenProvider {
  if (typeof options.clientId !== 'string' || options.clientId.trim() === '') {
    throw new MailError('configuration', 'Microsoft delegated auth: clientId is required', {
      remediation: 'Give the application (client) id.',
    });
  }
  if (typeof options.onRefreshToken !== 'function') {
    throw new MailError('configuration', 'Microsoft delegated auth: onRefreshToken is required', {
      remediation:
        'Microsoft rotates refresh tokens: pass onRefreshToken(next) that stores each new one, or the next start will fail with invalid_grant.',
    });
  }
  const initial = options.refreshToken instanceof Secret ? options.refreshToken.reveal() : options.refreshToken;
  if (typeof initial !== 'string' || initial === '') {
    throw new MailError('configuration', 'Microsoft delegated auth: refreshToken is required', { remediation: reconsentHint });
  }
  const authorityHost = (options.authorityHost ?? microsoftAuthorityHosts.public).replace(/\/+$/, '');
  const tenant = options.tenantId ?? 'organizations';
  const endpoint = new URL(`${authorityHost}/${encodeURIComponent(tenant)}/oauth2/v2.0/token`);
  const scope = (options.scopes ?? ['https://graph.microsoft.com/.default', 'offline_access']).join(' ');
  const clientSecret = options.clientSecret instanceof Secret ? options.clientSecret.reveal() : options.clientSecret;
  const http = createHttpClient({ ca: options.ca, timeoutMs: options.timeoutMs ?? 30_000 });
  const onRefreshToken = options.onRefreshToken;
  // The latest refresh token, in this closure only.
  let current = initial;

  const refresh = async (): Promise<AccessToken> => {
    const form = new URLSearchParams({ client_id: options.clientId, grant_type: 'refresh_token', refresh_token: current, scope });
    if (clientSecret !== undefined) form.set('client_secret', clientSecret);
    let answer: HttpResponse;
    try {
      answer = await http.send({
        method: 'POST',
        url: endpoint,
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: form.toString(),
      });
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      const networkCode = HttpError.isInstance(error) ? error.code : undefined;
      throw mapMicrosoftTokenError({ description: message, unreachable: true, networkCode }, { authority: endpoint.origin });
    }
    const body = answer.json();
    if (answer.status !== 200 || typeof body.access_token !== 'string') {
      const description = typeof body.error_description === 'string' ? body.error_description : `HTTP ${answer.status}`;
      const aadsts = Array.isArray(body.error_codes) && typeof body.error_codes[0] === 'number' ? body.error_codes[0] : undefined;
      throw mapMicrosoftTokenError(
        { error: typeof body.error === 'string' ? body.error : undefined, aadsts, status: answer.status, description },
        { authority: endpoint.origin },
      );
    }
    const expiresIn = Number(body.expires_in);
    const token: AccessToken = {
      token: body.access_token,
      expiresAt: Number.isFinite(expiresIn) ? Date.now() + expiresIn * 1000 : undefined,
    };
    if (typeof body.refresh_token === 'string' && body.refresh_token !== current) {
      // The old token is dead from here on: keep the new one even if persisting it fails.
      current = body.refresh_token;
      try {
        await onRefreshToken(current);
      } catch (error) {
        throw new MailError(
          'configuration',
          `onRefreshToken failed, so the new Microsoft refresh token was not stored: ${(error as Error)?.message ?? String(error)}`,
          {
            remediation:
              'Fix the storage behind onRefreshToken: the previous refresh token no longer works, and this process holds the only copy of the new one.',
          },
        );
      }
    }
    return token;
  };

  return createTokenCache(refresh, { refreshAheadMs: options.refreshAheadMs });
}

const reconsentHint = 'Sign the user in again (run `mailport auth microsoft`) to get a refresh token.';
