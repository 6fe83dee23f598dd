import { createHash, randomBytes } from 'node:crypto';
import type { EmulatorContext } from '../context.js';
import { escapeMarkup, type HttpRequest, type HttpResponse, type Route } from '../http.js';
import { entraError, headerValue } from './errors.js';

/** The grant type of device code polling (RFC 8628 section 3.4). */
export const deviceCodeGrantType = 'urn:ietf:params:oauth:grant-type:device_code';

// OpenID Connect scopes carry no resource; everything else without a resource URI means Graph.
const oidcScopes = new Set(['openid', 'profile', 'email', 'offline_access']);
// Microsoft's user codes are short upper-case codes (`YZMYLD4K`); no 0/O or 1/I to misread.
const userCodeAlphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';
/** How long an authorization code can be redeemed, in ms (Entra: "about 10 minutes"). */
const codeLifetimeMs = 10 * 60 * 1000;

/** What `entra.ts` shares with the user sign-in flows. */
export interface EntraUserFlowOptions {
  /** The authority's base URL, for `error_uri`. */
  readonly authority: () => string;
  /** An error response when the tenant is unknown, else undefined. */
  readonly checkTenant: (tenant: string) => HttpResponse | undefined;
  /** Client authentication, optional for these public-client flows: a secret presented must be right. */
  readonly authenticateClient: (form: URLSearchParams, request: HttpRequest, tenant: string) => HttpResponse | undefined;
  /** Registers a new refresh token for a user with the rotating refresh-token grant, and returns it. */
  readonly issueRefreshToken: (user: string) => string;
}

/** The user sign-in flows: their routes, and the two grants the token endpoint hands over. */
export interface EntraUserFlows {
  readonly routes: readonly Route[];
  deviceCodeGrant(form: URLSearchParams, request: HttpRequest, tenant: string): HttpResponse;
  authorizationCodeGrant(form: URLSearchParams, request: HttpRequest, tenant: string): HttpResponse;
}

/** Requested scopes, split into the resource's (fully qualified) and OpenID Connect's. */
interface ScopeRequest {
  readonly resource: readonly string[];
  readonly oidc: readonly string[];
}

interface DeviceCode {
  readonly userCode: string;
  readonly clientId: string;
  readonly tenant: string;
  readonly scopes: ScopeRequest;
  readonly expiresAt: number;
  state: 'pending' | 'approved' | 'declined' | 'redeemed';
  user: string | undefined;
}

interface AuthorizationCode {
  readonly clientId: string;
  readonly tenant: string;
  readonly redirectUri: string;
  readonly user: string;
  readonly scopes: ScopeRequest;
  readonly challenge: { readonly value: string; readonly method: 'S256' | 'plain' } | undefined;
  readonly expiresAt: number;
  used: boolean;
}

/**
 * Entra ID's sign-in flows for public clients (a CLI, a desktop app), so that a refresh token can
 * be obtained without a browser or a human:
 *
 * - the device authorization grant: `POST /{tenant}/oauth2/v2.0/devicecode`, then polling the token
 *   endpoint with `grant_type=urn:ietf:params:oauth:grant-type:device_code`. The "user" is a form
 *   post to the verification page, `POST /devicelogin` with `otc=<user code>` (and optionally
 *   `user=<mailbox>`, `action=deny`), which is what the sign-in page would do after the user typed
 *   the code;
 * - the authorization code grant with PKCE: `GET /{tenant}/oauth2/v2.0/authorize` approves at once
 *   with a 302 to the loopback `redirect_uri` (`approve=false` plays the user who declines).
 *
 * Both issue refresh tokens that the rotating refresh-token grant accepts.
 */
export function entraUserFlows(context: EmulatorContext, options: EntraUserFlowOptions): EntraUserFlows {
  const microsoft = context.accounts.microsoft;
  const deviceCodes = new Map<string, DeviceCode>();
  const byUserCode = new Map<string, string>();
  const authorizationCodes = new Map<string, AuthorizationCode>();
  const authority = options.authority;

  const error = (oauth: string, code: number, description: string): HttpResponse =>
    entraError({ error: oauth, code, description, authority: authority() });
  const missing = (name: string): HttpResponse =>
    error('invalid_request', 900144, `The request body must contain the following parameter: '${name}'.`);

  const parseScopes = (scope: string | null): ScopeRequest | HttpResponse => {
    if (scope === null || scope.trim() === '') return missing('scope');
    const requested = scope.trim().split(/\s+/);
    const oidc = requested.filter((name) => oidcScopes.has(name));
    const resource = requested
      .filter((name) => !oidcScopes.has(name))
      .map((name) => (name.includes('/') ? name : `https://graph.microsoft.com/${name}`));
    const resources = new Set(resource.map((name) => name.slice(0, name.lastIndexOf('/'))));
    if (resources.size > 1) {
      return error(
        'invalid_scope',
        28000,
        `Provided value for the input parameter scope is not valid because it contains more than one resource. Scope ${requested.join(' ')} is not valid.`,
      );
    }
    // Only OpenID scopes: Entra issues a Graph token for User.Read.
    return { resource: resource.length > 0 ? resource : ['https://graph.microsoft.com/User.Read'], oidc };
  };

  const mailbox = (name: string | null | undefined): string | undefined => {
    if (name === null || name === undefined || name === '') return microsoft.delegatedUser;
    const lower = name.toLowerCase();
    return [microsoft.delegatedUser, ...microsoft.mailboxes].find((candidate) => candidate.toLowerCase() === lower);
  };

  /** The token response of a completed sign-in. */
  const tokens = (user: string, clientId: string, scopes: ScopeRequest): HttpResponse => {
    const issued = context.tokens.issue({
      issuer: 'microsoft',
      subject: user,
      clientId,
      scopes: scopes.resource,
      tenant: microsoft.tenantId,
    });
    const lifetime = Math.max(0, Math.round((issued.expiresAt - context.now()) / 1000));
    const body: Record<string, unknown> = {
      token_type: 'Bearer',
      scope: [...scopes.resource, ...scopes.oidc].join(' '),
      expires_in: lifetime,
      ext_expires_in: lifetime,
      access_token: issued.token,
    };
    // A refresh token only with offline_access, and an ID token only with openid, as the v2.0 endpoint does.
    if (scopes.oidc.includes('offline_access')) body.refresh_token = options.issueRefreshToken(user);
    if (scopes.oidc.includes('openid')) body.id_token = idToken(user, clientId, scopes, Math.floor(issued.expiresAt / 1000));
    return { status: 200, headers: { 'cache-control': 'no-store, no-cache', pragma: 'no-cache' }, body };
  };

  /**
   * An ID token with the v2.0 claims. Unsigned (`alg: none`, as in Microsoft's own device code
   * example): the sandbox publishes no keys, and a client that receives it straight from the
   * token endpoint over TLS may rely on the channel (OpenID Connect Core 1.0, section 3.1.3.7).
   */
  const idToken = (user: string, clientId: string, scopes: ScopeRequest, expires: number): string => {
    const now = Math.floor(context.now() / 1000);
    const oid = createHash('sha256').update(user.toLowerCase()).digest('hex');
    const claims: Record<string, unknown> = {
      aud: clientId,
      iss: `${authority()}/${microsoft.tenantId}/v2.0`,
      iat: now,
      nbf: now,
      exp: expires,
      name: user.slice(0, user.indexOf('@')),
      oid: `${oid.slice(0, 8)}-${oid.slice(8, 12)}-4${oid.slice(13, 16)}-8${oid.slice(17, 20)}-${oid.slice(20, 32)}`,
      preferred_username: user,
      sub: Buffer.from(oid.slice(0, 32), 'hex').toString('base64url'),
      tid: microsoft.tenantId,
      ver: '2.0',
    };
    if (scopes.oidc.includes('email')) claims.email = user;
    const encode = (value: object): string => Buffer.from(JSON.stringify(value)).toString('base64url');
    return `${encode({ typ: 'JWT', alg: 'none' })}.${encode(claims)}.`;
  };

  const readForm = (request: HttpRequest): URLSearchParams => {
    const type = (headerValue(request, 'content-type') ?? '').split(';')[0]?.trim().toLowerCase();
    return new URLSearchParams(type === 'application/x-www-form-urlencoded' ? request.body.toString() : '');
  };

  const deviceAuthorization = (request: HttpRequest): HttpResponse => {
    const tenant = request.params.tenant ?? '';
    const unknown = options.checkTenant(tenant);
    if (unknown !== undefined) return unknown;
    const form = readForm(request);
    const clientId = form.get('client_id');
    if (clientId === null || clientId === '') return missing('client_id');
    if (clientId !== microsoft.clientId) {
      return error(
        'unauthorized_client',
        700016,
        `Application with identifier '${clientId}' was not found in the directory '${tenant}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.`,
      );
    }
    const scopes = parseScopes(form.get('scope'));
    if ('status' in scopes) return scopes;
    const deviceCode = randomBytes(48).toString('base64url');
    let userCode: string;
    do {
      userCode = Array.from(randomBytes(8), (byte) => userCodeAlphabet[byte % userCodeAlphabet.length]).join('');
    } while (byUserCode.has(userCode));
    const lifetime = microsoft.deviceCodeLifetimeSeconds;
    deviceCodes.set(deviceCode, {
      userCode,
      clientId,
      tenant,
      scopes,
      expiresAt: context.now() + lifetime * 1000,
      state: 'pending',
      user: undefined,
    });
    byUserCode.set(userCode, deviceCode);
    const verificationUri = `${request.secure ? context.urls.https : context.urls.http}/devicelogin`;
    return {
      status: 200,
      headers: { 'cache-control': 'no-store, no-cache' },
      body: {
        user_code: userCode,
        device_code: deviceCode,
        verification_uri: verificationUri,
        expires_in: lifetime,
        interval: microsoft.deviceCodeIntervalSeconds,
        message: `To sign in, use a web browser to open the page ${verificationUri} and enter the code ${userCode} to authenticate.`,
      },
    };
  };

  /** The verification page's form post: what the sign-in page does once the user typed the code and signed in. */
  const deviceLogin = (request: HttpRequest): HttpResponse => {
    const form = readForm(request);
    const typed = (form.get('otc') ?? '').replace(/[\s-]/g, '').toUpperCase();
    const deviceCode = byUserCode.get(typed);
    const record = deviceCode === undefined ? undefined : deviceCodes.get(deviceCode);
    if (record === undefined || record.state !== 'pending') {
      return page(
        400,
        'AADSTS70018: Invalid verification code',
        'The code you entered is not valid, or was already used. Check the code and try again.',
      );
    }
    if (record.expiresAt <= context.now()) {
      return page(
        400,
        'AADSTS70019: Verification code expired',
        'The code you entered has expired. Get a new code from the device you are trying to sign in to.',
      );
    }
    if (form.get('action') === 'deny') {
      record.state = 'declined';
      return page(200, 'Sign-in declined', 'You declined to sign in to the application on your device. You may now close this window.');
    }
    const user = mailbox(form.get('user'));
    if (user === undefined) {
      return page(
        400,
        'AADSTS50034: The user account does not exist',
        `The sandbox tenant has no user ${form.get('user') ?? ''}; its users: ${[microsoft.delegatedUser, ...microsoft.mailboxes].join(', ')}.`,
      );
    }
    record.state = 'approved';
    record.user = user;
    return page(
      200,
      'You have signed in',
      `Signed in as ${user}. You have signed in to the application on your device. You may now close this window.`,
    );
  };

  const authorize = (request: HttpRequest): HttpResponse => {
    const tenant = request.params.tenant ?? '';
    const query = request.url.searchParams;
    if (options.checkTenant(tenant) !== undefined) {
      return page(
        400,
        `AADSTS90002: Tenant '${tenant}' not found`,
        'Check to make sure you have the correct tenant ID and are signing into the correct cloud.',
      );
    }
    const clientId = query.get('client_id');
    if (clientId !== microsoft.clientId) {
      return page(
        400,
        `AADSTS700016: Application with identifier '${clientId ?? ''}' was not found in the directory '${tenant}'`,
        'Check the application (client) id.',
      );
    }
    const redirectUri = query.get('redirect_uri') ?? '';
    if (!isLoopbackRedirect(redirectUri)) {
      // A "Mobile and desktop applications" redirect of http://localhost: any port, as RFC 8252 asks.
      return page(
        400,
        'AADSTS50011: The redirect URI specified in the request does not match the redirect URIs configured for the application',
        `The sandbox accepts loopback redirect URIs only (http://localhost:PORT, http://127.0.0.1:PORT); got '${redirectUri}'.`,
      );
    }
    const back = new URL(redirectUri);
    const state = query.get('state');
    if (state !== null) back.searchParams.set('state', state);
    const refuse = (oauth: string, description: string): HttpResponse => {
      back.searchParams.set('error', oauth);
      back.searchParams.set('error_description', description);
      return redirect(back);
    };
    if (query.get('response_type') !== 'code') {
      return refuse(
        'unsupported_response_type',
        'AADSTS700054: response_type is not supported: the sandbox emulates the authorization code flow (response_type=code).',
      );
    }
    const scopes = parseScopes(query.get('scope'));
    if ('status' in scopes)
      return refuse('invalid_request', "AADSTS900144: The request body must contain the following parameter: 'scope'.");
    const challenge = query.get('code_challenge');
    const method = query.get('code_challenge_method') ?? (challenge === null ? null : 'plain');
    if ((method !== null && method !== 'S256' && method !== 'plain') || (challenge === null && method !== null)) {
      return refuse('invalid_request', 'AADSTS501491: Invalid size of Code_Challenge parameter, or unsupported code_challenge_method.');
    }
    const user = mailbox(query.get('login_hint'));
    if (user === undefined) {
      return page(400, 'AADSTS50034: The user account does not exist', `The sandbox tenant has no user ${query.get('login_hint') ?? ''}.`);
    }
    if (query.get('approve') === 'false') return refuse('access_denied', 'AADSTS65004: User declined to consent to access the app.');
    const code = `0.sandbox-${randomBytes(32).toString('base64url')}`;
    authorizationCodes.set(code, {
      clientId,
      tenant,
      redirectUri,
      user,
      scopes,
      challenge: challenge === null ? undefined : { value: challenge, method: method === 'S256' ? 'S256' : 'plain' },
      expiresAt: context.now() + codeLifetimeMs,
      used: false,
    });
    back.searchParams.set('code', code);
    return redirect(back);
  };

  return {
    routes: [
      {
        method: 'POST',
        path: '/:tenant/oauth2/v2.0/devicecode',
        endpoint: 'microsoft.devicecode',
        maxBodyBytes: 64 * 1024,
        handle: deviceAuthorization,
      },
      // The sign-in pages open from a link or a terminal, from anywhere, and are never framed. The
      // form posts back to its own origin: the front end refuses a post from any other page (its
      // Origin and Sec-Fetch-Site), and a client that is not a browser may post as the user would.
      { method: 'GET', path: '/devicelogin', access: 'navigation', handle: () => verificationPage() },
      { method: 'POST', path: '/devicelogin', maxBodyBytes: 64 * 1024, handle: deviceLogin },
      { method: 'GET', path: '/:tenant/oauth2/v2.0/authorize', access: 'navigation', handle: authorize },
    ],

    deviceCodeGrant(form, request, tenant) {
      const refused = options.authenticateClient(form, request, tenant);
      if (refused !== undefined) return refused;
      const presented = form.get('device_code');
      if (presented === null || presented === '') return missing('device_code');
      const record = deviceCodes.get(presented);
      if (record === undefined) {
        return error('bad_verification_code', 70018, "The provided value for the input parameter 'device_code' is not valid.");
      }
      if (record.clientId !== form.get('client_id') || record.tenant !== tenant) {
        return error('invalid_grant', 70000, 'The device code was issued to another application or tenant.');
      }
      if (record.state === 'redeemed') {
        return error('invalid_grant', 54005, "The provided value for the input parameter 'device_code' has already been used.");
      }
      if (record.state === 'declined') return error('authorization_declined', 65004, 'User declined to consent to access the app.');
      if (record.expiresAt <= context.now()) return error('expired_token', 70019, 'Verification code expired.');
      if (record.state === 'pending') {
        return error('authorization_pending', 70016, 'OAuth 2.0 device flow error. Authorization is pending. Continue polling.');
      }
      record.state = 'redeemed';
      byUserCode.delete(record.userCode);
      return tokens(record.user as string, record.clientId, record.scopes);
    },

    authorizationCodeGrant(form, request, tenant) {
      const refused = options.authenticateClient(form, request, tenant);
      if (refused !== undefined) return refused;
      const presented = form.get('code');
      if (presented === null || presented === '') return missing('code');
      const code = authorizationCodes.get(presented);
      if (code === undefined) return error('invalid_grant', 9002313, 'Invalid request. Request is malformed or invalid.');
      if (code.used) {
        return error(
          'invalid_grant',
          54005,
          'OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token.',
        );
      }
      if (code.expiresAt <= context.now()) {
        return error('invalid_grant', 70008, 'The provided authorization code or refresh token has expired due to inactivity.');
      }
      if (code.clientId !== form.get('client_id') || code.tenant !== tenant) {
        return error('invalid_grant', 70000, 'The authorization code was issued to another application or tenant.');
      }
      const redirectUri = form.get('redirect_uri');
      if (redirectUri === null || redirectUri === '') return missing('redirect_uri');
      if (redirectUri !== code.redirectUri) {
        return error('invalid_grant', 70000, 'The redirect URI does not match the one of the authorization request.');
      }
      if (code.challenge !== undefined) {
        const verifier = form.get('code_verifier');
        if (verifier === null || verifier === '') return missing('code_verifier');
        const derived = code.challenge.method === 'S256' ? createHash('sha256').update(verifier).digest('base64url') : verifier;
        if (derived !== code.challenge.value) {
          return error(
            'invalid_grant',
            50148,
            'The code_verifier does not match the code_challenge supplied in the authorization request for PKCE.',
          );
        }
      }
      code.used = true;
      return tokens(code.user, code.clientId, code.scopes);
    },
  };
}

function isLoopbackRedirect(value: string): boolean {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return false;
  }
  return url.protocol === 'http:' && ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname) && url.hash === '';
}

function redirect(location: URL): HttpResponse {
  return { status: 302, headers: { location: location.toString(), 'cache-control': 'no-store' } };
}

/** The sign-in pages' policy: no scripts, the form posts to this origin only, no framing. */
const pagePolicy = "default-src 'none'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

function page(status: number, title: string, text: string): HttpResponse {
  return {
    status,
    headers: { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', 'content-security-policy': pagePolicy },
    body: `<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>${escapeMarkup(title)}</title></head>\n<body><h1>${escapeMarkup(title)}</h1>\n<p>${escapeMarkup(text)}</p>\n</body></html>\n`,
  };
}

/** The sign-in page a user opens at `verification_uri`: type the code, pick a mailbox, continue. */
function verificationPage(): HttpResponse {
  return {
    status: 200,
    headers: { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', 'content-security-policy': pagePolicy },
    body: `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Enter code - mailport sandbox</title></head>
<body><h1>Enter code</h1>
<p>Enter the code displayed on your app or device. (The sandbox signs you in without a password.)</p>
<form method="post" action="/devicelogin">
<label>Code <input name="otc" autocomplete="off" required></label>
<label>Sign in as <input name="user" placeholder="the sandbox's delegated user"></label>
<button name="action" value="approve">Next</button>
<button name="action" value="deny">Cancel</button>
</form></body></html>
`,
  };
}
