import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import {
  MailError,
  Secret,
  type TokenProvider,
  type TransportFactoryContext,
  type TransportUrl,
  type UrlParams,
  urlParams,
} from '@mailport/core';
import { type GoogleServiceAccountKey, gmailFullScope, gmailSendScope, googleServiceAccount, googleUserOAuth } from './google-oauth.js';

/** Options of {@link tokenProviderFromUrl}. */
export interface TokenProviderFromUrlOptions {
  /**
   * What the tokens are for, which sets the default scopes of a service account:
   * `smtp` asks for `https://mail.google.com/` (Gmail's SMTP server needs it), `api` for
   * `https://www.googleapis.com/auth/gmail.send`.
   */
  readonly purpose: 'smtp' | 'api';
  /**
   * A service account's scopes when the URL names none, instead of the purpose's: a mailbox reader
   * asks for `gmail.modify`. A refresh token carries the scopes its user consented to, so user
   * credentials ignore this (the URL's `scopes=` is refused for them).
   */
  readonly scopes?: readonly string[] | undefined;
  /**
   * The caller's reader of the URL's parameters: the ones read here then count as known when the
   * caller calls `done()`. Default: a reader of its own (unknown parameters are left to the caller).
   */
  readonly params?: UrlParams | undefined;
  /**
   * The mailbox the tokens act for: a service account's `subject` (domain-wide delegation).
   * Default: the URL's user name when it is an address (`smtp://user%40example.com@...`).
   */
  readonly subject?: string | undefined;
}

/** Where {@link resolveGoogleCredentials} found the credentials. */
export type GoogleCredentialSource =
  | {
      readonly kind: 'user';
      readonly clientId: string;
      readonly clientSecret: Secret;
      readonly refreshToken: Secret;
      readonly from: string;
    }
  | { readonly kind: 'service-account'; readonly key: GoogleServiceAccountKey; readonly from: string };

/** The URL parameters {@link tokenProviderFromUrl} reads. */
export const googleCredentialParameters: readonly string[] = Object.freeze([
  'client_id',
  'client_secret',
  'refresh_token',
  'token_url',
  'credentials_file',
  'scopes',
]);

/**
 * Builds a Google {@link TokenProvider} from a transport URL and the environment, for the Gmail
 * API transport and for SMTP XOAUTH2 (`smtp://user%40gmail.com@smtp.gmail.com:587?auth=xoauth2&oauth=google`).
 *
 * Credentials, first found wins:
 * 1. `client_id`, `client_secret`, `refresh_token` URL parameters (user OAuth; a missing one is
 *    taken from `GOOGLE_CLIENT_ID`, `GOOGLE_CLIENT_SECRET`, `GOOGLE_REFRESH_TOKEN`);
 * 2. `credentials_file=/path/key.json`: a service account key, or an `authorized_user` file;
 * 3. `GOOGLE_CLIENT_ID` + `GOOGLE_CLIENT_SECRET` + `GOOGLE_REFRESH_TOKEN`;
 * 4. `GOOGLE_APPLICATION_CREDENTIALS` (a key file, as Google's tools read it).
 *
 * Other parameters: `token_url` (default Google's), `scopes` (service accounts; comma- or
 * space-separated; default by `purpose`). A service account acts for `options.subject`, or the
 * URL's user name. Throws a `configuration` error naming what is missing; no request is made
 * until the first token is needed.
 *
 * @example
 * ```ts
 * // In an SMTP transport that reads ?auth=xoauth2&oauth=google:
 * const { tokenProviderFromUrl } = await import('@mailport/transport-gmail-api/oauth');
 * const params = urlParams(url);
 * const tokenProvider = tokenProviderFromUrl(url, context, { purpose: 'smtp', params });
 * // ... read the SMTP parameters with the same `params`, then:
 * params.done();
 * ```
 */
export function tokenProviderFromUrl(
  url: TransportUrl,
  context: Pick<TransportFactoryContext, 'env'>,
  options: TokenProviderFromUrlOptions,
): TokenProvider {
  const params = options.params ?? urlParams(url);
  const source = resolveGoogleCredentials(url, context, params);
  const tokenUrl = params.string('token_url');
  const scopesParam = params.string('scopes');
  if (source === undefined) {
    throw new MailError('configuration', `Transport URL ${url.redacted}: no Google credentials`, {
      remediation:
        'Add client_id, client_secret and refresh_token to the URL (or set GOOGLE_CLIENT_ID, GOOGLE_CLIENT_SECRET and GOOGLE_REFRESH_TOKEN), or point credentials_file (or GOOGLE_APPLICATION_CREDENTIALS) at a service account key, or give the key in code: createTransport(url, { adapters: { gmail: { auth: { credentials } } } }).',
    });
  }
  if (source.kind === 'user') {
    if (scopesParam !== undefined) {
      throw new MailError('configuration', `Transport URL ${url.redacted}: scopes applies to service accounts only`, {
        remediation:
          'A refresh token carries the scopes the user consented to: remove scopes=, or ask the user to consent to the ones you need.',
      });
    }
    return googleUserOAuth({ clientId: source.clientId, clientSecret: source.clientSecret, refreshToken: source.refreshToken, tokenUrl });
  }
  const subject = options.subject ?? (url.username?.includes('@') === true ? url.username : undefined);
  if (subject === undefined) {
    throw new MailError('configuration', `Transport URL ${url.redacted}: a service account needs the mailbox it acts for`, {
      remediation:
        'Name the mailbox in the URL (gmail://user@example.com, or smtp://user%40example.com@...); the service account acts for it with domain-wide delegation.',
    });
  }
  const scopes =
    scopesParam === undefined
      ? [...(options.scopes ?? [options.purpose === 'smtp' ? gmailFullScope : gmailSendScope])]
      : scopesParam.split(/[\s,]+/).filter((scope) => scope !== '');
  return googleServiceAccount({ credentials: source.key, subject, scopes, tokenUrl });
}

/**
 * Finds Google credentials in the URL parameters, a credentials file or the environment, in the
 * order {@link tokenProviderFromUrl} lists; undefined when there are none.
 *
 * @example
 * ```ts
 * const source = resolveGoogleCredentials(url, { env: process.env }, urlParams(url));
 * source?.kind; // 'user' or 'service-account'
 * ```
 */
export function resolveGoogleCredentials(
  url: TransportUrl,
  context: Pick<TransportFactoryContext, 'env'>,
  params: UrlParams,
): GoogleCredentialSource | undefined {
  const env = context.env;
  const clientId = params.string('client_id');
  const clientSecret = params.secret('client_secret');
  const refreshToken = params.secret('refresh_token');
  const file = params.string('credentials_file');
  if (clientId !== undefined || clientSecret !== undefined || refreshToken !== undefined) {
    return userCredentials(url, {
      clientId: clientId ?? env.GOOGLE_CLIENT_ID,
      clientSecret: clientSecret ?? secretOrUndefined(env.GOOGLE_CLIENT_SECRET),
      refreshToken: refreshToken ?? secretOrUndefined(env.GOOGLE_REFRESH_TOKEN),
      from: 'the URL',
    });
  }
  if (file !== undefined) return credentialsFile(url, file, 'credentials_file', env);
  if (nonEmpty(env.GOOGLE_CLIENT_ID) || nonEmpty(env.GOOGLE_REFRESH_TOKEN)) {
    return userCredentials(url, {
      clientId: env.GOOGLE_CLIENT_ID,
      clientSecret: secretOrUndefined(env.GOOGLE_CLIENT_SECRET),
      refreshToken: secretOrUndefined(env.GOOGLE_REFRESH_TOKEN),
      from: 'GOOGLE_CLIENT_ID, GOOGLE_CLIENT_SECRET and GOOGLE_REFRESH_TOKEN',
    });
  }
  if (nonEmpty(env.GOOGLE_APPLICATION_CREDENTIALS)) {
    return credentialsFile(url, env.GOOGLE_APPLICATION_CREDENTIALS as string, 'GOOGLE_APPLICATION_CREDENTIALS', env);
  }
  return undefined;
}

function userCredentials(
  url: TransportUrl,
  found: { clientId: string | undefined; clientSecret: Secret | undefined; refreshToken: Secret | undefined; from: string },
): GoogleCredentialSource {
  const missing = [
    nonEmpty(found.clientId) ? undefined : 'client_id (GOOGLE_CLIENT_ID)',
    found.clientSecret === undefined ? 'client_secret (GOOGLE_CLIENT_SECRET)' : undefined,
    found.refreshToken === undefined ? 'refresh_token (GOOGLE_REFRESH_TOKEN)' : undefined,
  ].filter((name) => name !== undefined);
  if (missing.length > 0) {
    throw new MailError('configuration', `Transport URL ${url.redacted}: Google user OAuth needs ${missing.join(', ')}`, {
      remediation:
        'Give all three of client_id, client_secret and refresh_token, in the URL or in the environment; run `mailport auth google` to get a refresh token.',
    });
  }
  return {
    kind: 'user',
    clientId: found.clientId as string,
    clientSecret: found.clientSecret as Secret,
    refreshToken: found.refreshToken as Secret,
    from: found.from,
  };
}

/** Reads a service account key file or an `authorized_user` file (what `gcloud auth application-default login` writes). */
function credentialsFile(
  url: TransportUrl,
  path: string,
  from: string,
  env: Readonly<Record<string, string | undefined>>,
): GoogleCredentialSource {
  let text: string;
  // No shell expands a path inside a URL: accept ~/ as the home directory, as refresh_token_file does.
  const file = path.startsWith('~/') ? join(homedir(), path.slice(2)) : path;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new MailError(
      'configuration',
      `Transport URL ${url.redacted}: cannot read ${from} ${path}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`,
      {
        remediation: 'Point it at the JSON key file of the service account.',
      },
    );
  }
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // Never quote the file: it holds a private key.
    throw new MailError('configuration', `Transport URL ${url.redacted}: ${from} ${path} is not a JSON key file`, {
      remediation: 'Download the key again from the Google Cloud console (IAM > Service accounts > Keys > Add key > JSON).',
    });
  }
  const type = json.type;
  if (type === 'authorized_user') {
    return userCredentials(url, {
      clientId: stringField(json.client_id),
      // `mailport auth google` leaves the client secret out of the file unless asked: take it from the environment then.
      clientSecret: secretOrUndefined(stringField(json.client_secret)) ?? secretOrUndefined(env.GOOGLE_CLIENT_SECRET),
      refreshToken: secretOrUndefined(stringField(json.refresh_token)),
      from: path,
    });
  }
  const clientEmail = stringField(json.client_email);
  const privateKey = stringField(json.private_key);
  if ((type !== undefined && type !== 'service_account') || clientEmail === undefined || privateKey === undefined) {
    throw new MailError(
      'configuration',
      `Transport URL ${url.redacted}: ${from} ${path} is not a service account key (type ${String(type)})`,
      {
        remediation: 'Use a service account JSON key with client_email and private_key, or an authorized_user file.',
      },
    );
  }
  return {
    kind: 'service-account',
    key: {
      client_email: clientEmail,
      private_key: new Secret(privateKey),
      private_key_id: stringField(json.private_key_id),
      client_id: stringField(json.client_id),
    },
    from: path,
  };
}

function stringField(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function nonEmpty(value: string | undefined): boolean {
  return value !== undefined && value.trim() !== '';
}

function secretOrUndefined(value: string | undefined): Secret | undefined {
  return value === undefined || value === '' ? undefined : new Secret(value);
}
