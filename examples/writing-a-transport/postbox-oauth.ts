/**
 * OAuth for Postbox: a {@link TokenProvider} for the client credentials grant, built on core's
 * token cache. The transport never sees a client secret, only access tokens.
 */
import { createTokenCache, MailError, Secret, type TokenProvider } from '@mailport/core';

/** Options of {@link postboxClientCredentials}. */
export interface PostboxClientCredentialsOptions {
  /** The token endpoint, such as `https://api.postbox.example/oauth/token`. */
  tokenUrl: string;
  clientId: string;
  clientSecret: string | Secret;
  /** The scope to ask for. Default `messages:send`. */
  scope?: string | undefined;
  /** Refresh this long before a token expires, in ms. Default 60 000. */
  refreshAheadMs?: number | undefined;
}

/**
 * Access tokens from Postbox's token endpoint (OAuth 2.0 client credentials). `createTokenCache`
 * does the hard parts: it caches the token, refreshes it a minute before it expires, keeps one
 * request in flight however many sends wait, and after a refused token (`forceRefresh` with the
 * `refusedToken`) fetches a new one unless another send already did.
 *
 * @example
 * ```ts
 * const tokenProvider = postboxClientCredentials({
 *   tokenUrl: 'https://api.postbox.example/oauth/token',
 *   clientId: process.env.POSTBOX_CLIENT_ID ?? '',
 *   clientSecret: new Secret(process.env.POSTBOX_CLIENT_SECRET ?? ''),
 * });
 * ```
 */
export function postboxClientCredentials(options: PostboxClientCredentialsOptions): TokenProvider {
  const secret = typeof options.clientSecret === 'string' ? new Secret(options.clientSecret) : options.clientSecret;
  const host = URL.canParse(options.tokenUrl) ? new URL(options.tokenUrl).host : options.tokenUrl;
  return createTokenCache(
    async () => {
      let response: Response;
      try {
        response = await fetch(options.tokenUrl, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({
            grant_type: 'client_credentials',
            client_id: options.clientId,
            client_secret: secret.reveal(),
            scope: options.scope ?? 'messages:send',
          }),
          signal: AbortSignal.timeout(30_000),
        });
      } catch (error) {
        // A token request sends no mail: failing to reach the endpoint is always safe to retry.
        throw new MailError('transient', `Could not reach the Postbox token endpoint ${host}: ${(error as Error).message}`, {
          remediation: 'Check the network and the token URL; mailport retries it.',
        });
      }
      const body = (await response.json().catch(() => ({}))) as { access_token?: string; expires_in?: number; error?: string };
      if (!response.ok || typeof body.access_token !== 'string') {
        const refused = body.error === 'invalid_client' || response.status === 401;
        // Never quote the request: its body holds the client secret.
        throw new MailError(
          refused ? 'auth' : 'transient',
          `The Postbox token endpoint ${host} answered ${response.status} ${body.error ?? ''}`.trim(),
          {
            statusCode: response.status,
            providerCode: body.error,
            remediation: refused
              ? 'Check the client id and secret (Postbox dashboard, Settings > OAuth clients).'
              : 'A temporary failure of the token endpoint; mailport retries it.',
          },
        );
      }
      return {
        token: body.access_token,
        expiresAt: typeof body.expires_in === 'number' ? Date.now() + body.expires_in * 1000 : undefined,
      };
    },
    { refreshAheadMs: options.refreshAheadMs },
  );
}
