import {
  type AccessToken as AzureAccessToken,
  ClientCertificateCredential,
  ClientSecretCredential,
  type TokenCredential,
} from '@azure/identity';
import { type AccessToken, createTokenCache, MailError, Secret, type TokenProvider } from '@mailport/core';
import { type CaInput, trustedCas } from '@mailport/core/http';
import { nodeLibrariesWork } from '@mailport/core/jwt';
import { microsoftAppOnlyFetch } from './microsoft-app-only-fetch.js';
import { identityWitness, mapMicrosoftTokenError, tokenFailureFromIdentityError } from './microsoft-errors.js';

/** Entra ID authority hosts of the public and national clouds. */
export const microsoftAuthorityHosts: Readonly<{ public: string; usGovernment: string; china: string }> = Object.freeze({
  public: 'https://login.microsoftonline.com',
  usGovernment: 'https://login.microsoftonline.us',
  china: 'https://login.chinacloudapi.cn',
});

/** The `.default` scopes app-only tokens are asked for. */
export const microsoftScopes: Readonly<{ graph: string; smtp: string }> = Object.freeze({
  graph: 'https://graph.microsoft.com/.default',
  smtp: 'https://outlook.office365.com/.default',
});

const knownAuthorityHosts = new Set([
  'login.microsoftonline.com',
  'login.microsoftonline.us',
  'login.chinacloudapi.cn',
  'login.microsoft.com',
  'login.windows.net',
]);

/** Options of {@link microsoftAppOnly}. Give exactly one of `clientSecret`, `certificate` and `certificatePath`. */
export interface MicrosoftAppOnlyOptions {
  /** The directory (tenant) id, or a verified domain of the tenant. */
  tenantId: string;
  /** The application (client) id of the app registration. */
  clientId: string;
  /** A client secret's Value. */
  clientSecret?: string | Secret | undefined;
  /** PEM with the certificate and its private key, whose public part is registered on the app. */
  certificate?: string | Secret | undefined;
  /** A PEM file with the certificate and its private key. */
  certificatePath?: string | undefined;
  /** Password of an encrypted private key. */
  certificatePassword?: string | Secret | undefined;
  /** Entra ID host: default `https://login.microsoftonline.com`; see {@link microsoftAuthorityHosts} for national clouds. */
  authorityHost?: string | undefined;
  /** One `.default` scope. Default `https://graph.microsoft.com/.default`; `https://outlook.office365.com/.default` for SMTP. */
  scopes?: string | readonly [string] | undefined;
  /** CA certificates (PEM) to trust besides the system's, for an authority behind a private CA (the sandbox). */
  ca?: CaInput | undefined;
  /**
   * Skip MSAL's instance discovery (a request to login.microsoftonline.com that validates the
   * authority). Default: true for hosts other than Microsoft's own, which cannot be validated so.
   */
  disableInstanceDiscovery?: boolean | undefined;
  /** Refresh this long before the token expires, in ms. Default 60 000. */
  refreshAheadMs?: number | undefined;
}

/**
 * App-only (client credentials) tokens from Entra ID through @azure/identity's
 * `ClientSecretCredential` or `ClientCertificateCredential`, wrapped in core's token cache: one
 * request in flight however many sends wait, refreshed ahead of expiry. A `forceRefresh` (after
 * a 401) really fetches a new token, past MSAL's own cache.
 *
 * Errors are `MailError`s: a refused secret or certificate is `auth`; an unknown tenant, app or
 * scope, and an authority whose TLS certificate is not trusted, `configuration`; an authority
 * that cannot be reached `transient`. An unknown tenant is known as such also when Entra ID says
 * so at OpenID discovery (`invalid_tenant`, which MSAL reports only as `endpoints_resolution_error`).
 *
 * On runtimes where @azure/identity cannot run (Cloudflare Workers: MSAL sends over node:https),
 * the same tokens come from {@link microsoftAppOnlyFetch}: a form POST over `@mailport/core/http`,
 * a certificate's client assertion signed with WebCrypto, the same error mapping. There
 * `certificatePath` is refused (no files); an encrypted key with `certificatePassword` is decrypted with WebCrypto (PBES2).
 * On Deno a certificate takes that path too (MSAL's assertion signing fails there); a client secret stays with MSAL.
 *
 * @example
 * ```ts
 * const tokens = microsoftAppOnly({
 *   tenantId: process.env.AZURE_TENANT_ID ?? '',
 *   clientId: process.env.AZURE_CLIENT_ID ?? '',
 *   clientSecret: new Secret(process.env.AZURE_CLIENT_SECRET ?? ''),
 * });
 * const transport = createGraphTransport({ sender: 'noreply@contoso.com', tokenProvider: tokens });
 * ```
 */
export function microsoftAppOnly(options: MicrosoftAppOnlyOptions): TokenProvider {
  const tenantId = required(options.tenantId, 'tenantId');
  const clientId = required(options.clientId, 'clientId');
  const given = [options.clientSecret, options.certificate, options.certificatePath].filter((value) => value !== undefined && value !== '');
  if (given.length !== 1) {
    throw new MailError('configuration', 'Microsoft app-only auth needs exactly one of clientSecret, certificate and certificatePath', {
      remediation: 'Give the client secret (AZURE_CLIENT_SECRET) or a certificate (AZURE_CLIENT_CERTIFICATE_PATH), not both.',
    });
  }
  const scopes = typeof options.scopes === 'string' ? options.scopes : (options.scopes?.[0] ?? microsoftScopes.graph);
  const authorityHost = (options.authorityHost ?? microsoftAuthorityHosts.public).replace(/\/+$/, '');
  let host: string;
  try {
    host = new URL(authorityHost).hostname;
  } catch {
    throw new MailError('configuration', `Microsoft authority host ${authorityHost} is not a URL`, {
      remediation: 'Write it as https://login.microsoftonline.com.',
    });
  }
  const reveal = (value: string | Secret | undefined): string | undefined => (value instanceof Secret ? value.reveal() : value);
  // Kept in this closure only: never on an object that could be printed.
  const secret = reveal(options.clientSecret);
  const certificate = reveal(options.certificate);
  const password = reveal(options.certificatePassword);
  const certificatePath = options.certificatePath === '' ? undefined : options.certificatePath;
  // Deno: MSAL signs the client assertion with jsonwebtoken (PS256), which refuses Deno's key objects
  // ("secretOrPrivateKey must be an asymmetric key"); the certificate path is signed with WebCrypto there.
  const deno = denoFiles();
  if (!nodeLibrariesWork() || (deno !== undefined && (certificate || certificatePath))) {
    return microsoftAppOnlyFetch({
      tenantId,
      clientId,
      clientSecret: secret === '' ? undefined : secret,
      certificate:
        certificate || (certificatePath !== undefined && deno !== undefined ? readCertificate(deno, certificatePath) : undefined),
      certificatePath: deno === undefined ? certificatePath : undefined,
      certificatePassword: password === '' ? undefined : password,
      authorityHost,
      scope: scopes,
      ca: options.ca,
      refreshAheadMs: options.refreshAheadMs,
    });
  }
  if (new URL(authorityHost).protocol !== 'https:') {
    // @azure/identity would throw a plain Error at the first token request.
    throw new MailError('configuration', `Microsoft authority host ${authorityHost}: MSAL takes only https authorities`, {
      remediation:
        'Write it as https://... (with ca for a private CA). Only the fetch token path of Workers takes http://, for a local emulator.',
    });
  }
  // MSAL reports an unknown tenant and an unreachable authority alike; the witness saw which it was.
  const witness = identityWitness();
  const credentialOptions = {
    authorityHost,
    disableInstanceDiscovery: options.disableInstanceDiscovery ?? !knownAuthorityHosts.has(host),
    ...(options.ca === undefined ? {} : { tlsOptions: { ca: trustedCas(options.ca) } }),
    // Core owns retries; a token request that fails is reported at once.
    retryOptions: { maxRetries: 0 },
    additionalPolicies: [{ policy: witness.policy, position: 'perCall' as const }],
  };
  const create = (): TokenCredential => {
    if (secret !== undefined) return new ClientSecretCredential(tenantId, clientId, secret, credentialOptions);
    const passwordOption = password === undefined ? {} : { certificatePassword: password };
    if (certificate !== undefined)
      return new ClientCertificateCredential(tenantId, clientId, { certificate, ...passwordOption }, credentialOptions);
    return new ClientCertificateCredential(
      tenantId,
      clientId,
      { certificatePath: options.certificatePath as string, ...passwordOption },
      credentialOptions,
    );
  };

  let credential = create();
  let last: string | undefined;
  const getToken = async (): Promise<AzureAccessToken> => {
    witness.reset();
    try {
      const token = await credential.getToken(scopes);
      if (token === null) throw new Error('the credential returned no token');
      return token;
    } catch (error) {
      // MSAL remembers a 429 or 5xx and refuses the next requests for up to a minute without asking
      // Entra ID again; retries are core's decision, so the next attempt gets a credential without that memory.
      credential = create();
      throw mapMicrosoftTokenError(tokenFailureFromIdentityError(error, witness.seen), { authority: `${authorityHost}/${tenantId}` });
    }
  };
  return createTokenCache(
    async (): Promise<AccessToken> => {
      let token = await getToken();
      if (token.token === last) {
        // MSAL answered from its cache although a new token was asked for (the old one was refused):
        // a fresh credential has an empty cache. @azure/identity offers no other way past it.
        credential = create();
        token = await getToken();
      }
      last = token.token;
      return { token: token.token, expiresAt: token.expiresOnTimestamp };
    },
    { refreshAheadMs: options.refreshAheadMs },
  );
}

function required(value: string, name: string): string {
  if (typeof value !== 'string' || value.trim() === '') {
    throw new MailError('configuration', `Microsoft app-only auth: ${name} is required`, {
      remediation: `Give ${name} (from the app registration's overview page in the Entra admin center).`,
    });
  }
  return value.trim();
}

function readCertificate(deno: NonNullable<ReturnType<typeof denoFiles>>, path: string): string {
  try {
    return deno.readTextFileSync(path);
  } catch (error) {
    throw new MailError(
      'configuration',
      `Microsoft app-only auth: cannot read certificatePath ${path}: ${(error as Error)?.message ?? String(error)}`,
      {
        remediation:
          'Give a readable PEM file with the certificate and its private key (and --allow-read for it), or the PEM itself as certificate.',
      },
    );
  }
}

/** Deno's file reading, when this is Deno. */
function denoFiles(): { readTextFileSync(path: string): string } | undefined {
  return (globalThis as { Deno?: { readTextFileSync(path: string): string } }).Deno;
}
