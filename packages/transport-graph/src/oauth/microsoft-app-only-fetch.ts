import { type AccessToken, createTokenCache, MailError, type TokenProvider } from '@mailport/core';
import { type CaInput, createHttpClient, HttpError, type HttpResponse } from '@mailport/core/http';
import { importRs256Key, pemBlocks, signRs256, x5t } from '@mailport/core/jwt';
import { mapMicrosoftTokenError } from './microsoft-errors.js';

/** What {@link microsoftAppOnlyFetch} takes: the options of `microsoftAppOnly`, already checked there. */
export interface MicrosoftAppOnlyFetchOptions {
  tenantId: string;
  clientId: string;
  clientSecret?: string | undefined;
  certificate?: string | undefined;
  certificatePath?: string | undefined;
  certificatePassword?: string | undefined;
  /** Without a trailing slash. */
  authorityHost: string;
  scope: string;
  ca?: CaInput | undefined;
  refreshAheadMs?: number | undefined;
  timeoutMs?: number | undefined;
}

/**
 * App-only (client credentials) tokens from Entra ID with `@mailport/core/http` and WebCrypto, for
 * runtimes where @azure/identity and MSAL cannot run (Cloudflare Workers: they send over
 * node:https). `microsoftAppOnly` chooses it there by itself; on Node, Bun and Deno it uses
 * @azure/identity. A client secret is a plain form POST; a certificate signs a client assertion
 * (RS256, `x5t` = the certificate's SHA-1 thumbprint), as MSAL does. Failures go through the same
 * mapping as MSAL's (`mapMicrosoftTokenError`): a refused secret or certificate is `auth`, an
 * unknown tenant or app `configuration`, an unreachable authority `transient`.
 */
export function microsoftAppOnlyFetch(options: MicrosoftAppOnlyFetchOptions): TokenProvider {
  const endpoint = new URL(`${options.authorityHost}/${encodeURIComponent(options.tenantId)}/oauth2/v2.0/token`);
  if (options.certificatePath !== undefined) {
    throw new MailError('configuration', 'Microsoft app-only auth: certificatePath cannot be read on this runtime (no file system)', {
      remediation: 'Give the PEM itself as certificate (from a secret: certificate: env.GRAPH_CERT_PEM), or a clientSecret.',
    });
  }
  const http = createHttpClient({ ca: options.ca, timeoutMs: options.timeoutMs ?? 30_000 });
  // Parsed once, on the first token request; kept in this closure only.
  let signer: Promise<{ key: CryptoKey; thumbprint: string }> | undefined;
  const certificateSigner = (pem: string): Promise<{ key: CryptoKey; thumbprint: string }> => {
    signer ??= (async () => {
      const [certificate] = pemBlocks(pem, 'CERTIFICATE');
      let key: CryptoKey | undefined;
      try {
        key = await importRs256Key(pem, options.certificatePassword);
      } catch (error) {
        signer = undefined;
        throw new MailError(
          'configuration',
          `Microsoft app-only auth: the certificate's private key cannot be read: ${(error as Error).message}`,
          {
            remediation:
              'Give PEM with the certificate and its RSA private key (PKCS#8 or PKCS#1; an ENCRYPTED PRIVATE KEY with certificatePassword, PBES2 with AES-CBC as OpenSSL writes it).',
          },
        );
      }
      if (certificate === undefined || key === undefined) {
        signer = undefined;
        throw new MailError(
          'configuration',
          'Microsoft app-only auth: certificate must hold the certificate and its RSA private key, in PEM',
          {
            remediation:
              'Give PEM with both -----BEGIN CERTIFICATE----- and -----BEGIN PRIVATE KEY----- (or ENCRYPTED PRIVATE KEY) blocks.',
          },
        );
      }
      return { key, thumbprint: await x5t(certificate) };
    })();
    return signer;
  };

  const token = async (): Promise<AccessToken> => {
    const form = new URLSearchParams({ client_id: options.clientId, grant_type: 'client_credentials', scope: options.scope });
    if (options.clientSecret !== undefined) {
      form.set('client_secret', options.clientSecret);
    } else {
      const { key, thumbprint } = await certificateSigner(options.certificate as string);
      const now = Math.floor(Date.now() / 1000);
      const assertion = await signRs256(
        { x5t: thumbprint },
        { aud: endpoint.href, iss: options.clientId, sub: options.clientId, jti: crypto.randomUUID(), nbf: now, iat: now, exp: now + 600 },
        key,
      );
      form.set('client_assertion_type', 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer');
      form.set('client_assertion', assertion);
    }
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
      throw mapMicrosoftTokenError(
        { description: message, unreachable: true, networkCode },
        { authority: `${options.authorityHost}/${options.tenantId}` },
      );
    }
    let body: Record<string, unknown>;
    try {
      body = answer.json() as Record<string, unknown>;
    } catch {
      body = {};
    }
    if (answer.status !== 200 || typeof body.access_token !== 'string') {
      const description = typeof body.error_description === 'string' ? body.error_description : `HTTP ${answer.status}`;
      const aadsts = Array.isArray(body.error_codes) && typeof body.error_codes[0] === 'number' ? body.error_codes[0] : undefined;
      throw mapMicrosoftTokenError(
        { error: typeof body.error === 'string' ? body.error : undefined, aadsts, status: answer.status, description },
        { authority: `${options.authorityHost}/${options.tenantId}` },
      );
    }
    const expiresIn = Number(body.expires_in);
    return { token: body.access_token, expiresAt: Number.isFinite(expiresIn) ? Date.now() + expiresIn * 1000 : undefined };
  };
  return createTokenCache(token, { refreshAheadMs: options.refreshAheadMs });
}
