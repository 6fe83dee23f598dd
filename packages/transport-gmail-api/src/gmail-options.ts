import {
  type AdapterOptions,
  MailError,
  type TokenProvider,
  type TransportFactoryContext,
  type TransportUrl,
  urlParams,
} from '@mailport/core';
import { tokenProviderFromUrl } from './oauth/google-credentials.js';
import {
  type GoogleServiceAccountOptions,
  type GoogleUserOAuthOptions,
  googleServiceAccount,
  googleUserOAuth,
} from './oauth/google-oauth.js';

/** Gmail's largest message on the upload endpoint: `mediaUpload.maxSize` of `messages.send`, 35 MiB. */
export const gmailMaxMessageSize = 36_700_160;

/** Gmail's most recipients per message (To, Cc and Bcc together). */
export const gmailMaxRecipients = 100;

/** The Gmail API's root, the default `endpoint`. */
export const gmailEndpoint = 'https://gmail.googleapis.com/';

/** `auth` for a service account: the subject defaults to the transport's `user`. */
export type GmailServiceAccountAuth = Omit<GoogleServiceAccountOptions, 'subject'> & { subject?: string | undefined };

/** Options of {@link createGmailTransport}. */
export interface GmailTransportOptions {
  /**
   * The mailbox that sends: its address, or `me` for whichever account the token belongs to. An
   * address is checked against the token (Google answers "Delegation denied" for another one).
   */
  user: string;
  /** Supplies access tokens. Give this or `auth`. */
  tokenProvider?: TokenProvider | undefined;
  /**
   * Builds the token provider: `{ clientId, clientSecret, refreshToken }` for user OAuth
   * ({@link googleUserOAuth}), `{ credentials }` for a service account acting for `user`
   * ({@link googleServiceAccount}).
   */
  auth?: GoogleUserOAuthOptions | GmailServiceAccountAuth | undefined;
  /** The API root, for tests and the sandbox. Default `https://gmail.googleapis.com/`. */
  endpoint?: string | undefined;
  /**
   * The largest JSON request body, in bytes, sent to the JSON endpoint: a message whose JSON body
   * (base64url, a third larger than the message) is bigger takes the upload endpoint. Default
   * 5 000 000, a message of about 3.7 MB. Whatever it is set to, a 413 from the JSON endpoint
   * sends the message once more through the upload endpoint.
   */
  uploadThreshold?: number | undefined;
  /** The largest message to send, in bytes. Default 36 700 160 (35 MiB, Gmail's limit). */
  maxMessageSize?: number | undefined;
  /** Longest silence of an API request, in ms (behind an HTTPS_PROXY, the time for the whole request). Default 120 000. */
  timeoutMs?: number | undefined;
  /** Time to open a connection, in ms. Default 10 000. */
  connectionTimeoutMs?: number | undefined;
  /** Check the From against the account's send-as addresses before sending. Default true. */
  checkSendAs?: boolean | undefined;
  /** Sends in parallel that `sendMany` uses by default. Default 4. */
  concurrency?: number | undefined;
  /** The transport id. Default `gmail://<user>`. */
  id?: string | undefined;
}

/** Options with every default filled in. */
export interface ResolvedGmailOptions {
  readonly user: string;
  readonly tokenProvider: TokenProvider;
  readonly endpoint: string;
  readonly uploadThreshold: number;
  readonly maxMessageSize: number;
  readonly timeoutMs: number;
  readonly connectionTimeoutMs: number;
  readonly checkSendAs: boolean;
  readonly concurrency: number;
  readonly id: string;
}

/**
 * Validates options and fills in defaults; throws `configuration` errors.
 *
 * @example
 * ```ts
 * resolveGmailOptions({ user: 'a@example.com', tokenProvider }).uploadThreshold; // 5_000_000
 * ```
 */
export function resolveGmailOptions(options: GmailTransportOptions): ResolvedGmailOptions {
  const user = typeof options.user === 'string' ? options.user.trim() : '';
  if (user !== 'me' && !/^[^@\s]+@[^@\s]+$/.test(user)) {
    throw new MailError('configuration', `Gmail transport: user "${user}" is not an address or "me"`, {
      remediation: 'Give the sending mailbox, as in gmail://user@example.com.',
    });
  }
  let tokenProvider = options.tokenProvider;
  if (tokenProvider === undefined && options.auth !== undefined) {
    tokenProvider =
      'credentials' in options.auth
        ? googleServiceAccount({ ...options.auth, subject: options.auth.subject ?? (user === 'me' ? undefined : user) })
        : googleUserOAuth(options.auth);
  }
  if (tokenProvider === undefined || typeof tokenProvider.getAccessToken !== 'function') {
    throw new MailError('configuration', 'Gmail transport: no credentials', {
      remediation: 'Pass tokenProvider, or auth with { clientId, clientSecret, refreshToken } or { credentials } of a service account.',
    });
  }
  const endpoint = options.endpoint ?? gmailEndpoint;
  if (!URL.canParse(endpoint) || !/^https?:$/.test(new URL(endpoint).protocol)) {
    throw new MailError('configuration', `Gmail transport: endpoint ${endpoint} is not an http(s) URL`, {
      remediation: `Leave endpoint out for ${gmailEndpoint}.`,
    });
  }
  const positive = (name: string, value: number | undefined, fallback: number): number => {
    const result = value ?? fallback;
    if (!Number.isFinite(result) || result <= 0) throw new MailError('configuration', `Gmail transport: ${name} must be a number above 0`);
    return result;
  };
  const maxMessageSize = positive('maxMessageSize', options.maxMessageSize, gmailMaxMessageSize);
  if (maxMessageSize > gmailMaxMessageSize) {
    throw new MailError('configuration', `Gmail transport: maxMessageSize ${maxMessageSize} is over Gmail's ${gmailMaxMessageSize}`, {
      remediation: 'Gmail takes at most 35 MB per message.',
    });
  }
  return Object.freeze({
    user,
    tokenProvider,
    endpoint: endpoint.endsWith('/') ? endpoint : `${endpoint}/`,
    uploadThreshold: positive('uploadThreshold', options.uploadThreshold, 5_000_000),
    maxMessageSize,
    timeoutMs: positive('timeoutMs', options.timeoutMs, 120_000),
    connectionTimeoutMs: positive('connectionTimeoutMs', options.connectionTimeoutMs, 10_000),
    checkSendAs: options.checkSendAs ?? true,
    concurrency: positive('concurrency', options.concurrency, 4),
    id: options.id ?? `gmail://${user}`,
  });
}

declare module '@mailport/core' {
  interface AdapterOptions {
    /** `createTransport(url, { adapters: { gmail: ... } })`: options merged over the URL's (a `tokenProvider` wins over the environment, not over credentials in the URL). */
    gmail: Partial<GmailTransportOptions>;
  }
}

/**
 * The query parameters of `gmail://` URLs, the OAuth ones included: the README's parameter
 * table lists each one, and the old spellings of {@link gmailUrlAliases} (a test checks it).
 */
export const gmailUrlParameters = [
  'client_id',
  'client_secret',
  'refresh_token',
  'credentials_file',
  'scopes',
  'token_url',
  'endpoint',
  'upload_threshold',
  'max_size',
  'timeout',
  'connect_timeout',
  'check_send_as',
  'concurrency',
] as const;

/** Old spellings still accepted: `root_url` is `endpoint`. */
export const gmailUrlAliases: Readonly<Record<string, (typeof gmailUrlParameters)[number]>> = Object.freeze({ root_url: 'endpoint' });

// Parameters that carry credentials: when one is present, the URL's credentials win over a token provider passed in code.
const credentialParameters = ['client_id', 'client_secret', 'refresh_token', 'credentials_file'];

/**
 * Reads `gmail://user@example.com?...` URLs. Credentials come from the URL, else from the
 * `tokenProvider` given to `createTransport`, else from the environment (see
 * `tokenProviderFromUrl` in `@mailport/transport-gmail-api/oauth`). The parameters
 * ({@link gmailUrlParameters}) are in the package README's table.
 *
 * @example
 * ```ts
 * const options = gmailOptionsFromUrl(parseTransportUrl('gmail://a@example.com?credentials_file=/etc/key.json'), { env: process.env, options: {}, tokenProvider: undefined });
 * ```
 */
export function gmailOptionsFromUrl(url: TransportUrl, context: TransportFactoryContext<AdapterOptions['gmail']>): GmailTransportOptions {
  if (url.password !== undefined) {
    throw new MailError('configuration', `Transport URL ${url.redacted} has a password`, {
      remediation:
        'Gmail takes OAuth only: put client_id, client_secret and refresh_token in the query (or the environment), not a password.',
    });
  }
  const user = url.username === undefined ? url.host : `${url.username}@${url.host}`;
  if (user === '' || (url.username === undefined && user !== 'me')) {
    throw new MailError('configuration', `Transport URL ${url.redacted} names no mailbox`, {
      remediation: 'Write gmail://user@example.com (or gmail://me for the account of the token).',
    });
  }
  const params = urlParams(url, { known: gmailUrlParameters, aliases: gmailUrlAliases });
  const injected = context.options.tokenProvider ?? context.tokenProvider;
  const fromUrl = credentialParameters.some((name) => url.params.has(name));
  // Credentials given in code (`adapters: { gmail: { auth: { credentials } } }`): a service account
  // key from a Worker's secret needs no credentials_file.
  const inCode = !fromUrl && injected === undefined && context.options.auth !== undefined;
  let tokenProvider: TokenProvider | undefined;
  if (inCode) {
    tokenProvider = undefined;
  } else if (!fromUrl && injected !== undefined) {
    tokenProvider = injected;
    for (const name of ['token_url', 'scopes'] as const) {
      if (params.string(name) !== undefined) {
        throw new MailError('configuration', `Transport URL ${url.redacted}: ${name} needs credentials in the URL`, {
          remediation: `The token provider passed to createTransport makes its own tokens; remove ${name}=.`,
        });
      }
    }
  } else {
    tokenProvider = tokenProviderFromUrl(url, context, { purpose: 'api', params, subject: user === 'me' ? undefined : user });
  }
  const options: GmailTransportOptions = {
    user,
    tokenProvider,
    endpoint: params.string('endpoint'),
    uploadThreshold: params.integer('upload_threshold', { min: 1 }),
    maxMessageSize: params.integer('max_size', { min: 1, max: gmailMaxMessageSize }),
    timeoutMs: params.duration('timeout'),
    connectionTimeoutMs: params.duration('connect_timeout'),
    checkSendAs: params.boolean('check_send_as'),
    concurrency: params.integer('concurrency', { min: 1 }),
  };
  params.done();
  const { tokenProvider: _ignored, ...overrides } = context.options;
  return { ...options, ...overrides };
}
