/**
 * The raw SDK variant for Microsoft Graph: what an application writes with
 * `@microsoft/microsoft-graph-client` and `@azure/identity` alone. One `ClientSecretCredential`
 * per round (authority host: the sandbox's https listener, whose CA it is given in `tlsOptions`;
 * instance discovery off, as for any authority other than Microsoft's), wrapped in the SDK's
 * `TokenCredentialAuthenticationProvider`; per message, `POST /users/{mailbox}/sendMail` with a
 * JSON message, the SDK's usual way.
 *
 * The SDK's own AuthenticationHandler puts no Authorization header on http:// URLs, not even
 * for `customHosts` (it only matches https://), and the sandbox serves Graph over plain http as
 * mailport uses it. So the client is built with `Client.initWithMiddleware` and the SDK's default
 * chain with only the first link replaced: {@link BearerTokenMiddleware} (the auth provider's
 * token on every request), then the SDK's RetryHandler, RedirectHandler, TelemetryHandler and
 * HTTPMessageHandler. The last sends with Node's global fetch, which keeps connections alive.
 *
 * Graph's JSON message carries one body, HTML or text: the HTML one goes, as a hand-written app
 * would send it. mailport sends the same message as MIME (both bodies), its default mode.
 */
import { readFileSync } from 'node:fs';
import { ClientSecretCredential } from '@azure/identity';
import {
  type AuthenticationProvider,
  Client,
  type Context,
  HTTPMessageHandler,
  type Middleware,
  RedirectHandler,
  RetryHandler,
  TelemetryHandler,
} from '@microsoft/microsoft-graph-client';
import { TokenCredentialAuthenticationProvider } from '@microsoft/microsoft-graph-client/authProviders/azureTokenCredentials/index.js';
import { httpSenders } from './http-content.ts';
import type { CreateSdkSender } from './http-protocol.ts';

/** Puts the auth provider's token on every request, whatever the URL's scheme. */
class BearerTokenMiddleware implements Middleware {
  readonly #authProvider: AuthenticationProvider;
  #next: Middleware | undefined;

  constructor(authProvider: AuthenticationProvider) {
    this.#authProvider = authProvider;
  }

  setNext(next: Middleware): void {
    this.#next = next;
  }

  async execute(context: Context): Promise<void> {
    if (this.#next === undefined) throw new Error('BearerTokenMiddleware needs a next middleware');
    const token = await this.#authProvider.getAccessToken();
    const options = context.options ?? {};
    if (options.headers instanceof Headers) options.headers.set('Authorization', `Bearer ${token}`);
    else options.headers = { ...(options.headers as Record<string, string> | undefined), Authorization: `Bearer ${token}` };
    context.options = options;
    await this.#next.execute(context);
  }
}

/** Splits `Name <address>` into Graph's emailAddress. */
function emailAddress(value: string): { name: string; address: string } {
  const match = /^(.*?)\s*<([^>]+)>$/.exec(value);
  return match === null ? { name: '', address: value } : { name: match[1] ?? '', address: match[2] ?? value };
}

/** A fresh credential and Graph client for one round; `send` makes one sendMail call with a JSON message. */
export const createGraphSdkSender: CreateSdkSender = (target, message) => {
  const credential = new ClientSecretCredential(target.microsoft.tenantId, target.microsoft.clientId, target.microsoft.clientSecret, {
    authorityHost: target.httpsUrl,
    disableInstanceDiscovery: true,
    tlsOptions: { ca: readFileSync(target.caFile, 'utf8') },
  });
  const authProvider = new TokenCredentialAuthenticationProvider(credential, { scopes: ['https://graph.microsoft.com/.default'] });
  const client = Client.initWithMiddleware({
    baseUrl: target.httpUrl,
    defaultVersion: 'v1.0',
    middleware: [
      new BearerTokenMiddleware(authProvider),
      new RetryHandler(),
      new RedirectHandler(),
      new TelemetryHandler(),
      new HTTPMessageHandler(),
    ],
  });
  const path = `/users/${encodeURIComponent(httpSenders.graph.address)}/sendMail`;
  return {
    async send(): Promise<void> {
      await client.api(path).post({
        message: {
          subject: message.subject,
          body: { contentType: 'HTML', content: message.html },
          from: { emailAddress: emailAddress(message.from) },
          toRecipients: [{ emailAddress: emailAddress(message.to) }],
        },
      });
    },
    async close(): Promise<void> {
      // Nothing to release: the global fetch's idle connections close on their own.
    },
  };
};
