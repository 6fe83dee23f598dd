import type { TokenProvider } from '@mailport/core';
import type { Context, Middleware, MiddlewareOptions } from '@microsoft/microsoft-graph-client';
import { type HttpAgents, HttpFailure, sendHttp } from './http-request.js';

/**
 * Per-request state shared by the middleware and the transport: the caller's signal, and what
 * the request went through (the token it carried, whether its body was sent, a network failure).
 */
export class GraphCallState implements MiddlewareOptions {
  readonly signal: AbortSignal | undefined;
  /** The access token on the last attempt. */
  token: string | undefined;
  /** The network failure of the last attempt, when no response came. */
  failure: HttpFailure | undefined;
  /** Attempts made: 2 after a 401 was answered with a refreshed token. */
  attempts = 0;
  /** What a middleware threw (a token provider's MailError), before the SDK wraps it in a GraphError. */
  thrown: unknown;

  constructor(signal: AbortSignal | undefined) {
    this.signal = signal;
  }
}

/**
 * Puts `Authorization: Bearer <token>` on every request, whatever its scheme (the SDK's own
 * AuthenticationHandler leaves http:// URLs without one), and on a 401 asks the token provider
 * for a new token once and sends the request once more: a 401 means the request was not acted on.
 *
 * @example
 * ```ts
 * const client = Client.initWithMiddleware({ middleware: [new GraphAuthMiddleware(tokens), new NodeHttpHandler(createAgents(), 120_000)] });
 * ```
 */
export class GraphAuthMiddleware implements Middleware {
  readonly #tokens: TokenProvider;
  #next: Middleware | undefined;

  constructor(tokens: TokenProvider) {
    this.#tokens = tokens;
  }

  setNext(next: Middleware): void {
    this.#next = next;
  }

  async execute(context: Context): Promise<void> {
    const next = this.#next;
    if (next === undefined) throw new Error('GraphAuthMiddleware needs a next middleware');
    const state = context.middlewareControl?.getMiddlewareOptions(GraphCallState) as GraphCallState | undefined;
    try {
      await this.#execute(context, next, state);
    } catch (error) {
      if (state !== undefined) state.thrown = error;
      throw error;
    }
  }

  async #execute(context: Context, next: Middleware, state: GraphCallState | undefined): Promise<void> {
    const signal = state?.signal;
    const token = await this.#tokens.getAccessToken({ signal });
    await this.#attempt(context, next, token.token, state);
    if (context.response?.status !== 401) return;
    // Read and drop the refused answer before sending again.
    await context.response.arrayBuffer().catch(() => undefined);
    const fresh = await this.#tokens.getAccessToken({ forceRefresh: true, refusedToken: token.token, signal });
    await this.#attempt(context, next, fresh.token, state);
  }

  async #attempt(context: Context, next: Middleware, token: string, state: GraphCallState | undefined): Promise<void> {
    const headers = new Headers(context.options?.headers as HeadersInit | undefined);
    headers.set('Authorization', `Bearer ${token}`);
    context.options = { ...context.options, headers: Object.fromEntries(headers) };
    if (state !== undefined) {
      state.token = token;
      state.attempts++;
    }
    await next.execute(context);
  }
}

/**
 * The last link of the chain: sends the request over node:http(s) with the transport's
 * keep-alive agents (which carry the `ca` trust), and records in {@link GraphCallState} whether
 * the body was sent when a connection fails. Stands in for the SDK's HTTPMessageHandler, whose
 * global fetch can neither take a private CA per client nor tell a failure before the body from
 * one after it.
 */
export class NodeHttpHandler implements Middleware {
  readonly #agents: HttpAgents;
  readonly #timeoutMs: number;

  constructor(agents: HttpAgents, timeoutMs: number) {
    this.#agents = agents;
    this.#timeoutMs = timeoutMs;
  }

  async execute(context: Context): Promise<void> {
    const state = context.middlewareControl?.getMiddlewareOptions(GraphCallState) as GraphCallState | undefined;
    if (state !== undefined) state.failure = undefined;
    const url = new URL(typeof context.request === 'string' ? context.request : (context.request as Request).url);
    const headers = Object.fromEntries(new Headers(context.options?.headers as HeadersInit | undefined));
    const body = context.options?.body as Buffer | string | undefined;
    try {
      const answer = await sendHttp(
        {
          method: context.options?.method ?? 'GET',
          url,
          headers,
          body: body ?? undefined,
          signal: state?.signal,
          timeoutMs: this.#timeoutMs,
        },
        this.#agents,
      );
      const responseHeaders = new Headers();
      for (const [name, value] of Object.entries(answer.headers)) {
        if (value === undefined) continue;
        for (const item of Array.isArray(value) ? value : [value]) responseHeaders.append(name, item);
      }
      const empty = answer.body.length === 0 || answer.status === 204 || answer.status === 205 || answer.status === 304;
      context.response = new Response(empty ? null : new Uint8Array(answer.body), { status: answer.status, headers: responseHeaders });
    } catch (error) {
      if (error instanceof HttpFailure && state !== undefined) state.failure = error;
      throw error;
    }
  }
}
