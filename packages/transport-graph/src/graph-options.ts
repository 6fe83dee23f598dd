import {
  type AdapterOptions,
  MailError,
  type Secret,
  type TokenProvider,
  type TransportFactoryContext,
  type TransportUrl,
  urlParams,
} from '@mailport/core';
import type { CaInput } from '@mailport/core/http';
import type { Client } from '@microsoft/microsoft-graph-client';
import { type MicrosoftAppOnlyOptions, microsoftAppOnly } from './oauth/microsoft-app-only.js';
import { type MicrosoftDelegatedOptions, microsoftDelegated } from './oauth/microsoft-delegated.js';
import { microsoftCredentialsFromUrl } from './oauth/microsoft-url.js';

/** Graph's v1.0 endpoints of the public and national clouds, for the `endpoint` option. */
export const graphEndpoints: Readonly<{ public: string; usGovernment: string; usGovernmentDoD: string; china: string }> = Object.freeze({
  public: 'https://graph.microsoft.com/v1.0',
  usGovernment: 'https://graph.microsoft.us/v1.0',
  usGovernmentDoD: 'https://dod-graph.microsoft.us/v1.0',
  china: 'https://microsoftgraph.chinacloudapi.cn/v1.0',
});

const nationalGraphHosts = new Set(['graph.microsoft.us', 'dod-graph.microsoft.us', 'microsoftgraph.chinacloudapi.cn']);

/** App-only auth for {@link GraphTransportOptions.auth}: see {@link microsoftAppOnly}. */
export type GraphAppOnlyAuth = { readonly kind?: 'app-only' | undefined } & Omit<MicrosoftAppOnlyOptions, 'scopes' | 'ca'>;

/** Delegated auth for {@link GraphTransportOptions.auth}: see {@link microsoftDelegated}. Sends through `/me`. */
export type GraphDelegatedAuth = { readonly kind: 'delegated' } & Omit<MicrosoftDelegatedOptions, 'ca'>;

/** Options of {@link createGraphTransport}. */
export interface GraphTransportOptions {
  /** The mailbox that sends (user principal name or object id); app-only requests go to `/users/{sender}`. */
  sender: string;
  /** Access tokens for Graph. Give this or `auth`. */
  tokenProvider?: TokenProvider | undefined;
  /** Credentials, turned into a token provider with core's token cache. Give this or `tokenProvider`. */
  auth?: GraphAppOnlyAuth | GraphDelegatedAuth | undefined;
  /** Send as the signed-in user through `/me` (delegated tokens). Default: true with `auth.kind: 'delegated'`, else false. */
  delegated?: boolean | undefined;
  /** Graph's root with its version. Default `https://graph.microsoft.com/v1.0`; see {@link graphEndpoints}. */
  endpoint?: string | undefined;
  /**
   * `mime` (default): the message as RFC 5322 bytes, so every header, the Message-ID and
   * multipart/alternative survive. `json`: Graph's message JSON (one body, HTML preferred; at most
   * 5 `x-` headers).
   */
  mode?: 'mime' | 'json' | undefined;
  /**
   * Keep a copy in Sent Items. Default true. `false` needs `mode: 'json'`: Graph's MIME sendMail and
   * its draft send have no such parameter and always keep one.
   */
  saveToSentItems?: boolean | undefined;
  /** CA certificates (PEM) to trust besides the system's, for the API and the token endpoint (the sandbox). */
  ca?: CaInput | undefined;
  /** Longest silence of a Graph connection, in ms. Default 120 000. */
  timeoutMs?: number | undefined;
  /**
   * Requests in flight to the mailbox at once, at most 4 (Graph's limit per app and mailbox), and
   * the default concurrency of `sendMany`. Default 4.
   */
  concurrency?: number | undefined;
  /**
   * A Graph client to use instead of the one built here (auth middleware plus a node:http
   * handler, no RetryHandler). Its middleware then decides auth, TLS and retries, and a lost
   * connection cannot be told apart before and after the body (so it is `unknown-outcome`).
   */
  client?: Client | undefined;
  /** The transport id. Default `graph://{sender}`. */
  id?: string | undefined;
}

/** Options with every default filled in. */
export interface ResolvedGraphOptions {
  readonly sender: string;
  readonly tokenProvider: TokenProvider;
  readonly delegated: boolean;
  /** `https://graph.microsoft.com` */
  readonly origin: string;
  /** `v1.0` */
  readonly version: string;
  readonly mode: 'mime' | 'json';
  readonly saveToSentItems: boolean;
  readonly ca: CaInput | undefined;
  readonly timeoutMs: number;
  readonly concurrency: number;
  readonly client: Client | undefined;
  readonly id: string;
}

/**
 * Validates options and fills in defaults; throws `configuration` errors. Builds the token
 * provider from `auth` (with core's token cache) when no `tokenProvider` was given.
 *
 * @example
 * ```ts
 * resolveGraphOptions({ sender: 'noreply@contoso.com', tokenProvider }).origin; // 'https://graph.microsoft.com'
 * ```
 */
export function resolveGraphOptions(options: GraphTransportOptions): ResolvedGraphOptions {
  const sender = typeof options.sender === 'string' ? options.sender.trim() : '';
  if (sender === '') {
    throw new MailError('configuration', 'Graph transport: sender is required', {
      remediation: 'Give the mailbox that sends, as in graph://noreply@contoso.com.',
    });
  }
  const endpoint = (options.endpoint ?? graphEndpoints.public).replace(/\/+$/, '');
  let parsed: URL;
  try {
    parsed = new URL(endpoint);
  } catch {
    throw new MailError('configuration', `Graph transport: endpoint ${endpoint} is not a URL`, {
      remediation: 'Write it as https://graph.microsoft.com/v1.0.',
    });
  }
  const segments = parsed.pathname.split('/').filter((segment) => segment !== '');
  const version = segments.pop();
  if (version === undefined || !/^(v\d+(\.\d+)?|beta)$/.test(version)) {
    throw new MailError('configuration', `Graph transport: endpoint ${endpoint} does not end in the API version`, {
      remediation: 'End it with /v1.0, as in https://graph.microsoft.com/v1.0.',
    });
  }
  const origin = `${parsed.origin}${segments.length === 0 ? '' : `/${segments.join('/')}`}`;
  const mode = options.mode ?? 'mime';
  if (mode !== 'mime' && mode !== 'json')
    throw new MailError('configuration', `Graph transport: mode must be mime or json, not ${String(mode)}`);
  const concurrency = options.concurrency ?? 4;
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 4) {
    throw new MailError('configuration', `Graph transport: concurrency ${concurrency} must be 1 to 4`, {
      remediation: 'Graph answers a fifth concurrent request to a mailbox with 429 (MailboxConcurrency).',
    });
  }
  if (options.saveToSentItems === false && mode === 'mime') {
    throw new MailError('configuration', 'Graph transport: saveToSentItems false needs mode json', {
      remediation: "Graph's MIME sendMail has no saveToSentItems parameter and always saves a copy: use mode=json, or keep the copy.",
    });
  }
  const timeoutMs = options.timeoutMs ?? 120_000;
  if (!(timeoutMs > 0)) throw new MailError('configuration', 'Graph transport: timeoutMs must be above 0');
  let tokenProvider = options.tokenProvider;
  const auth = options.auth;
  if (tokenProvider !== undefined && auth !== undefined) {
    throw new MailError('configuration', 'Graph transport: give tokenProvider or auth, not both');
  }
  if (tokenProvider === undefined && options.client === undefined) {
    if (auth === undefined) {
      throw new MailError('configuration', 'Graph transport: no credentials', {
        remediation:
          'Give auth: { tenantId, clientId, clientSecret } (app-only), or a tokenProvider (microsoftAppOnly, microsoftDelegated).',
      });
    }
    if (auth.kind === 'delegated') {
      const { kind: _kind, ...delegated } = auth;
      tokenProvider = microsoftDelegated({ ...delegated, ca: options.ca });
    } else {
      const { kind: _kind, ...appOnly } = auth;
      // A national cloud's Graph has its own resource id; any other host (a proxy, the sandbox) takes the global one.
      const scopes = nationalGraphHosts.has(parsed.hostname) ? `https://${parsed.hostname}/.default` : undefined;
      tokenProvider = microsoftAppOnly({ ...appOnly, scopes, ca: options.ca });
    }
  }
  const resolvedTokens: TokenProvider = tokenProvider ?? {
    getAccessToken: () => Promise.reject(new MailError('configuration', 'Graph transport: the injected client handles auth')),
  };
  return Object.freeze({
    sender,
    tokenProvider: resolvedTokens,
    delegated: options.delegated ?? auth?.kind === 'delegated',
    origin,
    version,
    mode,
    saveToSentItems: options.saveToSentItems ?? true,
    ca: options.ca,
    timeoutMs,
    concurrency,
    client: options.client,
    id: options.id ?? `graph://${sender}`,
  });
}

declare module '@mailport/core' {
  interface AdapterOptions {
    /** `createTransport(url, { adapters: { graph: ... } })`: options merged over the URL's. */
    graph: GraphAdapterOptions;
  }
}

/**
 * Options of `graph://` URLs given in code: any {@link GraphTransportOptions}, and for a delegated
 * `refresh_token` (or instead of it) the handler that stores each rotated refresh token.
 */
export type GraphAdapterOptions = Partial<GraphTransportOptions> & {
  readonly refreshToken?: string | Secret | undefined;
  readonly onRefreshToken?: MicrosoftDelegatedOptions['onRefreshToken'] | undefined;
};

/**
 * The query parameters of `graph://` URLs, the Microsoft credentials included: the README's
 * parameter table lists each one, and the old spellings of {@link graphUrlAliases} (a test checks it).
 */
export const graphUrlParameters = [
  'tenant',
  'client_id',
  'client_secret',
  'certificate_path',
  'certificate_password',
  'authority_host',
  'refresh_token',
  'refresh_token_file',
  'ca_file',
  'endpoint',
  'mode',
  'save_to_sent_items',
  'timeout',
  'concurrency',
] as const;

/** Old spellings still accepted: `base_url` is `endpoint`, `max_concurrency` is `concurrency`. */
export const graphUrlAliases: Readonly<Record<string, (typeof graphUrlParameters)[number]>> = Object.freeze({
  base_url: 'endpoint',
  max_concurrency: 'concurrency',
});

/**
 * Reads `graph://sender@contoso.com?...` URLs. The sender is the URL's user and host. Credentials
 * come from the URL or the environment variables @azure/identity uses. The parameters
 * ({@link graphUrlParameters}) are in the package README's table.
 *
 * A token provider in the adapter options (`createTransport(url, { adapters: { graph: { tokenProvider } } })`)
 * wins over the URL; `createTransport`'s own `tokenProvider` is used when the URL and the
 * environment name no credentials.
 *
 * @example
 * ```ts
 * const options = graphOptionsFromUrl(parseTransportUrl('graph://noreply@contoso.com?tenant=t&client_id=c'), { env: process.env, options: {}, tokenProvider: undefined });
 * ```
 */
export function graphOptionsFromUrl(
  url: TransportUrl,
  context: Pick<TransportFactoryContext<AdapterOptions['graph']>, 'env' | 'options' | 'tokenProvider'>,
): GraphTransportOptions {
  const params = urlParams(url, { known: graphUrlParameters, aliases: graphUrlAliases });
  if (url.username === undefined || url.host === '') {
    throw new MailError('configuration', `Transport URL ${url.redacted} names no sender mailbox`, {
      remediation: 'Write graph://noreply@contoso.com?tenant=...&client_id=... (the sender is the mailbox address).',
    });
  }
  if (url.password !== undefined) {
    throw new MailError('configuration', `Transport URL ${url.redacted} has a password, which Graph does not use`, {
      remediation: 'Put the client secret in client_secret=... (or AZURE_CLIENT_SECRET), not in the user part of the URL.',
    });
  }
  const sender = `${url.username}@${url.host}`;
  const credentials = microsoftCredentialsFromUrl(url, params, context);
  const mode = params.string('mode');
  if (mode !== undefined && mode !== 'mime' && mode !== 'json') {
    throw new MailError('configuration', `Transport URL ${url.redacted}: mode=${mode} is not mime or json`, {
      remediation: 'Use mode=mime (the default) or mode=json.',
    });
  }
  const options: GraphTransportOptions = {
    sender,
    endpoint: params.string('endpoint'),
    mode: mode as 'mime' | 'json' | undefined,
    saveToSentItems: params.boolean('save_to_sent_items'),
    timeoutMs: params.duration('timeout'),
    concurrency: params.integer('concurrency', { min: 1, max: 4 }),
    ca: credentials.appOnly?.ca ?? credentials.delegated?.ca,
  };
  params.done();
  const { tokenProvider: injected, onRefreshToken: _onRefreshToken, refreshToken: _refreshToken, ...overrides } = context.options;
  let auth: GraphTransportOptions['auth'];
  let tokenProvider = injected;
  if (tokenProvider === undefined) {
    if (credentials.delegated !== undefined) {
      const { ca: _ca, ...delegated } = credentials.delegated;
      auth = { kind: 'delegated', ...delegated };
    } else if (credentials.appOnly !== undefined) {
      const { ca: _ca, ...appOnly } = credentials.appOnly;
      auth = appOnly;
    } else if (overrides.auth !== undefined) {
      // Credentials given in code (a certificate PEM or a secret from a Worker's secrets), no file needed.
    } else if (context.tokenProvider !== undefined) {
      tokenProvider = context.tokenProvider;
    } else {
      throw new MailError('configuration', `Transport URL ${url.redacted}: Graph needs ${credentials.missing.join(', ')}`, {
        remediation:
          'Add tenant, client_id and client_secret to the URL, or set AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET (or AZURE_CLIENT_CERTIFICATE_PATH).',
      });
    }
  }
  return { ...options, auth, tokenProvider, ...overrides };
}
