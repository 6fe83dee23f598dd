import { MailError, type MailErrorCode } from '@mailport/core';

/** What the mapping reads from a failed token request (MSAL, @azure/identity, or the plain refresh POST). */
export interface MicrosoftTokenFailure {
  /** The OAuth error: `invalid_grant`, `invalid_client`, `unauthorized_client`, `invalid_scope`, ... */
  readonly error?: string | undefined;
  /** The first AADSTS number (`7000215`). */
  readonly aadsts?: number | undefined;
  /** The HTTP status of the token endpoint, when it answered. */
  readonly status?: number | undefined;
  readonly description: string;
  /** No answer came (connection refused, DNS, timeout) or the authority's metadata could not be read. */
  readonly unreachable?: boolean | undefined;
}

/** The remediation for a dead refresh token: the user has to sign in and consent again. */
export const reconsentRemediation: string =
  'The refresh token was revoked, expired or already used: the user must sign in and consent again (run `mailport auth microsoft`) and the new refresh token must be stored.';

/**
 * Maps a failed Microsoft token request to a `MailError`. Credentials refused (`invalid_client`:
 * a wrong or expired client secret, an unregistered certificate) and a dead refresh token
 * (`invalid_grant`) are `auth`; a tenant, app or scope that does not exist is `configuration`.
 *
 * @example
 * ```ts
 * mapMicrosoftTokenError({ error: 'invalid_grant', aadsts: 50173, status: 400, description: '...' }, { authority });
 * // MailError { code: 'auth', remediation: 'The refresh token was revoked ... run `mailport auth microsoft` ...' }
 * ```
 */
export function mapMicrosoftTokenError(
  failure: MicrosoftTokenFailure,
  context: { transport?: string | undefined; authority: string },
): MailError {
  const { error, aadsts } = failure;
  const said = failure.description.split(/\r?\n/)[0] ?? failure.description;
  const make = (code: MailErrorCode, message: string, remediation: string, retryable?: boolean): MailError =>
    new MailError(code, message, {
      transport: context.transport,
      statusCode: failure.status,
      providerCode: aadsts === undefined ? error : `AADSTS${aadsts}`,
      remediation,
      retryable,
    });
  const where = `Microsoft token request to ${context.authority}`;
  if (failure.unreachable === true) {
    return make(
      'transient',
      `${where} failed: ${said}`,
      'Check authority_host and the tenant, and that the host is reachable from here (proxy, firewall, TLS trust: ca_file for a private CA).',
    );
  }
  if (error === 'invalid_grant') return make('auth', `${where}: the refresh token was refused (${said})`, reconsentRemediation, false);
  if (error === 'invalid_client') {
    if (aadsts === 7000222) {
      return make(
        'auth',
        `${where}: the client secret has expired (${said})`,
        'Create a new client secret in the app registration (Certificates & secrets) and use its Value.',
        false,
      );
    }
    if (aadsts === 700027 || aadsts === 700024 || aadsts === 700021 || aadsts === 50027) {
      return make(
        'auth',
        `${where}: the client certificate was refused (${said})`,
        "Upload the certificate's public part to the app registration (Certificates & secrets > Certificates), and sign with its private key.",
        false,
      );
    }
    return make(
      'auth',
      `${where}: the client credentials were refused (${said})`,
      "Check the client secret: use the secret's Value (not its Secret ID) from the app registration's Certificates & secrets page, and create a new one if it expired.",
      false,
    );
  }
  if (error === 'unauthorized_client' || aadsts === 700016) {
    return make(
      'configuration',
      `${where}: the app is not known in this tenant (${said})`,
      'Check client_id and tenant: the app registration must exist in (or be consented to by) the tenant of the mailbox.',
      false,
    );
  }
  if (aadsts === 90002 || error === 'invalid_tenant') {
    return make(
      'configuration',
      `${where}: the tenant was not found (${said})`,
      'Check the tenant id (a GUID or a verified domain) and the cloud (authority_host).',
      false,
    );
  }
  if (error === 'invalid_scope' || error === 'invalid_resource' || error === 'unsupported_grant_type' || error === 'invalid_request') {
    return make(
      'configuration',
      `${where}: ${said}`,
      'Check the scope: app-only tokens need https://graph.microsoft.com/.default (or https://outlook.office365.com/.default for SMTP).',
      false,
    );
  }
  if (failure.status === 429)
    return make(
      'rate-limited',
      `${where} was throttled: ${said}`,
      'Entra ID throttled token requests: they are cached, so this should pass soon.',
    );
  if (error === 'temporarily_unavailable' || (failure.status !== undefined && failure.status >= 500)) {
    return make('transient', `${where} failed temporarily: ${said}`, 'Entra ID is temporarily unavailable: mailport retries it.');
  }
  if (error === 'interaction_required' || error === 'consent_required')
    return make('auth', `${where}: ${said}`, reconsentRemediation, false);
  return make('auth', `${where} failed: ${said}`, 'Check tenant, client id and credentials of the app registration.', false);
}

/**
 * Reads what MSAL and @azure/identity put in their errors: `AuthenticationRequiredError` with a
 * `ServerError` cause (`errorCode`, `status`), `AuthenticationError` (`statusCode`,
 * `errorResponse`), or `CredentialUnavailableError` when the authority's metadata could not be
 * read.
 */
export function tokenFailureFromIdentityError(error: unknown): MicrosoftTokenFailure {
  const value = (error ?? {}) as {
    name?: string;
    message?: string;
    statusCode?: number;
    errorResponse?: { error?: string; errorDescription?: string };
    cause?: { name?: string; errorCode?: string; status?: number; errorMessage?: string; message?: string };
  };
  const cause = value.cause;
  const description = String(cause?.errorMessage ?? value.errorResponse?.errorDescription ?? value.message ?? error);
  const aadsts = /AADSTS(\d+)/.exec(`${description} ${value.message ?? ''}`)?.[1];
  const errorCode = cause?.errorCode ?? value.errorResponse?.error;
  const unreachable =
    value.name === 'CredentialUnavailableError' ||
    errorCode === 'network_error' ||
    errorCode === 'endpoints_resolution_error' ||
    /ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|ECONNRESET|certificate|self.signed/i.test(description);
  return {
    error: errorCode,
    aadsts: aadsts === undefined ? undefined : Number(aadsts),
    status: cause?.status ?? value.statusCode,
    description: description.replace(/^[a-z_]+: Error\(s\): \d+ - Timestamp: [^-]+ - Description: /, ''),
    unreachable: unreachable && cause?.status === undefined,
  };
}
