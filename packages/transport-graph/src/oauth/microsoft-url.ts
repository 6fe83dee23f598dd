import { readFileSync } from 'node:fs';
import {
  MailError,
  type Secret,
  type TokenProvider,
  type TransportFactoryContext,
  type TransportUrl,
  type UrlParams,
  urlParams,
} from '@mailport/core';
import { type MicrosoftAppOnlyOptions, microsoftAppOnly, microsoftScopes } from './microsoft-app-only.js';
import { type MicrosoftDelegatedOptions, microsoftDelegated } from './microsoft-delegated.js';
import { readRefreshTokenFile } from './refresh-token-file.js';

/**
 * What the Microsoft OAuth layer reads from a transport's adapter options
 * (`createTransport(url, { adapters: { graph: ... } })`, `smtp` likewise): a delegated refresh
 * token given in code, and the handler that stores each rotated one.
 */
export interface MicrosoftUrlOptions {
  readonly refreshToken?: string | Secret | undefined;
  readonly onRefreshToken?: MicrosoftDelegatedOptions['onRefreshToken'] | undefined;
}

/** Microsoft credentials read from a URL and the environment. */
export interface MicrosoftUrlCredentials {
  /** App-only options without scopes, when a tenant, client id and secret or certificate were found. */
  readonly appOnly: Omit<MicrosoftAppOnlyOptions, 'scopes'> | undefined;
  /** Delegated options without scopes, when a refresh token was given (URL `refresh_token` or `options.refreshToken`). */
  readonly delegated: Omit<MicrosoftDelegatedOptions, 'scopes'> | undefined;
  /** What was missing, for the error when neither is complete. */
  readonly missing: readonly string[];
}

/**
 * Reads Microsoft credentials: URL parameters first, then the environment variables
 * @azure/identity's EnvironmentCredential reads.
 *
 * | parameter | environment variable |
 * | --- | --- |
 * | `tenant` | `AZURE_TENANT_ID` |
 * | `client_id` | `AZURE_CLIENT_ID` |
 * | `client_secret` | `AZURE_CLIENT_SECRET` |
 * | `certificate_path` | `AZURE_CLIENT_CERTIFICATE_PATH` |
 * | `certificate_password` | `AZURE_CLIENT_CERTIFICATE_PASSWORD` |
 * | `authority_host` | `AZURE_AUTHORITY_HOST` |
 * | `ca_file` | (none) |
 * | `refresh_token` | (none; or `options.refreshToken`, with `options.onRefreshToken` required) |
 * | `refresh_token_file` | (none) a file written by `mailport auth microsoft`: its client id, tenant, authority and refresh token, and every rotated token is written back to it |
 */
export function microsoftCredentialsFromUrl(
  url: TransportUrl,
  params: UrlParams,
  context: Pick<TransportFactoryContext<MicrosoftUrlOptions>, 'env' | 'options'>,
): MicrosoftUrlCredentials {
  const env = context.env;
  const tokenFilePath = params.string('refresh_token_file');
  const tokenFile = tokenFilePath === undefined ? undefined : readRefreshTokenFile(tokenFilePath);
  // URL parameters first, then the token file's own values, then the environment.
  const pick = (name: string, variable: string | undefined, fromFile?: string | undefined): string | undefined => {
    const value = params.string(name) ?? fromFile ?? (variable === undefined ? undefined : env[variable]);
    return value === undefined || value === '' ? undefined : value;
  };
  const secretParam = (name: string, variable: string | undefined, fromFile?: Secret | undefined): Secret | string | undefined =>
    params.secret(name) ??
    fromFile ??
    (variable === undefined || env[variable] === undefined || env[variable] === '' ? undefined : (env[variable] as string));
  const tenantId = pick('tenant', 'AZURE_TENANT_ID', tokenFile?.tenant);
  const clientId = pick('client_id', 'AZURE_CLIENT_ID', tokenFile?.clientId);
  const clientSecret = secretParam('client_secret', 'AZURE_CLIENT_SECRET', tokenFile?.clientSecret);
  const certificatePath = pick('certificate_path', 'AZURE_CLIENT_CERTIFICATE_PATH');
  const certificatePassword = secretParam('certificate_password', 'AZURE_CLIENT_CERTIFICATE_PASSWORD');
  const authorityHost = pick('authority_host', 'AZURE_AUTHORITY_HOST', tokenFile?.authorityHost);
  const caFile = params.string('ca_file');
  const refreshToken = params.secret('refresh_token') ?? tokenFile?.refreshToken ?? context.options.refreshToken;
  let ca: Buffer | undefined;
  if (caFile !== undefined) {
    try {
      ca = readFileSync(caFile);
    } catch (error) {
      throw new MailError('configuration', `Transport URL ${url.redacted}: cannot read ca_file ${caFile}: ${(error as Error).message}`);
    }
  }
  const missing: string[] = [];
  if (clientId === undefined) missing.push('client_id (or AZURE_CLIENT_ID)');
  let delegated: MicrosoftUrlCredentials['delegated'];
  if (refreshToken !== undefined && clientId !== undefined) {
    const onRefreshToken = context.options.onRefreshToken ?? tokenFile?.store;
    if (typeof onRefreshToken !== 'function') {
      throw new MailError(
        'configuration',
        `Transport URL ${url.redacted}: a refresh token needs onRefreshToken to store the rotated ones`,
        {
          remediation: `Use refresh_token_file= (a file from mailport auth microsoft, kept up to date), or pass createTransport(url, { adapters: { ${url.scheme}: { onRefreshToken: (token) => store(token) } } }): Microsoft refresh tokens work once.`,
        },
      );
    }
    delegated = {
      clientId,
      tenantId,
      refreshToken,
      onRefreshToken,
      clientSecret,
      authorityHost,
      ca,
    };
  }
  let appOnly: MicrosoftUrlCredentials['appOnly'];
  if (tenantId === undefined) missing.push('tenant (or AZURE_TENANT_ID)');
  if (clientSecret === undefined && certificatePath === undefined)
    missing.push('client_secret (or AZURE_CLIENT_SECRET, or AZURE_CLIENT_CERTIFICATE_PATH)');
  if (tenantId !== undefined && clientId !== undefined && (clientSecret !== undefined || certificatePath !== undefined)) {
    appOnly = {
      tenantId,
      clientId,
      ...(clientSecret !== undefined ? { clientSecret } : { certificatePath, certificatePassword }),
      authorityHost,
      ca,
    };
  }
  return { appOnly, delegated, missing };
}

/** Options of {@link tokenProviderFromUrl}. */
export interface TokenProviderFromUrlOptions {
  /** `smtp`: app-only scope `https://outlook.office365.com/.default` (delegated `https://outlook.office.com/SMTP.Send`); `api`: Graph. */
  readonly purpose: 'smtp' | 'api';
  /**
   * The caller's reader of the URL's parameters, so that its `done()` knows the parameters read
   * here. Without it a reader is made here (and its `done()` is not called).
   */
  readonly params?: UrlParams | undefined;
  /**
   * Delegated scopes to ask for instead of the purpose's (`Mail.Send` or `SMTP.Send`, with
   * `offline_access`): a mailbox reader asks for `Mail.ReadWrite`. The refresh token must have been
   * granted them (`mailport auth microsoft --scope ...`). App-only tokens always ask for `.default`:
   * the application permissions the app was granted.
   */
  readonly scopes?: readonly string[] | undefined;
}

/**
 * A Microsoft token provider from a transport URL and the environment, for SMTP XOAUTH2 with
 * Microsoft 365 (`smtp://user%40contoso.com@smtp.office365.com:587?auth=xoauth2&oauth=microsoft&tenant=...`)
 * or for the Graph API. App-only (client credentials) unless a refresh token is given; see
 * {@link microsoftCredentialsFromUrl} for the parameters and environment variables.
 *
 * @example
 * ```ts
 * // In an SMTP adapter, with its own reader:
 * const params = urlParams(url);
 * const tokens = tokenProviderFromUrl(url, context, { purpose: 'smtp', params });
 * params.done();
 * ```
 */
export function tokenProviderFromUrl(
  url: TransportUrl,
  context: Pick<TransportFactoryContext<MicrosoftUrlOptions>, 'env' | 'options'>,
  options: TokenProviderFromUrlOptions,
): TokenProvider {
  const params = options.params ?? urlParams(url);
  const credentials = microsoftCredentialsFromUrl(url, params, context);
  if (credentials.delegated !== undefined) {
    return microsoftDelegated({
      ...credentials.delegated,
      scopes:
        options.scopes ??
        (options.purpose === 'smtp'
          ? ['https://outlook.office.com/SMTP.Send', 'offline_access']
          : ['https://graph.microsoft.com/Mail.Send', 'offline_access']),
    });
  }
  if (credentials.appOnly !== undefined) {
    return microsoftAppOnly({ ...credentials.appOnly, scopes: options.purpose === 'smtp' ? microsoftScopes.smtp : microsoftScopes.graph });
  }
  throw new MailError('configuration', `Transport URL ${url.redacted}: Microsoft OAuth needs ${credentials.missing.join(', ')}`, {
    remediation:
      'Add tenant, client_id and client_secret to the URL, or set AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET (or AZURE_CLIENT_CERTIFICATE_PATH).',
  });
}
