import type { TokenCredentialOptions } from '@azure/identity';
import { certificateCodes, MailError, type MailErrorCode, noAnswerError } from '@mailport/core';

/** @azure/core-rest-pipeline's policy, as @azure/identity's options take it. */
type PipelinePolicy = NonNullable<TokenCredentialOptions['additionalPolicies']>[number]['policy'];

/** What the mapping reads from a failed token request (MSAL, @azure/identity, or the plain refresh POST). */
export interface MicrosoftTokenFailure {
  /** The OAuth error: `invalid_grant`, `invalid_client`, `unauthorized_client`, `invalid_scope`, ... */
  readonly error?: string | undefined;
  /** The first AADSTS number (`7000215`). */
  readonly aadsts?: number | undefined;
  /** The HTTP status of the token endpoint, when it answered. */
  readonly status?: number | undefined;
  readonly description: string;
  /** No answer came (connection refused, DNS, timeout, TLS) or the authority's metadata could not be read. */
  readonly unreachable?: boolean | undefined;
  /**
   * Why no answer came, when known: the system or TLS error code (`ECONNREFUSED`, `ENOTFOUND`,
   * `ETIMEDOUT`, `SELF_SIGNED_CERT_IN_CHAIN`, `CERT_HAS_EXPIRED`, ...).
   */
  readonly networkCode?: string | undefined;
}

// The codes a failure's description may name: TLS failures to verify the authority's certificate
// (no retry fixes them, a change of trust or host does) and failures to reach it.
const networkCodePattern = new RegExp(
  `\\b(${[...certificateCodes, 'ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'ECONNRESET'].join('|')})\\b`,
);

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
    // No answer came: core's rule. A token request sends no mail, so repeating it is always safe.
    const reach =
      'Check authority_host and the tenant, and that the host is reachable from here (proxy, firewall, TLS trust: ca_file for a private CA).';
    return noAnswerError(
      { code: failure.networkCode, message: said },
      {
        transport: context.transport,
        operation: where,
        idempotent: true,
        remediations: {
          certificate:
            'Check authority_host; for an authority behind a private CA give that CA with ca_file (or NODE_EXTRA_CA_CERTS). Never turn verification off.',
          'host-not-found': 'Check authority_host.',
          refused: reach,
          'before-connect': reach,
          dropped: reach,
          'connect-timeout': reach,
          timeout: reach,
        },
      },
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
 * read. MSAL reduces both a refused discovery request and a failed connection to
 * `endpoints_resolution_error`, so `seen` (what the credential's own HTTP pipeline saw, see
 * {@link IdentityWitness}) tells them apart.
 */
export function tokenFailureFromIdentityError(error: unknown, seen: IdentityWitness['seen'] = {}): MicrosoftTokenFailure {
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
  const status = cause?.status ?? value.statusCode;
  if (unreachable && status === undefined && seen.refused !== undefined) {
    // The authority answered, with an error MSAL did not pass on: that answer is the failure.
    return { ...seen.refused, unreachable: false };
  }
  return {
    error: errorCode,
    aadsts: aadsts === undefined ? undefined : Number(aadsts),
    status,
    description: (seen.network?.message ?? description).replace(/^[a-z_]+: Error\(s\): \d+ - Timestamp: [^-]+ - Description: /, ''),
    unreachable: unreachable && status === undefined,
    networkCode: seen.network?.code ?? networkCodePattern.exec(description)?.[1],
  };
}

/** What {@link IdentityWitness} saw of the last token request. */
export interface IdentityWitnessRecord {
  /** An error answer (OpenID discovery, instance discovery or token endpoint), read as Entra ID words it. */
  refused?: Pick<MicrosoftTokenFailure, 'error' | 'aadsts' | 'status' | 'description'> | undefined;
  /** A request that got no answer: its system or TLS error code and message. */
  network?: { readonly code: string | undefined; readonly message: string } | undefined;
}

/** A pipeline policy for an @azure/identity credential, and the last failure it saw since `reset()`. */
export interface IdentityWitness {
  /** For `additionalPolicies` of the credential's options (position `perCall`). */
  readonly policy: PipelinePolicy;
  readonly seen: IdentityWitnessRecord;
  reset(): void;
}

/**
 * Watches the HTTP requests an @azure/identity credential makes (through `additionalPolicies`, its
 * public option) and keeps the last error answer and the last network failure. MSAL turns a 400
 * `invalid_tenant` from OpenID discovery and an untrusted certificate alike into
 * `endpoints_resolution_error`; what the witness saw tells an unknown tenant (`configuration`)
 * from an authority that cannot be reached (`transient`).
 *
 * @example
 * ```ts
 * const witness = identityWitness();
 * const credential = new ClientSecretCredential(tenant, client, secret, { additionalPolicies: [{ policy: witness.policy, position: 'perCall' }] });
 * try { await credential.getToken(scope); } catch (error) { throw mapMicrosoftTokenError(tokenFailureFromIdentityError(error, witness.seen), { authority }); }
 * ```
 */
export function identityWitness(): IdentityWitness {
  const seen: IdentityWitnessRecord = {};
  return {
    seen,
    reset() {
      seen.refused = undefined;
      seen.network = undefined;
    },
    policy: {
      name: 'mailportIdentityWitness',
      async sendRequest(request, next) {
        let response: Awaited<ReturnType<typeof next>>;
        try {
          response = await next(request);
        } catch (error) {
          const failure = error as { code?: unknown; message?: unknown };
          // Only the last failure counts: the one that ended the token request.
          seen.refused = undefined;
          seen.network = {
            code: typeof failure.code === 'string' ? failure.code : undefined,
            message: String(failure.message ?? error),
          };
          throw error;
        }
        if (response.status >= 400) {
          seen.network = undefined;
          seen.refused = entraAnswer(response.status, response.bodyAsText ?? '');
        }
        return response;
      },
    },
  };
}

/** Entra ID's error body (`{ error, error_description, error_codes }`), or the bare status when it is not one. */
export function entraAnswer(status: number, body: string): NonNullable<IdentityWitnessRecord['refused']> {
  let parsed: { error?: unknown; error_description?: unknown; error_codes?: unknown } = {};
  try {
    const value = JSON.parse(body) as unknown;
    if (typeof value === 'object' && value !== null) parsed = value as typeof parsed;
  } catch {
    // An HTML page from a proxy or gateway: only the status says anything.
  }
  const description = typeof parsed.error_description === 'string' ? parsed.error_description : `HTTP ${status}`;
  const codes = Array.isArray(parsed.error_codes) ? parsed.error_codes : [];
  const aadsts = typeof codes[0] === 'number' ? codes[0] : Number(/AADSTS(\d+)/.exec(description)?.[1] ?? Number.NaN);
  return {
    error: typeof parsed.error === 'string' ? parsed.error : undefined,
    aadsts: Number.isFinite(aadsts) ? aadsts : undefined,
    status,
    description,
  };
}
