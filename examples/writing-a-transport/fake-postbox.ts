/**
 * A tiny fake of the Postbox API on 127.0.0.1, for tests: a real HTTP server on an ephemeral
 * port, strict where Postbox is strict, with faults on demand. Not a stub of the transport's
 * HTTP client: the transport's own requests, connections and timeouts are what get tested.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A message the fake accepted. */
export interface FakePostboxMessage {
  readonly id: string;
  readonly from: string;
  /** The envelope recipients, Bcc included. */
  readonly to: readonly string[];
  /** The RFC 5322 bytes as posted (without a Bcc header). */
  readonly raw: Buffer;
  readonly tags: readonly string[];
}

/**
 * How the next requests to `POST /v1/messages` fail:
 * - `respond`: answer `status` with Postbox's error body (and `Retry-After` when given);
 * - `stall`: read the request and never answer;
 * - `drop`: accept and store the message, then cut the connection without answering.
 */
export type FakePostboxFault =
  | {
      readonly kind: 'respond';
      readonly status: number;
      readonly code: string;
      readonly message?: string;
      readonly retryAfter?: number;
      readonly recipients?: readonly { address: string; reason: string }[];
    }
  | { readonly kind: 'stall' }
  | { readonly kind: 'drop' };

/** A running fake. */
export interface FakePostbox {
  /** `http://127.0.0.1:PORT` */
  readonly url: string;
  /** `127.0.0.1:PORT`, for `postbox://` URLs. */
  readonly host: string;
  /** The one API key it accepts. */
  readonly apiKey: string;
  /** The OAuth client it accepts at `POST /oauth/token`. */
  readonly clientId: string;
  readonly clientSecret: string;
  /** Accepted messages, oldest first. */
  readonly messages: readonly FakePostboxMessage[];
  /** Access tokens issued so far. */
  readonly tokensIssued: number;
  fail(fault: FakePostboxFault, count?: number): void;
  /** Makes every issued access token invalid, as if it had expired. */
  expireTokens(): void;
  /** Forgets messages and pending faults. */
  clear(): void;
  close(): Promise<void>;
}

/** Starts the fake on an ephemeral port of 127.0.0.1. */
export async function startFakePostbox(): Promise<FakePostbox> {
  const apiKey = `pbk_${randomUUID()}`;
  const clientId = 'postbox-test-client';
  const clientSecret = `pbs_${randomUUID()}`;
  const messages: FakePostboxMessage[] = [];
  const faults: FakePostboxFault[] = [];
  const tokens = new Set<string>();
  let tokensIssued = 0;

  const json = (response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void => {
    response.writeHead(status, { 'content-type': 'application/json', ...headers });
    response.end(JSON.stringify(body));
  };
  const error = (response: ServerResponse, status: number, code: string, message: string, extra: Record<string, unknown> = {}): void =>
    json(response, status, { error: { code, message, ...extra } });

  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    const path = new URL(request.url ?? '/', 'http://fake').pathname;

    if (request.method === 'POST' && path === '/oauth/token') {
      const form = new URLSearchParams(body);
      if (form.get('grant_type') !== 'client_credentials') return error(response, 400, 'unsupported_grant_type', 'client_credentials only');
      if (form.get('client_id') !== clientId || form.get('client_secret') !== clientSecret) {
        return json(response, 401, { error: 'invalid_client' });
      }
      const token = `pbt_${randomUUID()}`;
      tokens.add(token);
      tokensIssued++;
      return json(response, 200, { access_token: token, token_type: 'Bearer', expires_in: 3600 });
    }

    const bearer = /^Bearer (.+)$/.exec(request.headers.authorization ?? '')?.[1];
    if (bearer === undefined || (bearer !== apiKey && !tokens.has(bearer))) {
      return error(response, 401, 'unauthorized', 'The API key or access token is not valid.');
    }

    if (request.method === 'GET' && path === '/v1/account') {
      return json(response, 200, { name: 'Fake Postbox account', dailyQuota: 10_000, sentToday: messages.length });
    }

    if (request.method === 'POST' && path === '/v1/messages') {
      const fault = faults.shift();
      if (fault?.kind === 'stall') return; // never answered; close() cuts the connection
      if (fault?.kind === 'respond') {
        const headers: Record<string, string> = fault.retryAfter === undefined ? {} : { 'retry-after': String(fault.retryAfter) };
        const extra = fault.recipients === undefined ? {} : { recipients: fault.recipients };
        response.writeHead(fault.status, { 'content-type': 'application/json', ...headers });
        response.end(JSON.stringify({ error: { code: fault.code, message: fault.message ?? fault.code, ...extra } }));
        return;
      }
      let input: { from?: unknown; to?: unknown; raw?: unknown; tags?: unknown };
      try {
        input = JSON.parse(body) as typeof input;
      } catch {
        return error(response, 400, 'invalid_request', 'The body is not JSON.');
      }
      const { from, to, raw } = input;
      if (typeof from !== 'string' || !Array.isArray(to) || to.length === 0 || typeof raw !== 'string') {
        return error(response, 400, 'invalid_request', 'from, to (a non-empty array) and raw are required.');
      }
      if (to.length > 50) return error(response, 400, 'invalid_request', 'At most 50 recipients.');
      // Postbox sends only from verified domains; example.com is this account's.
      if (!from.toLowerCase().endsWith('@example.com'))
        return error(response, 403, 'sender_not_allowed', `${from} is not a verified sender.`);
      const bytes = Buffer.from(raw, 'base64');
      if (bytes.length > 10_000_000) return error(response, 413, 'too_large', 'Messages are limited to 10 MB.');
      const id = `pb_${randomUUID()}`;
      messages.push({ id, from, to: to.map(String), raw: bytes, tags: Array.isArray(input.tags) ? input.tags.map(String) : [] });
      if (fault?.kind === 'drop') {
        // Accepted, but the answer never arrives: the client cannot know.
        request.socket.destroy();
        return;
      }
      return json(response, 201, { id });
    }
    return error(response, 404, 'not_found', `No route for ${request.method} ${path}.`);
  };

  const server = createServer((request, response) => {
    handle(request, response).catch(() => response.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    host: `127.0.0.1:${port}`,
    apiKey,
    clientId,
    clientSecret,
    get messages() {
      return messages;
    },
    get tokensIssued() {
      return tokensIssued;
    },
    fail(fault, count = 1) {
      for (let index = 0; index < count; index++) faults.push(fault);
    },
    expireTokens() {
      tokens.clear();
    },
    clear() {
      messages.length = 0;
      faults.length = 0;
    },
    close() {
      // Stalled requests hold their connections open: cut them, or close() would wait forever.
      server.closeAllConnections();
      return new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
    },
  };
}
