// The sender's own Exchange Online inbox, as a report reader sees it through Graph: what arrives
// there (NDRs, delay notices and auto-replies the scenario recipients cause), the inbox listing
// with $select/$filter/$top and @odata.nextLink, the MIME of a message ($value), and PATCH isRead.
import { randomBytes } from 'node:crypto';
import { exchangeReport, type MailboxScenario, mailboxScenarioOf, reportInBackground } from '../bounces/mailbox-reports.js';
import type { HttpRequest, HttpResponse, Route } from '../http.js';
import { fieldsNamed, fieldValue, splitMessage } from '../raw-message.js';
import { storedMessageId } from '../sent-lookup.js';
import type { StoredMessage } from '../store.js';
import { graphError, graphHeaders } from './errors.js';
import type { Caller, GraphMailContext } from './mail-context.js';
import { parseJson, unknownProperty } from './mail-request.js';

/** One message in a mailbox's inbox. */
export interface GraphInboxMessage {
  readonly id: string;
  readonly internetMessageId: string;
  readonly subject: string;
  readonly from: string;
  readonly raw: Buffer;
  /** ISO 8601. */
  readonly receivedDateTime: string;
  isRead: boolean;
  changeKey: string;
}

/** Most inbox messages kept per mailbox; past it the oldest are dropped. */
export const graphInboxLimit = 1_000;

/**
 * Default application permissions of the sandbox's app registration, when the accounts name none:
 * Mail.Send (sendMail) and Mail.ReadWrite (reading the inbox and marking messages read).
 */
export const defaultApplicationPermissions: readonly string[] = Object.freeze(['Mail.Send', 'Mail.ReadWrite']);

const selectable = new Set(['id', 'internetMessageId', 'isRead', 'subject', 'receivedDateTime', 'from', 'changeKey']);
const filterPattern = /^\s*isRead\s+eq\s+(true|false)\s*$/i;

/**
 * GET /mailFolders/inbox/messages, GET /messages/{id}/$value and PATCH /messages/{id} on the
 * mailboxes of the sandbox; every message the Graph emulator accepts for a scenario recipient
 * (`bounce@`, `delay@`, `ooto@simulator.amazonses.com`) puts Exchange Online's report into the
 * sender's inbox, and the event log records it (channel `graph-mailbox`).
 *
 * Permissions as Graph checks them: reading needs Mail.Read or Mail.ReadWrite, PATCH needs
 * Mail.ReadWrite: the delegated token's scopes, or for an app-only token the app's application
 * permissions (`accounts.microsoft.applicationPermissions`, default Mail.Send and Mail.ReadWrite).
 */
export function inboxRoutes(mail: GraphMailContext): Route[] {
  const { context, base, mailboxRoute } = mail;
  const inboxes = new Map<string, GraphInboxMessage[]>();
  const inboxOf = (mailbox: string): GraphInboxMessage[] => {
    let found = inboxes.get(mailbox.toLowerCase());
    if (found === undefined) {
      found = [];
      inboxes.set(mailbox.toLowerCase(), found);
    }
    return found;
  };

  const deliver = (mailbox: string, raw: Buffer): GraphInboxMessage => {
    const split = splitMessage(raw);
    const header = (name: string): string => fieldsNamed(split, name).map(fieldValue)[0] ?? '';
    const message: GraphInboxMessage = {
      id: `AAMkAD${randomBytes(30).toString('base64url')}`,
      internetMessageId: header('Message-ID'),
      subject: header('Subject'),
      from: header('From'),
      raw,
      receivedDateTime: new Date(context.now()).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      isRead: false,
      changeKey: randomBytes(12).toString('base64'),
    };
    const inbox = inboxOf(mailbox);
    inbox.push(message);
    if (inbox.length > graphInboxLimit) inbox.splice(0, inbox.length - graphInboxLimit);
    return message;
  };

  const report = async (stored: StoredMessage, recipient: string, scenario: MailboxScenario): Promise<void> => {
    const mailbox = String(stored.metadata.mailbox ?? stored.envelope.from);
    const built = await exchangeReport(
      scenario,
      { raw: stored.raw, sender: mailbox, recipient, sentAt: new Date(stored.receivedAt) },
      { now: new Date(context.now()) },
    );
    const delivered = deliver(mailbox, built.raw);
    const messageId = storedMessageId(stored);
    context.events.record({
      storeId: stored.id,
      messageId: messageId === undefined ? undefined : `<${messageId}>`,
      type: built.type,
      recipient,
      channel: 'graph-mailbox',
      detail: `"${built.subject}" into ${mailbox}'s inbox as message ${delivered.id.slice(0, 16)}...`,
    });
  };

  context.store.subscribe((stored) => {
    if (stored.api !== 'graph') return;
    for (const recipient of stored.envelope.to) {
      const scenario = mailboxScenarioOf(recipient);
      if (scenario === undefined) continue;
      reportInBackground(context.events, stored, recipient, 'graph-mailbox', () => report(stored, recipient, scenario));
    }
  });

  /** Refuses a caller without the permission, as Graph does (403 ErrorAccessDenied). */
  const permitted = (request: HttpRequest, caller: Caller, write: boolean): HttpResponse | undefined => {
    // A delegated token carries its scopes (`.default`: what the user consented to, everything here);
    // an app-only token stands for the app's application permissions.
    const granted = caller.delegated
      ? caller.token.scopes.map((scope) => scope.slice(scope.lastIndexOf('/') + 1))
      : [...(context.accounts.microsoft.applicationPermissions ?? defaultApplicationPermissions)];
    const allowed = granted.some(
      (name) => (caller.delegated && name === '.default') || name === 'Mail.ReadWrite' || (!write && name === 'Mail.Read'),
    );
    return allowed ? undefined : graphError(403, 'ErrorAccessDenied', 'Access is denied. Check credentials and try again.', { request });
  };

  const list = (request: HttpRequest, caller: Caller): HttpResponse => {
    const refused = permitted(request, caller, false);
    if (refused !== undefined) return refused;
    const params = request.url.searchParams;
    const filter = params.get('$filter');
    let wanted: boolean | undefined;
    if (filter !== null) {
      const match = filterPattern.exec(filter);
      if (match === null) {
        return graphError(
          400,
          'ErrorInvalidUrlQueryFilter',
          `The sandbox filters the inbox on isRead eq true|false only, not: ${filter.slice(0, 200)}`,
          {
            request,
          },
        );
      }
      wanted = (match[1] as string).toLowerCase() === 'true';
    }
    const select = (params.get('$select') ?? 'id,internetMessageId,subject,isRead,receivedDateTime,from')
      .split(',')
      .map((name) => name.trim())
      .filter((name) => name !== '');
    const unknown = select.find((name) => !selectable.has(name));
    if (unknown !== undefined) {
      return graphError(
        400,
        'RequestBroker--ParseUri',
        `Could not find a property named '${unknown.slice(0, 100)}' on type 'microsoft.graph.message'.`,
        {
          request,
        },
      );
    }
    const top = integer(params.get('$top'), 10);
    const skip = integer(params.get('$skip'), 0);
    if (top === undefined || top < 1 || top > 1000 || skip === undefined || skip < 0) {
      return graphError(400, 'BadRequest', 'Invalid $top or $skip: $top is 1 to 1000, $skip 0 or more.', { request });
    }
    // Newest first, as Outlook lists a folder.
    const found = [...inboxOf(caller.mailbox)].reverse().filter((message) => wanted === undefined || message.isRead === wanted);
    const page = found.slice(skip, skip + top);
    const body: Record<string, unknown> = {
      '@odata.context': `${base(request)}/v1.0/$metadata#users('${encodeURIComponent(caller.mailbox)}')/mailFolders('inbox')/messages(${select.join(',')})`,
      value: page.map((message) => view(message, select)),
    };
    if (skip + top < found.length) {
      const next = new URL(`${base(request)}${request.url.pathname}`);
      for (const [name, value] of params) if (name !== '$skip') next.searchParams.set(name, value);
      next.searchParams.set('$skip', String(skip + top));
      body['@odata.nextLink'] = next.toString();
    }
    return { status: 200, headers: graphHeaders(request), body };
  };

  const find = (request: HttpRequest, caller: Caller): GraphInboxMessage | undefined =>
    inboxOf(caller.mailbox).find((message) => message.id === (request.params.messageId ?? ''));

  const value = (request: HttpRequest, caller: Caller): HttpResponse => {
    const refused = permitted(request, caller, false);
    if (refused !== undefined) return refused;
    const message = find(request, caller);
    if (message === undefined) return graphError(404, 'ErrorItemNotFound', 'The specified object was not found in the store.', { request });
    return { status: 200, headers: { ...graphHeaders(request), 'content-type': 'text/plain' }, body: message.raw };
  };

  const update = (request: HttpRequest, caller: Caller): HttpResponse => {
    const refused = permitted(request, caller, true);
    if (refused !== undefined) return refused;
    const parsed = parseJson(request);
    if (!parsed.ok) return parsed.response;
    const unknown = Object.keys(parsed.value).find((key) => key !== 'isRead' && !key.startsWith('@odata.'));
    if (unknown !== undefined) return unknownProperty(request, unknown.slice(0, 100), 'microsoft.graph.message');
    const isRead = parsed.value.isRead;
    if (isRead !== undefined && typeof isRead !== 'boolean') {
      return graphError(
        400,
        'RequestBodyRead',
        `Cannot convert the literal '${String(isRead).slice(0, 100)}' to the expected type 'Edm.Boolean'.`,
        {
          request,
        },
      );
    }
    const message = find(request, caller);
    if (message === undefined) return graphError(404, 'ErrorItemNotFound', 'The specified object was not found in the store.', { request });
    if (isRead !== undefined) message.isRead = isRead;
    message.changeKey = randomBytes(12).toString('base64');
    return { status: 200, headers: graphHeaders(request), body: view(message, [...selectable]) };
  };

  return [
    ...mailboxRoute('GET', '/mailFolders/inbox/messages', 'graph.listInbox', list),
    ...mailboxRoute('GET', '/messages/:messageId/$value', 'graph.getMessageValue', value),
    ...mailboxRoute('PATCH', '/messages/:messageId', 'graph.updateMessage', update),
  ];
}

function view(message: GraphInboxMessage, select: readonly string[]): Record<string, unknown> {
  const all: Record<string, unknown> = {
    id: message.id,
    internetMessageId: message.internetMessageId,
    isRead: message.isRead,
    subject: message.subject,
    receivedDateTime: message.receivedDateTime,
    from: { emailAddress: { address: /<([^<>]+)>\s*$/.exec(message.from)?.[1] ?? message.from } },
    changeKey: message.changeKey,
  };
  const out: Record<string, unknown> = { '@odata.etag': `W/"${message.changeKey}"` };
  for (const name of select) out[name] = all[name];
  if (!('id' in out)) out.id = message.id;
  return out;
}

function integer(value: string | null, fallback: number): number | undefined {
  if (value === null) return fallback;
  return /^\d{1,7}$/.test(value) ? Number(value) : undefined;
}
