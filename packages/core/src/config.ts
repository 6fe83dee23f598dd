import { failover, roundRobin } from './composite.js';
import { MailError } from './errors.js';
import { createFileTransport } from './file-transport.js';
import { memoryTransport } from './memory-transport.js';
import { isSecretParameter, redactUrl, Secret } from './secret.js';
import type { TokenProvider, Transport } from './transport.js';

/** A transport URL after parsing. The password is a {@link Secret}; `redacted` is safe to print. */
export interface TransportUrl {
  /** Lower case, without `:` (`smtp`, `ses`, ...). */
  readonly scheme: string;
  /** Percent-decoded user name, if any. */
  readonly username: string | undefined;
  /** Percent-decoded password, if any. */
  readonly password: Secret | undefined;
  /** Host name or IP address (IPv6 without brackets); empty when the URL has none. */
  readonly host: string;
  readonly port: number | undefined;
  /** Percent-decoded path, `''` when there is none. */
  readonly path: string;
  /** Query parameters; the last value wins for a repeated name. */
  readonly params: ReadonlyMap<string, string>;
  /** The URL with every credential replaced by `***`. */
  readonly redacted: string;
}

/**
 * The options each adapter takes in `createTransport(url, { adapters: { [scheme]: ... } })`, by
 * scheme. Empty here: each adapter package adds its schemes by declaration merging, so that
 * these options are type-checked as soon as the adapter package is imported somewhere.
 *
 * @example
 * ```ts
 * declare module '@mailport/core' {
 *   interface AdapterOptions {
 *     postbox: Partial<PostboxTransportOptions>;
 *   }
 * }
 * ```
 */
// biome-ignore lint/suspicious/noEmptyInterface: adapter packages add their schemes to it by declaration merging.
export interface AdapterOptions {}

/** Options of the adapter for `scheme`: its {@link AdapterOptions} entry, or any options for a scheme no adapter declared. */
export type AdapterOptionsFor<Scheme extends string> = Scheme extends keyof AdapterOptions
  ? AdapterOptions[Scheme]
  : Readonly<Record<string, unknown>>;

/** What a transport factory gets besides the URL. */
export interface TransportFactoryContext<Options extends object = Readonly<Record<string, unknown>>> {
  /** Environment variables (default `process.env`), for credentials the URL leaves out. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Options for this scheme from `createTransport(url, { adapters: { [scheme]: ... } })`, typed by {@link AdapterOptions}. */
  readonly options: Options;
  /** The token provider given to `createTransport`, for OAuth (SMTP XOAUTH2 and the HTTPS APIs). */
  readonly tokenProvider: TokenProvider | undefined;
}

/**
 * Builds a transport from a parsed URL. Adapter packages export one as `createTransportFromUrl`,
 * typed with their own options: `TransportFactory<AdapterOptions['ses']>`.
 */
export type TransportFactory<Options extends object = Readonly<Record<string, unknown>>> = (
  url: TransportUrl,
  context: TransportFactoryContext<Options>,
) => Transport | Promise<Transport>;

/**
 * An adapter package's transport factory with the schemes it serves, as each adapter package
 * exports it (`sesAdapter`, `gmailAdapter`, `graphAdapter`, `smtpAdapter`). Passed to
 * `createTransport(url, { use: [...] })`, it serves its schemes without the import by name that
 * a bundle (Cloudflare Workers, esbuild, Vite) cannot follow.
 *
 * @example
 * ```ts
 * export const postboxAdapter: TransportAdapter<AdapterOptions['postbox']> = {
 *   schemes: ['postbox'],
 *   create: (url, context) => createPostboxTransport(postboxOptionsFromUrl(url, context)),
 * };
 * ```
 */
export interface TransportAdapter<Options extends object = Readonly<Record<string, unknown>>> {
  /** The URL schemes it serves, lower case, without `:`. */
  readonly schemes: readonly string[];
  /** Builds the transport from a parsed URL: the package's `createTransportFromUrl`. A method, so that any adapter's options fit `use`. */
  create(url: TransportUrl, context: TransportFactoryContext<Options>): Transport | Promise<Transport>;
}

/** Options of {@link createTransport}. */
export interface CreateTransportOptions {
  /**
   * Adapters imported by the program, which serve their schemes before anything registered or
   * loaded by name: the form for bundled programs (Workers, Deno Deploy, Vercel Edge). Default none.
   *
   * @example
   * ```ts
   * import { sesAdapter } from '@mailport/transport-ses';
   * const transport = await createTransport(env.MAILPORT_URL, { use: [sesAdapter], env });
   * ```
   */
  use?: readonly TransportAdapter<object>[] | undefined;
  /** Environment variables to read credentials from. Default `process.env` where the runtime has one, else none. */
  env?: Readonly<Record<string, string | undefined>> | undefined;
  /** OAuth tokens for every transport in the URL that authenticates with OAuth. */
  tokenProvider?: TokenProvider | undefined;
  /**
   * Adapter options by scheme, merged over what the URL says: `{ ses: { client } }`. Typed per
   * scheme by {@link AdapterOptions} for the adapter packages the program imports.
   */
  adapters?:
    | ({ readonly [Scheme in keyof AdapterOptions]?: AdapterOptions[Scheme] } & { readonly [scheme: string]: object | undefined })
    | undefined;
}

/** The package that serves each built-in scheme; imported only when the scheme is used. */
export const adapterPackages: Readonly<Record<string, string>> = Object.freeze({
  smtp: '@mailport/transport-smtp',
  smtps: '@mailport/transport-smtp',
  ses: '@mailport/transport-ses',
  gmail: '@mailport/transport-gmail-api',
  graph: '@mailport/transport-graph',
});

const registered = new Map<string, TransportFactory<object>>();
const packages = new Map<string, string>(Object.entries(adapterPackages));

/**
 * Serves `scheme://...` URLs with a package that exports `createTransportFromUrl`, imported only
 * when the scheme is first used, as the built-in adapters are. A missing package is a
 * `configuration` error that names the `npm install` command.
 *
 * @example
 * ```ts
 * registerTransportPackage('postmark', 'mailport-transport-postmark');
 * ```
 */
export function registerTransportPackage(scheme: string, packageName: string): void {
  packages.set(scheme.toLowerCase(), packageName);
}

/**
 * Serves `scheme://...` URLs with `factory`, for a third-party transport or to replace a built-in one.
 *
 * @example
 * ```ts
 * registerTransport('postmark', (url, { env }) => createPostmarkTransport({ token: env.POSTMARK_TOKEN }));
 * ```
 */
export function registerTransport<Scheme extends string>(scheme: Scheme, factory: TransportFactory<AdapterOptionsFor<Scheme>>): void {
  registered.set(scheme.toLowerCase(), factory as TransportFactory<object>);
}

const compositePattern = /^(failover|roundrobin)\(([\s\S]*)\)(?:\?(.*))?$/i;

/**
 * Creates a transport from a URL, loading the adapter package for its scheme on first use
 * (choosing `smtp://` never loads the AWS, Google or Microsoft SDKs). A `Transport` is returned as is.
 *
 * | URL | transport |
 * | --- | --- |
 * | `smtp://user:pass@host:587` | SMTP with STARTTLS (required unless the host is loopback) |
 * | `smtps://user:pass@host:465` | SMTP over implicit TLS |
 * | `memory://` or `memory://NAME` | keeps messages in this process ({@link memoryTransport}) |
 * | `file://./outbox` | one `.eml` file per message |
 * | `failover(URL URL ...)` | the first that works, see {@link failover}; `?cooldown=30s` after the `)` |
 * | `roundrobin(URL URL ...)` | in turn, see {@link roundRobin}; `?weight=N` on an inner URL |
 * | `ses://`, `gmail://`, `graph://` | the HTTPS API adapters |
 *
 * Throws a `configuration` error for a malformed URL, an unknown parameter, an unknown scheme,
 * or an adapter package that is not installed (the message names the `npm install` command).
 *
 * @example
 * ```ts
 * const transport = await createTransport(process.env.MAILPORT_URL ?? 'memory://');
 * ```
 */
export async function createTransport(config: string | URL | Transport, options: CreateTransportOptions = {}): Promise<Transport> {
  if (typeof config === 'object' && config !== null && !(config instanceof URL)) {
    if (typeof (config as Transport).send === 'function') return config as Transport;
  }
  const text = String(config).trim();
  const composite = compositePattern.exec(text);
  if (composite !== null) {
    const kind = (composite[1] as string).toLowerCase();
    const members = splitList(composite[2] as string, text);
    const outer = new URLSearchParams(composite[3] ?? '');
    const cooldownMs = outer.has('cooldown') ? parseDuration(outer.get('cooldown') as string, 'cooldown', redactUrl(text)) : undefined;
    for (const name of outer.keys()) {
      if (name !== 'cooldown') throw configError(text, `unknown parameter "${name}" (known: cooldown)`);
    }
    const weights: number[] = [];
    const transports: Transport[] = [];
    for (const member of members) {
      const { url, weight } = extractWeight(member, kind === 'roundrobin');
      weights.push(weight);
      transports.push(await createTransport(url, options));
    }
    return kind === 'failover' ? failover(transports, { cooldownMs }) : roundRobin(transports, { cooldownMs, weights });
  }
  const url = parseTransportUrl(text);
  const context: TransportFactoryContext<object> = {
    env: options.env ?? processEnv(),
    // Typed per scheme for the caller by AdapterOptions; each adapter's own options parser validates them.
    options: options.adapters?.[url.scheme] ?? {},
    tokenProvider: options.tokenProvider,
  };
  const given = options.use?.find((adapter) => adapter.schemes.some((scheme) => scheme.toLowerCase() === url.scheme));
  if (given !== undefined) return given.create(url, context);
  const custom = registered.get(url.scheme);
  if (custom !== undefined) return custom(url, context);
  if (url.scheme === 'memory') {
    urlParams(url).done();
    return memoryTransport(url.host === '' ? 'default' : url.host);
  }
  if (url.scheme === 'file') {
    urlParams(url).done();
    return createFileTransport({ directory: filePath(text) });
  }
  const packageName = packages.get(url.scheme);
  if (packageName === undefined) {
    throw new MailError('configuration', `Unknown transport scheme "${url.scheme}://" in ${url.redacted}`, {
      remediation: `Use one of ${[...packages.keys(), 'memory', 'file'].map((scheme) => `${scheme}://`).join(', ')}, or registerTransport() your own.`,
    });
  }
  const adapter = await loadAdapter(packageName, url);
  return adapter(url, context);
}

/**
 * Creates the transport named by the `MAILPORT_URL` environment variable.
 *
 * @example
 * ```ts
 * // MAILPORT_URL=smtp://user:pass@smtp.example.com:587
 * const mailer = createMailer({ transport: await transportFromEnv() });
 * ```
 */
export async function transportFromEnv(options: CreateTransportOptions = {}): Promise<Transport> {
  const env = options.env ?? processEnv();
  const url = env.MAILPORT_URL;
  if (url === undefined || url.trim() === '') {
    throw new MailError('configuration', 'MAILPORT_URL is not set', {
      remediation: 'Set MAILPORT_URL, for example smtp://user:password@smtp.example.com:587 or memory:// for development.',
    });
  }
  return createTransport(url, { ...options, env });
}

/**
 * `process.env` where the runtime has one (Node, Bun, Deno, workerd with nodejs_compat), else
 * nothing: a browser or a worker without Node compatibility has no `process`, and Deno without
 * --allow-env refuses to read it.
 */
function processEnv(): Readonly<Record<string, string | undefined>> {
  try {
    return (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env ?? {};
  } catch {
    return {};
  }
}

/** The name a package exports its adapter under (`@mailport/transport-ses` -> `sesAdapter`), for messages. */
function adapterExportName(packageName: string, scheme: string): string {
  const known: Readonly<Record<string, string>> = {
    '@mailport/transport-smtp': 'smtpAdapter',
    '@mailport/transport-ses': 'sesAdapter',
    '@mailport/transport-gmail-api': 'gmailAdapter',
    '@mailport/transport-graph': 'graphAdapter',
  };
  return known[packageName] ?? `${scheme}Adapter`;
}

async function loadAdapter(packageName: string, url: TransportUrl): Promise<TransportFactory<object>> {
  let module: { createTransportFromUrl?: TransportFactory<object> };
  try {
    // A variable specifier: bundlers and TypeScript must not pull every adapter into core.
    const specifier: string = packageName;
    module = (await import(specifier)) as typeof module;
  } catch (error) {
    throw adapterLoadFailure(packageName, url.scheme, error);
  }
  if (typeof module.createTransportFromUrl !== 'function') {
    throw new MailError('configuration', `${packageName} does not export createTransportFromUrl`, {
      remediation: `Install a version of ${packageName} that matches @mailport/core.`,
    });
  }
  return module.createTransportFromUrl;
}

/**
 * The `configuration` error for an adapter package that could not be imported by name. Node says
 * ERR_MODULE_NOT_FOUND and names the package when it is not installed: then `npm install`. Any
 * other "not found" (workerd's "No such module", a bundler's stub), or a runtime without
 * `process`, is a bundled program that cannot import by a computed name, where installing would
 * not help: then the explicit `use: [...]` form.
 */
export function adapterLoadFailure(packageName: string, scheme: string, error: unknown): MailError {
  const code = (error as { code?: unknown } | null)?.code;
  const message = error instanceof Error ? error.message : String(error);
  const name = adapterExportName(packageName, scheme);
  const explicit = `import { ${name} } from '${packageName}' and pass it: createTransport(url, { use: [${name}] }), or createMailer({ transport, transportOptions: { use: [${name}] } })`;
  const notInstalled = (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') && message.includes(packageName);
  const bundled =
    !notInstalled &&
    (typeof (globalThis as { process?: unknown }).process === 'undefined' ||
      /no such module|cannot find (module|package)|failed to resolve|could not resolve|not found/i.test(message));
  if (notInstalled) {
    return new MailError('configuration', `${scheme}:// needs the package ${packageName}, which is not installed`, {
      remediation: `Run: npm install ${packageName}. In a bundled program (Workers, esbuild, Vite), ${explicit}.`,
      cause: error,
    });
  }
  if (bundled) {
    return new MailError(
      'configuration',
      `${scheme}:// needs ${packageName}, which cannot be imported by name here: a bundled program (Workers, esbuild, Vite) has no packages to import from at run time (${message})`,
      { remediation: `${explicit[0]?.toUpperCase()}${explicit.slice(1)}.`, cause: error },
    );
  }
  return new MailError('configuration', `${packageName} failed to load: ${message}`, {
    remediation: `Install a version of ${packageName} that matches @mailport/core and this runtime; in a bundled program, ${explicit}.`,
    cause: error,
  });
}

/**
 * Parses a single transport URL. Throws a `configuration` error (with the URL redacted) when it
 * does not parse.
 */
export function parseTransportUrl(text: string): TransportUrl {
  const redacted = redactUrl(text);
  const schemeMatch = /^([a-z][a-z0-9+.-]*):\/\//i.exec(text);
  if (schemeMatch === null) throw configError(text, 'is not a URL of the form scheme://...');
  const scheme = (schemeMatch[1] as string).toLowerCase();
  if (scheme === 'file') {
    return Object.freeze({
      scheme,
      username: undefined,
      password: undefined,
      host: '',
      port: undefined,
      path: filePath(text),
      params: queryParams(text.includes('?') ? text.slice(text.indexOf('?') + 1) : ''),
      redacted,
    });
  }
  let parsed: URL;
  try {
    parsed = new URL(text);
  } catch {
    throw configError(text, 'does not parse as a URL');
  }
  const decode = (value: string): string => {
    try {
      return decodeURIComponent(value);
    } catch {
      throw configError(text, 'has invalid percent-encoding');
    }
  };
  const host = parsed.hostname.startsWith('[') ? parsed.hostname.slice(1, -1) : parsed.hostname;
  return Object.freeze({
    scheme,
    username: parsed.username === '' ? undefined : decode(parsed.username),
    password: parsed.password === '' ? undefined : new Secret(decode(parsed.password)),
    host: decode(host),
    port: parsed.port === '' ? undefined : Number(parsed.port),
    path: decode(parsed.pathname),
    params: queryParams(parsed.search.slice(1)),
    redacted,
  });
}

function queryParams(query: string): ReadonlyMap<string, string> {
  const params = new Map(new URLSearchParams(query));
  // get() gives adapters the real value; util.inspect (console.log of a parsed URL) shows credentials as ***.
  Object.defineProperty(params, Symbol.for('nodejs.util.inspect.custom'), {
    value: (_depth: number, options: object, inspect: (value: unknown, options: object) => string) =>
      inspect(new Map([...params].map(([name, value]) => [name, isSecretParameter(name) ? '***' : value])), options),
  });
  return params;
}

function filePath(text: string): string {
  const withoutQuery = text.slice('file://'.length).split('?')[0] as string;
  const path = decodeURIComponent(withoutQuery);
  if (path === '') throw configError(text, 'names no directory: use file://./outbox or file:///absolute/path');
  return path;
}

function splitList(inner: string, whole: string): string[] {
  const members: string[] = [];
  let depth = 0;
  let current = '';
  for (const char of inner) {
    if (char === '(') depth++;
    if (char === ')') depth--;
    if (depth < 0) throw configError(whole, 'has unbalanced parentheses');
    if (/\s/.test(char) && depth === 0) {
      if (current !== '') members.push(current);
      current = '';
    } else current += char;
  }
  if (depth !== 0) throw configError(whole, 'has unbalanced parentheses');
  if (current !== '') members.push(current);
  if (members.length === 0) throw configError(whole, 'lists no transport URLs');
  return members;
}

function extractWeight(member: string, allowed: boolean): { url: string; weight: number } {
  // Only the member's own parameters: those of a nested failover(...) or roundrobin(...) follow its last ")".
  const own = member.lastIndexOf(')') + 1;
  const match = /([?&])weight=([^&]*)(&?)/.exec(member.slice(own));
  if (match === null) return { url: member, weight: 1 };
  if (!allowed) throw configError(member, 'has "weight", which only roundrobin(...) uses');
  const weight = Number(match[2]);
  if (!(weight > 0) || !Number.isFinite(weight)) throw configError(member, `has weight=${match[2]}; use a number above 0`);
  const start = own + match.index;
  const url = `${member.slice(0, start)}${match[3] === '&' ? match[1] : ''}${member.slice(start + match[0].length)}`;
  return { url: url.endsWith('?') ? url.slice(0, -1) : url, weight };
}

function configError(url: string, problem: string, remediation?: string): MailError {
  return new MailError('configuration', `Transport URL ${redactUrl(url)} ${problem}`, {
    remediation: remediation ?? 'See the URL reference in the @mailport/core README.',
  });
}

/**
 * Parses `500ms`, `10s`, `2m` or a bare number of milliseconds.
 */
export function parseDuration(value: string, name: string, redacted: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(value.trim());
  if (match === null) {
    throw new MailError('configuration', `Transport URL ${redacted}: ${name}=${value} is not a duration`, {
      remediation: 'Write a duration as 500ms, 10s, 2m, or a number of milliseconds.',
    });
  }
  const amount = Number(match[1]);
  const unit = match[2] ?? 'ms';
  return Math.round(unit === 'm' ? amount * 60_000 : unit === 's' ? amount * 1000 : amount);
}

/** Typed readers for a URL's query parameters, used by adapters; `done()` rejects unknown names. */
export interface UrlParams<Name extends string = string> {
  string(name: Name): string | undefined;
  /** `true`/`false`, `1`/`0`, `yes`/`no`, `on`/`off`. */
  boolean(name: Name): boolean | undefined;
  integer(name: Name, bounds?: { min?: number; max?: number }): number | undefined;
  /** See {@link parseDuration}; returns milliseconds. */
  duration(name: Name): number | undefined;
  /** A credential parameter, wrapped so it cannot be printed. */
  secret(name: Name): Secret | undefined;
  /** Throws a `configuration` error naming any parameter nobody read. */
  done(): void;
}

/** The parameters an adapter's URLs take, for {@link urlParams}. */
export interface UrlParamsOptions<Name extends string> {
  /**
   * Every parameter the adapter reads (its own and those of an OAuth layer it hands the reader
   * to). Reading another name is a programming error; an unknown parameter's error lists these.
   */
  readonly known: readonly Name[];
  /**
   * Old spellings still accepted, each to its current name: `{ root_url: 'endpoint' }`. The
   * adapter reads the current name only; a URL that gives both is refused.
   */
  readonly aliases?: Readonly<Record<string, Name>> | undefined;
}

/**
 * Reads a URL's parameters with types and clear errors. With `known`, only those names can be
 * read (checked by TypeScript, and at run time), unknown parameters are answered with the
 * list, and `aliases` keeps old spellings working.
 *
 * @example
 * ```ts
 * const params = urlParams(url, { known: ['pool', 'endpoint'], aliases: { base_url: 'endpoint' } });
 * const pool = params.boolean('pool') ?? true;
 * params.done(); // "unknown parameter poool" (known: endpoint, pool)
 * ```
 */
export function urlParams<Name extends string = string>(url: TransportUrl, options?: UrlParamsOptions<Name>): UrlParams<Name> {
  const known = options === undefined ? undefined : new Set<string>(options.known);
  const values = new Map(url.params);
  const renamed = new Map<string, string>();
  for (const [old, current] of Object.entries(options?.aliases ?? {})) {
    const value = values.get(old);
    if (value === undefined) continue;
    if (values.has(current)) {
      throw new MailError('configuration', `Transport URL ${url.redacted}: ${old} is the old name of ${current}; give one of them`, {
        remediation: `Keep ${current}=... only.`,
      });
    }
    values.delete(old);
    values.set(current, value);
    renamed.set(current, old);
  }
  const read = new Set<string>();
  const raw = (name: string): string | undefined => {
    if (known !== undefined && !known.has(name))
      throw new TypeError(`urlParams: "${name}" is not among the known parameters of ${url.scheme}://`);
    read.add(name);
    return values.get(name);
  };
  // Errors name the parameter as the URL wrote it.
  const written = (name: string): string => renamed.get(name) ?? name;
  const invalid = (name: string, value: string, expected: string): MailError =>
    new MailError('configuration', `Transport URL ${url.redacted}: ${written(name)}=${value} is not ${expected}`, {
      remediation: `Set ${written(name)} to ${expected}.`,
    });
  return {
    string: (name) => raw(name),
    boolean(name) {
      const value = raw(name);
      if (value === undefined) return undefined;
      if (/^(true|1|yes|on)$/i.test(value)) return true;
      if (/^(false|0|no|off)$/i.test(value)) return false;
      throw invalid(name, value, 'true or false');
    },
    integer(name, bounds = {}) {
      const value = raw(name);
      if (value === undefined) return undefined;
      const number = Number(value);
      if (!Number.isInteger(number) || number < (bounds.min ?? 0) || number > (bounds.max ?? Number.MAX_SAFE_INTEGER)) {
        throw invalid(name, value, `a whole number${bounds.min === undefined ? '' : ` of at least ${bounds.min}`}`);
      }
      return number;
    },
    duration(name) {
      const value = raw(name);
      return value === undefined ? undefined : parseDuration(value, written(name), url.redacted);
    },
    secret(name) {
      const value = raw(name);
      return value === undefined ? undefined : new Secret(value);
    },
    done() {
      const unread = [...values.keys()].filter((name) => !read.has(name));
      const unknown = unread.filter((name) => known === undefined || !known.has(name));
      if (unknown.length > 0) {
        throw new MailError(
          'configuration',
          `Transport URL ${url.redacted}: unknown parameter ${unknown.map((name) => `"${name}"`).join(', ')}`,
          {
            remediation: `Known parameters for ${url.scheme}://: ${[...(known ?? read)].sort().join(', ') || 'none'}.`,
          },
        );
      }
      if (unread.length > 0) {
        const names = unread.map((name) => `"${written(name)}"`).join(', ');
        throw new MailError('configuration', `Transport URL ${url.redacted}: ${names} does not apply with the URL's other settings`, {
          remediation: `Remove ${names}, or see the ${url.scheme}:// parameters in its README for what it goes with.`,
        });
      }
    },
  };
}
