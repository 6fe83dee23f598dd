import { once } from 'node:events';
import {
  createServer as createHttpServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import { Readable } from 'node:stream';
import type { AccessPolicy, Refusal, RouteAccess } from './access.js';
import type { FaultInjector, FaultSpec } from './faults.js';
import type { RequestLog } from './requests.js';

/** Text made safe inside HTML or XML markup (element content and quoted attributes): `& < > " '` as numeric references. */
export function escapeMarkup(text: string): string {
  return text.replace(/[&<>"']/g, (character) => `&#${character.charCodeAt(0)};`);
}

/** A request as an emulator sees it: the body is read in full first. */
export interface HttpRequest {
  readonly method: string;
  readonly url: URL;
  /** Path parameters from the route pattern (`:userId`), decoded. */
  readonly params: Readonly<Record<string, string>>;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
  /** Whether it came over TLS. */
  readonly secure: boolean;
}

/** What an emulator answers. A plain object or array `body` is sent as JSON; a `Readable` is streamed (Server-Sent Events). */
export interface HttpResponse {
  readonly status: number;
  readonly headers?: Readonly<Record<string, string>> | undefined;
  readonly body?: Buffer | string | object | undefined;
}

/** One route of an emulator. */
export interface Route {
  readonly method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** `/gmail/v1/users/:userId/messages/send`; `:name` matches one path segment. */
  readonly path: string;
  /** The fault endpoint name (`gmail.messages.send`); undefined for routes faults cannot target. */
  readonly endpoint?: string | undefined;
  /** Largest body to read; above it the emulator's `tooLarge` answer is sent. Default 64 MB. */
  readonly maxBodyBytes?: number | undefined;
  /**
   * Who may call it (see {@link RouteAccess}); default `api`. A route under `/sandbox/` is always
   * `control`, and so is any request whose path is under `/sandbox/`.
   */
  readonly access?: RouteAccess | undefined;
  /** `self`: the inbox may frame it (`X-Frame-Options: SAMEORIGIN`); every other response says `DENY`. */
  readonly framing?: 'self' | undefined;
  /** A `control` GET route that also answers a capability URL (`?cap=`) from any origin: the inbox's inline images. */
  readonly capabilityUrls?: boolean | undefined;
  /** Its answer carries the inbox cookie, which passes the control token on the page's own requests. */
  readonly grantsSession?: boolean | undefined;
  handle(request: HttpRequest): Promise<HttpResponse> | HttpResponse;
}

/** One route as the front end serves it, for listings and tests: every route, with how it is guarded. */
export interface RouteSummary {
  readonly emulator: string;
  readonly method: Route['method'];
  readonly path: string;
  readonly access: RouteAccess;
  readonly endpoint?: string | undefined;
}

/** A provider emulated over HTTP: its routes and how it words an error. */
export interface Emulator {
  readonly name: string;
  readonly routes: readonly Route[];
  /** The provider's own error response, for an injected fault; `endpoint` is the faulted route's endpoint name. */
  errorResponse(fault: {
    status: number;
    code: string | undefined;
    message: string | undefined;
    endpoint?: string | undefined;
  }): HttpResponse;
  /** The provider's answer to a body over `maxBodyBytes`. */
  tooLarge(limit: number): HttpResponse;
}

interface CompiledRoute {
  readonly route: Route;
  readonly access: RouteAccess;
  readonly emulator: Emulator;
  readonly pattern: RegExp;
  readonly names: readonly string[];
}

const defaultMaxBody = 64 * 1024 * 1024;

/** Serves every emulator's routes over plain HTTP and over HTTPS, with faults applied. */
export interface HttpFrontend {
  readonly httpPort: number;
  readonly httpsPort: number;
  /** Every route, in matching order. */
  readonly routes: readonly RouteSummary[];
  close(): Promise<void>;
}

/** The access a route gets: `control` under `/sandbox/`, whatever it declares. */
function routeAccess(route: Route, emulator: Emulator): RouteAccess {
  if (!route.path.startsWith('/sandbox/')) return route.access ?? 'api';
  if (route.access !== undefined && route.access !== 'control') {
    throw new Error(`${emulator.name}: ${route.method} ${route.path} is under /sandbox/, so its access is control, not ${route.access}`);
  }
  return 'control';
}

/**
 * Starts both listeners on `host`. Every request passes `access` first: a `Host` that is not a
 * loopback name is refused (421) before routing; then the route's {@link RouteAccess} (403 from
 * another site, 401 without the control token, 415 for a control request whose body is not JSON).
 */
export async function startHttpFrontend(options: {
  host: string;
  httpPort: number;
  httpsPort: number;
  tls: { key: string; cert: string };
  emulators: readonly Emulator[];
  faults: FaultInjector;
  log: RequestLog;
  access: AccessPolicy;
}): Promise<HttpFrontend> {
  const policy = options.access;
  const routes: CompiledRoute[] = options.emulators.flatMap((emulator) =>
    emulator.routes.map((route) => {
      const names: string[] = [];
      const source = route.path
        .split('/')
        .map((segment) => {
          if (!segment.startsWith(':')) return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
          names.push(segment.slice(1));
          return '([^/]+)';
        })
        .join('/');
      return { route, access: routeAccess(route, emulator), emulator, pattern: new RegExp(`^${source}$`), names };
    }),
  );
  const sockets = new Set<Socket>();

  const handler =
    (secure: boolean) =>
    (incoming: IncomingMessage, outgoing: ServerResponse): void => {
      handle(incoming, outgoing, secure).catch((error: unknown) => {
        if (!outgoing.headersSent) {
          outgoing.writeHead(500, { 'content-type': 'text/plain' });
          outgoing.end(`sandbox error: ${(error as Error).message}`);
        } else outgoing.destroy();
      });
    };

  const refuse = (incoming: IncomingMessage, outgoing: ServerResponse, refusal: Refusal): void => {
    incoming.resume();
    send(outgoing, {
      status: refusal.status,
      headers: { ...refusal.headers, 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' },
      body: refusal.message,
    });
  };

  const handle = async (incoming: IncomingMessage, outgoing: ServerResponse, secure: boolean): Promise<void> => {
    // Before anything else, whatever the path: a page that rebinds its own name to 127.0.0.1 gets nothing.
    if (!policy.hostAllowed(incoming.headers.host)) {
      refuse(incoming, outgoing, policy.hostRefusal(incoming.headers.host));
      return;
    }
    const url = new URL(incoming.url ?? '/', `http://${incoming.headers.host}`);
    const method = incoming.method ?? 'GET';
    let matched: { compiled: CompiledRoute; params: Record<string, string> } | undefined;
    let pathMatched = false;
    for (const compiled of routes) {
      const match = compiled.pattern.exec(url.pathname);
      if (match === null) continue;
      pathMatched = true;
      if (compiled.route.method !== method) continue;
      const params: Record<string, string> = {};
      let malformed: string | undefined;
      compiled.names.forEach((name, index) => {
        try {
          params[name] = decodeURIComponent(match[index + 1] as string);
        } catch {
          malformed ??= match[index + 1];
        }
      });
      if (malformed !== undefined) {
        // A client's mistake (`%zz`, a cut `%E0%A4`), not the sandbox's: 400, not 500.
        incoming.resume();
        send(outgoing, { status: 400, body: { error: `malformed percent-encoding in the path: "${malformed.slice(0, 80)}"` } });
        return;
      }
      matched = { compiled, params };
      break;
    }
    if (matched === undefined) {
      incoming.resume();
      send(outgoing, {
        status: pathMatched ? 405 : 404,
        body: { error: pathMatched ? 'method not allowed' : `no sandbox route for ${method} ${url.pathname}` },
      });
      return;
    }
    const { route, emulator } = matched.compiled;
    // A path under /sandbox/ is the control API's, whichever route pattern matched it.
    const access: RouteAccess = url.pathname.startsWith('/sandbox/') ? 'control' : matched.compiled.access;
    const verdict = policy.check({
      method,
      url,
      headers: incoming.headers,
      secure,
      localPort: incoming.socket.localPort ?? 0,
      access,
      capabilityUrls: route.capabilityUrls === true,
    });
    if (!verdict.ok) {
      refuse(incoming, outgoing, verdict.refusal);
      return;
    }
    const limit = route.maxBodyBytes ?? defaultMaxBody;
    const body = await readBody(incoming, limit);
    if (body === undefined) {
      const response = emulator.tooLarge(limit);
      options.log.record({ endpoint: route.endpoint ?? `${method} ${route.path}`, method, path: url.pathname, outcome: response.status });
      send(outgoing, response, () => incoming.socket.destroy());
      return;
    }
    if (access === 'control' && body.length > 0 && !isJson(incoming.headers['content-type'])) {
      // A form or text/plain body is what another page can send without asking (no CORS preflight).
      refuse(incoming, outgoing, { status: 415, message: 'The control API takes JSON bodies: send Content-Type: application/json.\n' });
      return;
    }
    const request: HttpRequest = { method, url, params: matched.params, headers: incoming.headers, body, secure };
    const endpoint = route.endpoint ?? `${method} ${route.path}`;
    const fault = route.endpoint === undefined ? undefined : options.faults.take(route.endpoint);
    if (fault === undefined) {
      const response = await route.handle(request);
      // The sandbox's own routes and the inbox page are not traffic a client under test sent.
      if (!route.path.startsWith('/sandbox/') && route.path !== '/')
        options.log.record({ endpoint, method, path: url.pathname, outcome: response.status });
      const session: Record<string, string> =
        route.grantsSession === true ? { 'set-cookie': policy.sessionCookie(incoming.socket.localPort ?? 0) } : {};
      send(outgoing, { ...response, headers: { ...response.headers, ...session } }, undefined, {
        framing: route.framing,
        crossOrigin: verdict.viaCapability,
      });
      return;
    }
    const action = fault.action ?? 'respond';
    options.log.record({ endpoint, method, path: url.pathname, outcome: action === 'respond' ? (fault.status ?? 500) : action });
    await applyFault(fault, request, route, emulator, outgoing);
  };

  const applyFault = async (
    fault: FaultSpec,
    request: HttpRequest,
    route: Route,
    emulator: Emulator,
    outgoing: ServerResponse,
  ): Promise<void> => {
    switch (fault.action ?? 'respond') {
      case 'stall':
        return; // Never answered; closed with the sandbox.
      case 'reset':
        outgoing.socket?.destroy();
        return;
      case 'drop':
        await route.handle(request);
        outgoing.socket?.destroy();
        return;
      default: {
        const response = emulator.errorResponse({
          status: fault.status ?? 500,
          code: fault.code,
          message: fault.message,
          endpoint: route.endpoint,
        });
        const retryAfter: Record<string, string> = fault.retryAfter === undefined ? {} : { 'retry-after': String(fault.retryAfter) };
        send(outgoing, { ...response, headers: { ...response.headers, ...retryAfter } });
      }
    }
  };

  const http = createHttpServer(handler(false));
  const https = createHttpsServer({ key: options.tls.key, cert: options.tls.cert }, handler(true));
  for (const server of [http, https]) {
    server.on('connection', (socket: Socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    server.on('secureConnection', (socket: Socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
  }
  http.listen(options.httpPort, options.host);
  https.listen(options.httpsPort, options.host);
  try {
    await Promise.all([once(http, 'listening'), once(https, 'listening')]);
  } catch (error) {
    // One port was taken: free the other before reporting it.
    await Promise.all([closeServer(http), closeServer(https)]);
    throw error;
  }
  return {
    httpPort: (http.address() as { port: number }).port,
    httpsPort: (https.address() as { port: number }).port,
    routes: routes.map(({ route, access, emulator }) => ({
      emulator: emulator.name,
      method: route.method,
      path: route.path,
      access,
      endpoint: route.endpoint,
    })),
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await Promise.all([closeServer(http), closeServer(https)]);
    },
  };
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

/** The whole body, or undefined when it is larger than `limit` (the rest is not read). */
async function readBody(incoming: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  const declared = Number(incoming.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) return undefined;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of incoming as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size);
}

function isJson(contentType: string | undefined): boolean {
  const type = (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  return type === 'application/json' || /^application\/[\w.-]+\+json$/.test(type);
}

/**
 * Headers every answer carries unless its route set them: no framing (`X-Frame-Options`, and
 * `frame-ancestors` in the Content-Security-Policy of HTML), no sniffing, and no reading by
 * another origin's `<img>` or `<script>` (`Cross-Origin-Resource-Policy`), except for a
 * capability URL, which the inbox's opaque-origin message frame loads.
 */
function withSafetyHeaders(
  headers: Record<string, string>,
  safety: { framing?: 'self' | undefined; crossOrigin?: boolean | undefined },
): Record<string, string> {
  const names = new Map(Object.keys(headers).map((name) => [name.toLowerCase(), name]));
  const setDefault = (name: string, value: string): void => {
    if (!names.has(name)) headers[name] = value;
  };
  setDefault('x-content-type-options', 'nosniff');
  setDefault('x-frame-options', safety.framing === 'self' ? 'SAMEORIGIN' : 'DENY');
  setDefault('cross-origin-resource-policy', safety.crossOrigin === true ? 'cross-origin' : 'same-origin');
  const type = headers[names.get('content-type') ?? ''] ?? '';
  if (/^text\/html\b/i.test(type)) {
    const policyName = names.get('content-security-policy');
    const ancestors = safety.framing === 'self' ? "frame-ancestors 'self'" : "frame-ancestors 'none'";
    if (policyName === undefined) headers['content-security-policy'] = ancestors;
    else if (!/(^|;)\s*frame-ancestors\s/i.test(headers[policyName] ?? '')) headers[policyName] = `${headers[policyName]}; ${ancestors}`;
  }
  return headers;
}

function send(
  outgoing: ServerResponse,
  response: HttpResponse,
  after?: () => void,
  safety: { framing?: 'self' | undefined; crossOrigin?: boolean | undefined } = {},
): void {
  const headers: Record<string, string> = { ...response.headers };
  if (response.body instanceof Readable) {
    const stream = response.body;
    for (const name of Object.keys(headers)) if (name.toLowerCase() === 'content-length') delete headers[name];
    outgoing.writeHead(response.status, withSafetyHeaders(headers, safety));
    outgoing.flushHeaders();
    // The client left (or the sandbox closed its socket): stop producing.
    outgoing.once('close', () => stream.destroy());
    stream.pipe(outgoing);
    return;
  }
  let payload: Buffer | string | undefined;
  const body = response.body;
  if (body === undefined) payload = undefined;
  else if (Buffer.isBuffer(body) || typeof body === 'string') payload = body;
  else {
    payload = JSON.stringify(body);
    if (!Object.keys(headers).some((name) => name.toLowerCase() === 'content-type'))
      headers['content-type'] = 'application/json; charset=utf-8';
  }
  for (const name of Object.keys(headers)) if (name.toLowerCase() === 'content-length') delete headers[name];
  headers['content-length'] = payload === undefined ? '0' : String(Buffer.byteLength(payload));
  outgoing.writeHead(response.status, withSafetyHeaders(headers, safety));
  outgoing.end(payload, after);
}
