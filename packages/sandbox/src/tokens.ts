import { randomBytes } from 'node:crypto';

/** Who issued a token: the Google or the Microsoft token endpoint of the sandbox. */
export type TokenIssuer = 'google' | 'microsoft';

/** An access token the sandbox issued. */
export interface IssuedToken {
  readonly token: string;
  readonly issuer: TokenIssuer;
  /** The user (email) the token acts for, or the client id for app-only tokens. */
  readonly subject: string;
  readonly clientId: string;
  readonly scopes: readonly string[];
  /** Epoch ms. */
  readonly expiresAt: number;
  /** Microsoft tenant, for app-only tokens. */
  readonly tenant?: string | undefined;
}

/** Why a bearer token was refused. */
export type TokenProblem = 'missing' | 'malformed' | 'unknown' | 'expired' | 'wrong-issuer';

/** Issues and checks the sandbox's short-lived access tokens. */
export interface TokenRegistry {
  issue(token: Omit<IssuedToken, 'token' | 'expiresAt'> & { ttlSeconds?: number | undefined }): IssuedToken;
  /** Reads an `Authorization: Bearer ...` header. */
  check(authorization: string | undefined, issuer?: TokenIssuer): { ok: true; token: IssuedToken } | { ok: false; problem: TokenProblem };
  /** Looks a raw token up (SMTP XOAUTH2). */
  find(token: string): IssuedToken | undefined;
  /** Makes every token issued so far expired, to test refresh. */
  expireAll(): void;
  /** How many tokens each issuer handed out. */
  issuedCount(issuer?: TokenIssuer): number;
}

/** Creates a registry; `ttlSeconds` is the default lifetime (3600, as Google and Microsoft use). */
export function createTokenRegistry(ttlSeconds = 3600, now: () => number = Date.now): TokenRegistry {
  const tokens = new Map<string, IssuedToken>();
  const counts: Record<TokenIssuer, number> = { google: 0, microsoft: 0 };
  return {
    issue(request) {
      const prefix = request.issuer === 'google' ? 'ya29.sandbox-' : 'eyJ0eXAiOiJKV1Qi.sandbox-';
      const issued: IssuedToken = Object.freeze({
        token: `${prefix}${randomBytes(18).toString('base64url')}`,
        issuer: request.issuer,
        subject: request.subject,
        clientId: request.clientId,
        scopes: Object.freeze([...request.scopes]),
        tenant: request.tenant,
        expiresAt: now() + (request.ttlSeconds ?? ttlSeconds) * 1000,
      });
      tokens.set(issued.token, issued);
      counts[request.issuer]++;
      return issued;
    },
    check(authorization, issuer) {
      if (authorization === undefined || authorization === '') return { ok: false, problem: 'missing' };
      const match = /^Bearer\s+(\S+)$/i.exec(authorization.trim());
      if (match === null) return { ok: false, problem: 'malformed' };
      const token = tokens.get(match[1] as string);
      if (token === undefined) return { ok: false, problem: 'unknown' };
      if (issuer !== undefined && token.issuer !== issuer) return { ok: false, problem: 'wrong-issuer' };
      if (token.expiresAt <= now()) return { ok: false, problem: 'expired' };
      return { ok: true, token };
    },
    find(token) {
      const found = tokens.get(token);
      return found !== undefined && found.expiresAt > now() ? found : undefined;
    },
    expireAll() {
      for (const [key, token] of tokens) tokens.set(key, Object.freeze({ ...token, expiresAt: 0 }));
    },
    issuedCount: (issuer) => (issuer === undefined ? counts.google + counts.microsoft : counts[issuer]),
  };
}
