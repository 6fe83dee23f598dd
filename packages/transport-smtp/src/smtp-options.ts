import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import {
  type AdapterOptions,
  isLoopback,
  MailError,
  Secret,
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
  /**
   * VERP: every message goes out with its own envelope sender (MAIL FROM), made by
   * `verpAddress(messageId, verp)` of `@mailport/core/verp`, so a bounce names the message it is
   * about and a forged one fails the HMAC at the bounce receiver. Default: none (the message's own
   * envelope sender). URL: `verp_domain` and `verp_secret`.
   */
  verp?: SmtpVerpOptions | undefined;
  /**
   * RFC 3461 delivery status notifications: which reports the servers on the way send back (NOTIFY)
   * and how much of the message they return (RET); the message's Message-ID goes as ENVID. Default:
   * none asked for (each server's defaults apply, usually failures and delays). A server without the
   * DSN extension gets none of these (nodemailer leaves them out). URL: `dsn` and `dsn_return`.
   */
  dsn?: SmtpDsnOptions | undefined;
}

/** The VERP envelope senders of {@link SmtpTransportOptions.verp}. */
export interface SmtpVerpOptions {
  /** The bounce domain, whose MX is the bounce receiver: `bounces.shop.example`. */
  readonly domain: string;
  /** The HMAC key, at least 16 bytes; the bounce receiver checks with the same one. */
  readonly secret: string | Uint8Array | Secret;
  /** The local part before `+`. Default `bounces`. */
  readonly local?: string | undefined;
}

/** A report RFC 3461's NOTIFY can ask for. */
export type SmtpDsnNotify = 'success' | 'failure' | 'delay';

/** The DSN requests of {@link SmtpTransportOptions.dsn}. */
export interface SmtpDsnOptions {
  /** NOTIFY on every RCPT: any of `success`, `failure`, `delay`, or `never` alone. Default: not sent (the server decides). */
  readonly notify?: readonly SmtpDsnNotify[] | 'never' | undefined;
  /** RET on MAIL FROM: `headers` (HDRS) or `full` message in a report. Default: not sent (the server decides). */
  readonly return?: 'headers' | 'full' | undefined;
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
  'verp_domain',
  'verp_secret',
  'dsn',
  'dsn_return',
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
  /** `key()` hands the HMAC key out at the one place it is used; a function prints as nothing. */
  readonly verp: { readonly domain: string; readonly key: () => string | Uint8Array; readonly local: string } | undefined;
  /** nodemailer's `dsn` message option, less the ENVID (the Message-ID, set per message). */
  readonly dsn: { readonly notify: string | undefined; readonly ret: 'HDRS' | 'FULL' | undefined } | undefined;
}

const dnsName = /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+$/i;
const dsnNotify: readonly string[] = ['success', 'failure', 'delay'];

function resolveVerp(verp: SmtpVerpOptions | undefined): ResolvedSmtpOptions['verp'] {
  if (verp === undefined) return undefined;
  if (typeof verp.domain !== 'string' || !dnsName.test(verp.domain)) {
    throw new MailError(
      'configuration',
      `SMTP transport: verp.domain ${JSON.stringify(String(verp.domain).slice(0, 100))} is not a DNS name`,
      {
        remediation: 'Give the bounce domain whose MX is your bounce receiver, as in verp_domain=bounces.shop.example.',
      },
    );
  }
  const raw: unknown = verp.secret;
  let key: (() => string | Uint8Array) | undefined;
  let bytes = 0;
  if (raw instanceof Secret || typeof raw === 'string') {
    const secret = typeof raw === 'string' ? new Secret(raw) : raw;
    bytes = Buffer.byteLength(secret.reveal());
    key = () => secret.reveal();
  } else if (raw instanceof Uint8Array) {
    const copy = Uint8Array.from(raw);
    bytes = copy.byteLength;
    key = () => copy;
  }
  if (key === undefined || bytes < 16) {
    throw new MailError('configuration', 'SMTP transport: verp.secret (verp_secret) must be at least 16 bytes', {
      remediation: 'Use 32 random bytes, as from: openssl rand -base64 32 (the bounce receiver needs the same secret).',
    });
  }
  const local = verp.local ?? 'bounces';
  // Room for "+" 20 "-" 16 inside RFC 5321's 64-character local part.
  if (typeof local !== 'string' || !/^[a-z0-9][a-z0-9._-]{0,25}$/i.test(local)) {
    throw new MailError('configuration', 'SMTP transport: verp.local must be 1 to 26 letters, digits, ".", "_" or "-"', {
      remediation: 'Leave it out for the default, bounces.',
    });
  }
  return Object.freeze({ domain: verp.domain.toLowerCase(), key, local });
}

function resolveDsn(dsn: SmtpDsnOptions | undefined): ResolvedSmtpOptions['dsn'] {
  if (dsn === undefined || (dsn.notify === undefined && dsn.return === undefined)) return undefined;
  let notify: string | undefined;
  if (dsn.notify === 'never') notify = 'NEVER';
  else if (dsn.notify !== undefined) {
    const values = Array.isArray(dsn.notify) ? (dsn.notify as readonly unknown[]) : [dsn.notify];
    const wrong = values.filter((value) => typeof value !== 'string' || !dsnNotify.includes(value));
    if (values.length === 0 || wrong.length > 0) {
      throw new MailError(
        'configuration',
        `SMTP transport: dsn notify ${JSON.stringify(values).slice(0, 100)} is not a list of success, failure, delay, or never alone`,
        {
          remediation: 'Write dsn=failure,delay (or dsn=never).',
        },
      );
    }
    notify = [...new Set(values as string[])].map((value) => value.toUpperCase()).join(',');
  }
  if (dsn.return !== undefined && dsn.return !== 'headers' && dsn.return !== 'full') {
    throw new MailError(
      'configuration',
      `SMTP transport: dsn return ${JSON.stringify(String(dsn.return).slice(0, 50))} is not headers or full`,
      {
        remediation: 'Write dsn_return=headers (or full).',
      },
    );
  }
  return Object.freeze({ notify, ret: dsn.return === undefined ? undefined : dsn.return === 'full' ? 'FULL' : 'HDRS' });
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
    verp: resolveVerp(options.verp),
    dsn: resolveDsn(options.dsn),
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
    verp: verpFromUrl(url, params),
    dsn: dsnFromUrl(url, params),
  };
  params.done();
  const { tokenProvider: _tokens, refreshToken: _refreshToken, onRefreshToken: _onRefreshToken, ...overrides } = context.options;
  return { ...options, ...overrides };
}

function verpFromUrl(url: TransportUrl, params: UrlParams<SmtpUrlParameter>): SmtpVerpOptions | undefined {
  const domain = params.string('verp_domain');
  const secret = params.secret('verp_secret');
  if (domain === undefined && secret === undefined) return undefined;
  if (domain === undefined || secret === undefined) {
    const missing = domain === undefined ? 'verp_domain' : 'verp_secret';
    throw new MailError(
      'configuration',
      `Transport URL ${url.redacted}: VERP needs both verp_domain and verp_secret; ${missing} is missing`,
      {
        remediation:
          "Add verp_domain=bounces.shop.example&verp_secret=... (at least 16 bytes, the bounce receiver's secret), or remove both.",
      },
    );
  }
  return { domain, secret };
}

function dsnFromUrl(url: TransportUrl, params: UrlParams<SmtpUrlParameter>): SmtpDsnOptions | undefined {
  const notify = params.string('dsn');
  const ret = params.string('dsn_return');
  if (notify === undefined && ret === undefined) return undefined;
  const values = notify
    ?.toLowerCase()
    .split(',')
    .map((value) => value.trim());
  if (values !== undefined && !(values.length === 1 && values[0] === 'never') && !values.every((value) => dsnNotify.includes(value))) {
    throw new MailError(
      'configuration',
      `Transport URL ${url.redacted}: dsn=${notify} is not a list of success, failure, delay, or never alone`,
      {
        remediation: 'Write dsn=failure,delay (or dsn=never).',
      },
    );
  }
  const lowerRet = ret?.toLowerCase();
  if (lowerRet !== undefined && lowerRet !== 'headers' && lowerRet !== 'full') {
    throw new MailError('configuration', `Transport URL ${url.redacted}: dsn_return=${ret} is not headers or full`, {
      remediation: 'Write dsn_return=headers (or full).',
    });
  }
  return {
    ...(values === undefined ? {} : { notify: values[0] === 'never' ? ('never' as const) : (values as SmtpDsnNotify[]) }),
    ...(lowerRet === undefined ? {} : { return: lowerRet as 'headers' | 'full' }),
  };
}
