/** Options of the Postbox transport: type, defaults, validation, `postbox://` URLs. Pure, so tested without a server. */
import {
  isLoopback,
  MailError,
  Secret,
  type TokenProvider,
  type TransportFactoryContext,
  type TransportUrl,
  urlParams,
} from '@mailport/core';

/** Postbox's public API, the default `endpoint`. (Postbox is fictional: `.example` never resolves.) */
export const postboxEndpoint = 'https://api.postbox.example';

/** Postbox's largest message: 10 MB of rendered MIME, as its (fictional) documentation says. */
export const postboxMaxMessageBytes = 10_000_000;

/** Postbox's most recipients per message, To, Cc and Bcc together. */
export const postboxMaxRecipients = 50;

/** The parameters of a `postbox://` URL (see {@link postboxOptionsFromUrl}); any other is refused, naming these. */
export const postboxUrlParameters = ['api_key', 'tls', 'timeout', 'concurrency'] as const;

/** Options of {@link createPostboxTransport}. Give `apiKey` or `tokenProvider`. */
export interface PostboxTransportOptions {
  /** The API root. Default `https://api.postbox.example`; `http://` only for a loopback host (tests). */
  endpoint?: string | undefined;
  /** A Postbox API key. Kept out of `String()`, `util.inspect` and errors either way; a {@link Secret} makes that explicit. */
  apiKey?: string | Secret | undefined;
  /** OAuth access tokens instead of an API key, for example from {@link postboxClientCredentials}. */
  tokenProvider?: TokenProvider | undefined;
  /** Longest silence of a request, in ms. Default 30 000. */
  timeoutMs?: number | undefined;
  /** Sends in parallel that `sendMany` uses by default. Default 8. */
  concurrency?: number | undefined;
  /** The transport id. Default `postbox://HOST` (with `:PORT` when the endpoint has one). */
  id?: string | undefined;
}

/** Options with every default filled in. */
export interface ResolvedPostboxOptions {
  readonly endpoint: URL;
  /** Either way, a token provider: an API key is a token that never expires. */
  readonly tokenProvider: TokenProvider;
  /** True when the credentials are an API key: a refused key is not worth a refresh. */
  readonly staticKey: boolean;
  readonly timeoutMs: number;
  readonly concurrency: number;
  readonly id: string;
}

function configError(message: string, remediation: string): MailError {
  return new MailError('configuration', `Postbox transport: ${message}`, { remediation });
}

/**
 * Validates options and fills in defaults; throws `configuration` errors when the transport is
 * created, so that a wrong setting fails at start-up rather than on the first send.
 *
 * @example
 * ```ts
 * resolvePostboxOptions({ apiKey: 'key-123' }).timeoutMs; // 30000
 * ```
 */
export function resolvePostboxOptions(options: PostboxTransportOptions): ResolvedPostboxOptions {
  const text = options.endpoint ?? postboxEndpoint;
  if (!URL.canParse(text)) throw configError(`endpoint ${text} is not a URL`, 'Write it as https://api.postbox.example.');
  const endpoint = new URL(text.endsWith('/') ? text : `${text}/`);
  if (endpoint.protocol !== 'https:' && !(endpoint.protocol === 'http:' && isLoopback(endpoint.hostname))) {
    // An API key must never cross a network in the clear.
    throw configError(`endpoint ${endpoint.origin} is not https`, 'Use https://; plain http:// is allowed on 127.0.0.1 only, for tests.');
  }
  const { apiKey, tokenProvider } = options;
  if ((apiKey === undefined) === (tokenProvider === undefined)) {
    throw configError(
      apiKey === undefined ? 'no credentials' : 'give apiKey or tokenProvider, not both',
      'Pass apiKey (or api_key= in the URL, or POSTBOX_API_KEY), or a tokenProvider for OAuth.',
    );
  }
  const secret = typeof apiKey === 'string' ? new Secret(apiKey) : apiKey;
  if (secret !== undefined && secret.reveal().trim() === '') {
    throw configError('apiKey is empty', 'Copy the API key from the Postbox dashboard (Settings > API keys).');
  }
  const positive = (name: string, value: number | undefined, fallback: number): number => {
    const result = value ?? fallback;
    if (!Number.isFinite(result) || result <= 0) throw configError(`${name} must be above 0`, `Set ${name} to a positive number.`);
    return result;
  };
  return Object.freeze({
    endpoint,
    // The key lives in this closure only: printing the options or the transport cannot show it.
    tokenProvider: tokenProvider ?? { getAccessToken: async () => ({ token: (secret as Secret).reveal() }) },
    staticKey: tokenProvider === undefined,
    timeoutMs: positive('timeoutMs', options.timeoutMs, 30_000),
    concurrency: Math.floor(positive('concurrency', options.concurrency, 8)),
    id: options.id ?? `postbox://${endpoint.host}`,
  });
}

/**
 * Reads `postbox://` URLs. The host (and port) is the API's; everything else is a parameter:
 *
 * | parameter | option | default |
 * | --- | --- | --- |
 * | `api_key` | apiKey | `POSTBOX_API_KEY` |
 * | `tls` | `false`: `http://` instead of `https://` (loopback hosts only) | `true` |
 * | `timeout` | timeoutMs | `30s` |
 * | `concurrency` | concurrency | `8` |
 *
 * A `tokenProvider` given to `createTransport(url, { tokenProvider })` is used when the URL and
 * the environment name no API key.
 *
 * @example
 * ```ts
 * postboxOptionsFromUrl(parseTransportUrl('postbox://api.postbox.example?api_key=KEY'), { env: {}, options: {}, tokenProvider: undefined });
 * ```
 */
export function postboxOptionsFromUrl(url: TransportUrl, context: TransportFactoryContext): PostboxTransportOptions {
  if (url.username !== undefined || url.password !== undefined) {
    throw new MailError('configuration', `Transport URL ${url.redacted} has a user name or password`, {
      // A key in the user part would be printed by anything that shows the URL: only parameters named like secrets are redacted.
      remediation: 'Put the key in api_key= (or POSTBOX_API_KEY): postbox://api.postbox.example?api_key=KEY.',
    });
  }
  const params = urlParams(url, { known: postboxUrlParameters });
  const host = url.host === '' ? new URL(postboxEndpoint).hostname : url.host.includes(':') ? `[${url.host}]` : url.host;
  const tls = params.boolean('tls') ?? true;
  const apiKey = params.secret('api_key') ?? (context.env.POSTBOX_API_KEY ? new Secret(context.env.POSTBOX_API_KEY) : undefined);
  const options: PostboxTransportOptions = {
    endpoint: `${tls ? 'https' : 'http'}://${host}${url.port === undefined ? '' : `:${url.port}`}`,
    apiKey,
    tokenProvider: apiKey === undefined ? context.tokenProvider : undefined,
    timeoutMs: params.duration('timeout'),
    concurrency: params.integer('concurrency', { min: 1 }),
  };
  // Unknown parameters are refused, naming the known ones: a typo must not be silently ignored.
  params.done();
  // Options given in code (createTransport(url, { adapters: { postbox: {...} } })) win over the URL.
  return { ...options, ...(context.options as Partial<PostboxTransportOptions>) };
}
