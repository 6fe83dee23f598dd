import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import {
  type AdapterOptions,
  isLoopback,
  MailError,
  type Secret,
  type TokenProvider,
  type TransportFactoryContext,
  type TransportUrl,
  type UrlParams,
  urlParams,
} from '@mailport/core';

/** User name and password (AUTH PLAIN or LOGIN, as the server offers). */
export interface SmtpPasswordAuth {
  readonly user: string;
  /** Kept out of `String()`, `util.inspect` and errors either way; a {@link Secret} makes that explicit. */
  readonly pass: string | Secret;
}

/** XOAUTH2 with tokens from a {@link TokenProvider}: on a refused token, one refresh and one retry. */
export interface SmtpOAuthAuth {
  readonly user: string;
  readonly tokenProvider: TokenProvider;
}

/** Options of {@link createSmtpTransport}. */
export interface SmtpTransportOptions {
  host: string;
  /** Default 465 when `secure`, else 587. */
  port?: number | undefined;
  /** Implicit TLS from the first byte (usually port 465). Default: true on port 465. */
  secure?: boolean | undefined;
  /**
   * Refuse to go on without STARTTLS. Default true, except with `secure` (TLS already) and on
   * loopback hosts, where STARTTLS is still used when the server offers it.
   */
  requireTls?: boolean | undefined;
  auth?: SmtpPasswordAuth | SmtpOAuthAuth | undefined;
  /** Reuse connections across messages. Default true. */
  pool?: boolean | undefined;
  /** Connections at most, when pooling. Default 5. */
  maxConnections?: number | undefined;
  /** Messages per connection before it is replaced, when pooling. Default 100. */
  maxMessagesPerConnection?: number | undefined;
  /** Close pooled connections after this long without a send, in ms. Default 5 000. */
  idleTimeoutMs?: number | undefined;
  /** Time to open the TCP connection, in ms. Default 10 000. */
  connectionTimeoutMs?: number | undefined;
  /** Time for the server's greeting once connected, in ms. Default 10 000. */
  greetingTimeoutMs?: number | undefined;
  /** Longest silence from the server during a session, in ms. Default 30 000. */
  socketTimeoutMs?: number | undefined;
  /** The name sent with EHLO. Default: the machine's host name, or `[127.0.0.1]`. */
  ehloName?: string | undefined;
  /** CA certificates (PEM) to trust besides the system's, for a private server. */
  ca?: string | Buffer | readonly (string | Buffer)[] | undefined;
  /** Further TLS options (`servername`, `minVersion`, ...). Certificates are always verified. */
  tls?: Omit<ConnectionOptions, 'rejectUnauthorized'> | undefined;
  /** The largest message to accept, declared as a capability for routing. Default: none (the server's SIZE still applies). */
  maxMessageSize?: number | undefined;
  /** The most recipients per message, declared as a capability for routing. Default: none. */
  maxRecipients?: number | undefined;
  /** The transport id. Default `smtp://host:port` (or `smtps://`). */
  id?: string | undefined;
}

declare module '@mailport/core' {
  interface AdapterOptions {
    /** `createTransport(url, { adapters: { smtp: ... } })`: options merged over the URL's. */
    smtp: SmtpAdapterOptions;
    /** The same for `smtps://` URLs. */
    smtps: SmtpAdapterOptions;
  }
}

/**
 * Options of `smtp://` and `smtps://` URLs given in code: any {@link SmtpTransportOptions}, the
 * token provider for `auth=xoauth2`, and with `oauth=microsoft` and a delegated refresh token
 * the handler that stores each rotated one.
 */
export type SmtpAdapterOptions = Partial<SmtpTransportOptions> & {
  readonly tokenProvider?: TokenProvider | undefined;
  readonly refreshToken?: string | Secret | undefined;
  readonly onRefreshToken?: ((refreshToken: string) => void | Promise<void>) | undefined;
};

/**
 * The query parameters of `smtp://` and `smtps://` URLs, those the OAuth layer of `oauth=`
 * reads included: the README's parameter tables list each one (a test checks it).
 */
export const smtpUrlParameters = [
  'pool',
  'max_connections',
  'max_messages',
  'idle_timeout',
  'connect_timeout',
  'greeting_timeout',
  'socket_timeout',
  'ehlo_name',
  'ca_file',
  'require_tls',
  'auth',
  'oauth',
  'max_size',
  'max_recipients',
  // Read by Google's OAuth layer (oauth=google) through the same reader.
  'client_id',
  'client_secret',
  'refresh_token',
  'credentials_file',
  'scopes',
  'token_url',
  // Read by Microsoft's (oauth=microsoft); client_id, client_secret, refresh_token and ca_file as well.
  'tenant',
  'certificate_path',
  'certificate_password',
  'authority_host',
  'refresh_token_file',
] as const;

/** The name of one of {@link smtpUrlParameters}. */
export type SmtpUrlParameter = (typeof smtpUrlParameters)[number];

/** Options with every default filled in. */
export interface ResolvedSmtpOptions {
  readonly host: string;
  readonly port: number;
  readonly secure: boolean;
  readonly requireTls: boolean;
  readonly auth: SmtpPasswordAuth | SmtpOAuthAuth | undefined;
  readonly pool: boolean;
  readonly maxConnections: number;
  readonly maxMessagesPerConnection: number;
  readonly idleTimeoutMs: number;
  readonly connectionTimeoutMs: number;
  readonly greetingTimeoutMs: number;
  readonly socketTimeoutMs: number;
  readonly ehloName: string | undefined;
  readonly tls: ConnectionOptions;
  readonly maxMessageSize: number | undefined;
  readonly maxRecipients: number | undefined;
  readonly id: string;
}

/** Validates options and fills in defaults; throws `configuration` errors. */
export function resolveSmtpOptions(options: SmtpTransportOptions): ResolvedSmtpOptions {
  if (typeof options.host !== 'string' || options.host.trim() === '') {
    throw new MailError('configuration', 'SMTP transport: host is required', {
      remediation: 'Give the server name, as in smtp://user:pass@smtp.example.com:587.',
    });
  }
  const host = options.host.trim();
  const secure = options.secure ?? options.port === 465;
  const port = options.port ?? (secure ? 465 : 587);
  if (!Number.isInteger(port) || port < 1 || port > 65_535) {
    throw new MailError('configuration', `SMTP transport: port ${port} is not a TCP port`);
  }
  const positive = (name: string, value: number | undefined, fallback: number): number => {
    const result = value ?? fallback;
    if (!Number.isFinite(result) || result <= 0) throw new MailError('configuration', `SMTP transport: ${name} must be above 0`);
    return result;
  };
  const auth = options.auth;
  if (auth !== undefined) {
    if (typeof auth.user !== 'string' || auth.user === '') throw new MailError('configuration', 'SMTP transport: auth.user is required');
    if (!('tokenProvider' in auth) && !('pass' in auth)) {
      throw new MailError('configuration', 'SMTP transport: auth needs pass or tokenProvider');
    }
  }
  const scheme = secure ? 'smtps' : 'smtp';
  const hostInId = isIP(host) === 6 ? `[${host}]` : host;
  return Object.freeze({
    host,
    port,
    secure,
    requireTls: options.requireTls ?? (!secure && !isLoopback(host)),
    auth,
    pool: options.pool ?? true,
    maxConnections: positive('maxConnections', options.maxConnections, 5),
    maxMessagesPerConnection: positive('maxMessagesPerConnection', options.maxMessagesPerConnection, 100),
    idleTimeoutMs: positive('idleTimeoutMs', options.idleTimeoutMs, 5_000),
    connectionTimeoutMs: positive('connectionTimeoutMs', options.connectionTimeoutMs, 10_000),
    greetingTimeoutMs: positive('greetingTimeoutMs', options.greetingTimeoutMs, 10_000),
    socketTimeoutMs: positive('socketTimeoutMs', options.socketTimeoutMs, 30_000),
    ehloName: options.ehloName,
    tls: Object.freeze({
      ...options.tls,
      ...(options.ca === undefined ? {} : { ca: options.ca as ConnectionOptions['ca'] }),
      rejectUnauthorized: true,
      minVersion: options.tls?.minVersion ?? 'TLSv1.2',
    }),
    maxMessageSize: options.maxMessageSize,
    maxRecipients: options.maxRecipients,
    id: options.id ?? `${scheme}://${hostInId}:${port}`,
  });
}

/**
 * Reads `smtp://` and `smtps://` URLs. The parameters ({@link smtpUrlParameters}) are in the
 * package README's tables; `oauth=` is read (and its provider loaded) by `createTransportFromUrl`,
 * which passes its reader here.
 */
export function smtpOptionsFromUrl(
  url: TransportUrl,
  context: Pick<TransportFactoryContext<AdapterOptions['smtp']>, 'tokenProvider' | 'options'>,
  params: UrlParams<SmtpUrlParameter> = urlParams(url, { known: smtpUrlParameters }),
): SmtpTransportOptions {
  if (url.host === '')
    throw new MailError('configuration', `Transport URL ${url.redacted} has no host`, {
      remediation: 'Write smtp://user:password@host:587.',
    });
  const secure = url.scheme === 'smtps';
  // oauth= is read (and its provider loaded) by createTransportFromUrl; here it only implies XOAUTH2.
  const oauth = params.string('oauth');
  const authMode = params.string('auth')?.toLowerCase() ?? (oauth === undefined ? undefined : 'xoauth2');
  let auth: SmtpTransportOptions['auth'];
  if (authMode === 'xoauth2') {
    if (url.username === undefined)
      throw new MailError('configuration', `Transport URL ${url.redacted}: auth=xoauth2 needs the user name`, {
        remediation: 'Write smtp://user%40example.com@host:587?auth=xoauth2.',
      });
    const tokenProvider = context.options.tokenProvider ?? context.tokenProvider;
    if (tokenProvider === undefined) {
      throw new MailError('configuration', `Transport URL ${url.redacted}: auth=xoauth2 needs a token provider`, {
        remediation: 'Add oauth=google or oauth=microsoft to the URL, or pass createTransport(url, { tokenProvider }).',
      });
    }
    auth = { user: url.username, tokenProvider };
  } else if (authMode !== undefined && authMode !== 'password') {
    throw new MailError('configuration', `Transport URL ${url.redacted}: auth=${authMode} is not supported`, {
      remediation: 'Use auth=xoauth2, or leave auth out for a password.',
    });
  } else if (url.username !== undefined) {
    if (url.password === undefined) {
      throw new MailError('configuration', `Transport URL ${url.redacted} has a user name but no password`, {
        remediation: 'Write smtp://user:password@host (percent-encode special characters), or add auth=xoauth2.',
      });
    }
    auth = { user: url.username, pass: url.password };
  }
  const caFile = params.string('ca_file');
  let ca: Buffer | undefined;
  if (caFile !== undefined) {
    try {
      ca = readFileSync(caFile);
    } catch (error) {
      throw new MailError('configuration', `Transport URL ${url.redacted}: cannot read ca_file ${caFile}: ${(error as Error).message}`, {
        cause: error,
      });
    }
  }
  const options: SmtpTransportOptions = {
    host: url.host,
    port: url.port,
    secure,
    requireTls: params.boolean('require_tls'),
    auth,
    pool: params.boolean('pool'),
    maxConnections: params.integer('max_connections', { min: 1 }),
    maxMessagesPerConnection: params.integer('max_messages', { min: 1 }),
    idleTimeoutMs: params.duration('idle_timeout'),
    connectionTimeoutMs: params.duration('connect_timeout'),
    greetingTimeoutMs: params.duration('greeting_timeout'),
    socketTimeoutMs: params.duration('socket_timeout'),
    ehloName: params.string('ehlo_name'),
    ca,
    maxMessageSize: params.integer('max_size', { min: 1 }),
    maxRecipients: params.integer('max_recipients', { min: 1 }),
  };
  params.done();
  const { tokenProvider: _tokens, refreshToken: _refreshToken, onRefreshToken: _onRefreshToken, ...overrides } = context.options;
  return { ...options, ...overrides };
}
