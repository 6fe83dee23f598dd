import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { MailError } from '@mailport/core';
import { parseTimeout, type SignInResult } from '../auth-common.js';
import { googleEndpoints, googleScopes, signInWithGoogle } from '../auth-google.js';
import { microsoftDefaults, microsoftScopes, signInWithMicrosoftDeviceCode, signInWithMicrosoftLoopback } from '../auth-microsoft.js';
import { credentialsPath, environmentLine, refuseToOverwrite, shellQuote, writePrivateFile } from '../auth-store.js';
import { exitCodeFor, exitCodes, interruptedExitCode, UsageError } from '../exit-codes.js';
import type { CliIo } from '../io.js';
import { printError } from '../output.js';

/** `mailport auth --help`. */
export const authHelp: string = `mailport auth: sign in once and keep an OAuth refresh token for sending

  mailport auth google     [options]   Gmail API (or Gmail SMTP with --smtp): loopback redirect
  mailport auth microsoft  [options]   Graph (or Microsoft 365 SMTP with --smtp): device code

By default the refresh token is saved as JSON in a file only you can read (mode 0600), and the
transport URL to use next is printed. With --print-env, environment lines are printed instead.
Run "mailport auth google --help" or "mailport auth microsoft --help" for the options.
`;

const commonHelp: string = `Output:
  --output FILE         where to save (default: $XDG_CONFIG_HOME/mailport/PROVIDER.json,
                        else ~/.config/mailport/PROVIDER.json)
  --force               replace FILE if it exists (refused otherwise)
  --print-env           print environment lines (secrets included) instead of saving a file
  --store-secret        also save the client secret in the file (never saved otherwise)

Sign-in:
  --smtp                ask for the SMTP scope instead of the API's
  --scope SCOPE         ask for another scope too (repeatable)
  --user ADDRESS        the account to sign in with (a hint), and the sender in the printed URL
  --timeout DURATION    how long to wait for the sign-in: 90s, 5m (default: 5m; device code: until it expires)
  --open                try to open the page in a browser (otherwise only printed)
  --ca-file FILE        a PEM CA to trust for the OAuth endpoints (private CA, the sandbox)

Exit codes: 0 saved (or printed), 2 usage, 4 configuration (client, tenant, file exists),
5 auth (declined, wrong client secret), 8 timeout or unreachable endpoint, 130 interrupted.
`;

/** `mailport auth google --help`. */
export const authGoogleHelp: string = `mailport auth google: a Gmail refresh token, through Google's loopback flow for installed apps

  mailport auth google --client-id ID.apps.googleusercontent.com [--smtp] [--print-env]

Prints an authorization URL; open it in a browser on this machine, sign in and allow. Google
sends the browser back to http://127.0.0.1:PORT, where mailport waits, then exchanges the code
(PKCE S256, access_type=offline, prompt=consent) for a refresh token. Google's device flow does not
allow Gmail scopes, so there is no device code option for Google.

Client (an OAuth client of type "Desktop app" in the Google Cloud console):
  --client-id ID        default: $GOOGLE_CLIENT_ID
  --client-secret S     default: $GOOGLE_CLIENT_SECRET (prefer the variable: arguments show in ps)

Scopes: https://www.googleapis.com/auth/gmail.send (the API), or https://mail.google.com/ with
--smtp (Gmail SMTP needs it); openid and email to name the account.
  --send-as             also ask for gmail.settings.basic, so the transport can check the From
                        against the account's send-as addresses and allow aliases

Endpoints:
  --auth-url URL        default: ${googleEndpoints.authorization}
  --token-url URL       default: ${googleEndpoints.token}
  --port N              loopback port (default: any free port)

${commonHelp}`;

/** `mailport auth microsoft --help`. */
export const authMicrosoftHelp: string = `mailport auth microsoft: a delegated Microsoft 365 refresh token, through the device code flow

  mailport auth microsoft --client-id APP-ID [--tenant contoso.com] [--smtp] [--print-env]

Prints a code and a page (https://microsoft.com/devicelogin); open it on any device, enter the
code and sign in. mailport polls Entra ID until the sign-in completes. The app registration
needs "Allow public client flows" and the delegated permissions Mail.Send (Graph) or SMTP.Send.
With --loopback, the authorization code flow with a browser on this machine is used instead (the
app registration needs the redirect URI http://localhost, platform "Mobile and desktop").

Client:
  --client-id ID        the application (client) id; default: $AZURE_CLIENT_ID
  --tenant T            tenant id, domain, "organizations" (work or school accounts),
                        "consumers" or "common"; default: $AZURE_TENANT_ID, else ${microsoftDefaults.tenant}
  --client-secret S     only for a confidential client (public clients send none)
  --authority-host URL  default: $AZURE_AUTHORITY_HOST, else ${microsoftDefaults.authorityHost}
                        (national clouds: https://login.microsoftonline.us, https://login.chinacloudapi.cn)

Scopes: offline_access openid profile, and ${microsoftScopes.api} (the API), or
${microsoftScopes.smtp} with --smtp.

Flow:
  --loopback            authorization code with PKCE and a redirect to http://localhost:PORT
  --port N              loopback port for --loopback (default: any free port)

${commonHelp}`;

const options = {
  'client-id': { type: 'string' },
  'client-secret': { type: 'string' },
  scope: { type: 'string', multiple: true },
  smtp: { type: 'boolean', default: false },
  'send-as': { type: 'boolean', default: false },
  user: { type: 'string' },
  'auth-url': { type: 'string' },
  'token-url': { type: 'string' },
  tenant: { type: 'string' },
  'authority-host': { type: 'string' },
  loopback: { type: 'boolean', default: false },
  port: { type: 'string' },
  timeout: { type: 'string' },
  open: { type: 'boolean', default: false },
  output: { type: 'string' },
  force: { type: 'boolean', default: false },
  'print-env': { type: 'boolean', default: false },
  'store-secret': { type: 'boolean', default: false },
  'ca-file': { type: 'string' },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

function parse(argv: readonly string[]) {
  return parseArgs({ args: [...argv], options, strict: true, allowPositionals: true });
}

type Flags = ReturnType<typeof parse>['values'];

const googleOnly = ['auth-url', 'token-url', 'send-as'] as const;
const microsoftOnly = ['tenant', 'authority-host', 'loopback'] as const;

/** `mailport auth google | microsoft`. */
export async function runAuth(argv: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parse(argv);
  const [provider, ...extra] = positionals;
  if (provider === undefined || (provider !== 'google' && provider !== 'microsoft')) {
    if (values.help && provider === undefined) {
      io.stdout.write(authHelp);
      return exitCodes.ok;
    }
    throw new UsageError(
      provider === undefined
        ? 'say which provider: mailport auth google, or mailport auth microsoft'
        : `unknown provider "${provider}": google or microsoft`,
    );
  }
  if (values.help) {
    io.stdout.write(provider === 'google' ? authGoogleHelp : authMicrosoftHelp);
    return exitCodes.ok;
  }
  if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0]}"`);
  const others = provider === 'google' ? microsoftOnly : googleOnly;
  const misplaced = others.find((name) => values[name] !== undefined && values[name] !== false);
  if (misplaced !== undefined) throw new UsageError(`--${misplaced} is not an option of mailport auth ${provider}`);
  if (values['print-env'] && values.output !== undefined) throw new UsageError('give --output or --print-env, not both');
  if (values['print-env'] && values['store-secret'])
    throw new UsageError('--store-secret is for the saved file; --print-env prints the secret anyway');
  if (values.port !== undefined && !values.loopback && provider === 'microsoft') throw new UsageError('--port goes with --loopback');
  const port = values.port === undefined ? 0 : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new UsageError(`--port ${values.port} is not a port number (0 to 65535)`);
  const timeoutMs = values.timeout === undefined ? undefined : parseTimeout(values.timeout);
  if (values.timeout !== undefined && timeoutMs === undefined)
    throw new UsageError(`--timeout ${values.timeout} is not a duration: 90s, 5m, 1h`);
  const signal = io.signal;
  try {
    const ca = values['ca-file'] === undefined ? undefined : await readCa(resolve(io.cwd, values['ca-file']));
    const path = values['print-env'] ? undefined : credentialsPath(io, provider, values.output);
    // Before anyone signs in: finding out afterwards would waste the sign-in.
    if (path !== undefined) await refuseToOverwrite(path, values.force);
    const settings = { values, io, path, port, timeoutMs, ca };
    return provider === 'google' ? await authGoogle(settings) : await authMicrosoft(settings);
  } catch (error) {
    if (error instanceof UsageError) throw error;
    if (signal.aborted && error === signal.reason) {
      io.stderr.write('mailport auth: interrupted; nothing was saved\n');
      return interruptedExitCode(signal.reason);
    }
    printError(io, error);
    return exitCodeFor(error);
  }
}

interface Settings {
  readonly values: Flags;
  readonly io: CliIo;
  /** Where to save; undefined with --print-env. */
  readonly path: string | undefined;
  readonly port: number;
  readonly timeoutMs: number | undefined;
  readonly ca: string | undefined;
}

async function readCa(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    throw new MailError(
      'configuration',
      `Cannot read --ca-file ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
      {
        remediation: 'Point --ca-file at a PEM certificate file.',
      },
    );
  }
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

async function authGoogle({ values, io, path, port, timeoutMs, ca }: Settings): Promise<number> {
  const clientId = nonEmpty(values['client-id']) ?? nonEmpty(io.env.GOOGLE_CLIENT_ID);
  if (clientId === undefined) {
    throw new UsageError('--client-id is required (or set GOOGLE_CLIENT_ID): the client id of an OAuth client of type Desktop app');
  }
  const clientSecret = nonEmpty(values['client-secret']) ?? nonEmpty(io.env.GOOGLE_CLIENT_SECRET);
  if (clientSecret === undefined) {
    throw new UsageError("--client-secret is required (or set GOOGLE_CLIENT_SECRET): Google's token endpoint asks desktop clients for it");
  }
  const tokenUrl = values['token-url'] ?? googleEndpoints.token;
  const authorizationUrl = values['auth-url'] ?? googleEndpoints.authorization;
  for (const [flag, url] of [
    ['--token-url', tokenUrl],
    ['--auth-url', authorizationUrl],
  ] as const) {
    if (!URL.canParse(url) || !/^https?:$/.test(new URL(url).protocol)) throw new UsageError(`${flag} ${url} is not an http(s) URL`);
  }
  const scopes = unique([
    values.smtp ? googleScopes.full : googleScopes.send,
    ...(values['send-as'] ? [googleScopes.settings] : []),
    ...(values.scope ?? []),
    ...googleScopes.identity,
  ]);
  const result = await signInWithGoogle(
    {
      clientId,
      clientSecret,
      scopes,
      authorizationUrl,
      tokenUrl,
      port,
      timeoutMs: timeoutMs ?? 5 * 60_000,
      loginHint: values.user,
      open: values.open,
      ca,
    },
    io,
  );
  const account = accountOf(result, values.user, io);
  const customTokenUrl = tokenUrl === googleEndpoints.token ? '' : `token_url=${encodeURIComponent(tokenUrl)}`;
  const gmailUrl = (query: string[]): string => `gmail://${account ?? 'me'}${queryString(query)}`;
  const smtpUrl = (query: string[]): string =>
    `smtp://${encodeURIComponent(account ?? 'YOU@gmail.com')}@smtp.gmail.com:587${queryString(['oauth=google', ...query])}`;
  io.stderr.write(`Signed in${account === undefined ? '' : ` as ${account}`}.\n`);

  if (path === undefined) {
    io.stdout.write(
      [
        environmentLine('GOOGLE_CLIENT_ID', clientId),
        environmentLine('GOOGLE_CLIENT_SECRET', clientSecret),
        environmentLine('GOOGLE_REFRESH_TOKEN', result.refreshToken),
        environmentLine('MAILPORT_URL', values.smtp ? smtpUrl([customTokenUrl]) : gmailUrl([customTokenUrl])),
        '',
      ].join('\n'),
    );
    io.stderr.write(
      'Nothing was saved. These lines hold secrets: keep them in a file only you can read (a .env), not in shell history or logs.\n',
    );
    return exitCodes.ok;
  }

  const stored: Record<string, unknown> = {
    // Google's `authorized_user` credentials format (what gcloud writes), which gmail:// reads with credentials_file=.
    type: 'authorized_user',
    client_id: clientId,
    ...(values['store-secret'] ? { client_secret: clientSecret } : {}),
    refresh_token: result.refreshToken,
    account,
    scopes: result.scopes,
    token_url: tokenUrl,
    created: new Date().toISOString(),
  };
  await writePrivateFile(path, `${JSON.stringify(stored, null, 2)}\n`, values.force);
  const fileParameter = `credentials_file=${encodeURIComponent(path)}`;
  const urls = [
    ...(values.smtp ? [smtpUrl([fileParameter, customTokenUrl])] : []),
    // https://mail.google.com/ covers the API as well.
    gmailUrl([fileParameter, customTokenUrl]),
  ];
  const lines = [
    `Saved the refresh token${account === undefined ? '' : ` for ${account}`} to ${path} (mode 0600: only you can read it).`,
    `Scopes: ${result.scopes.join(' ')}`,
  ];
  if (values['store-secret']) {
    lines.push('Send with:', ...urls.map((url) => `  mailport send --url ${shellQuote(url)} ...`));
  } else {
    lines.push(
      'The client secret is not in the file (--store-secret puts it there). The transport reads the file',
      'with credentials_file= once it holds all three of client_id, client_secret and refresh_token:',
      ...urls.map((url) => `  ${url}`),
      `Until then, give them as GOOGLE_CLIENT_ID, GOOGLE_CLIENT_SECRET and GOOGLE_REFRESH_TOKEN (the file's refresh_token)`,
      `with --url ${shellQuote(values.smtp ? smtpUrl([customTokenUrl]) : gmailUrl([customTokenUrl]))} (--print-env prints these lines).`,
    );
  }
  io.stdout.write(`${lines.join('\n')}\n`);
  return exitCodes.ok;
}

async function authMicrosoft({ values, io, path, port, timeoutMs, ca }: Settings): Promise<number> {
  const clientId = nonEmpty(values['client-id']) ?? nonEmpty(io.env.AZURE_CLIENT_ID);
  if (clientId === undefined) {
    throw new UsageError('--client-id is required (or set AZURE_CLIENT_ID): the application (client) id of the app registration');
  }
  const tenant = nonEmpty(values.tenant) ?? nonEmpty(io.env.AZURE_TENANT_ID) ?? microsoftDefaults.tenant;
  const authorityHost = (
    nonEmpty(values['authority-host']) ??
    nonEmpty(io.env.AZURE_AUTHORITY_HOST) ??
    microsoftDefaults.authorityHost
  ).replace(/\/+$/, '');
  if (!URL.canParse(authorityHost) || !/^https?:$/.test(new URL(authorityHost).protocol)) {
    throw new UsageError(`--authority-host ${authorityHost} is not an http(s) URL`);
  }
  const resource = values.smtp ? microsoftScopes.smtp : microsoftScopes.api;
  const scopes = unique([...microsoftScopes.signIn, resource, ...(values.scope ?? [])]);
  const signIn = values.loopback ? signInWithMicrosoftLoopback : signInWithMicrosoftDeviceCode;
  const clientSecret = nonEmpty(values['client-secret']);
  const result = await signIn(
    { clientId, clientSecret, tenant, authorityHost, scopes, timeoutMs, loginHint: values.user, open: values.open, port, ca },
    io,
  );
  const account = accountOf(result, values.user, io);
  // What the Graph transport asks for on refresh: the resource's scope and offline_access (its defaults).
  const refreshScopes = result.scopes.filter((scope) => scope !== 'openid' && scope !== 'profile' && scope !== 'email');
  const customAuthority = authorityHost === microsoftDefaults.authorityHost ? undefined : authorityHost;
  io.stderr.write(`Signed in${account === undefined ? '' : ` as ${account}`}.\n`);

  if (path === undefined) {
    io.stdout.write(
      [
        environmentLine('AZURE_CLIENT_ID', clientId),
        environmentLine('AZURE_TENANT_ID', tenant),
        ...(customAuthority === undefined ? [] : [environmentLine('AZURE_AUTHORITY_HOST', customAuthority)]),
        ...(clientSecret === undefined ? [] : [environmentLine('AZURE_CLIENT_SECRET', clientSecret)]),
        environmentLine('MAILPORT_MICROSOFT_REFRESH_TOKEN', result.refreshToken),
        '',
      ].join('\n'),
    );
    io.stderr.write(
      [
        'Nothing was saved. These lines hold secrets: keep them in a file only you can read (a .env), not in shell history or logs.',
        'The Graph transport reads AZURE_CLIENT_ID, AZURE_TENANT_ID and AZURE_AUTHORITY_HOST from the environment, but not the',
        'refresh token: Microsoft rotates it on every use, so it needs a place to store the new one. Save it to a file instead',
        '(mailport auth microsoft without --print-env) and use refresh_token_file=, or pass onRefreshToken in code.',
        '',
      ].join('\n'),
    );
    return exitCodes.ok;
  }

  const stored: Record<string, unknown> = {
    type: 'microsoft_delegated',
    client_id: clientId,
    ...(values['store-secret'] && clientSecret !== undefined ? { client_secret: clientSecret } : {}),
    tenant,
    authority_host: authorityHost,
    token_url: `${authorityHost}/${encodeURIComponent(tenant)}/oauth2/v2.0/token`,
    refresh_token: result.refreshToken,
    account,
    scopes: refreshScopes,
    created: new Date().toISOString(),
  };
  await writePrivateFile(path, `${JSON.stringify(stored, null, 2)}\n`, values.force);
  // The file carries the client id, tenant, authority and token; the transport writes each rotated token back to it.
  const query = [`refresh_token_file=${encodeURIComponent(path)}`];
  const sender = account ?? 'YOU@YOUR-DOMAIN';
  const url = values.smtp
    ? `smtp://${encodeURIComponent(sender)}@smtp.office365.com:587${queryString(['oauth=microsoft', ...query])}`
    : `graph://${sender}${queryString(query)}`;
  io.stdout.write(
    [
      `Saved the refresh token${account === undefined ? '' : ` for ${account}`} to ${path} (mode 0600: only you can read it).`,
      `Scopes: ${refreshScopes.join(' ')}`,
      values.smtp
        ? 'Use it for SMTP with XOAUTH2 (as the signed-in user):'
        : 'Use it with the Graph transport (delegated: it sends as the signed-in user, through /me):',
      `  ${url}`,
      'Microsoft rotates refresh tokens (each refresh returns a new one and the old one stops working): the transport',
      'writes every new one back to that file, so keep it writable. In code: microsoftDelegated({ ..., onRefreshToken }).',
      '',
    ].join('\n'),
  );
  return exitCodes.ok;
}

/** The account for the URL: the signed-in one, which wins over --user (the token acts for it only). */
function accountOf(result: SignInResult, user: string | undefined, io: CliIo): string | undefined {
  if (result.account !== undefined && user !== undefined && result.account.toLowerCase() !== user.toLowerCase()) {
    io.stderr.write(`Note: signed in as ${result.account}, not ${user}; the token acts for ${result.account}.\n`);
  }
  return result.account ?? user;
}

function queryString(parts: readonly string[]): string {
  const present = parts.filter((part) => part !== '');
  return present.length === 0 ? '' : `?${present.join('&')}`;
}

function unique(values: readonly string[]): string[] {
  return [...new Set(values)];
}
