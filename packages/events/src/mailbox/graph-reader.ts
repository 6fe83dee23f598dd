// Reads bounce reports from the sending Exchange Online mailbox over Microsoft Graph.
import { readFileSync } from 'node:fs';
import {
  MailError,
  parseTransportUrl,
  type TokenProvider,
  type TransportFactoryContext,
  type TransportUrl,
  type UrlParams,
  urlParams,
} from '@mailport/core';
import { createHttpClient, type HttpResponse } from '@mailport/core/http';
import { mailboxCall, providerCode, providerMessage } from './mailbox-http.js';
import {
  createMailboxReader,
  loadOAuth,
  type MailboxAdapter,
  type MailboxReportReader,
  type MailboxReportReaderOptions,
  readerLimits,
} from './mailbox-reader.js';

/** Options of {@link createGraphReportReader}. */
export interface GraphReportReaderOptions extends MailboxReportReaderOptions {}

interface MicrosoftOAuthModule {
  tokenProviderFromUrl(
    url: TransportUrl,
    context: Pick<TransportFactoryContext, 'env' | 'options'>,
    options: { purpose: 'api'; params: UrlParams; scopes?: readonly string[] },
  ): TokenProvider;
}

const readerName = 'Graph report reader';

/**
 * Reads the non-delivery reports, delay notices and auto-replies among the unread messages of the
 * inbox of the mailbox a `graph://` transport sends from, joins each to the sent message through
 * `sendLog`, hands the events to `onEvents`, and then marks the message read. Mail that is not a
 * report is left unread. Nothing is ever deleted or moved.
 *
 * Needs the Mail.ReadWrite application permission (admin consent; an application access policy
 * can limit it to this mailbox), or with `tokenProvider` a delegated token with Mail.ReadWrite.
 * Loads `@mailport/transport-graph`'s OAuth layer on the first poll.
 *
 * @example
 * ```ts
 * const reader = createGraphReportReader({ url: process.env.MAILPORT_URL, sendLog, onEvents: (events) => pipeline.handle(events) });
 * reader.start(60_000);
 * ```
 */
export function createGraphReportReader(options: GraphReportReaderOptions): MailboxReportReader {
  const limits = readerLimits(options, readerName);
  const url = parseTransportUrl(String(options.url));
  if (url.scheme !== 'graph') {
    throw new MailError('configuration', `${readerName}: ${url.redacted} is not a graph:// URL`, {
      remediation: 'Give the graph://sender@contoso.com?... URL the mailer sends with.',
    });
  }
  if (url.username === undefined || url.host === '') {
    throw new MailError('configuration', `${readerName}: ${url.redacted} names no mailbox`, {
      remediation: 'Write graph://sender@contoso.com?tenant=...&client_id=...',
    });
  }
  const sender = `${url.username}@${url.host}`;
  const params = urlParams(url);
  const endpoint = (params.string('endpoint') ?? params.string('base_url') ?? 'https://graph.microsoft.com/v1.0').replace(/\/+$/, '');
  if (!URL.canParse(endpoint) || !/^https?:$/.test(new URL(endpoint).protocol)) {
    throw new MailError('configuration', `${readerName}: endpoint ${endpoint} is not an http(s) URL`);
  }
  const caFile = params.string('ca_file');
  const base = `${endpoint}/users/${encodeURIComponent(sender)}`;
  const mailbox = `Graph mailbox ${sender}`;

  const connect = async (): Promise<MailboxAdapter> => {
    let ca: Buffer | undefined;
    if (caFile !== undefined) {
      try {
        ca = readFileSync(caFile);
      } catch (error) {
        throw new MailError(
          'configuration',
          `${readerName}: cannot read ca_file ${caFile}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`,
        );
      }
    }
    const tokens = options.tokenProvider ?? (await tokensFromUrl(url, options.env ?? process.env));
    const client = createHttpClient({ timeoutMs: limits.timeoutMs, ca });
    const call = (
      method: 'GET' | 'PATCH',
      target: string,
      what: string,
      json?: unknown,
      accept?: readonly number[],
      maxResponseBytes?: number,
    ): Promise<HttpResponse> =>
      mailboxCall(client, tokens, { method, url: target, json, what: `${what} of ${mailbox}`, accept, maxResponseBytes }, forbidden);
    const origin = new URL(endpoint).origin;
    return {
      async list(limit, known) {
        const ids: string[] = [];
        const first = new URL(`${base}/mailFolders/inbox/messages`);
        first.searchParams.set('$select', 'id,internetMessageId,isRead');
        first.searchParams.set('$filter', 'isRead eq false');
        first.searchParams.set('$top', String(Math.min(100, limit + known.size)));
        let next: string | undefined = first.toString();
        for (let page = 0; page < 10 && next !== undefined && ids.length < limit; page++) {
          const body: Record<string, unknown> = (await call('GET', next, 'list inbox')).json();
          for (const entry of Array.isArray(body.value) ? body.value : []) {
            const id = (entry as { id?: unknown } | null)?.id;
            if (typeof id === 'string' && /^[A-Za-z0-9+/=_-]{1,512}$/.test(id) && !known.has(id) && !ids.includes(id) && ids.length < limit)
              ids.push(id);
          }
          const link: unknown = body['@odata.nextLink'];
          next = undefined;
          if (typeof link === 'string') {
            // The token goes only where the endpoint is: a nextLink elsewhere is refused.
            if (!URL.canParse(link) || new URL(link).origin !== origin) {
              throw new MailError('configuration', `list inbox of ${mailbox}: @odata.nextLink points away from ${origin}; not followed`);
            }
            next = link;
          }
        }
        return ids;
      },
      async fetch(id) {
        const answer = await call(
          'GET',
          `${base}/messages/${encodeURIComponent(id)}/$value`,
          'get message MIME',
          undefined,
          [404],
          limits.maxBytes,
        );
        return answer.status === 404 ? undefined : answer.body;
      },
      async markProcessed(id) {
        await call('PATCH', `${base}/messages/${encodeURIComponent(id)}`, 'mark message read', { isRead: true }, [404]);
      },
      close: () => client.close(),
    };
  };

  return createMailboxReader(options, {
    source: 'graph',
    mailbox: sender,
    maxBytes: limits.maxBytes,
    maxMessages: limits.maxMessages,
    connect,
  });
}

/** Graph's 403 (ErrorAccessDenied, Authorization_RequestDenied): the permission the reader needs. */
function forbidden(response: HttpResponse, what: string): MailError {
  return new MailError(
    'configuration',
    `${what}: access denied (403${providerMessage(response)}); the reader needs the Mail.ReadWrite permission on this mailbox`,
    {
      statusCode: 403,
      providerCode: providerCode(response),
      remediation:
        'Grant the app the Mail.ReadWrite application permission with admin consent (Entra admin center > App registrations > API permissions), and include this mailbox in any application access policy; or, with a delegated refresh token, sign in again granting it (mailport auth microsoft --scope https://graph.microsoft.com/Mail.ReadWrite).',
    },
  );
}

/**
 * The transport URL's credentials through `@mailport/transport-graph/oauth`: app-only asks for
 * `.default` (the app's application permissions); a delegated refresh token is asked for
 * Mail.ReadWrite, which it must have been granted (`mailport auth microsoft --scope https://graph.microsoft.com/Mail.ReadWrite`).
 */
async function tokensFromUrl(url: TransportUrl, env: Readonly<Record<string, string | undefined>>): Promise<TokenProvider> {
  const oauth = await loadOAuth<MicrosoftOAuthModule>('@mailport/transport-graph', readerName);
  return oauth.tokenProviderFromUrl(url, { env, options: {} }, { purpose: 'api', params: urlParams(url), scopes: delegatedScopes });
}

const delegatedScopes = ['https://graph.microsoft.com/Mail.ReadWrite', 'offline_access'] as const;
