import { createPublicKey, verify } from 'node:crypto';
import type { EmulatorContext } from '../context.js';
import type { HttpRequest, HttpResponse } from '../http.js';
import type { IssuedToken } from '../tokens.js';
import { authorizationCodeGrant, gmailScopes, issuedGoogleRefreshToken } from './authorization.js';
import { oauthError } from './google-errors.js';

/** Scopes a refresh token of the sandbox was granted: full Gmail access, which SMTP XOAUTH2 needs too. */
export const refreshTokenScopes: readonly string[] = Object.freeze(['https://mail.google.com/']);

/** The audience Google requires in a service account's assertion (the token URL it publishes). */
const audiences = new Set([
  'https://oauth2.googleapis.com/token',
  'https://www.googleapis.com/oauth2/v4/token',
  'https://accounts.google.com/o/oauth2/token',
]);

/**
 * Scopes the sandbox's domain-wide delegation grants the service account: every Gmail scope.
 * Asking for anything else with a `sub` is refused as an admin console without that scope would.
 */
const delegatedScopes = gmailScopes;

const jwtBearer = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
// Google's wording for assertions whose iat/exp it refuses.
const badTimeframe =
  'Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.';
const unauthorizedClient =
  'Client is unauthorized to retrieve access tokens using this method, or client not authorized for any of the scopes requested.';

/**
 * Google's OAuth 2.0 token endpoint (`POST https://oauth2.googleapis.com/token`), for the
 * authorization-code grant (installed apps, with PKCE; see `authorization.ts`), the refresh-token
 * grant (user OAuth) and the JWT-bearer grant (service accounts, with `sub` for domain-wide
 * delegation). Tokens are issued by `context.tokens` with issuer `google`.
 */
export function handleTokenRequest(request: HttpRequest, context: EmulatorContext): HttpResponse {
  const params = formParams(request);
  if (params === undefined)
    return oauthError(400, 'invalid_request', 'Invalid request: the body must be application/x-www-form-urlencoded.');
  const grantType = params.get('grant_type');
  if (grantType === undefined || grantType === '') return oauthError(400, 'invalid_request', 'Missing required parameter: grant_type');
  if (grantType === 'refresh_token') return refreshGrant(request, params, context);
  if (grantType === 'authorization_code') {
    const client = authenticateClient(request, params, context);
    return 'response' in client ? client.response : authorizationCodeGrant(params, client.clientId, context);
  }
  if (grantType === jwtBearer) return jwtGrant(params, context);
  return oauthError(400, 'unsupported_grant_type', `Invalid grant_type: ${grantType}`);
}

/** The client's id and secret, from the form (client_secret_post, google-auth-library's default) or a Basic header. */
function authenticateClient(
  request: HttpRequest,
  params: Map<string, string>,
  context: EmulatorContext,
): { clientId: string } | { response: HttpResponse } {
  const google = context.accounts.google;
  const basic = /^Basic\s+(\S+)$/i.exec(String(request.headers.authorization ?? ''));
  let clientId = params.get('client_id');
  let clientSecret = params.get('client_secret');
  if (basic !== null) {
    const decoded = Buffer.from(basic[1] as string, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    clientId = formDecode(decoded.slice(0, colon));
    clientSecret = formDecode(decoded.slice(colon + 1));
  }
  if (clientId === undefined || clientId === '')
    return { response: oauthError(400, 'invalid_request', 'Could not determine client ID from request.') };
  if (clientId !== google.clientId) return { response: oauthError(401, 'invalid_client', 'The OAuth client was not found.') };
  if (clientSecret !== google.clientSecret) return { response: oauthError(401, 'invalid_client', 'Unauthorized') };
  return { clientId };
}

function refreshGrant(request: HttpRequest, params: Map<string, string>, context: EmulatorContext): HttpResponse {
  const google = context.accounts.google;
  const client = authenticateClient(request, params, context);
  if ('response' in client) return client.response;
  const { clientId } = client;
  const refreshToken = params.get('refresh_token');
  if (refreshToken === undefined || refreshToken === '')
    return oauthError(400, 'invalid_request', 'Missing required parameter: refresh_token');
  const user = google.refreshTokens[refreshToken];
  if (user !== undefined) {
    const issued = context.tokens.issue({ issuer: 'google', subject: user, clientId, scopes: refreshTokenScopes });
    return tokenResponse(issued, context, true);
  }
  // One issued by the authorization-code grant: it carries the scopes the user consented to.
  const granted = issuedGoogleRefreshToken(context, refreshToken);
  if (granted === undefined) return oauthError(400, 'invalid_grant', 'Token has been expired or revoked.');
  if (granted.clientId !== clientId) return oauthError(401, 'unauthorized_client', 'Unauthorized');
  const issued = context.tokens.issue({ issuer: 'google', subject: granted.user, clientId, scopes: granted.scopes });
  return tokenResponse(issued, context, true);
}

function jwtGrant(params: Map<string, string>, context: EmulatorContext): HttpResponse {
  const account = context.accounts.google.serviceAccount;
  const assertion = params.get('assertion');
  if (assertion === undefined || assertion === '') return oauthError(400, 'invalid_request', 'Missing required parameter: assertion');
  const parts = assertion.split('.');
  const header = parts.length === 3 ? decodeJson(parts[0] as string) : undefined;
  const claims = parts.length === 3 ? decodeJson(parts[1] as string) : undefined;
  if (header === undefined || claims === undefined) return oauthError(400, 'invalid_grant', 'Invalid JWT Signature.');
  if (claims.iss !== account.clientEmail) return oauthError(400, 'invalid_grant', 'Invalid grant: account not found');
  const signed = Buffer.from(`${parts[0]}.${parts[1]}`, 'latin1');
  const signature = Buffer.from(parts[2] as string, 'base64url');
  if (header.alg !== 'RS256' || !verify('RSA-SHA256', signed, createPublicKey(account.publicKey), signature)) {
    return oauthError(400, 'invalid_grant', 'Invalid JWT Signature.');
  }
  if (typeof claims.aud !== 'string' || !audiences.has(claims.aud))
    return oauthError(400, 'invalid_grant', 'Invalid JWT: Failed audience check.');
  const now = Math.floor(context.now() / 1000);
  const { iat, exp } = claims;
  // Google allows some clock skew, and at most an hour between iat and exp.
  if (typeof iat !== 'number' || typeof exp !== 'number' || iat > now + 300 || exp < now - 300 || exp <= iat || exp - iat > 3600) {
    return oauthError(400, 'invalid_grant', badTimeframe);
  }
  const scopes = typeof claims.scope === 'string' ? claims.scope.split(/\s+/).filter((scope) => scope !== '') : [];
  if (scopes.length === 0) return oauthError(400, 'invalid_scope', 'Invalid OAuth scope or ID token audience provided.');
  let subject = account.clientEmail;
  if (claims.sub !== undefined) {
    const user = Object.keys(context.accounts.google.users).find((name) => name.toLowerCase() === String(claims.sub).toLowerCase());
    if (user === undefined) return oauthError(400, 'invalid_grant', 'Invalid email or User ID');
    if (!scopes.every((scope) => delegatedScopes.has(scope))) return oauthError(401, 'unauthorized_client', unauthorizedClient);
    subject = user;
  }
  const issued = context.tokens.issue({ issuer: 'google', subject, clientId: account.clientEmail, scopes });
  return tokenResponse(issued, context, false);
}

function tokenResponse(issued: IssuedToken, context: EmulatorContext, withScope: boolean): HttpResponse {
  const body: Record<string, unknown> = {
    access_token: issued.token,
    expires_in: Math.max(0, Math.round((issued.expiresAt - context.now()) / 1000) - 1),
    token_type: 'Bearer',
  };
  if (withScope) body.scope = issued.scopes.join(' ');
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

/** The form parameters of the request (Google also takes a JSON object), or undefined for another body. */
function formParams(request: HttpRequest): Map<string, string> | undefined {
  const contentType = String(request.headers['content-type'] ?? '').toLowerCase();
  const text = request.body.toString('utf8');
  if (contentType.startsWith('application/x-www-form-urlencoded')) return new Map(new URLSearchParams(text));
  if (contentType.startsWith('application/json')) {
    try {
      const parsed = JSON.parse(text) as unknown;
      if (typeof parsed !== 'object' || parsed === null) return undefined;
      return new Map(Object.entries(parsed).map(([key, value]) => [key, String(value)]));
    } catch {
      return undefined;
    }
  }
  return undefined;
}

function decodeJson(segment: string): Record<string, unknown> | undefined {
  try {
    const value = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8')) as unknown;
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function formDecode(value: string): string {
  try {
    return decodeURIComponent(value.replace(/\+/g, ' '));
  } catch {
    return value;
  }
}
