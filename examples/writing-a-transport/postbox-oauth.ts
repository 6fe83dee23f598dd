/**
 * OAuth for Postbox: a {@link TokenProvider} for the client credentials grant, on core's token
 * cache and HTTP client. The transport never sees a client secret, only access tokens.
 */
import { createTokenCache, MailError, noAnswerError, Secret, type TokenProvider } from '@mailport/core';
import { HttpError, sendHttp } from '@mailport/core/http';

/** Options of {@link postboxClientCredentials}. */
export interface PostboxClientCredentialsOptions {
  /** The token endpoint, such as `https://api.postbox.example/oauth/token`. */
  tokenUrl: string;
  clientId: string;
  clientSecret: string | Secret;
  /** The scope to ask for. Default `messages:send`. */
  scope?: string | undefined;
}

/**
 * Access tokens from Postbox's token endpoint. `createTokenCache` caches the token, refreshes it
 * before it expires, keeps one request in flight however many sends wait, and after a refused
 * token fetches a new one unless another send already did.
 *
 * @example
 * ```ts
 * const tokenProvider = postboxClientCredentials({ tokenUrl: 'https://api.postbox.example/oauth/token', clientId, clientSecret: new Secret(secret) });
 * ```
 */
export function postboxClientCredentials(options: PostboxClientCredentialsOptions): TokenProvider {
  const secret = typeof options.clientSecret === 'string' ? new Secret(options.clientSecret) : options.clientSecret;
  const where = `the Postbox token endpoint ${URL.canParse(options.tokenUrl) ? new URL(options.tokenUrl).host : options.tokenUrl}`;
  return createTokenCache(async () => {
    const body = new URLSearchParams({ grant_type: 'client_credentials', client_id: options.clientId, client_secret: secret.reveal() });
    body.set('scope', options.scope ?? 'messages:send');
    const headers = { 'content-type': 'application/x-www-form-urlencoded' };
    const answer = await sendHttp({ method: 'POST', url: options.tokenUrl, headers, body: body.toString(), timeoutMs: 30_000 }).catch(
      (error: unknown) => {
        // A token request sends no mail: repeating it is always safe.
        throw HttpError.isInstance(error) ? noAnswerError(error, { operation: where, idempotent: true }) : error;
      },
    );
    const json = answer.json();
    if (answer.status === 200 && typeof json.access_token === 'string') {
      const expiresAt = typeof json.expires_in === 'number' ? Date.now() + json.expires_in * 1000 : undefined;
      return { token: json.access_token, expiresAt };
    }
    const refused = json.error === 'invalid_client' || answer.status === 401;
    // Never quote the request: its body holds the client secret.
    throw new MailError(refused ? 'auth' : 'transient', `${where} answered ${answer.status} ${String(json.error ?? '')}`.trim(), {
      statusCode: answer.status,
      remediation: refused ? 'Check the client id and secret (Postbox dashboard, Settings > OAuth clients).' : 'mailport retries it.',
    });
  });
}
