import { constants, randomBytes, verify, X509Certificate } from 'node:crypto';
import type { EmulatorContext } from '../context.js';
import type { HttpRequest, HttpResponse, Route } from '../http.js';
import { deviceCodeGrantType, entraUserFlows } from './entra-user-flows.js';
import { entraError, headerValue } from './errors.js';

// The resources an app-only token can be asked for: Graph, and Exchange Online for SMTP XOAUTH2.
const appOnlyResources = new Map([
  ['https://graph.microsoft.com', 'https://graph.microsoft.com'],
  ['00000003-0000-0000-c000-000000000000', 'https://graph.microsoft.com'],
  ['https://outlook.office365.com', 'https://outlook.office365.com'],
  ['https://outlook.office.com', 'https://outlook.office.com'],
]);
// OpenID Connect scopes carry no resource; everything else without a resource URI means Graph.
const oidcScopes = new Set(['openid', 'profile', 'email', 'offline_access']);
const multiTenant = new Set(['common', 'organizations']);
const jwtBearer = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

/**
 * The Entra ID (Azure AD) v2.0 endpoints MSAL and @azure/identity use: OpenID discovery for a
 * custom authority, the signing keys document, and the token endpoint with the client credentials
 * grant (client secret, or a certificate-signed client assertion) and the refresh token grant,
 * whose refresh tokens rotate: each one works once. The user sign-in flows (device code, and
 * authorization code with PKCE) are in `entra-user-flows.ts`; their refresh tokens rotate too.
 */
export function entraRoutes(context: EmulatorContext): Route[] {
  const microsoft = context.accounts.microsoft;
  // Refresh token -> the user it acts for. A used token moves to `revoked`.
  const refreshTokens = new Map<string, string>([[microsoft.refreshToken, microsoft.delegatedUser]]);
  const revoked = new Set<string>();
  const certificates = microsoft.certificates.map((pem) => new X509Certificate(pem));
  const knownTenants = new Set([microsoft.tenantId, ...microsoft.mailboxes.map((mailbox) => mailbox.slice(mailbox.indexOf('@') + 1))]);
  const authority = (): string => context.urls.https;

  const unknownTenant = (tenant: string, error = 'invalid_request'): HttpResponse =>
    entraError({
      error,
      code: 90002,
      description: `Tenant '${tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant.`,
      authority: authority(),
    });

  const openIdConfiguration = (tenant: string): Record<string, unknown> => {
    const base = `${authority()}/${tenant}`;
    return {
      token_endpoint: `${base}/oauth2/v2.0/token`,
      token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
      jwks_uri: `${base}/discovery/v2.0/keys`,
      response_modes_supported: ['query', 'fragment', 'form_post'],
      subject_types_supported: ['pairwise'],
      id_token_signing_alg_values_supported: ['RS256'],
      response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
      scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
      issuer: `${base}/v2.0`,
      request_uri_parameter_supported: false,
      userinfo_endpoint: `${authority()}/oidc/userinfo`,
      authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
      device_authorization_endpoint: `${base}/oauth2/v2.0/devicecode`,
      http_logout_supported: true,
      frontchannel_logout_supported: true,
      end_session_endpoint: `${base}/oauth2/v2.0/logout`,
      claims_supported: ['sub', 'iss', 'aud', 'exp', 'iat', 'nbf', 'name', 'email', 'tid', 'oid'],
      tenant_region_scope: 'NA',
      cloud_instance_name: 'sandbox.mailport.local',
      cloud_graph_host_name: 'graph.windows.net',
      msgraph_host: 'graph.microsoft.com',
      rbac_url: 'https://pas.windows.net',
    };
  };

  const tokenResponse = (body: Record<string, unknown>): HttpResponse => ({
    status: 200,
    headers: { 'cache-control': 'no-store, no-cache', pragma: 'no-cache' },
    body,
  });

  const expiresIn = (expiresAt: number): number => Math.max(0, Math.round((expiresAt - context.now()) / 1000));

  /** A new refresh token acting for `user`, for the refresh-token grant. */
  const issueRefreshToken = (user: string): string => {
    const token = `sandbox-microsoft-refresh-token-${randomBytes(12).toString('base64url')}`;
    refreshTokens.set(token, user);
    return token;
  };

  /** Client authentication: a secret (form or HTTP Basic) or a signed client assertion. Undefined when it passes. */
  const authenticateClient = (form: URLSearchParams, request: HttpRequest, tenant: string, required: boolean): HttpResponse | undefined => {
    const basic = /^Basic\s+(\S+)$/i.exec(headerValue(request, 'authorization') ?? '');
    const basicSecret =
      basic === null
        ? undefined
        : decodeURIComponent(
            Buffer.from(basic[1] as string, 'base64')
              .toString()
              .split(':')[1] ?? '',
          );
    const secret = form.get('client_secret') ?? basicSecret;
    const assertion = form.get('client_assertion');
    if (secret !== undefined && secret !== null) {
      if (secret === microsoft.clientSecret) return undefined;
      return entraError({
        error: 'invalid_client',
        code: 7000215,
        description: `Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${microsoft.clientId}'.`,
        authority: authority(),
      });
    }
    if (assertion !== null) return checkAssertion(form, assertion, tenant);
    if (!required) return undefined;
    return entraError({
      error: 'invalid_client',
      code: 7000218,
      description: "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
      authority: authority(),
    });
  };

  const assertionError = (code: number, description: string): HttpResponse =>
    entraError({ error: 'invalid_client', code, description, authority: authority() });

  /** Checks a private_key_jwt client assertion as Entra does: registered certificate, signature, audience, subject, lifetime. */
  const checkAssertion = (form: URLSearchParams, assertion: string, tenant: string): HttpResponse | undefined => {
    if (form.get('client_assertion_type') !== jwtBearer) {
      return entraError({
        error: 'invalid_request',
        code: 900144,
        description: "The request body must contain the following parameter: 'client_assertion_type'.",
        authority: authority(),
      });
    }
    const parts = assertion.split('.');
    let header: Record<string, unknown>;
    let payload: Record<string, unknown>;
    try {
      if (parts.length !== 3) throw new Error('not three parts');
      header = JSON.parse(Buffer.from(parts[0] as string, 'base64url').toString()) as Record<string, unknown>;
      payload = JSON.parse(Buffer.from(parts[1] as string, 'base64url').toString()) as Record<string, unknown>;
    } catch {
      return assertionError(50027, 'JWT token is invalid or malformed.');
    }
    const sha1 = typeof header.x5t === 'string' ? Buffer.from(header.x5t, 'base64url').toString('hex') : undefined;
    const sha256 = typeof header['x5t#S256'] === 'string' ? Buffer.from(header['x5t#S256'], 'base64url').toString('hex') : undefined;
    const fingerprint = (value: string): string => value.replace(/:/g, '').toLowerCase();
    const certificate = certificates.find(
      (candidate) => fingerprint(candidate.fingerprint) === sha1 || fingerprint(candidate.fingerprint256) === sha256,
    );
    if (certificate === undefined) {
      return assertionError(
        700027,
        `The certificate with identifier used to sign the client assertion is not registered on application. [Reason - The key was not found., Thumbprint of key used by client: '${(sha1 ?? sha256 ?? '').toUpperCase()}', Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see configured keys for app Id '${microsoft.clientId}'.]`,
      );
    }
    // Entra ID keeps a registered certificate's validity as the key's end date and refuses the key after it.
    const validFrom = Date.parse(certificate.validFrom);
    const validTo = Date.parse(certificate.validTo);
    if (context.now() > validTo || context.now() < validFrom) {
      return assertionError(
        700027,
        `Client assertion contains an invalid signature. [Reason - The key used is expired., Thumbprint of key used by client: '${(sha1 ?? sha256 ?? '').toUpperCase()}', Found key 'Start=${new Date(validFrom).toISOString()}, End=${new Date(validTo).toISOString()}', Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see configured keys for app Id '${microsoft.clientId}'.]`,
      );
    }
    const pss = header.alg === 'PS256';
    if (header.alg !== 'RS256' && !pss)
      return assertionError(
        700027,
        `Client assertion contains an invalid signature. [Reason - The algorithm '${String(header.alg)}' is not supported.]`,
      );
    const signed = verify(
      'sha256',
      Buffer.from(`${parts[0]}.${parts[1]}`),
      pss ? { key: certificate.publicKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 } : certificate.publicKey,
      Buffer.from(parts[2] as string, 'base64url'),
    );
    if (!signed) return assertionError(700027, 'Client assertion contains an invalid signature. [Reason - The signature is not valid.]');
    const audiences = [context.urls.https, context.urls.http].map((base) => `${base}/${tenant}/oauth2/v2.0/token`);
    if (!audiences.includes(String(payload.aud))) {
      return assertionError(
        700027,
        `Client assertion contains an invalid signature. [Reason - The audience '${String(payload.aud)}' is not valid.]`,
      );
    }
    if (payload.iss !== microsoft.clientId || payload.sub !== microsoft.clientId) {
      return assertionError(700021, "Client assertion application identifier doesn't match 'client_id' parameter.");
    }
    const now = context.now() / 1000;
    const skew = 300;
    if (typeof payload.exp !== 'number' || payload.exp < now - skew || (typeof payload.nbf === 'number' && payload.nbf > now + skew)) {
      return assertionError(700024, 'Client assertion is not within its valid time range.');
    }
    return undefined;
  };

  const clientCredentials = (form: URLSearchParams, request: HttpRequest, tenant: string): HttpResponse => {
    if (multiTenant.has(tenant)) {
      return entraError({
        error: 'invalid_request',
        code: 90002,
        description: `Tenant '${tenant}' cannot be used with the client credentials flow: use the tenant ID or a verified domain.`,
        authority: authority(),
      });
    }
    const refused = authenticateClient(form, request, tenant, true);
    if (refused !== undefined) return refused;
    const scope = form.get('scope');
    if (scope === null || scope.trim() === '') {
      return entraError({
        error: 'invalid_request',
        code: 900144,
        description: "The request body must contain the following parameter: 'scope'.",
        authority: authority(),
      });
    }
    const scopes = scope.trim().split(/\s+/);
    const [only] = scopes;
    if (scopes.length !== 1 || only === undefined || !only.endsWith('/.default')) {
      return entraError({
        error: 'invalid_scope',
        code: 1002012,
        description: `The provided value for scope ${scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).`,
        authority: authority(),
      });
    }
    const resource = appOnlyResources.get(only.slice(0, -'/.default'.length).replace(/\/$/, ''));
    if (resource === undefined) {
      return entraError({
        error: 'invalid_resource',
        code: 500011,
        description: `The resource principal named ${only.slice(0, -'/.default'.length)} was not found in the tenant named ${tenant}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant.`,
        authority: authority(),
      });
    }
    const issued = context.tokens.issue({
      issuer: 'microsoft',
      subject: microsoft.clientId,
      clientId: microsoft.clientId,
      scopes: [`${resource}/.default`],
      tenant: microsoft.tenantId,
    });
    const lifetime = expiresIn(issued.expiresAt);
    return tokenResponse({ token_type: 'Bearer', expires_in: lifetime, ext_expires_in: lifetime, access_token: issued.token });
  };

  const refreshGrant = (form: URLSearchParams, request: HttpRequest, tenant: string): HttpResponse => {
    const refused = authenticateClient(form, request, tenant, false);
    if (refused !== undefined) return refused;
    const presented = form.get('refresh_token');
    if (presented === null || presented === '') {
      return entraError({
        error: 'invalid_request',
        code: 900144,
        description: "The request body must contain the following parameter: 'refresh_token'.",
        authority: authority(),
      });
    }
    const user = refreshTokens.get(presented);
    if (user === undefined) {
      return revoked.has(presented)
        ? entraError({
            error: 'invalid_grant',
            code: 50173,
            description:
              'The provided grant has expired due to it being revoked, a fresh auth token is needed. The user might have changed or reset their password. (The sandbox rotates refresh tokens: each one works once.)',
            authority: authority(),
          })
        : entraError({
            error: 'invalid_grant',
            code: 9002313,
            description: 'Invalid request. Request is malformed or invalid.',
            authority: authority(),
          });
    }
    const requested = (form.get('scope') ?? 'https://graph.microsoft.com/.default').trim().split(/\s+/);
    const qualified = requested
      .filter((scope) => !oidcScopes.has(scope))
      .map((scope) => (scope.includes('/') ? scope : `https://graph.microsoft.com/${scope}`));
    const resources = new Set(qualified.map((scope) => scope.slice(0, scope.lastIndexOf('/'))));
    if (resources.size > 1) {
      return entraError({
        error: 'invalid_scope',
        code: 28000,
        description: `Provided value for the input parameter scope is not valid because it contains more than one resource. Scope ${requested.join(' ')} is not valid.`,
        authority: authority(),
      });
    }
    // Rotation: the presented token stops working the moment a new one is issued.
    refreshTokens.delete(presented);
    revoked.add(presented);
    const next = issueRefreshToken(user);
    const scopes = qualified.length > 0 ? qualified : ['https://graph.microsoft.com/.default'];
    const issued = context.tokens.issue({
      issuer: 'microsoft',
      subject: user,
      clientId: form.get('client_id') ?? '',
      scopes,
      tenant: microsoft.tenantId,
    });
    const lifetime = expiresIn(issued.expiresAt);
    return tokenResponse({
      token_type: 'Bearer',
      scope: [...scopes, ...requested.filter((scope) => oidcScopes.has(scope))].join(' '),
      expires_in: lifetime,
      ext_expires_in: lifetime,
      access_token: issued.token,
      refresh_token: next,
    });
  };

  const userFlows = entraUserFlows(context, {
    authority,
    checkTenant: (tenant) => (knownTenants.has(tenant) || multiTenant.has(tenant) ? undefined : unknownTenant(tenant)),
    authenticateClient: (form, request, tenant) => authenticateClient(form, request, tenant, false),
    issueRefreshToken,
  });

  return [
    ...userFlows.routes,
    {
      method: 'GET',
      path: '/:tenant/v2.0/.well-known/openid-configuration',
      handle: (request) => {
        const tenant = request.params.tenant ?? '';
        if (!knownTenants.has(tenant) && !multiTenant.has(tenant)) return unknownTenant(tenant, 'invalid_tenant');
        return { status: 200, body: openIdConfiguration(tenant) };
      },
    },
    {
      method: 'GET',
      path: '/:tenant/discovery/v2.0/keys',
      // The sandbox's access tokens are opaque, not signed JWTs: there are no keys to publish.
      handle: () => ({ status: 200, body: { keys: [] } }),
    },
    {
      method: 'POST',
      path: '/:tenant/oauth2/v2.0/token',
      endpoint: 'microsoft.token',
      maxBodyBytes: 1024 * 1024,
      handle: (request) => {
        const tenant = request.params.tenant ?? '';
        if (!knownTenants.has(tenant) && !multiTenant.has(tenant)) return unknownTenant(tenant);
        const type = (headerValue(request, 'content-type') ?? '').split(';')[0]?.trim().toLowerCase();
        const form = new URLSearchParams(type === 'application/x-www-form-urlencoded' ? request.body.toString() : '');
        const grant = form.get('grant_type');
        if (grant === null) {
          return entraError({
            error: 'invalid_request',
            code: 900144,
            description: "The request body must contain the following parameter: 'grant_type'.",
            authority: authority(),
          });
        }
        const clientId = form.get('client_id');
        if (clientId !== microsoft.clientId) {
          return entraError({
            error: 'unauthorized_client',
            code: 700016,
            description: `Application with identifier '${clientId ?? ''}' was not found in the directory '${tenant}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.`,
            authority: authority(),
          });
        }
        if (grant === 'client_credentials') return clientCredentials(form, request, tenant);
        if (grant === 'refresh_token') return refreshGrant(form, request, tenant);
        if (grant === deviceCodeGrantType) return userFlows.deviceCodeGrant(form, request, tenant);
        if (grant === 'authorization_code') return userFlows.authorizationCodeGrant(form, request, tenant);
        return entraError({
          error: 'unsupported_grant_type',
          code: 70003,
          description: `The app requested an unsupported grant type '${grant}'.`,
          authority: authority(),
        });
      },
    },
  ];
}
