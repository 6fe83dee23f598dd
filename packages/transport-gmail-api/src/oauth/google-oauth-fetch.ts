import { type AccessToken, createTokenCache, MailError, type TokenProvider } from '@mailport/core';
import { createHttpClient, HttpError, type HttpResponse } from '@mailport/core/http';
import { importRs256Key, signRs256 } from '@mailport/core/jwt';
import { type GoogleTokenContext, type GoogleTokenFailure, mapGoogleTokenError } from './google-token-errors.js';

/** Google's token URL: the audience of every service-account assertion, whatever URL it is sent to. */
const googleAudience = 'https://oauth2.googleapis.com/token';

/** Options of {@link googleTokensFetch}, already checked by `googleUserOAuth` or `googleServiceAccount`. */
export type GoogleFetchGrant =
  | { readonly kind: 'user'; readonly clientId: string; readonly clientSecret: string; readonly refreshToken: string }
  | {
      readonly kind: 'service-account';
      readonly email: string;
      readonly privateKey: string;
      readonly privateKeyId?: string | undefined;
      readonly scopes: readonly string[];
      readonly subject?: string | undefined;
    };

/** Options of {@link googleTokensFetch}. */
export interface GoogleFetchOptions {
  readonly grant: GoogleFetchGrant;
  readonly tokenUrl: string;
  readonly context: GoogleTokenContext;
  readonly refreshAheadMs?: number | undefined;
  readonly timeoutMs?: number | undefined;
}

/**
 * Google tokens with `@mailport/core/http` and WebCrypto, for runtimes where google-auth-library
 * cannot run (Cloudflare Workers): the refresh-token grant (user OAuth) as a form POST, and the
 * JWT-bearer grant (service account) with the assertion signed RS256 by `crypto.subtle`, audience
 * Google's token URL, `sub` for domain-wide delegation. `googleUserOAuth` and
 * `googleServiceAccount` choose it by themselves there; on Node, Bun and Deno they use
 * google-auth-library. Failures go through the same mapping (`mapGoogleTokenError`).
 */
export function googleTokensFetch(options: GoogleFetchOptions): TokenProvider {
  const { grant, context } = options;
  const endpoint = new URL(options.tokenUrl);
  const http = createHttpClient({ timeoutMs: options.timeoutMs ?? 30_000 });
  let key: Promise<CryptoKey> | undefined;
  const signingKey = (pem: string): Promise<CryptoKey> => {
    key ??= importRs256Key(pem)
      .then((imported) => {
        if (imported === undefined) throw new Error('no -----BEGIN PRIVATE KEY----- block');
        return imported;
      })
      .catch((error: unknown) => {
        key = undefined;
        throw new MailError(
          'configuration',
          `Google service account: the private_key cannot be read: ${(error as Error)?.message ?? String(error)}`,
          {
            remediation: 'Give the private_key of the JSON key file as it is (PEM, with its \\n escapes turned into line breaks).',
          },
        );
      });
    return key;
  };

  const form = async (): Promise<URLSearchParams> => {
    if (grant.kind === 'user') {
      return new URLSearchParams({
        grant_type: 'refresh_token',
        client_id: grant.clientId,
        client_secret: grant.clientSecret,
        refresh_token: grant.refreshToken,
      });
    }
    const now = Math.floor(Date.now() / 1000);
    const claims: Record<string, unknown> = {
      iss: grant.email,
      scope: grant.scopes.join(' '),
      aud: googleAudience,
      iat: now,
      exp: now + 3600,
    };
    if (grant.subject !== undefined) claims.sub = grant.subject;
    const assertion = await signRs256(
      grant.privateKeyId === undefined ? {} : { kid: grant.privateKeyId },
      claims,
      await signingKey(grant.privateKey),
    );
    return new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion });
  };

  const token = async (): Promise<AccessToken> => {
    const body = (await form()).toString();
    let answer: HttpResponse;
    try {
      answer = await http.send({
        method: 'POST',
        url: endpoint,
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body,
      });
    } catch (error) {
      const failure: GoogleTokenFailure = {
        code: HttpError.isInstance(error) ? (error.timedOut ? 'TimeoutError' : error.code) : undefined,
        message: (error instanceof Error ? error.message : String(error)).split('\n')[0]?.slice(0, 300) ?? '',
      };
      throw mapGoogleTokenError(failure, context);
    }
    let json: Record<string, unknown>;
    try {
      json = answer.json() as Record<string, unknown>;
    } catch {
      json = {};
    }
    if (answer.status !== 200) {
      throw mapGoogleTokenError(
        {
          status: answer.status,
          error: typeof json.error === 'string' ? json.error : undefined,
          description: typeof json.error_description === 'string' ? json.error_description : undefined,
          retryAfter: answer.headers['retry-after'],
          message: `HTTP ${answer.status}`,
        },
        context,
      );
    }
    if (typeof json.access_token !== 'string' || json.access_token === '') {
      throw new MailError('auth', "Google's token endpoint answered without an access token", {
        remediation: 'Check the token_url: it must be a Google OAuth 2.0 token endpoint.',
      });
    }
    const expiresIn = Number(json.expires_in);
    return { token: json.access_token, expiresAt: Number.isFinite(expiresIn) ? Date.now() + expiresIn * 1000 : undefined };
  };
  return createTokenCache(token, { refreshAheadMs: options.refreshAheadMs });
}
