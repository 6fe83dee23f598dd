import { type AccessToken, createTokenCache, MailError, Secret, type TokenProvider } from '@mailport/core';
import { nodeLibrariesWork } from '@mailport/core/jwt';
import { JWT, OAuth2Client } from 'google-auth-library';
import { googleTokensFetch } from './google-oauth-fetch.js';
import { type GoogleTokenContext, mapGoogleTokenError, tokenFailureFrom } from './google-token-errors.js';

/** Google's OAuth 2.0 token endpoint, the default `tokenUrl`. */
export const googleTokenUrl = 'https://oauth2.googleapis.com/token';

/** The narrowest scope that sends mail through the Gmail API. */
export const gmailSendScope = 'https://www.googleapis.com/auth/gmail.send';

/** Full Gmail access: what Gmail's SMTP server needs for XOAUTH2. */
export const gmailFullScope = 'https://mail.google.com/';

/** Lets the send-as check read the user's aliases (`users.settings.sendAs.list`). */
export const gmailSettingsScope = 'https://www.googleapis.com/auth/gmail.settings.basic';

/** Options shared by both token providers. */
export interface GoogleTokenOptions {
  /** The token endpoint. Default `https://oauth2.googleapis.com/token`. */
  tokenUrl?: string | undefined;
  /** Refresh this long before a token expires, in ms. Default 60 000. */
  refreshAheadMs?: number | undefined;
  /** Time for one token request, in ms. Default 30 000. */
  timeoutMs?: number | undefined;
}

/** Options of {@link googleUserOAuth}: an OAuth client and a user's refresh token. */
export interface GoogleUserOAuthOptions extends GoogleTokenOptions {
  /** The OAuth client id (`....apps.googleusercontent.com`). */
  clientId: string;
  clientSecret: string | Secret;
  /** The refresh token the user granted; it carries the scopes they consented to. */
  refreshToken: string | Secret;
}

/** A service account key, as in the JSON file Google lets you download. */
export interface GoogleServiceAccountKey {
  readonly client_email: string;
  readonly private_key: string | Secret;
  readonly private_key_id?: string | undefined;
  /** The numeric client id an admin authorizes for domain-wide delegation, for error messages. */
  readonly client_id?: string | undefined;
}

/** Options of {@link googleServiceAccount}. */
export interface GoogleServiceAccountOptions extends GoogleTokenOptions {
  credentials: GoogleServiceAccountKey;
  /** The user to act for (domain-wide delegation). Gmail needs one: a service account has no mailbox. */
  subject?: string | undefined;
  /** Scopes to ask for. Default `['https://www.googleapis.com/auth/gmail.send']`. */
  scopes?: readonly string[] | undefined;
}

/**
 * A {@link TokenProvider} for a user who granted access with OAuth (a refresh token), through
 * google-auth-library's `OAuth2Client`. Tokens are cached and refreshed ahead of expiry, one
 * refresh at a time; `forceRefresh` (after a 401) always asks the token endpoint again.
 *
 * A revoked or expired refresh token (`invalid_grant`) is an `auth` error whose remediation says
 * the user must consent again.
 *
 * @example
 * ```ts
 * const tokenProvider = googleUserOAuth({
 *   clientId: process.env.GOOGLE_CLIENT_ID ?? '',
 *   clientSecret: new Secret(process.env.GOOGLE_CLIENT_SECRET ?? ''),
 *   refreshToken: new Secret(process.env.GOOGLE_REFRESH_TOKEN ?? ''),
 * });
 * ```
 */
export function googleUserOAuth(options: GoogleUserOAuthOptions): TokenProvider {
  const clientId = required(options.clientId, 'clientId', 'the OAuth client id');
  const clientSecret = asSecret(options.clientSecret, 'clientSecret');
  const refreshToken = asSecret(options.refreshToken, 'refreshToken');
  const tokenUrl = checkedUrl(options.tokenUrl ?? googleTokenUrl, 'tokenUrl');
  const context: GoogleTokenContext = { kind: 'user', host: new URL(tokenUrl).host };
  // Where google-auth-library cannot run (Cloudflare Workers), the same grant with fetch: google-oauth-fetch.ts.
  if (!nodeLibrariesWork()) {
    const grant = { kind: 'user', clientId, clientSecret: clientSecret.reveal(), refreshToken: refreshToken.reveal() } as const;
    return googleTokensFetch({ grant, tokenUrl, context, refreshAheadMs: options.refreshAheadMs, timeoutMs: options.timeoutMs });
  }
  const client = new OAuth2Client({
    clientId,
    clientSecret: clientSecret.reveal(),
    endpoints: { oauth2TokenUrl: tokenUrl },
    transporterOptions: { timeout: options.timeoutMs ?? 30_000 },
  });
  client.setCredentials({ refresh_token: refreshToken.reveal() });
  // refreshAccessToken() asks the endpoint every time: the cache around it decides when.
  return createTokenCache(
    async () => {
      try {
        const { credentials } = await client.refreshAccessToken();
        return accessToken(credentials.access_token, credentials.expiry_date);
      } catch (error) {
        throw mapGoogleTokenError(tokenFailureFrom(error), context);
      }
    },
    { refreshAheadMs: options.refreshAheadMs },
  );
}

/**
 * A {@link TokenProvider} for a service account, through google-auth-library's `JWT`: a signed
 * assertion exchanged for a token, acting for `subject` with domain-wide delegation.
 *
 * google-auth-library sends the assertion to `https://oauth2.googleapis.com/token` and offers no
 * option to change that; a `tokenUrl` other than the default is reached by a request interceptor
 * on the client's own transporter (gaxios's public API), and the assertion's audience stays
 * Google's token URL, as Google requires.
 *
 * `unauthorized_client` (delegation not granted for these scopes) is a `configuration` error.
 *
 * @example
 * ```ts
 * const tokenProvider = googleServiceAccount({
 *   credentials: JSON.parse(readFileSync('service-account.json', 'utf8')),
 *   subject: 'billing@example.com',
 * });
 * ```
 */
export function googleServiceAccount(options: GoogleServiceAccountOptions): TokenProvider {
  const credentials = options.credentials as GoogleServiceAccountKey | undefined;
  if (credentials === undefined || typeof credentials !== 'object') {
    throw new MailError('configuration', 'Google service account: credentials are required', {
      remediation: 'Pass the parsed JSON key file of the service account as credentials.',
    });
  }
  const email = required(credentials.client_email, 'credentials.client_email', 'the service account email');
  const key = asSecret(credentials.private_key, 'credentials.private_key');
  const scopes = [...(options.scopes ?? [gmailSendScope])];
  if (scopes.length === 0)
    throw new MailError('configuration', 'Google service account: scopes is empty', { remediation: `Ask for ${gmailSendScope}.` });
  const tokenUrl = checkedUrl(options.tokenUrl ?? googleTokenUrl, 'tokenUrl');
  const subject = options.subject === undefined || options.subject === '' ? undefined : options.subject;
  const context: GoogleTokenContext = {
    kind: 'service-account',
    host: new URL(tokenUrl).host,
    subject,
    clientId: credentials.client_id ?? email,
    scopes,
  };
  // Where google-auth-library cannot run (Cloudflare Workers), the assertion is signed with WebCrypto: google-oauth-fetch.ts.
  if (!nodeLibrariesWork()) {
    const grant = {
      kind: 'service-account',
      email,
      privateKey: key.reveal(),
      privateKeyId: credentials.private_key_id,
      scopes,
      subject,
    } as const;
    return googleTokensFetch({ grant, tokenUrl, context, refreshAheadMs: options.refreshAheadMs, timeoutMs: options.timeoutMs });
  }
  return createTokenCache(
    async () => {
      // A new JWT client per refresh: the library caches its token, which a refresh after a 401 must not reuse.
      // JWTOptions takes no explicit undefined: an absent key id or subject is left out.
      const client = new JWT({
        email,
        key: key.reveal(),
        ...(credentials.private_key_id === undefined ? {} : { keyId: credentials.private_key_id }),
        scopes,
        ...(subject === undefined ? {} : { subject }),
        transporterOptions: { timeout: options.timeoutMs ?? 30_000 },
      });
      if (tokenUrl !== googleTokenUrl) {
        client.transporter.interceptors.request.add({
          resolved: async (config) => {
            if (String(config.url) === googleTokenUrl) config.url = new URL(tokenUrl);
            return config;
          },
        });
      }
      try {
        const credentials = await client.authorize();
        return accessToken(credentials.access_token, credentials.expiry_date);
      } catch (error) {
        throw mapGoogleTokenError(tokenFailureFrom(error), context);
      }
    },
    { refreshAheadMs: options.refreshAheadMs },
  );
}

function accessToken(token: string | null | undefined, expiryDate: number | null | undefined): AccessToken {
  if (typeof token !== 'string' || token === '') {
    throw new MailError('auth', "Google's token endpoint answered without an access token", {
      remediation: 'Check the token_url: it must be a Google OAuth 2.0 token endpoint.',
    });
  }
  return { token, expiresAt: typeof expiryDate === 'number' ? expiryDate : undefined };
}

function required(value: string | undefined, name: string, what: string): string {
  if (typeof value !== 'string' || value.trim() === '') {
    throw new MailError('configuration', `Google OAuth: ${name} is required`, { remediation: `Give ${what}.` });
  }
  return value.trim();
}

function asSecret(value: string | Secret | undefined, name: string): Secret {
  // Duck-typed: a Secret from another copy of @mailport/core is just as good.
  const secret = typeof value === 'string' ? new Secret(value) : value;
  if (typeof secret?.reveal !== 'function' || secret.reveal() === '') {
    throw new MailError('configuration', `Google OAuth: ${name} is required`, { remediation: `Give ${name}, as a string or a Secret.` });
  }
  return secret;
}

function checkedUrl(value: string, name: string): string {
  if (!URL.canParse(value) || !/^https?:$/.test(new URL(value).protocol)) {
    throw new MailError('configuration', `Google OAuth: ${name} ${value} is not an http(s) URL`, {
      remediation: `Leave ${name} out for Google's own endpoint (${googleTokenUrl}).`,
    });
  }
  return value;
}
