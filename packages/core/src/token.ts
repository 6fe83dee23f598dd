import { raceAbort } from './retry.js';
import type { AccessToken, GetAccessTokenOptions, TokenProvider } from './transport.js';

/** Options of {@link createTokenCache}. */
export interface TokenCacheOptions {
  /** Refresh this long before the token expires. Default 60 000 (one minute). */
  refreshAheadMs?: number | undefined;
  /** The clock, for tests. Default `Date.now`. */
  now?: (() => number) | undefined;
}

/**
 * Wraps a function that fetches a fresh token into a {@link TokenProvider} that caches the token,
 * refreshes it ahead of expiry and keeps one fetch in flight however many sends wait on it.
 * `forceRefresh` (after a 401 or a refused XOAUTH2) fetches again, unless a fetch is already
 * under way or the token named in `refusedToken` has already been replaced.
 *
 * @example
 * ```ts
 * const tokens = createTokenCache(async () => {
 *   const response = await fetch(tokenUrl, { method: 'POST', body });
 *   const json = await response.json();
 *   return { token: json.access_token, expiresAt: Date.now() + json.expires_in * 1000 };
 * });
 * ```
 */
export function createTokenCache(
  fetchToken: (options: GetAccessTokenOptions) => Promise<AccessToken>,
  options: TokenCacheOptions = {},
): TokenProvider {
  const refreshAheadMs = options.refreshAheadMs ?? 60_000;
  const now = options.now ?? Date.now;
  let current: AccessToken | undefined;
  let inFlight: Promise<AccessToken> | undefined;

  const fresh = (token: AccessToken): boolean => token.expiresAt === undefined || token.expiresAt - refreshAheadMs > now();

  // The shared fetch ignores callers' signals: one caller giving up must not fail the others.
  const refresh = (): Promise<AccessToken> => {
    if (inFlight !== undefined) return inFlight;
    const started = fetchToken({ forceRefresh: true }).then(
      (token) => {
        current = token;
        inFlight = undefined;
        return token;
      },
      (error: unknown) => {
        inFlight = undefined;
        throw error;
      },
    );
    inFlight = started;
    return started;
  };

  const provider: TokenProvider = {
    async getAccessToken(request: GetAccessTokenOptions = {}): Promise<AccessToken> {
      if (request.forceRefresh === true) {
        // Several sends may learn that the same token was refused: one refresh serves them all.
        if (inFlight !== undefined) return raceAbort(inFlight, request.signal);
        if (request.refusedToken !== undefined && current !== undefined && current.token !== request.refusedToken) {
          return current;
        }
        return raceAbort(refresh(), request.signal);
      }
      if (current !== undefined && fresh(current)) return current;
      return raceAbort(refresh(), request.signal);
    },
  };
  return Object.defineProperties(provider, {
    toString: { value: () => '[TokenProvider]' },
    [Symbol.for('nodejs.util.inspect.custom')]: { value: () => '[TokenProvider]' },
  });
}
