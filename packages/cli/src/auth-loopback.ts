import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { MailError } from '@mailport/core';

/** A PKCE pair (RFC 7636): the verifier the token request proves, and its S256 challenge. */
export interface PkcePair {
  readonly verifier: string;
  readonly challenge: string;
  readonly method: 'S256';
}

/** A new PKCE pair: 32 random bytes as the verifier (43 characters), its SHA-256 as the challenge. */
export function createPkcePair(): PkcePair {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url'), method: 'S256' };
}

/** An unguessable `state`, which ties the redirect to this run of the command (CSRF protection, RFC 6749 section 10.12). */
export function createState(): string {
  return randomBytes(16).toString('base64url');
}

/** What came back to the loopback redirect URI: the query of the redirect that carried our `state`. */
export type LoopbackOutcome = { readonly kind: 'redirect'; readonly params: URLSearchParams } | { readonly kind: 'timeout' };

/** A listener on the loopback interface that receives the authorization server's redirect. */
export interface LoopbackListener {
  /** `http://127.0.0.1:PORT` (or `http://localhost:PORT`), exactly as to send in the authorization and token requests. */
  readonly redirectUri: string;
  readonly port: number;
  /**
   * Waits for the redirect whose `state` is ours; requests with another state (or none) are
   * answered 400 and ignored, so a stray or forged request cannot end the wait. An abort rejects
   * with the signal's reason.
   */
  wait(options: { state: string; timeoutMs: number; signal: AbortSignal }): Promise<LoopbackOutcome>;
  close(): Promise<void>;
}

/** Options of {@link startLoopbackListener}. */
export interface LoopbackListenerOptions {
  /** Port to listen on; 0 (the default) takes an ephemeral one. */
  readonly port?: number | undefined;
  /**
   * The host name in the redirect URI. `127.0.0.1` (Google's recommendation, RFC 8252 section
   * 8.3); `localhost` for Entra ID, whose app registrations take `http://localhost`. The listener
   * binds 127.0.0.1, and also ::1 for `localhost`, which a browser may resolve to either.
   */
  readonly host?: '127.0.0.1' | 'localhost' | undefined;
  /** Product name for the page the browser shows. */
  readonly provider: string;
}

/**
 * Starts the listener for the loopback redirect of OAuth for installed apps (RFC 8252 section
 * 7.3). It binds the loopback interface only, so nothing off this machine can reach it.
 *
 * @example
 * ```ts
 * const listener = await startLoopbackListener({ provider: 'Google' });
 * // ... print an authorization URL with redirect_uri=listener.redirectUri ...
 * const outcome = await listener.wait({ state, timeoutMs: 300_000, signal });
 * await listener.close();
 * ```
 */
export async function startLoopbackListener(options: LoopbackListenerOptions): Promise<LoopbackListener> {
  const host = options.host ?? '127.0.0.1';
  let expectedState: string | undefined;
  let deliver: ((params: URLSearchParams) => void) | undefined;
  const sockets = new Set<Socket>();

  const handle = (incoming: IncomingMessage, outgoing: ServerResponse): void => {
    const url = new URL(incoming.url ?? '/', 'http://127.0.0.1');
    if (incoming.method !== 'GET' || url.pathname !== '/') {
      respond(outgoing, 404, 'Not found', 'This address only receives the sign-in redirect of mailport auth.');
      return;
    }
    const params = url.searchParams;
    if (expectedState === undefined || params.get('state') !== expectedState || deliver === undefined) {
      respond(
        outgoing,
        400,
        'Not for this sign-in',
        'This answer does not carry the state of the running mailport auth command, so it was ignored. Use the URL the command printed.',
      );
      return;
    }
    const error = params.get('error');
    if (error !== null) {
      respond(outgoing, 200, 'Sign-in not completed', `${options.provider} answered ${error}. Return to the terminal for what to do.`);
    } else if (params.get('code') === null) {
      respond(outgoing, 400, 'No authorization code', 'The redirect carries neither a code nor an error.');
      return;
    } else {
      respond(outgoing, 200, 'Signed in', 'mailport received the authorization. You can close this tab and return to the terminal.');
    }
    const resolve = deliver;
    deliver = undefined;
    resolve(params);
  };

  const listen = async (address: string, port: number): Promise<Server> => {
    const server = createServer(handle);
    server.on('connection', (socket: Socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    server.listen(port, address);
    await Promise.race([
      once(server, 'listening'),
      once(server, 'error').then(([error]) => {
        throw error;
      }),
    ]);
    return server;
  };

  let primary: Server;
  try {
    primary = await listen('127.0.0.1', options.port ?? 0);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new MailError(
      'configuration',
      `Cannot listen on 127.0.0.1:${options.port ?? 0} for the sign-in redirect: ${code ?? String(error)}`,
      {
        remediation:
          code === 'EADDRINUSE'
            ? 'Choose another --port, or leave it out to take a free one.'
            : 'Check that this machine allows listening on the loopback interface.',
      },
    );
  }
  const port = (primary.address() as { port: number }).port;
  const servers = [primary];
  if (host === 'localhost') {
    // Best effort: a machine without IPv6 has no ::1, and 127.0.0.1 then serves alone.
    await listen('::1', port).then(
      (server) => servers.push(server),
      () => undefined,
    );
  }

  return {
    redirectUri: `http://${host}:${port}`,
    port,
    wait({ state, timeoutMs, signal }) {
      expectedState = state;
      return new Promise<LoopbackOutcome>((resolve, reject) => {
        const finish = (): void => {
          clearTimeout(timer);
          signal.removeEventListener('abort', onAbort);
          deliver = undefined;
        };
        const onAbort = (): void => {
          finish();
          reject(signal.reason);
        };
        const timer = setTimeout(() => {
          finish();
          resolve({ kind: 'timeout' });
        }, timeoutMs);
        if (signal.aborted) {
          onAbort();
          return;
        }
        signal.addEventListener('abort', onAbort, { once: true });
        deliver = (params) => {
          finish();
          resolve({ kind: 'redirect', params });
        };
      });
    },
    async close() {
      // The browser's keep-alive connection would hold close() open: end every socket once its answer is out.
      for (const socket of sockets) socket.end();
      const laggards = setTimeout(() => {
        for (const socket of sockets) socket.destroy();
      }, 1000);
      laggards.unref();
      await Promise.all(servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
      clearTimeout(laggards);
    },
  };
}

function respond(outgoing: ServerResponse, status: number, title: string, text: string): void {
  const escapeHtml = (value: string): string => value.replace(/[&<>"']/g, (character) => `&#${character.charCodeAt(0)};`);
  const body = `<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>mailport: ${escapeHtml(title)}</title></head>\n<body style="font-family: system-ui, sans-serif; margin: 3em"><h1>${escapeHtml(title)}</h1>\n<p>${escapeHtml(text)}</p>\n</body></html>\n`;
  outgoing.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'content-length': String(Buffer.byteLength(body)),
    'cache-control': 'no-store',
    // The page must not leak the code in the query to another site through the Referer.
    'referrer-policy': 'no-referrer',
  });
  outgoing.end(body);
}

/**
 * Tries to open `url` in the user's browser (`--open`): `open` on macOS, `start` on Windows,
 * `xdg-open` elsewhere. Returns false when that could not be started; the URL is printed anyway.
 */
export async function openBrowser(url: string): Promise<boolean> {
  const [command, args] =
    process.platform === 'darwin'
      ? ['open', [url]]
      : process.platform === 'win32'
        ? ['cmd', ['/c', 'start', '""', url.replace(/&/g, '^&')]]
        : ['xdg-open', [url]];
  try {
    const child = spawn(command, args, { stdio: 'ignore', detached: true, windowsHide: true });
    const started = await Promise.race([once(child, 'spawn').then(() => true), once(child, 'error').then(() => false)]);
    child.unref();
    return started;
  } catch {
    return false;
  }
}
