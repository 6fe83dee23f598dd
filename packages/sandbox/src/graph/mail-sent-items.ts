import type { HttpRequest, HttpResponse, Route } from '../http.js';
import { sentWithMessageId } from '../sent-lookup.js';
import type { StoredMessage } from '../store.js';
import { graphError, graphHeaders } from './errors.js';
import type { Caller, GraphMailContext } from './mail-context.js';

// What a queue asks after a crash: $filter=internetMessageId eq '<id>' (OData doubles a quote inside a literal).
const filterPattern = /^\s*internetMessageId\s+eq\s+'((?:[^']|'')*)'\s*$/i;

/**
 * GET /users/{id}/mailFolders/sentitems/messages: the mailbox's Sent Items, which hold what it sent
 * with saveToSentItems on (the default), filtered by `internetMessageId eq '...'` or not at all;
 * `$select` and `$top` are honoured as far as an `id` goes. Other folders are empty here.
 */
export function sentItemsRoutes(mail: GraphMailContext): Route[] {
  const { base, mailboxRoute } = mail;

  const list = (request: HttpRequest, caller: Caller): HttpResponse => {
    const folder = (request.params.folder ?? '').toLowerCase();
    if (folder !== 'sentitems') {
      return graphError(404, 'ErrorItemNotFound', 'The specified object was not found in the store.', { request });
    }
    const filter = request.url.searchParams.get('$filter');
    let wanted: string | undefined;
    if (filter !== null) {
      const match = filterPattern.exec(filter);
      if (match === null) {
        return graphError(400, 'ErrorInvalidUrlQueryFilter', `The sandbox filters on internetMessageId eq '...' only, not: ${filter}`, {
          request,
        });
      }
      wanted = (match[1] as string).replaceAll("''", "'");
    }
    const own = (message: StoredMessage): boolean =>
      message.api === 'graph' &&
      String(message.metadata.mailbox ?? '').toLowerCase() === caller.mailbox.toLowerCase() &&
      message.metadata.saveToSentItems !== false;
    const found = wanted === undefined ? mail.context.store.list().filter(own) : sentWithMessageId(mail.context.store, wanted, own);
    const top = Number.parseInt(request.url.searchParams.get('$top') ?? '10', 10);
    const page = [...found].reverse().slice(0, Number.isFinite(top) && top > 0 ? Math.min(top, 1000) : 10);
    return {
      status: 200,
      headers: graphHeaders(request),
      body: {
        '@odata.context': `${base(request)}/v1.0/$metadata#users('${encodeURIComponent(caller.mailbox)}')/mailFolders('sentitems')/messages(id)`,
        value: page.map((message) => ({ id: message.providerMessageId ?? message.id })),
      },
    };
  };

  return mailboxRoute('GET', '/mailFolders/:folder/messages', 'graph.listSentItems', list).map((route) => ({ ...route, access: 'api' }));
}
