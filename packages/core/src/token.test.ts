import { inspect } from 'node:util';
import { describe, expect, it, vi } from 'vitest';
import { createTokenCache } from './token.js';
import type { AccessToken, GetAccessTokenOptions } from './transport.js';

/** A token endpoint the test controls: each fetch returns `token-N`, valid for `lifetimeMs` from `now`. */
function endpoint(options: { now: () => number; lifetimeMs?: number | undefined }) {
  let issued = 0;
  const fetchToken = vi.fn(async (_request: GetAccessTokenOptions): Promise<AccessToken> => {
    issued++;
    return { token: `token-${issued}`, expiresAt: options.lifetimeMs === undefined ? undefined : options.now() + options.lifetimeMs };
  });
  return fetchToken;
}

function deferred<T>() {
  let resolve: (value: T) => void = () => {};
  let reject: (reason: unknown) => void = () => {};
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe('createTokenCache', () => {
  it('fetches once and serves the cached token while it is fresh', async () => {
    let now = 0;
    const fetchToken = endpoint({ now: () => now, lifetimeMs: 3_600_000 });
    const tokens = createTokenCache(fetchToken, { now: () => now });
    expect((await tokens.getAccessToken()).token).toBe('token-1');
    now = 1_000_000;
    expect((await tokens.getAccessToken()).token).toBe('token-1');
    expect(fetchToken).toHaveBeenCalledTimes(1);
    expect(fetchToken).toHaveBeenCalledWith(expect.objectContaining({ forceRefresh: true }));
  });

  it('refreshes refreshAheadMs before expiry', async () => {
    let now = 0;
    const fetchToken = endpoint({ now: () => now, lifetimeMs: 10_000 });
    const tokens = createTokenCache(fetchToken, { now: () => now, refreshAheadMs: 2000 });
    await tokens.getAccessToken();
    now = 7999;
    expect((await tokens.getAccessToken()).token).toBe('token-1');
    now = 8000;
    expect((await tokens.getAccessToken()).token).toBe('token-2');
    expect(fetchToken).toHaveBeenCalledTimes(2);
  });

  it('refreshes one minute ahead by default', async () => {
    let now = 0;
    const fetchToken = endpoint({ now: () => now, lifetimeMs: 120_000 });
    const tokens = createTokenCache(fetchToken, { now: () => now });
    await tokens.getAccessToken();
    now = 59_999;
    expect((await tokens.getAccessToken()).token).toBe('token-1');
    now = 60_000;
    expect((await tokens.getAccessToken()).token).toBe('token-2');
  });

  it('keeps a token without an expiry until it is refused', async () => {
    let now = 0;
    const fetchToken = endpoint({ now: () => now });
    const tokens = createTokenCache(fetchToken, { now: () => now });
    await tokens.getAccessToken();
    now = Number.MAX_SAFE_INTEGER;
    expect((await tokens.getAccessToken()).token).toBe('token-1');
    expect(fetchToken).toHaveBeenCalledTimes(1);
  });

  it('keeps one fetch in flight for many concurrent callers', async () => {
    const pending = deferred<AccessToken>();
    const fetchToken = vi.fn(() => pending.promise);
    const tokens = createTokenCache(fetchToken);
    const callers = [
      tokens.getAccessToken(),
      tokens.getAccessToken(),
      tokens.getAccessToken({ forceRefresh: true }),
      tokens.getAccessToken({ forceRefresh: true, refusedToken: 'old' }),
    ];
    pending.resolve({ token: 'shared' });
    expect((await Promise.all(callers)).map((token) => token.token)).toEqual(['shared', 'shared', 'shared', 'shared']);
    expect(fetchToken).toHaveBeenCalledTimes(1);
  });

  it('refreshes once when several sends report the current token as refused', async () => {
    const now = 0;
    const fetchToken = endpoint({ now: () => now, lifetimeMs: 3_600_000 });
    const tokens = createTokenCache(fetchToken, { now: () => now });
    const { token } = await tokens.getAccessToken();
    const refreshed = await Promise.all([
      tokens.getAccessToken({ forceRefresh: true, refusedToken: token }),
      tokens.getAccessToken({ forceRefresh: true, refusedToken: token }),
    ]);
    expect(refreshed.map((value) => value.token)).toEqual(['token-2', 'token-2']);
    // A late report about the old token is served the replacement without another fetch.
    expect((await tokens.getAccessToken({ forceRefresh: true, refusedToken: token })).token).toBe('token-2');
    expect(fetchToken).toHaveBeenCalledTimes(2);
  });

  it('refreshes on forceRefresh without a refusedToken', async () => {
    const fetchToken = endpoint({ now: () => 0, lifetimeMs: 3_600_000 });
    const tokens = createTokenCache(fetchToken, { now: () => 0 });
    await tokens.getAccessToken();
    expect((await tokens.getAccessToken({ forceRefresh: true })).token).toBe('token-2');
    expect((await tokens.getAccessToken({ forceRefresh: true })).token).toBe('token-3');
  });

  it('does not cache a failed fetch', async () => {
    const fetchToken = vi
      .fn<(request: GetAccessTokenOptions) => Promise<AccessToken>>()
      .mockRejectedValueOnce(new Error('token endpoint down'))
      .mockResolvedValueOnce({ token: 'recovered' });
    const tokens = createTokenCache(fetchToken);
    await expect(tokens.getAccessToken()).rejects.toThrow('token endpoint down');
    expect((await tokens.getAccessToken()).token).toBe('recovered');
    expect(fetchToken).toHaveBeenCalledTimes(2);
  });

  it('rejects every waiting caller when the shared fetch fails, and fetches again afterwards', async () => {
    const pending = deferred<AccessToken>();
    const fetchToken = vi.fn<(request: GetAccessTokenOptions) => Promise<AccessToken>>().mockReturnValueOnce(pending.promise);
    fetchToken.mockResolvedValueOnce({ token: 'second' });
    const tokens = createTokenCache(fetchToken);
    const callers = [tokens.getAccessToken(), tokens.getAccessToken()];
    pending.reject(new Error('denied'));
    for (const caller of callers) await expect(caller).rejects.toThrow('denied');
    expect((await tokens.getAccessToken()).token).toBe('second');
  });

  it('one caller aborting does not fail the shared refresh for the others', async () => {
    let release: (token: AccessToken) => void = () => {};
    const fetchToken = vi.fn((_request: GetAccessTokenOptions) => new Promise<AccessToken>((resolve) => (release = resolve)));
    const tokens = createTokenCache(fetchToken);
    const controller = new AbortController();
    const reason = new Error('caller gave up');
    const first = tokens.getAccessToken({ signal: controller.signal });
    const second = tokens.getAccessToken();
    controller.abort(reason);
    await expect(first).rejects.toBe(reason);
    release({ token: 'shared' });
    await expect(second).resolves.toEqual({ token: 'shared' });
    expect(fetchToken).toHaveBeenCalledTimes(1);
    expect(fetchToken).toHaveBeenCalledWith({ forceRefresh: true });
  });

  it('never prints a token', async () => {
    const tokens = createTokenCache(async () => ({ token: 'ya29.secret-token' }));
    await tokens.getAccessToken();
    expect(String(tokens)).toBe('[TokenProvider]');
    expect(inspect(tokens, { depth: 10 })).toBe('[TokenProvider]');
    expect(JSON.stringify(tokens)).not.toContain('secret-token');
  });
});
