/**
 * OAuth for Postbox: a {@link TokenProvider} for the client credentials grant, built on core's
 * token cache. The transport never sees a client secret, only access tokens.
 */
import { createTokenCache, MailError, Secret, type TokenProvider } from '@mailport/core';
import { sendHttp } from '@mailport/core/http';

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
  const form = (): string =>
    new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: options.clientId,
      client_secret: secret.reveal(),
      scope: options.scope ?? 'messages:send',
    }).toString();
  return createTokenCache(
    async () => {
      const answer = await sendHttp({
        method: 'POST',
        url: options.tokenUrl,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: form(),
        timeoutMs: 30_000,
      }).catch((error: unknown) => {
        // A token request sends no mail: failing to reach the endpoint is always safe to retry.
        throw new MailError('transient', `Could not reach the Postbox token endpoint ${host}: ${(error as Error).message}`, {
          remediation: 'Check the network and the token URL; mailport retries it.',
        });
      });
      const body = answer.json();
      if (answer.status !== 200 || typeof body.access_token !== 'string') {
        const refused = body.error === 'invalid_client' || answer.status === 401;
        const error = typeof body.error === 'string' ? body.error : undefined;
        // Never quote the request: its body holds the client secret.
        throw new MailError(
          refused ? 'auth' : 'transient',
          `The Postbox token endpoint ${host} answered ${answer.status} ${error ?? ''}`.trim(),
          {
            statusCode: answer.status,
            providerCode: error,
            remediation: refused
              ? 'Check the client id and secret (Postbox dashboard, Settings > OAuth clients).'
              : 'A temporary failure of the token endpoint; mailport retries it.',
          },
        );
      }
      const expiresIn = body.expires_in;
      return { token: body.access_token, expiresAt: typeof expiresIn === 'number' ? Date.now() + expiresIn * 1000 : undefined };
    },
    { refreshAheadMs: options.refreshAheadMs },
  );
}
