import type { SESv2Client } from '@aws-sdk/client-sesv2';
import {
  type AdapterOptions,
  MailError,
  redactUrl,
  type Secret,
  type TransportFactoryContext,
  type TransportUrl,
  urlParams,
} from '@mailport/core';

/** Static AWS keys. Prefer the SDK's default chain (leave `credentials` out) outside development. */
export interface SesCredentials {
  readonly accessKeyId: string;
  /** Kept out of `String()`, `util.inspect` and errors either way; a {@link Secret} makes that explicit. */
  readonly secretAccessKey: string | Secret;
  /** For temporary credentials (STS). */
  readonly sessionToken?: string | Secret | undefined;
}

/** Credentials as the AWS SDK resolves them, for a provider such as `fromIni()` or `fromTemporaryCredentials()`. */
export interface SesCredentialIdentity {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string | undefined;
  readonly expiration?: Date | undefined;
}

/** Options of {@link createSesTransport}. */
export interface SesTransportOptions {
  /** The AWS region, such as `eu-west-1`. Default: the AWS SDK's region chain (`AWS_REGION`, then the profile's `region`). */
  region?: string | undefined;
  /**
   * Static keys, or a credential provider function from `@aws-sdk/credential-providers`. Default:
   * the AWS SDK's default chain (environment, SSO, shared ini profile, process, web identity,
   * container and instance metadata).
   */
  credentials?: SesCredentials | (() => Promise<SesCredentialIdentity>) | undefined;
  /** `ConfigurationSetName` for every message (event publishing, IP pools). Default: none. */
  configurationSet?: string | undefined;
  /** Another endpoint: a VPC endpoint, a FIPS endpoint, or the mailport sandbox. Default: SES's regional endpoint. */
  endpoint?: string | undefined;
  /**
   * Keep under a sending rate, in recipients per second: a number, or `'auto'` for the account's
   * `MaxSendRate` from GetAccount (read once, before the first send). Default: no limit.
   */
  rateLimit?: 'auto' | number | undefined;
  /** `'auto'` sends Simple content when it carries the message exactly and Raw otherwise; `'raw'` always sends Raw. Default `'auto'`. */
  content?: 'auto' | 'raw' | undefined;
  /**
   * The domain of the Message-ID SES gives the recipients, `<MessageId@domain>`. Default
   * `email.amazonses.com` in us-east-1 and `REGION.amazonses.com` elsewhere (the regional form is
   * not documented by AWS: set it if your recipients see another one).
   */
  messageIdDomain?: string | undefined;
  /** Time to open a connection, in ms. Default 5 000. */
  connectionTimeoutMs?: number | undefined;
  /** Longest silence on an open connection, in ms. Default 60 000. */
  socketTimeoutMs?: number | undefined;
  /** Sends in parallel that `sendMany` uses by default. Default 10. */
  concurrency?: number | undefined;
  /**
   * An SESv2Client to use as it is, for odd runtimes or custom middleware. It must be created
   * with `maxAttempts: 1` (mailport retries), and mailport cannot tell then whether a request
   * body was sent before a connection failed, so such failures are `unknown-outcome`. Not
   * closed by `close()`. Default: one built from the options above.
   */
  client?: SESv2Client | undefined;
  /** The transport id. Default `ses://REGION` (`ses://` when the region comes from the SDK's chain). */
  id?: string | undefined;
}

declare module '@mailport/core' {
  interface AdapterOptions {
    /** `createTransport(url, { adapters: { ses: ... } })`: options a URL cannot hold (a `client`, a credential provider), merged over the URL's. */
    ses: Partial<SesTransportOptions>;
  }
}

/** The query parameters of `ses://` URLs: the README's parameter table lists each one (a test checks it). */
export const sesUrlParameters = [
  'session_token',
  'configuration_set',
  'endpoint',
  'rate_limit',
  'content',
  'message_id_domain',
  'connect_timeout',
  'socket_timeout',
  'concurrency',
] as const;

/** Options with every default filled in. */
export interface ResolvedSesOptions {
  readonly region: string | undefined;
  readonly credentials: SesTransportOptions['credentials'];
  readonly configurationSet: string | undefined;
  readonly endpoint: string | undefined;
  readonly rateLimit: 'auto' | number | undefined;
  readonly content: 'auto' | 'raw';
  readonly messageIdDomain: string | undefined;
  readonly connectionTimeoutMs: number;
  readonly socketTimeoutMs: number;
  readonly concurrency: number;
  readonly client: SESv2Client | undefined;
  readonly id: string;
}

// us-east-1, eu-central-1, us-gov-west-1, ap-southeast-5, cn-north-1, ...
const regionPattern = /^[a-z]{2,}(-[a-z0-9]+)*-\d+$/;
// ConfigurationSetName: letters, digits, "_" and "-", up to 64 characters (API_CreateConfigurationSet).
const configurationSetPattern = /^[A-Za-z0-9_-]{1,64}$/;

function configError(message: string, remediation: string): MailError {
  return new MailError('configuration', `SES transport: ${message}`, { remediation });
}

/**
 * Validates options and fills in defaults; throws `configuration` errors.
 *
 * @example
 * ```ts
 * resolveSesOptions({ region: 'eu-west-1' }).socketTimeoutMs; // 60000
 * ```
 */
export function resolveSesOptions(options: SesTransportOptions = {}): ResolvedSesOptions {
  const region = options.region?.trim() || undefined;
  if (region !== undefined && !regionPattern.test(region)) {
    throw configError(`"${region}" is not an AWS region`, 'Use a region code such as us-east-1 or eu-west-1.');
  }
  const credentials = options.credentials;
  if (credentials !== undefined && typeof credentials !== 'function') {
    if (typeof credentials.accessKeyId !== 'string' || credentials.accessKeyId === '') {
      throw configError(
        'credentials.accessKeyId is empty',
        'Give both the access key id and the secret access key, or leave credentials out.',
      );
    }
    const secret = credentials.secretAccessKey;
    if ((typeof secret === 'string' ? secret : secret?.reveal?.()) === '' || secret === undefined) {
      throw configError(
        'credentials.secretAccessKey is empty',
        'Give both the access key id and the secret access key, or leave credentials out.',
      );
    }
  }
  const configurationSet = options.configurationSet?.trim() || undefined;
  if (configurationSet !== undefined && !configurationSetPattern.test(configurationSet)) {
    throw configError(
      `"${configurationSet}" is not a configuration set name`,
      'Configuration set names use letters, digits, "_" and "-", up to 64 characters.',
    );
  }
  let endpoint: string | undefined;
  if (options.endpoint !== undefined && options.endpoint !== '') {
    let parsed: URL;
    try {
      parsed = new URL(options.endpoint);
    } catch {
      throw configError(
        `endpoint ${redactUrl(options.endpoint)} is not a URL`,
        'Write the endpoint as https://host or http://127.0.0.1:PORT.',
      );
    }
    if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
      throw configError(
        `endpoint ${redactUrl(options.endpoint)} is not http(s)`,
        'Write the endpoint as https://host or http://127.0.0.1:PORT.',
      );
    }
    endpoint = options.endpoint.replace(/\/+$/, '');
  }
  const rateLimit = options.rateLimit;
  if (rateLimit !== undefined && rateLimit !== 'auto' && !(typeof rateLimit === 'number' && Number.isFinite(rateLimit) && rateLimit > 0)) {
    throw configError(
      `rateLimit ${String(rateLimit)} is not a rate`,
      "Set rateLimit to a number of recipients per second above 0, or 'auto'.",
    );
  }
  const content = options.content ?? 'auto';
  if (content !== 'auto' && content !== 'raw') throw configError(`content "${String(content)}" is unknown`, "Use 'auto' or 'raw'.");
  const positive = (name: string, value: number | undefined, fallback: number): number => {
    const result = value ?? fallback;
    if (!Number.isFinite(result) || result <= 0) throw configError(`${name} must be above 0`, `Set ${name} to a positive number.`);
    return result;
  };
  const messageIdDomain = options.messageIdDomain?.trim() || undefined;
  if (messageIdDomain !== undefined && !/^[A-Za-z0-9.-]+$/.test(messageIdDomain)) {
    throw configError(`messageIdDomain "${messageIdDomain}" is not a domain`, 'Give a domain such as eu-west-1.amazonses.com.');
  }
  return Object.freeze({
    region,
    credentials,
    configurationSet,
    endpoint,
    rateLimit,
    content,
    messageIdDomain,
    connectionTimeoutMs: positive('connectionTimeoutMs', options.connectionTimeoutMs, 5_000),
    socketTimeoutMs: positive('socketTimeoutMs', options.socketTimeoutMs, 60_000),
    concurrency: Math.floor(positive('concurrency', options.concurrency, 10)),
    client: options.client,
    id: options.id ?? defaultId(region, endpoint),
  });
}

function defaultId(region: string | undefined, endpoint: string | undefined): string {
  const base = `ses://${region ?? ''}`;
  return endpoint === undefined ? base : `${base}?endpoint=${redactUrl(endpoint)}`;
}

/**
 * Reads `ses://` URLs: `ses://eu-west-1` (region; credentials from the AWS SDK's default chain),
 * `ses://ACCESS_KEY_ID:SECRET_ACCESS_KEY@eu-west-1` (explicit keys), `ses://` (both from the
 * default chain). The parameters ({@link sesUrlParameters}) are in the package README's table.
 *
 * @example
 * ```ts
 * sesOptionsFromUrl(parseTransportUrl('ses://eu-west-1?rate_limit=auto'), { options: {} }).rateLimit; // 'auto'
 * ```
 */
export function sesOptionsFromUrl(
  url: TransportUrl,
  context: Pick<TransportFactoryContext<AdapterOptions['ses']>, 'options'>,
): SesTransportOptions {
  const params = urlParams(url, { known: sesUrlParameters });
  if (url.port !== undefined || (url.path !== '' && url.path !== '/')) {
    throw new MailError('configuration', `Transport URL ${url.redacted}: the host is the AWS region, with no port or path`, {
      remediation: 'Write ses://eu-west-1, ses://KEY:SECRET@eu-west-1, or put a custom endpoint in ?endpoint=https://host.',
    });
  }
  let credentials: SesCredentials | undefined;
  const sessionToken = params.secret('session_token');
  if (url.username !== undefined) {
    if (url.password === undefined) {
      throw new MailError('configuration', `Transport URL ${url.redacted} has an access key id but no secret access key`, {
        remediation:
          'Write ses://ACCESS_KEY_ID:SECRET_ACCESS_KEY@REGION (percent-encode "/" as %2F), or leave both out for the default chain.',
      });
    }
    credentials = { accessKeyId: url.username, secretAccessKey: url.password, sessionToken };
  } else if (sessionToken !== undefined) {
    throw new MailError('configuration', `Transport URL ${url.redacted}: session_token needs the keys in the URL`, {
      remediation: 'Write ses://ACCESS_KEY_ID:SECRET_ACCESS_KEY@REGION?session_token=..., or leave all three out for the default chain.',
    });
  }
  const rate = params.string('rate_limit');
  let rateLimit: SesTransportOptions['rateLimit'];
  if (rate !== undefined) {
    rateLimit = rate === 'auto' ? 'auto' : Number(rate);
    if (rateLimit !== 'auto' && !(Number.isFinite(rateLimit) && rateLimit > 0)) {
      throw new MailError('configuration', `Transport URL ${url.redacted}: rate_limit=${rate} is not auto or a number above 0`, {
        remediation: 'Write rate_limit=auto (the account MaxSendRate) or rate_limit=10 (recipients per second).',
      });
    }
  }
  const content = params.string('content');
  if (content !== undefined && content !== 'auto' && content !== 'raw') {
    throw new MailError('configuration', `Transport URL ${url.redacted}: content=${content} is not auto or raw`, {
      remediation: 'Write content=auto (Simple when exact, else Raw) or content=raw.',
    });
  }
  const options: SesTransportOptions = {
    region: url.host === '' ? undefined : url.host,
    credentials,
    configurationSet: params.string('configuration_set'),
    endpoint: params.string('endpoint'),
    rateLimit,
    content: content as SesTransportOptions['content'],
    messageIdDomain: params.string('message_id_domain'),
    connectionTimeoutMs: params.duration('connect_timeout'),
    socketTimeoutMs: params.duration('socket_timeout'),
    concurrency: params.integer('concurrency', { min: 1 }),
  };
  params.done();
  return { ...options, ...context.options };
}

/**
 * The secret of static credentials, revealed at the one place the SDK needs it. Without a session
 * token the key is left out, as the SDK's `AwsCredentialIdentity` takes no explicit undefined.
 */
export function revealCredentials(credentials: SesCredentials): {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
} {
  const reveal = (value: string | Secret): string => (typeof value === 'string' ? value : value.reveal());
  const sessionToken = credentials.sessionToken;
  return {
    accessKeyId: credentials.accessKeyId,
    secretAccessKey: reveal(credentials.secretAccessKey),
    ...(sessionToken === undefined ? {} : { sessionToken: reveal(sessionToken) }),
  };
}
