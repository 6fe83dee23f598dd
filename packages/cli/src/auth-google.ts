import { MailError, type MailErrorCode } from '@mailport/core';
import { HttpError } from '@mailport/core/http';
import { describeDuration, type SignInResult } from './auth-common.js';
import { type FormAnswer, idTokenClaims, postForm, stringField, unreachableError } from './auth-http.js';
import { createPkcePair, createState, openBrowser, startLoopbackListener } from './auth-loopback.js';
import type { CliIo } from './io.js';

/** Google's OAuth 2.0 endpoints for installed apps. */
export const googleEndpoints: Readonly<{ authorization: string; token: string }> = Object.freeze({
  authorization: 'https://accounts.google.com/o/oauth2/v2/auth',
  token: 'https://oauth2.googleapis.com/token',
});

/** The scopes `mailport auth google` asks for. */
export const googleScopes: Readonly<{ send: string; full: string; settings: string; identity: readonly string[] }> = Object.freeze({
  /** Sending through the Gmail API. */
  send: 'https://www.googleapis.com/auth/gmail.send',
  /** Everything, which Gmail's SMTP server requires for XOAUTH2. */
  full: 'https://mail.google.com/',
  /** Reading the send-as addresses, so the transport can check the From (and allow aliases). */
  settings: 'https://www.googleapis.com/auth/gmail.settings.basic',
  /** The signed-in address, from the ID token: to name the account in the URL printed next. */
  identity: Object.freeze(['openid', 'email']),
});

/** Options of {@link signInWithGoogle}. */
export interface GoogleSignInOptions {
  readonly clientId: string;
  readonly clientSecret: string;
  readonly scopes: readonly string[];
  readonly authorizationUrl: string;
  readonly tokenUrl: string;
  /** Loopback port; 0 for an ephemeral one. */
  readonly port: number;
  /** How long to wait for the browser, in ms. */
  readonly timeoutMs: number;
  /** `login_hint`: the account to preselect. */
  readonly loginHint?: string | undefined;
  /** Try to open the authorization URL in a browser. */
  readonly open: boolean;
  /** Extra CA (PEM) for the token endpoint. */
  readonly ca?: string | undefined;
}

/**
 * The authorization URL of Google's loopback flow for installed apps: authorization code with PKCE
 * (S256), `access_type=offline` and `prompt=consent` so that a refresh token is issued even when
 * the user consented before.
 *
 * @example
 * ```ts
 * googleAuthorizationUrl({ authorizationUrl: googleEndpoints.authorization, clientId, redirectUri: 'http://127.0.0.1:53682', scopes, state, challenge });
 * ```
 */
export function googleAuthorizationUrl(options: {
  authorizationUrl: string;
  clientId: string;
  redirectUri: string;
  scopes: readonly string[];
  state: string;
  challenge: string;
  loginHint?: string | undefined;
}): URL {
  const url = new URL(options.authorizationUrl);
  url.searchParams.set('client_id', options.clientId);
  url.searchParams.set('redirect_uri', options.redirectUri);
  url.searchParams.set('response_type', 'code');
  url.searchParams.set('scope', options.scopes.join(' '));
  url.searchParams.set('state', options.state);
  url.searchParams.set('code_challenge', options.challenge);
  url.searchParams.set('code_challenge_method', 'S256');
  url.searchParams.set('access_type', 'offline');
  url.searchParams.set('prompt', 'consent');
  if (options.loginHint !== undefined) url.searchParams.set('login_hint', options.loginHint);
  return url;
}

/**
 * Google's loopback flow for installed apps (Google's device flow does not allow Gmail scopes):
 * listens on 127.0.0.1, prints the authorization URL, waits for the redirect with our `state`,
 * and exchanges the code (with the PKCE verifier and the client secret, which Google requires of
 * desktop clients) for a refresh token.
 */
export async function signInWithGoogle(options: GoogleSignInOptions, io: CliIo): Promise<SignInResult> {
  const pkce = createPkcePair();
  const state = createState();
  const listener = await startLoopbackListener({ port: options.port, host: '127.0.0.1', provider: 'Google' });
  let code: string;
  try {
    const url = googleAuthorizationUrl({
      authorizationUrl: options.authorizationUrl,
      clientId: options.clientId,
      redirectUri: listener.redirectUri,
      scopes: options.scopes,
      state,
      challenge: pkce.challenge,
      loginHint: options.loginHint,
    });
    io.stderr.write(
      `Sign in with the Google account that will send the mail. Open this URL in a browser on this machine\n(Google sends the browser back to ${listener.redirectUri}, where mailport is listening):\n\n  ${url}\n\n`,
    );
    if (options.open && !(await openBrowser(url.toString()))) io.stderr.write('Could not start a browser: open the URL yourself.\n');
    io.stderr.write(`Waiting for the browser (up to ${describeDuration(options.timeoutMs)}; Ctrl-C to stop)...\n`);
    const outcome = await listener.wait({ state, timeoutMs: options.timeoutMs, signal: io.signal });
    if (outcome.kind === 'timeout') {
      throw new MailError('timeout', `No sign-in came back from the browser within ${describeDuration(options.timeoutMs)}`, {
        retryable: true,
        remediation: `Run the command again, open the printed URL in a browser on this machine (it redirects to 127.0.0.1), sign in and allow; --timeout 10m gives more time. On a remote machine, forward the port first (ssh -L ${listener.port}:127.0.0.1:${listener.port} ...) and run with --port ${listener.port}.`,
      });
    }
    const error = outcome.params.get('error');
    if (error !== null) throw authorizationError(error, outcome.params.get('error_description') ?? undefined);
    code = outcome.params.get('code') as string;
  } finally {
    await listener.close();
  }

  const tokenUrl = new URL(options.tokenUrl);
  let answer: FormAnswer;
  try {
    answer = await postForm(
      tokenUrl,
      new URLSearchParams({
        grant_type: 'authorization_code',
        code,
        client_id: options.clientId,
        client_secret: options.clientSecret,
        redirect_uri: listener.redirectUri,
        code_verifier: pkce.verifier,
      }),
      { timeoutMs: 30_000, ca: options.ca, signal: io.signal },
    );
  } catch (error) {
    if (HttpError.isInstance(error)) {
      throw unreachableError(
        `The token endpoint ${tokenUrl.origin}`,
        error,
        'Check --token-url and that the host is reachable from here (proxy, firewall; --ca-file for a private CA), then run the command again.',
      );
    }
    throw error;
  }
  const refreshToken = stringField(answer.body, 'refresh_token');
  if (answer.status !== 200 || stringField(answer.body, 'access_token') === undefined) {
    throw mapGoogleCodeExchangeError({
      status: answer.status,
      error: stringField(answer.body, 'error'),
      description: stringField(answer.body, 'error_description'),
      host: tokenUrl.host,
    });
  }
  if (refreshToken === undefined) {
    throw new MailError('auth', `${tokenUrl.host} answered with an access token but no refresh token`, {
      remediation:
        'Google issues a refresh token with access_type=offline on consent, which mailport asks for; remove the app from the account (myaccount.google.com > Security > Third-party access) and run the command again.',
    });
  }
  const granted = stringField(answer.body, 'scope');
  const claims = idTokenClaims(stringField(answer.body, 'id_token'));
  return {
    refreshToken,
    scopes: granted === undefined ? [...options.scopes] : granted.split(/\s+/).filter((scope) => scope !== ''),
    account: typeof claims.email === 'string' && claims.email !== '' ? claims.email : undefined,
  };
}

function authorizationError(error: string, description: string | undefined): MailError {
  const said = description === undefined ? error : `${error}: ${description}`;
  if (error === 'access_denied') {
    return new MailError('auth', `The sign-in was declined (${said})`, {
      providerCode: error,
      remediation:
        'Run the command again and choose Allow. If Google said the app is blocked or still in testing, add the account as a test user of the OAuth consent screen (Google Auth Platform > Audience).',
    });
  }
  return new MailError('configuration', `Google refused the authorization request (${said})`, {
    providerCode: error,
    remediation: 'Check the OAuth client (type Desktop app), its consent screen and the scopes it may ask for.',
  });
}

/** What Google's token endpoint said when it refused the code exchange. */
export interface GoogleExchangeFailure {
  readonly status: number;
  readonly error: string | undefined;
  readonly description: string | undefined;
  /** The token endpoint's host, for the message. */
  readonly host: string;
}

/**
 * Maps a refused authorization-code exchange to a `MailError`. Pure, so every row is tested
 * without a server. (The transport's own mapping is for refresh tokens, where `invalid_grant`
 * means something else.)
 *
 * | answer | code |
 * | --- | --- |
 * | `invalid_client` | `auth`: wrong client id or secret |
 * | `invalid_grant` | `auth`: the code expired, was used, or the PKCE verifier did not match |
 * | `redirect_uri_mismatch`, `unauthorized_client`, `invalid_request`, `invalid_scope`, `unsupported_grant_type` | `configuration` |
 * | 429 | `rate-limited` |
 * | 5xx | `transient` |
 */
export function mapGoogleCodeExchangeError(failure: GoogleExchangeFailure): MailError {
  const said =
    failure.error === undefined ? `HTTP ${failure.status}` : `${failure.error}${failure.description ? `: ${failure.description}` : ''}`;
  const where = `Google's token endpoint (${failure.host})`;
  const make = (code: MailErrorCode, message: string, remediation: string, retryable?: boolean): MailError =>
    new MailError(code, message, { statusCode: failure.status, providerCode: failure.error, remediation, retryable });
  switch (failure.error) {
    case 'invalid_client':
      return make(
        'auth',
        `${where} refused the OAuth client (${said})`,
        'Check --client-id and --client-secret (or GOOGLE_CLIENT_ID and GOOGLE_CLIENT_SECRET): copy both from the OAuth client of type Desktop app in the Google Cloud console (Google Auth Platform > Clients).',
        false,
      );
    case 'invalid_grant':
      return make(
        'auth',
        `${where} refused the authorization code (${said})`,
        'The code expired, was used already, or did not match this sign-in: run the command again and finish signing in promptly.',
        false,
      );
    case 'redirect_uri_mismatch':
    case 'unauthorized_client':
      return make(
        'configuration',
        `${where} refused this kind of client (${said})`,
        'Use an OAuth client of type Desktop app: it accepts loopback redirects (http://127.0.0.1 on any port), which mailport uses.',
        false,
      );
    case 'invalid_request':
    case 'invalid_scope':
    case 'unsupported_grant_type':
      return make(
        'configuration',
        `${where} refused the request (${said})`,
        'Check --token-url: it must be a Google OAuth 2.0 token endpoint.',
        false,
      );
  }
  if (failure.status === 429)
    return make('rate-limited', `${where} is rate limiting (${said})`, 'Wait a minute and run the command again.');
  if (failure.status >= 500) return make('transient', `${where} failed (${said})`, 'Run the command again in a moment.', true);
  return make('auth', `${where} refused the exchange (${said})`, 'Check the client id, the client secret and --token-url.', false);
}
