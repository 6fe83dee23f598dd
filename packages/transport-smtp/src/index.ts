import {
  type AdapterOptions,
  MailError,
  type TokenProvider,
  type TransportAdapter,
  type TransportFactory,
  type TransportFactoryContext,
  type TransportUrl,
  type UrlParams,
  urlParams,
} from '@mailport/core';
import { smtpOptionsFromUrl, smtpUrlParameters } from './smtp-options.js';
import { createSmtpTransport } from './smtp-transport.js';

export type {
  SmtpAdapterOptions,
  SmtpDsnNotify,
  SmtpDsnOptions,
  SmtpOAuthAuth,
  SmtpPasswordAuth,
  SmtpTransportOptions,
  SmtpVerpOptions,
} from './smtp-options.js';
export { createSmtpTransport, type SmtpTransport } from './smtp-transport.js';

/** The packages whose `./oauth` entry serves `oauth=NAME`; loaded only when the URL asks for it. */
const oauthPackages: Readonly<Record<string, string>> = Object.freeze({
  google: '@mailport/transport-gmail-api',
  microsoft: '@mailport/transport-graph',
});

interface OAuthModule {
  tokenProviderFromUrl(
    url: TransportUrl,
    context: Pick<TransportFactoryContext, 'env'>,
    options: { purpose: 'smtp'; params: UrlParams },
  ): TokenProvider;
}

/**
 * Builds an SMTP transport from `smtp://` or `smtps://` URLs; `@mailport/core`'s
 * `createTransport` calls it. The URL forms and parameters are in the README. With
 * `oauth=google` or `oauth=microsoft` it loads that provider's OAuth layer (and nothing else of
 * it) and authenticates with XOAUTH2: `smtp://user%40example.com@smtp.gmail.com:587?oauth=google`.
 */
export const createTransportFromUrl: TransportFactory<AdapterOptions['smtp']> = async (url, context) => {
  const params = urlParams(url, { known: smtpUrlParameters });
  const oauth = params.string('oauth')?.toLowerCase();
  let tokenProvider = context.tokenProvider;
  if (oauth !== undefined) {
    const packageName = oauthPackages[oauth];
    if (packageName === undefined) {
      throw new MailError('configuration', `Transport URL ${url.redacted}: oauth=${oauth} is not a known provider`, {
        remediation: `Use ${Object.keys(oauthPackages)
          .map((name) => `oauth=${name}`)
          .join(' or ')}, or pass createTransport(url, { tokenProvider }).`,
      });
    }
    tokenProvider = (await loadOAuth(packageName, url)).tokenProviderFromUrl(url, context, { purpose: 'smtp', params });
  }
  return createSmtpTransport(smtpOptionsFromUrl(url, { ...context, tokenProvider }, params));
};

async function loadOAuth(packageName: string, url: TransportUrl): Promise<OAuthModule> {
  // A variable specifier: the OAuth package is optional and loaded only for oauth=.
  const specifier: string = `${packageName}/oauth`;
  try {
    return (await import(specifier)) as OAuthModule;
  } catch (error) {
    throw new MailError('configuration', `${url.scheme}:// with oauth= needs the package ${packageName}: ${(error as Error).message}`, {
      remediation: `Run: npm install ${packageName}`,
      cause: error,
    });
  }
}

/**
 * The SMTP adapter for `createTransport(url, { use: [smtpAdapter] })`: serves smtp, smtps:// URLs
 * without the import by name that a bundled program (Cloudflare Workers, esbuild, Vite) cannot follow.
 *
 * @example
 * ```ts
 * import { smtpAdapter } from '@mailport/transport-smtp';
 * const mailer = createMailer({ transport: env.MAILPORT_URL, transportOptions: { use: [smtpAdapter], env } });
 * ```
 */
export const smtpAdapter: TransportAdapter<AdapterOptions['smtp']> = Object.freeze({
  schemes: Object.freeze(['smtp', 'smtps']),
  create: createTransportFromUrl,
});
