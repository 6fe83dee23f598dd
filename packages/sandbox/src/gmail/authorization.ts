import { createHash, randomBytes } from 'node:crypto';
import type { EmulatorContext } from '../context.js';
import { escapeMarkup, type HttpRequest, type HttpResponse, type Route } from '../http.js';
import type { IssuedToken } from '../tokens.js';
import { oauthError } from './google-errors.js';

/** Every Gmail scope, as Google names them; the sandbox's authorization endpoint grants any of them. */
export const gmailScopes: ReadonlySet<string> = new Set([
  'https://mail.google.com/',
  'https://www.googleapis.com/auth/gmail.send',
  'https://www.googleapis.com/auth/gmail.compose',
  'https://www.googleapis.com/auth/gmail.modify',
  'https://www.googleapis.com/auth/gmail.readonly',
  'https://www.googleapis.com/auth/gmail.metadata',
  'https://www.googleapis.com/auth/gmail.insert',
  'https://www.googleapis.com/auth/gmail.labels',
  'https://www.googleapis.com/auth/gmail.settings.basic',
  'https://www.googleapis.com/auth/gmail.settings.sharing',
  'https://www.googleapis.com/auth/gmail.addons.current.action.compose',
]);

// Google grants `email` and `profile` under their long names, and says so in the token response's `scope`.
const identityScopes: ReadonlyMap<string, string> = new Map([
  ['openid', 'openid'],
  ['email', 'https://www.googleapis.com/auth/userinfo.email'],
  ['profile', 'https://www.googleapis.com/auth/userinfo.profile'],
  ['https://www.googleapis.com/auth/userinfo.email', 'https://www.googleapis.com/auth/userinfo.email'],
  ['https://www.googleapis.com/auth/userinfo.profile', 'https://www.googleapis.com/auth/userinfo.profile'],
]);

/** How long an authorization code can be exchanged, in ms. Google does not publish a figure; minutes, not hours. */
const codeLifetimeMs = 10 * 60 * 1000;

/** An authorization code the endpoint handed to a redirect, waiting for the token endpoint. */
interface AuthorizationCode {
  readonly clientId: string;
  readonly redirectUri: string;
  readonly user: string;
  readonly scopes: readonly string[];
  readonly challenge: { readonly value: string; readonly method: 'S256' | 'plain' } | undefined;
  /** A refresh token comes with the exchange: `access_type=offline`, and consent given now. */
  readonly withRefreshToken: boolean;
  readonly expiresAt: number;
  used: boolean;
}

/** A refresh token the sandbox issued through the authorization-code grant. */
export interface IssuedGoogleRefreshToken {
  readonly user: string;
  readonly clientId: string;
  readonly scopes: readonly string[];
}

/** What one sandbox's Google authorization endpoint granted: codes, the refresh tokens issued, consents given. */
interface GoogleGrants {
  readonly codes: Map<string, AuthorizationCode>;
  readonly refreshTokens: Map<string, IssuedGoogleRefreshToken>;
  /** `clientId user` pairs that consented once: Google issues a refresh token again only with `prompt=consent`. */
  readonly consented: Set<string>;
}

// Per sandbox: the context is created once per startSandbox and lives as long as it does.
const grantsByContext = new WeakMap<EmulatorContext, GoogleGrants>();

function grantsOf(context: EmulatorContext): GoogleGrants {
  let grants = grantsByContext.get(context);
  if (grants === undefined) {
    grants = { codes: new Map(), refreshTokens: new Map(), consented: new Set() };
    grantsByContext.set(context, grants);
  }
  return grants;
}

/** A refresh token issued by the authorization-code grant, for the refresh-token grant to accept. */
export function issuedGoogleRefreshToken(context: EmulatorContext, token: string): IssuedGoogleRefreshToken | undefined {
  return grantsOf(context).refreshTokens.get(token);
}

/**
 * Google's error page for a refused authorization request: Google shows it to the user instead of
 * redirecting when the client, the redirect URI or the scopes are wrong ("Error 400: invalid_scope").
 */
export function authorizationErrorPage(status: number, error: string, description: string): HttpResponse {
  return {
    status,
    headers: {
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-store',
      'content-security-policy': "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    },
    body: `<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>Error ${status}: ${escapeMarkup(error)}</title></head>\n<body><h1>Access blocked: authorization error</h1>\n<p><b>Error ${status}: ${escapeMarkup(error)}</b></p>\n<p>${escapeMarkup(description)}</p>\n</body></html>\n`,
  };
}

/**
 * Google's OAuth 2.0 authorization endpoint (`GET https://accounts.google.com/o/oauth2/v2/auth`)
 * for installed apps. There is no one to click "Allow", so a valid request is approved at once:
 * 302 to the loopback `redirect_uri` with `code`, `state` and `scope`. `approve=false` (a
 * sandbox-only parameter) plays the user who clicks "Cancel": the redirect carries
 * `error=access_denied`. The user is the `login_hint`, else the first of `accounts.google.users`.
 */
export function googleAuthorizationRoutes(context: EmulatorContext): Route[] {
  return [
    {
      method: 'GET',
      path: '/o/oauth2/v2/auth',
      endpoint: 'google.authorize',
      // An app sends the user here from its own page or from a terminal: a top-level navigation from
      // anywhere, as Google's. Never framed; the code goes only to a loopback redirect URI.
      access: 'navigation',
      handle: (request) => authorize(request, context),
    },
  ];
}

function authorize(request: HttpRequest, context: EmulatorContext): HttpResponse {
  const google = context.accounts.google;
  const query = request.url.searchParams;
  const clientId = query.get('client_id');
  if (clientId === null || clientId === '') return authorizationErrorPage(400, 'invalid_request', 'Missing required parameter: client_id');
  if (clientId !== google.clientId) return authorizationErrorPage(401, 'invalid_client', 'The OAuth client was not found.');
  const redirectUri = query.get('redirect_uri');
  if (redirectUri === null || redirectUri === '') {
    return authorizationErrorPage(400, 'invalid_request', 'Missing required parameter: redirect_uri');
  }
  if (!isLoopbackRedirect(redirectUri)) {
    // A desktop client's redirect is the loopback interface, any port: RFC 8252 section 7.3, as Google allows.
    return authorizationErrorPage(
      400,
      'redirect_uri_mismatch',
      `You can't sign in to this app because it doesn't comply with Google's OAuth 2.0 policy. redirect_uri=${redirectUri} is not a loopback address (http://127.0.0.1:PORT, http://[::1]:PORT or http://localhost:PORT).`,
    );
  }
  const responseType = query.get('response_type');
  if (responseType !== 'code') {
    return authorizationErrorPage(
      400,
      'invalid_request',
      responseType === null ? 'Missing required parameter: response_type' : `Invalid response_type: ${responseType}`,
    );
  }
  const requested = (query.get('scope') ?? '').split(/\s+/).filter((scope) => scope !== '');
  if (requested.length === 0) return authorizationErrorPage(400, 'invalid_request', 'Missing required parameter: scope');
  const invalid = requested.filter((scope) => !gmailScopes.has(scope) && !identityScopes.has(scope));
  if (invalid.length > 0) {
    return authorizationErrorPage(400, 'invalid_scope', `Some requested scopes were invalid. {invalid=[${invalid.join(', ')}]}`);
  }
  const challenge = query.get('code_challenge');
  const method = query.get('code_challenge_method') ?? (challenge === null ? null : 'plain');
  if (challenge === null && method !== null) {
    return authorizationErrorPage(400, 'invalid_request', 'Missing required parameter: code_challenge');
  }
  if (method !== null && method !== 'S256' && method !== 'plain') {
    return authorizationErrorPage(400, 'invalid_request', `Invalid code_challenge_method: ${method}`);
  }
  // RFC 7636: a verifier is 43 to 128 characters, so is a plain challenge; an S256 one is 43 (32 bytes, base64url).
  if (challenge !== null && !(method === 'S256' ? /^[A-Za-z0-9_-]{43}$/ : /^[A-Za-z0-9._~-]{43,128}$/).test(challenge)) {
    return authorizationErrorPage(400, 'invalid_request', 'Invalid code_challenge.');
  }
  const hint = query.get('login_hint');
  const users = Object.keys(google.users);
  const user = hint === null || hint === '' ? users[0] : users.find((name) => name.toLowerCase() === hint.toLowerCase());
  if (user === undefined) {
    return authorizationErrorPage(
      400,
      'invalid_request',
      `The sandbox has no Google user ${hint ?? ''} to sign in as; its users: ${users.join(', ') || '(none)'}.`,
    );
  }
  const state = query.get('state');
  const back = new URL(redirectUri);
  if (state !== null) back.searchParams.set('state', state);
  if (query.get('approve') === 'false') {
    back.searchParams.set('error', 'access_denied');
    return redirect(back);
  }
  const scopes = [...new Set(requested.map((scope) => identityScopes.get(scope) ?? scope))];
  const grants = grantsOf(context);
  const consentKey = `${clientId} ${user.toLowerCase()}`;
  // Google issues a refresh token for offline access on the first consent, and again only when asked to consent again.
  const prompts = (query.get('prompt') ?? '').split(/\s+/);
  const withRefreshToken = query.get('access_type') === 'offline' && (prompts.includes('consent') || !grants.consented.has(consentKey));
  grants.consented.add(consentKey);
  const code = `4/sandbox-${randomBytes(24).toString('base64url')}`;
  grants.codes.set(code, {
    clientId,
    redirectUri,
    user,
    scopes,
    challenge: challenge === null ? undefined : { value: challenge, method: method === 'S256' ? 'S256' : 'plain' },
    withRefreshToken,
    expiresAt: context.now() + codeLifetimeMs,
    used: false,
  });
  back.searchParams.set('code', code);
  back.searchParams.set('scope', scopes.join(' '));
  return redirect(back);
}

function redirect(location: URL): HttpResponse {
  return { status: 302, headers: { location: location.toString(), 'cache-control': 'no-store' } };
}

function isLoopbackRedirect(value: string): boolean {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return false;
  }
  return url.protocol === 'http:' && ['127.0.0.1', '[::1]', 'localhost'].includes(url.hostname) && url.hash === '';
}

/**
 * The token endpoint's `authorization_code` grant, after the client was authenticated: the code
 * must be one this sandbox issued to this client, unused and current; `redirect_uri` the one of
 * the authorization request; `code_verifier` must match its `code_challenge`. Answers tokens
 * issued by `context.tokens`, a refresh token (registered for the refresh-token grant) when the
 * request asked for offline access, and an unsigned ID token when `openid` was granted.
 */
export function authorizationCodeGrant(params: Map<string, string>, clientId: string, context: EmulatorContext): HttpResponse {
  const presented = params.get('code');
  if (presented === undefined || presented === '') return oauthError(400, 'invalid_request', 'Missing required parameter: code');
  const grants = grantsOf(context);
  const code = grants.codes.get(presented);
  if (code === undefined) return oauthError(400, 'invalid_grant', 'Malformed auth code.');
  // Google's wording for a code that was used, has expired, or belongs to another client.
  if (code.used || code.expiresAt <= context.now() || code.clientId !== clientId) return oauthError(400, 'invalid_grant', 'Bad Request');
  const redirectUri = params.get('redirect_uri');
  if (redirectUri === undefined || redirectUri === '')
    return oauthError(400, 'invalid_request', 'Missing required parameter: redirect_uri');
  if (redirectUri !== code.redirectUri) return oauthError(400, 'redirect_uri_mismatch', 'Bad Request');
  if (code.challenge !== undefined) {
    const verifier = params.get('code_verifier');
    if (verifier === undefined || verifier === '') return oauthError(400, 'invalid_grant', 'Missing code verifier.');
    const derived = code.challenge.method === 'S256' ? createHash('sha256').update(verifier).digest('base64url') : verifier;
    if (derived !== code.challenge.value) return oauthError(400, 'invalid_grant', 'Invalid code verifier.');
  }
  code.used = true;
  const issued = context.tokens.issue({ issuer: 'google', subject: code.user, clientId, scopes: code.scopes });
  const body: Record<string, unknown> = {
    access_token: issued.token,
    expires_in: Math.max(0, Math.round((issued.expiresAt - context.now()) / 1000) - 1),
    scope: code.scopes.join(' '),
    token_type: 'Bearer',
  };
  if (code.withRefreshToken) {
    const refreshToken = `1//sandbox-${randomBytes(24).toString('base64url')}`;
    grants.refreshTokens.set(refreshToken, { user: code.user, clientId, scopes: code.scopes });
    body.refresh_token = refreshToken;
  }
  if (code.scopes.includes('openid')) body.id_token = idToken(issued, code, context);
  return {
    status: 200,
    headers: {
      'content-type': 'application/json; charset=utf-8',
      'cache-control': 'no-cache, no-store, max-age=0, must-revalidate',
      pragma: 'no-cache',
    },
    body,
  };
}

/**
 * An OpenID Connect ID token with Google's claims. Unsigned (`alg: none`): the sandbox publishes no
 * keys, and a client that receives it straight from the token endpoint over TLS may rely on the
 * channel instead of the signature (OpenID Connect Core 1.0, section 3.1.3.7).
 */
function idToken(issued: IssuedToken, code: AuthorizationCode, context: EmulatorContext): string {
  const now = Math.floor(context.now() / 1000);
  const claims: Record<string, unknown> = {
    iss: 'https://accounts.google.com',
    azp: code.clientId,
    aud: code.clientId,
    // Google's `sub` is a stable number per account.
    sub: BigInt(`0x${createHash('sha256').update(code.user.toLowerCase()).digest('hex').slice(0, 15)}`).toString(),
    iat: now,
    exp: Math.floor(issued.expiresAt / 1000),
  };
  if (code.scopes.includes('https://www.googleapis.com/auth/userinfo.email')) {
    claims.email = code.user;
    claims.email_verified = true;
  }
  const encode = (value: object): string => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${encode({ alg: 'none', typ: 'JWT' })}.${encode(claims)}.`;
}
