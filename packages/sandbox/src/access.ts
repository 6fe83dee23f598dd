import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { isIPv4, isIPv6 } from 'node:net';

/**
 * Who may call a route. Every route of every listener first needs a `Host` that names a loopback
 * address (see {@link AccessPolicy.hostAllowed}); then:
 *
 * - `api` (the default): the provider emulators (SES, Gmail, Graph, the token endpoints). Any
 *   client that is not a browser (SDKs send no `Origin` and no `Sec-Fetch-Site`); a browser only
 *   from this listener's own origin.
 * - `navigation`: pages a person opens (the inbox page, the sign-in pages). As `api`, and also a
 *   top-level navigation (a link, a redirect) from any site, never a frame or a subresource.
 * - `control`: everything under `/sandbox/`, whatever the route says. As `api`, and the per-run
 *   control token too: `Authorization: Bearer TOKEN`, or the inbox's cookie.
 */
export type RouteAccess = 'api' | 'navigation' | 'control';

/** A refusal, sent as a short plain-text body. */
export interface Refusal {
  readonly status: number;
  readonly message: string;
  readonly headers?: Readonly<Record<string, string>> | undefined;
}

/** What the policy looks at in a request. */
export interface AccessRequest {
  readonly method: string;
  readonly url: URL;
  readonly headers: IncomingHttpHeaders;
  /** Whether it came over TLS: the scheme of this listener's own origin. */
  readonly secure: boolean;
  /** The listener's port: the inbox cookie of one listener is not another's. */
  readonly localPort: number;
  readonly access: RouteAccess;
  /** The route takes a capability URL (`?cap=`) instead of the token, from any origin. */
  readonly capabilityUrls: boolean;
}

/** The verdict on a request that passed the Host check. */
export type AccessVerdict = { readonly ok: true; readonly viaCapability: boolean } | { readonly ok: false; readonly refusal: Refusal };

/** The sandbox's defences against other web pages and DNS rebinding; one per sandbox. */
export interface AccessPolicy {
  /** The control token of this run. */
  readonly token: string;
  /** Whether a `Host` header names a loopback address, or a host name the sandbox was told to accept. */
  hostAllowed(host: string | undefined): boolean;
  /** The answer to a request with another `Host`. */
  hostRefusal(host: string | undefined): Refusal;
  /** Whether a request may reach its route, once its `Host` passed. */
  check(request: AccessRequest): AccessVerdict;
  /** `path?cap=...`: a URL that reads `path` (GET) without the token, for the inbox's sandboxed message frame. */
  capabilityUrl(path: string): string;
  /** The `Set-Cookie` value that lets the inbox page, served by the listener on `localPort`, call the control API. */
  sessionCookie(localPort: number): string;
}

const tokenPattern = /^[A-Za-z0-9._~+/-]{16,}=*$/;
// A host name or a bracketed IPv6 address, then an optional port: nothing else (no userinfo, no path).
const hostHeaderPattern = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(?::\d{1,5})?$/;

/** A control token: 32 random bytes, base64url. */
export function generateControlToken(): string {
  return randomBytes(32).toString('base64url');
}

/**
 * Whether `name` (a `Host` header's host part, without the port; IPv6 in brackets) is a loopback
 * name or address: `localhost` and `*.localhost` (RFC 6761: browsers answer them with loopback
 * without asking DNS), `127.0.0.0/8` in dotted-quad form, `[::1]`, and IPv4-mapped `127.0.0.0/8`.
 */
export function isLoopbackName(name: string): boolean {
  const lower = name.toLowerCase();
  if (lower === 'localhost' || /^(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+localhost$/.test(lower)) return true;
  if (isIPv4(lower)) return lower.startsWith('127.');
  if (!lower.startsWith('[') || !lower.endsWith(']') || !isIPv6(lower.slice(1, -1))) return false;
  const canonical = new URL(`http://${lower}/`).hostname;
  return canonical === '[::1]' || /^\[::ffff:7f[0-9a-f]{2}:[0-9a-f]{1,4}\]$/.test(canonical);
}

/** The host part of a well-formed `Host` header, lowercase, or undefined. */
function hostName(host: string | undefined): string | undefined {
  if (host === undefined) return undefined;
  const match = hostHeaderPattern.exec(host);
  return match === null ? undefined : (match[1] as string).toLowerCase();
}

function sameSecret(presented: string, token: string): boolean {
  const digest = (text: string): Buffer => createHash('sha256').update(text).digest();
  return timingSafeEqual(digest(presented), digest(token));
}

function cookie(headers: IncomingHttpHeaders, name: string): string | undefined {
  for (const pair of (headers.cookie ?? '').split(';')) {
    const at = pair.indexOf('=');
    if (at !== -1 && pair.slice(0, at).trim() === name) return pair.slice(at + 1).trim();
  }
  return undefined;
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** The origin of a URL-ish string, or `null` for anything that is not one. */
function originOf(value: string): string {
  try {
    return new URL(value).origin;
  } catch {
    return 'null';
  }
}

/** Printable and short: a refusal quotes what it refused. */
function quoted(text: string | undefined): string {
  const clean = (text ?? '').replace(/[^\x20-\x7e]/g, '?');
  return `"${clean.length > 80 ? `${clean.slice(0, 80)}...` : clean}"`;
}

/**
 * The policy of one sandbox. `boundHost` (the interface it listens on) is accepted as a `Host`
 * unless it is a wildcard address; `allowedHosts` adds names (a container's service name).
 */
export function createAccessPolicy(options: {
  token?: string | undefined;
  boundHost: string;
  allowedHosts?: readonly string[] | undefined;
}): AccessPolicy {
  const token = options.token ?? generateControlToken();
  if (!tokenPattern.test(token)) {
    throw new TypeError('controlToken must be at least 16 characters of A-Z, a-z, 0-9 and ._~+/- (a bearer token)');
  }
  const extra = new Set<string>();
  const bound = options.boundHost.includes(':') ? `[${options.boundHost}]` : options.boundHost;
  if (!['0.0.0.0', '[::]', '[0:0:0:0:0:0:0:0]', ''].includes(bound)) extra.add(bound.toLowerCase());
  for (const name of options.allowedHosts ?? [])
    extra.add((name.includes(':') && !name.startsWith('[') ? `[${name}]` : name).toLowerCase());
  const cookieName = (port: number): string => `mailport_sandbox_${port}`;
  const capability = (path: string): string => createHmac('sha256', token).update(`GET ${path}`).digest('base64url').slice(0, 32);

  const hostAllowed = (host: string | undefined): boolean => {
    const name = hostName(host);
    return name !== undefined && (isLoopbackName(name) || extra.has(name));
  };

  /** Why a browser request comes from another origin than this listener's, or undefined when it does not. */
  const crossOrigin = (request: AccessRequest): string | undefined => {
    const self = `${request.secure ? 'https' : 'http'}://${request.headers.host ?? ''}`;
    const own = originOf(self);
    const origin = header(request.headers, 'origin');
    if (origin !== undefined && originOf(origin) !== own) return `Origin ${quoted(origin)}`;
    const site = header(request.headers, 'sec-fetch-site');
    if (site === 'cross-site' || site === 'same-site') return `Sec-Fetch-Site ${site}`;
    // A browser too old for Fetch Metadata that sent no Origin (a GET) may still say where from.
    const referer = header(request.headers, 'referer');
    if (site === undefined && origin === undefined && referer !== undefined && originOf(referer) !== own)
      return `Referer ${quoted(referer)}`;
    return undefined;
  };

  const refuse = (status: number, message: string, headers?: Record<string, string>): AccessVerdict => ({
    ok: false,
    refusal: { status, message, headers },
  });

  return {
    token,
    hostAllowed,
    hostRefusal: (host) => ({
      status: 421,
      message:
        `This mailport sandbox answers only requests addressed to a loopback name (127.0.0.1, localhost, [::1]); ` +
        `this one was for ${quoted(host)}. Another site's name pointed at 127.0.0.1 (DNS rebinding) gets no answer here.\n`,
    }),
    check(request) {
      if (request.access === 'control' && request.capabilityUrls && request.method === 'GET') {
        const presented = request.url.searchParams.get('cap');
        if (presented !== null && sameSecret(presented, capability(request.url.pathname))) return { ok: true, viaCapability: true };
      }
      const foreign = crossOrigin(request);
      if (foreign !== undefined) {
        const navigation =
          request.method === 'GET' &&
          header(request.headers, 'sec-fetch-mode') === 'navigate' &&
          header(request.headers, 'sec-fetch-dest') === 'document';
        if (!(request.access === 'navigation' && navigation)) {
          return refuse(403, `Refused: a request from another site (${foreign}). The sandbox answers browsers only from its own pages.\n`);
        }
      }
      if (request.access !== 'control') return { ok: true, viaCapability: false };
      const bearer = /^Bearer\s+(\S+)\s*$/i.exec(header(request.headers, 'authorization') ?? '')?.[1];
      const presented = bearer ?? cookie(request.headers, cookieName(request.localPort));
      if (presented === undefined || !sameSecret(presented, token)) {
        return refuse(
          401,
          `The sandbox's control API (/sandbox/...) needs this run's control token: send "Authorization: Bearer TOKEN". ` +
            `startSandbox() returns it as controlToken; mailport-sandbox and mailport dev print the file that holds it. ` +
            `The inbox page (/) passes it by itself.\n`,
          { 'www-authenticate': 'Bearer realm="mailport-sandbox"' },
        );
      }
      return { ok: true, viaCapability: false };
    },
    capabilityUrl: (path) => `${path}?cap=${capability(path)}`,
    sessionCookie: (localPort) => `${cookieName(localPort)}=${token}; Path=/; HttpOnly; SameSite=Strict`,
  };
}
