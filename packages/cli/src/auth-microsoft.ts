import { MailError, type MailErrorCode } from '@mailport/core';
import { HttpError } from '@mailport/core/http';
import { describeDuration, type SignInResult } from './auth-common.js';
import { type FormAnswer, idTokenClaims, postForm, stringField, unreachableError } from './auth-http.js';
import { createPkcePair, createState, openBrowser, startLoopbackListener } from './auth-loopback.js';
import type { CliIo } from './io.js';

/**
 * Entra ID defaults. The authority host is `microsoftAuthorityHosts.public` of
 * `@mailport/transport-graph/oauth`, written out here because that module loads @azure/identity.
 * The tenant `organizations` (work and school accounts) is also the Graph transport's default for
 * delegated tokens, so the refresh token and the transport agree without a `tenant` parameter.
 */
export const microsoftDefaults: Readonly<{ authorityHost: string; tenant: string }> = Object.freeze({
  authorityHost: 'https://login.microsoftonline.com',
  tenant: 'organizations',
});

/** Delegated scopes: the Graph transport's (`microsoftDelegated`) defaults, for the API and for SMTP. */
export const microsoftScopes: Readonly<{ api: string; smtp: string; signIn: readonly string[] }> = Object.freeze({
  api: 'https://graph.microsoft.com/Mail.Send',
  smtp: 'https://outlook.office.com/SMTP.Send',
  /** A refresh token (`offline_access`), and an ID token that names the account (`openid profile`). */
  signIn: Object.freeze(['offline_access', 'openid', 'profile']),
});

/** The device code grant type (RFC 8628 section 3.4). */
export const deviceCodeGrantType = 'urn:ietf:params:oauth:grant-type:device_code';

/** RFC 8628 section 3.5: on `slow_down`, the interval grows by 5 seconds for this and every later poll. */
export const slowDownSeconds = 5;

/** Options of the Microsoft sign-in flows. */
export interface MicrosoftSignInOptions {
  readonly clientId: string;
  /** Only for a confidential client; public clients (the usual case for a CLI) send none. */
  readonly clientSecret?: string | undefined;
  readonly tenant: string;
  readonly authorityHost: string;
  /** Every scope to ask for, `offline_access` included. */
  readonly scopes: readonly string[];
  /** How long to wait for the user, in ms; for the device flow, default: until the code expires. */
  readonly timeoutMs: number | undefined;
  readonly loginHint?: string | undefined;
  readonly open: boolean;
  /** Loopback port (with `--loopback`); 0 for an ephemeral one. */
  readonly port: number;
  /** Extra CA (PEM) for the authority. */
  readonly ca?: string | undefined;
}

/** What one poll's error means for the device flow. */
export type DevicePollAction = 'poll' | 'slow-down' | 'stop';

/**
 * The device flow's reaction to a token endpoint error, as Microsoft and RFC 8628 document it:
 * `authorization_pending`: poll again after the interval; `slow_down`: add 5 seconds to the
 * interval, then poll; anything else (`authorization_declined`, `expired_token`,
 * `bad_verification_code`, ...): stop.
 */
export function devicePollAction(error: string | undefined): DevicePollAction {
  if (error === 'authorization_pending') return 'poll';
  if (error === 'slow_down') return 'slow-down';
  return 'stop';
}

function endpoint(options: MicrosoftSignInOptions, name: 'devicecode' | 'token' | 'authorize'): URL {
  return new URL(`${options.authorityHost.replace(/\/+$/, '')}/${encodeURIComponent(options.tenant)}/oauth2/v2.0/${name}`);
}

async function post(url: URL, form: URLSearchParams, options: MicrosoftSignInOptions, io: CliIo): Promise<FormAnswer> {
  try {
    return await postForm(url, form, { timeoutMs: 30_000, ca: options.ca, signal: io.signal });
  } catch (error) {
    if (!HttpError.isInstance(error)) throw error;
    throw unreachableError(
      `Entra ID at ${url.origin}`,
      error,
      'Check --authority-host (national clouds: https://login.microsoftonline.us, https://login.chinacloudapi.cn) and that it is reachable from here (proxy, firewall; --ca-file for a private CA).',
    );
  }
}

/**
 * The device authorization grant (RFC 8628) against Entra ID's v2.0 endpoints: asks
 * `/devicecode` for a user code, prints it with the verification URL, and polls `/token` with
 * `grant_type=urn:ietf:params:oauth:grant-type:device_code` every `interval` seconds until the user
 * signs in, declines, or the code expires.
 */
export async function signInWithMicrosoftDeviceCode(options: MicrosoftSignInOptions, io: CliIo): Promise<SignInResult> {
  const devicecode = endpoint(options, 'devicecode');
  const started = await post(
    devicecode,
    new URLSearchParams({ client_id: options.clientId, scope: options.scopes.join(' ') }),
    options,
    io,
  );
  const deviceCode = stringField(started.body, 'device_code');
  const userCode = stringField(started.body, 'user_code');
  const verificationUri = stringField(started.body, 'verification_uri') ?? stringField(started.body, 'verification_url');
  if (started.status !== 200 || deviceCode === undefined || userCode === undefined || verificationUri === undefined) {
    throw await mapMicrosoftSignInError(failureOf(started), { authority: devicecode.origin, clientId: options.clientId });
  }
  const lifetimeMs = positiveNumber(started.body.expires_in, 900) * 1000;
  // RFC 8628: 5 seconds when the server names no interval.
  let intervalMs = positiveNumber(started.body.interval, 5) * 1000;
  io.stderr.write(
    `To sign in, open this page in a browser (on this or any other device):\n\n  ${verificationUri}\n\nand enter the code:\n\n  ${userCode}\n\nthen sign in with the account that will send the mail.\n`,
  );
  if (options.open && !(await openBrowser(verificationUri))) io.stderr.write('Could not start a browser: open the page yourself.\n');
  const waitMs = options.timeoutMs ?? lifetimeMs;
  io.stderr.write(`Waiting for the sign-in (the code expires in ${describeDuration(lifetimeMs)}; Ctrl-C to stop)...\n`);
  const deadline = Date.now() + waitMs;
  const token = endpoint(options, 'token');
  const form = new URLSearchParams({ grant_type: deviceCodeGrantType, client_id: options.clientId, device_code: deviceCode });
  if (options.clientSecret !== undefined) form.set('client_secret', options.clientSecret);
  for (;;) {
    await sleep(Math.min(intervalMs, Math.max(0, deadline - Date.now())), io.signal);
    if (Date.now() >= deadline) {
      throw new MailError('timeout', `Nobody signed in with the code within ${describeDuration(waitMs)}`, {
        retryable: true,
        remediation: `Run the command again, open ${verificationUri} and enter the code it prints${options.timeoutMs === undefined ? '' : '; --timeout gives more time (up to the code lifetime)'}.`,
      });
    }
    const answer = await post(token, form, options, io);
    if (answer.status === 200 && stringField(answer.body, 'access_token') !== undefined) return result(answer, options, token);
    const action = devicePollAction(stringField(answer.body, 'error'));
    if (action === 'poll') continue;
    if (action === 'slow-down') {
      intervalMs += slowDownSeconds * 1000;
      continue;
    }
    throw await mapMicrosoftSignInError(failureOf(answer), { authority: token.origin, clientId: options.clientId, lifetimeMs });
  }
}

/**
 * The authorization code grant with PKCE and a loopback redirect (`--loopback`): for app
 * registrations with a "Mobile and desktop applications" redirect URI of `http://localhost`, whose
 * port Entra ID ignores.
 */
export async function signInWithMicrosoftLoopback(options: MicrosoftSignInOptions, io: CliIo): Promise<SignInResult> {
  const pkce = createPkcePair();
  const state = createState();
  const timeoutMs = options.timeoutMs ?? 5 * 60_000;
  const listener = await startLoopbackListener({ port: options.port, host: 'localhost', provider: 'Microsoft' });
  let code: string;
  try {
    const url = endpoint(options, 'authorize');
    const query = url.searchParams;
    query.set('client_id', options.clientId);
    query.set('response_type', 'code');
    query.set('redirect_uri', listener.redirectUri);
    query.set('response_mode', 'query');
    query.set('scope', options.scopes.join(' '));
    query.set('state', state);
    query.set('code_challenge', pkce.challenge);
    query.set('code_challenge_method', 'S256');
    if (options.loginHint !== undefined) query.set('login_hint', options.loginHint);
    else query.set('prompt', 'select_account');
    io.stderr.write(
      `Sign in with the account that will send the mail. Open this URL in a browser on this machine\n(Microsoft sends the browser back to ${listener.redirectUri}, where mailport is listening):\n\n  ${url}\n\n`,
    );
    if (options.open && !(await openBrowser(url.toString()))) io.stderr.write('Could not start a browser: open the URL yourself.\n');
    io.stderr.write(`Waiting for the browser (up to ${describeDuration(timeoutMs)}; Ctrl-C to stop)...\n`);
    const outcome = await listener.wait({ state, timeoutMs, signal: io.signal });
    if (outcome.kind === 'timeout') {
      throw new MailError('timeout', `No sign-in came back from the browser within ${describeDuration(timeoutMs)}`, {
        retryable: true,
        remediation:
          'Run the command again and open the printed URL in a browser on this machine (it redirects to localhost); --timeout 10m gives more time. Without a browser here, leave out --loopback: the device code flow works from any device.',
      });
    }
    const error = outcome.params.get('error');
    if (error !== null) {
      const description = outcome.params.get('error_description') ?? error;
      throw await mapMicrosoftSignInError(
        { error, description, aadsts: aadstsOf(description) },
        { authority: url.origin, clientId: options.clientId },
      );
    }
    code = outcome.params.get('code') as string;
  } finally {
    await listener.close();
  }
  const token = endpoint(options, 'token');
  const form = new URLSearchParams({
    client_id: options.clientId,
    grant_type: 'authorization_code',
    code,
    redirect_uri: listener.redirectUri,
    code_verifier: pkce.verifier,
    scope: options.scopes.join(' '),
  });
  if (options.clientSecret !== undefined) form.set('client_secret', options.clientSecret);
  const answer = await post(token, form, options, io);
  if (answer.status !== 200 || stringField(answer.body, 'access_token') === undefined) {
    throw await mapMicrosoftSignInError(failureOf(answer), { authority: token.origin, clientId: options.clientId });
  }
  return result(answer, options, token);
}

function result(answer: FormAnswer, options: MicrosoftSignInOptions, token: URL): SignInResult {
  const refreshToken = stringField(answer.body, 'refresh_token');
  if (refreshToken === undefined) {
    throw new MailError('auth', `Entra ID at ${token.origin} signed the user in but issued no refresh token`, {
      remediation:
        'A refresh token comes with the offline_access scope, which mailport asks for: check that the app registration may use it (API permissions: Microsoft Graph > offline_access).',
    });
  }
  const claims = idTokenClaims(stringField(answer.body, 'id_token'));
  const account = [claims.preferred_username, claims.email, claims.upn].find(
    (value): value is string => typeof value === 'string' && value.includes('@'),
  );
  const granted = stringField(answer.body, 'scope');
  return {
    refreshToken,
    // What the Graph transport will ask for when it refreshes: the resource scope and offline_access.
    scopes: granted === undefined ? [...options.scopes] : granted.split(/\s+/).filter((scope) => scope !== ''),
    account,
  };
}

/** What Entra ID said when it refused a sign-in step. */
export interface MicrosoftSignInFailure {
  readonly status?: number | undefined;
  readonly error?: string | undefined;
  /** The first AADSTS number. */
  readonly aadsts?: number | undefined;
  readonly description: string;
}

function failureOf(answer: FormAnswer): MicrosoftSignInFailure {
  const description = stringField(answer.body, 'error_description') ?? `HTTP ${answer.status}`;
  const codes = answer.body.error_codes;
  return {
    status: answer.status,
    error: stringField(answer.body, 'error'),
    aadsts: Array.isArray(codes) && typeof codes[0] === 'number' ? codes[0] : aadstsOf(description),
    description,
  };
}

function aadstsOf(description: string): number | undefined {
  const match = /AADSTS(\d+)/.exec(description);
  return match === null ? undefined : Number(match[1]);
}

/**
 * Maps a refused sign-in step to a `MailError`. The sign-in's own errors are mapped here; the
 * rest (throttling, outages, unknown tenants) by the Graph transport's `mapMicrosoftTokenError`,
 * loaded only then, since it brings @azure/identity along.
 *
 * | answer | code |
 * | --- | --- |
 * | `authorization_declined`, `access_denied` | `auth`: the user said no |
 * | `expired_token` | `timeout`: the code expired before the sign-in finished |
 * | `bad_verification_code`, `invalid_grant` | `auth`: start again |
 * | `invalid_client` AADSTS7000218 | `configuration`: allow public client flows |
 * | `invalid_client` AADSTS700025 | `configuration`: a public client sent a secret |
 * | `unauthorized_client`, AADSTS700016 | `configuration`: unknown app in this tenant |
 * | `invalid_scope`, `consent_required`, AADSTS65001 | `configuration` / `auth`: permissions and consent |
 */
export async function mapMicrosoftSignInError(
  failure: MicrosoftSignInFailure,
  context: { authority: string; clientId: string; lifetimeMs?: number | undefined },
): Promise<MailError> {
  const said = failure.description.split(/\r?\n/)[0] ?? failure.description;
  const make = (code: MailErrorCode, message: string, remediation: string, retryable = false): MailError =>
    new MailError(code, message, {
      statusCode: failure.status,
      providerCode: failure.aadsts === undefined ? failure.error : `AADSTS${failure.aadsts}`,
      remediation,
      retryable,
    });
  const where = `Entra ID (${context.authority})`;
  switch (failure.error) {
    case 'authorization_declined':
    case 'access_denied':
      return make(
        'auth',
        `The sign-in was declined (${said})`,
        'Run the command again and accept the permissions. If the tenant lets only administrators consent, ask one to grant the app its delegated permissions (Mail.Send, or SMTP.Send) in the Entra admin center (Enterprise applications > Permissions).',
      );
    case 'expired_token':
      return make(
        'timeout',
        `The sign-in code expired before the sign-in finished (${said})`,
        `Run the command again and enter the new code within ${describeDuration(context.lifetimeMs ?? 900_000)}.`,
        true,
      );
    case 'bad_verification_code':
    case 'invalid_grant':
      return make('auth', `${where} refused the sign-in (${said})`, 'Run the command again and finish signing in promptly.');
    case 'invalid_scope':
      return make(
        'configuration',
        `${where} refused the scopes (${said})`,
        'Add the delegated permission to the app registration (API permissions > Microsoft Graph > Mail.Send; for SMTP, Office 365 Exchange Online > SMTP.Send).',
      );
    case 'consent_required':
    case 'interaction_required':
      return make(
        'auth',
        `${where} needs consent first (${said})`,
        'Ask an administrator to grant the app its delegated permissions, then run the command again.',
      );
  }
  if (failure.aadsts === 7000218) {
    return make(
      'configuration',
      `${where}: the app registration is not a public client (${said})`,
      'In the app registration, Authentication > Advanced settings > Allow public client flows: Yes (the device code flow needs it); or give --client-secret for a confidential client.',
    );
  }
  if (failure.aadsts === 700025) {
    return make('configuration', `${where}: a public client must not send a secret (${said})`, 'Leave out --client-secret.');
  }
  if (failure.aadsts === 65001) {
    return make(
      'auth',
      `${where} needs consent first (${said})`,
      'Ask an administrator to grant the app its delegated permissions, then run the command again.',
    );
  }
  if (failure.error === 'unauthorized_client' || failure.aadsts === 700016) {
    return make(
      'configuration',
      `${where} does not know the app ${context.clientId} (${said})`,
      'Check --client-id (the application (client) id) and --tenant: a single-tenant app needs its own tenant id or domain; "organizations" and "common" need a multi-tenant registration.',
    );
  }
  const { mapMicrosoftTokenError } = await import('@mailport/transport-graph/oauth');
  return mapMicrosoftTokenError(
    { error: failure.error, aadsts: failure.aadsts, status: failure.status, description: failure.description },
    { authority: context.authority },
  );
}

function positiveNumber(value: unknown, fallback: number): number {
  const number = typeof value === 'string' ? Number(value) : value;
  return typeof number === 'number' && Number.isFinite(number) && number >= 0 ? number : fallback;
}

/** Waits `ms`; an abort rejects with the signal's reason. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
