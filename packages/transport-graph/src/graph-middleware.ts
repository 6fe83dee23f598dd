import type { TokenProvider } from '@mailport/core';
import { type HttpClient, HttpError } from '@mailport/core/http';
import type { Context, Middleware, MiddlewareOptions } from '@microsoft/microsoft-graph-client';

/**
 * Per-request state shared by the middleware and the transport: the caller's signal, and what
 * the request went through (the token it carried, whether its body was sent, a network failure).
 */
export class GraphCallState implements MiddlewareOptions {
  readonly signal: AbortSignal | undefined;
  /** The access token on the last attempt. */
  token: string | undefined;
  /** The network failure of the last attempt, when no response came. */
  failure: HttpError | undefined;
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
 * const client = Client.initWithMiddleware({ middleware: [new GraphAuthMiddleware(tokens), new HttpClientHandler(createHttpClient())] });
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
 * The last link of the chain: sends the request through `@mailport/core/http` (the transport's
 * client, with its keep-alive connections and `ca` trust) and records in {@link GraphCallState}
 * the `HttpError` of a connection that failed, which says whether the body had been handed over.
 * Stands in for the SDK's HTTPMessageHandler, whose global fetch can neither take a private CA
 * per client nor tell a failure before the body from one after it.
 */
export class HttpClientHandler implements Middleware {
  readonly #http: HttpClient;

  constructor(http: HttpClient) {
    this.#http = http;
  }

  async execute(context: Context): Promise<void> {
    const state = context.middlewareControl?.getMiddlewareOptions(GraphCallState) as GraphCallState | undefined;
    if (state !== undefined) state.failure = undefined;
    try {
      context.response = await this.#http.fetch(context.request, { ...context.options, signal: state?.signal ?? null });
    } catch (error) {
      if (state !== undefined) state.failure = HttpError.find(error);
      throw error;
    }
  }
}
