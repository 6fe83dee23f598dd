// Reads bounce reports from the sending Gmail mailbox over the Gmail API.
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

/** Options of {@link createGmailReportReader}. */
export interface GmailReportReaderOptions extends MailboxReportReaderOptions {
  /** The label put on each processed report, made when missing. Default `mailport-processed`. */
  readonly label?: string | undefined;
}

interface GoogleOAuthModule {
  tokenProviderFromUrl(
    url: TransportUrl,
    context: Pick<TransportFactoryContext, 'env'>,
    options: { purpose: 'api'; params: UrlParams; subject?: string | undefined; scopes?: readonly string[] },
  ): TokenProvider;
}

const gmailScope = 'https://www.googleapis.com/auth/gmail.modify';
const readerName = 'Gmail report reader';
/** Gmail's label names: at most 225 characters, no control characters. */
const labelPattern = /^[^\u0000-\u001f\u007f]{1,225}$/;

/**
 * Reads the bounce reports, delay notices and auto-replies in the inbox of the Gmail mailbox a
 * `gmail://` transport sends from, joins each to the sent message through `sendLog`, hands the
 * events to `onEvents`, and then labels the message `mailport-processed`. Mail that is not a
 * report is left as it was (unlabelled, unread). Nothing is ever deleted.
 *
 * Needs the scope `https://www.googleapis.com/auth/gmail.modify` (reading and labelling; or
 * `https://mail.google.com/`): a service account asks for it itself unless the URL names `scopes`;
 * a user's refresh token must have been granted it. Loads `@mailport/transport-gmail-api`'s OAuth
 * layer on the first poll.
 *
 * @example
 * ```ts
 * const reader = createGmailReportReader({ url: process.env.MAILPORT_URL, sendLog, onEvents: (events) => pipeline.handle(events) });
 * reader.start(60_000);
 * ```
 */
export function createGmailReportReader(options: GmailReportReaderOptions): MailboxReportReader {
  const limits = readerLimits(options, readerName);
  const url = parseTransportUrl(String(options.url));
  if (url.scheme !== 'gmail') {
    throw new MailError('configuration', `${readerName}: ${url.redacted} is not a gmail:// URL`, {
      remediation: 'Give the gmail://user@example.com?... URL the mailer sends with.',
    });
  }
  const user = url.username === undefined ? url.host : `${url.username}@${url.host}`;
  if (user !== 'me' && !/^[^@\s]+@[^@\s]+$/.test(user)) {
    throw new MailError('configuration', `${readerName}: ${url.redacted} names no mailbox`, {
      remediation: 'Write gmail://user@example.com (or gmail://me).',
    });
  }
  const label = options.label ?? 'mailport-processed';
  if (!labelPattern.test(label) || label.trim() !== label)
    throw new MailError('configuration', `${readerName}: label must be 1 to 225 printable characters`);
  const params = urlParams(url);
  const endpoint = (params.string('endpoint') ?? params.string('root_url') ?? 'https://gmail.googleapis.com/').replace(/\/*$/, '/');
  if (!URL.canParse(endpoint) || !/^https?:$/.test(new URL(endpoint).protocol)) {
    throw new MailError('configuration', `${readerName}: endpoint ${endpoint} is not an http(s) URL`);
  }
  const connectTimeout = params.duration('connect_timeout');
  const base = `${endpoint}gmail/v1/users/${encodeURIComponent(user)}`;
  const mailbox = `Gmail mailbox ${user}`;

  const connect = async (): Promise<MailboxAdapter> => {
    const tokens = options.tokenProvider ?? (await tokensFromUrl(url, options.env ?? process.env, user));
    const client = createHttpClient({ timeoutMs: limits.timeoutMs, connectTimeoutMs: connectTimeout });
    const call = (
      method: 'GET' | 'POST',
      path: string,
      what: string,
      json?: unknown,
      accept?: readonly number[],
      maxResponseBytes?: number,
    ): Promise<HttpResponse> =>
      mailboxCall(
        client,
        tokens,
        { method, url: `${base}${path}`, json, what: `${what} of ${mailbox}`, accept, maxResponseBytes },
        forbidden,
      );
    let labelId: string | undefined;
    const findLabel = async (): Promise<string | undefined> => {
      const listed = (await call('GET', '/labels', 'users.labels.list')).json().labels;
      const found = (Array.isArray(listed) ? listed : []).find(
        (entry: unknown) =>
          typeof entry === 'object' && entry !== null && String((entry as { name?: unknown }).name).toLowerCase() === label.toLowerCase(),
      ) as { id?: unknown } | undefined;
      return typeof found?.id === 'string' ? found.id : undefined;
    };
    const ensureLabel = async (): Promise<string> => {
      labelId ??= await findLabel();
      if (labelId !== undefined) return labelId;
      const created = await call(
        'POST',
        '/labels',
        'users.labels.create',
        {
          name: label,
          labelListVisibility: 'labelShow',
          messageListVisibility: 'show',
        },
        [409],
      );
      // 409: another reader made it in the meantime.
      const id = created.status === 409 ? await findLabel() : created.json().id;
      if (typeof id !== 'string') throw new MailError('transient', `users.labels.create of ${mailbox}: no label id in the answer`);
      labelId = id;
      return id;
    };
    // Gmail's search writes a label's spaces as hyphens.
    const query = `in:inbox -label:${label.replace(/\s+/g, '-')}`;
    return {
      async list(limit, known) {
        await ensureLabel();
        const ids: string[] = [];
        let pageToken: string | undefined;
        for (let page = 0; page < 10 && ids.length < limit; page++) {
          const search = new URLSearchParams({ q: query, maxResults: String(Math.min(100, limit - ids.length + known.size)) });
          if (pageToken !== undefined) search.set('pageToken', pageToken);
          const body = (await call('GET', `/messages?${search}`, 'users.messages.list')).json();
          for (const entry of Array.isArray(body.messages) ? body.messages : []) {
            const id = (entry as { id?: unknown } | null)?.id;
            if (typeof id === 'string' && /^[A-Za-z0-9_-]{1,256}$/.test(id) && !known.has(id) && !ids.includes(id) && ids.length < limit)
              ids.push(id);
          }
          pageToken = typeof body.nextPageToken === 'string' && body.nextPageToken.length <= 1024 ? body.nextPageToken : undefined;
          if (pageToken === undefined) break;
        }
        return ids;
      },
      async fetch(id) {
        // The raw message comes base64url in JSON: 4 bytes per 3, and a few fields around it.
        const most = Math.ceil(limits.maxBytes / 3) * 4 + 64 * 1024;
        const answer = await call('GET', `/messages/${encodeURIComponent(id)}?format=raw`, 'users.messages.get', undefined, [404], most);
        if (answer.status === 404) return undefined;
        const raw = answer.json().raw;
        return typeof raw === 'string' && /^[A-Za-z0-9+/_-]*={0,2}$/.test(raw) ? Buffer.from(raw, 'base64url') : undefined;
      },
      async markProcessed(id) {
        const modify = async (): Promise<HttpResponse> =>
          call(
            'POST',
            `/messages/${encodeURIComponent(id)}/modify`,
            'users.messages.modify',
            { addLabelIds: [await ensureLabel()] },
            [400, 404],
          );
        let answer = await modify();
        if (answer.status === 400) {
          // "Invalid label": someone deleted the label since; make it again, once.
          labelId = undefined;
          answer = await modify();
          if (answer.status === 400) {
            throw new MailError('configuration', `users.messages.modify of ${mailbox}: refused (400${providerMessage(answer)})`, {
              statusCode: 400,
            });
          }
        }
      },
      close: () => client.close(),
    };
  };

  return createMailboxReader(options, {
    source: 'gmail',
    mailbox: user,
    maxBytes: limits.maxBytes,
    maxMessages: limits.maxMessages,
    connect,
  });
}

/** Gmail's 403: a missing scope names the one the reader needs; anything else (delegation denied) is `auth`. */
function forbidden(response: HttpResponse, what: string): MailError {
  const code = providerCode(response);
  const scopeMissing =
    code === 'insufficientPermissions' ||
    /insufficient_scope/i.test(response.headers['www-authenticate'] ?? '') ||
    /ACCESS_TOKEN_SCOPE_INSUFFICIENT/.test(response.text().slice(0, 4096));
  if (scopeMissing) {
    return new MailError('configuration', `${what}: the access token lacks the scope ${gmailScope} (403${providerMessage(response)})`, {
      statusCode: 403,
      providerCode: code,
      remediation:
        'The report reader needs https://www.googleapis.com/auth/gmail.modify (or https://mail.google.com/). A service account: allow that scope for its client id in Google Admin (Security > API controls > Domain-wide delegation). A user: grant it again (mailport auth google with that scope).',
    });
  }
  return new MailError('auth', `${what}: refused (403${providerMessage(response)})`, { statusCode: 403, providerCode: code });
}

/**
 * The transport URL's credentials through `@mailport/transport-gmail-api/oauth`. A service account
 * is asked for gmail.modify (the transport asks for gmail.send only) unless the URL names `scopes`.
 */
async function tokensFromUrl(url: TransportUrl, env: Readonly<Record<string, string | undefined>>, user: string): Promise<TokenProvider> {
  const oauth = await loadOAuth<GoogleOAuthModule>('@mailport/transport-gmail-api', readerName);
  const subject = user === 'me' ? undefined : user;
  return oauth.tokenProviderFromUrl(url, { env }, { purpose: 'api', params: urlParams(url), subject, scopes: [gmailScope] });
}
