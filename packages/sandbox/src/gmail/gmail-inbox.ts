// The sender's own Gmail mailbox, as a report reader sees it: what arrives in the inbox (bounces,
// delay notices and auto-replies the scenario recipients cause), messages.list with the search
// terms a reader uses, messages.get (raw), messages.modify and the labels.
import { gmailReport, mailboxScenarioOf, reportInBackground } from '../bounces/mailbox-reports.js';
import type { EmulatorContext } from '../context.js';
import type { HttpRequest, HttpResponse, Route } from '../http.js';
import { bare, storedMessageId } from '../sent-lookup.js';
import type { StoredMessage } from '../store.js';
import { googleError } from './google-errors.js';

/** Checks the token, its scopes and the path's user (the emulator's `authorize`). */
export type GmailAuthorize = (
  request: HttpRequest,
  context: EmulatorContext,
  scopes: readonly string[],
  method: string,
) => { user: string } | { response: HttpResponse };

/** One message in a user's mailbox that is not a sent one: a report, an auto-reply. */
export interface GmailInboxMessage {
  readonly id: string;
  readonly threadId: string;
  readonly raw: Buffer;
  /** Epoch ms. */
  readonly internalDate: number;
  readonly labelIds: Set<string>;
}

/** A user label. */
interface UserLabel {
  readonly id: string;
  readonly name: string;
  readonly labelListVisibility: string;
  readonly messageListVisibility: string;
}

/** Most inbox messages kept per user; past it the oldest are dropped. */
export const gmailInboxLimit = 1_000;
/** Most user labels per user: Gmail's own limit. */
const maxLabels = 10_000;
const systemLabels = ['INBOX', 'SENT', 'UNREAD', 'STARRED', 'IMPORTANT', 'TRASH', 'SPAM', 'DRAFT', 'CATEGORY_PERSONAL', 'CATEGORY_UPDATES'];

const gmail = 'https://www.googleapis.com/auth/gmail';
// Scopes that allow each method, from Gmail's API reference.
const readScopes = ['https://mail.google.com/', `${gmail}.modify`, `${gmail}.readonly`];
const listScopes = [...readScopes, `${gmail}.metadata`];
const modifyScopes = ['https://mail.google.com/', `${gmail}.modify`];
const labelListScopes = [...readScopes, `${gmail}.metadata`, `${gmail}.labels`];
const labelCreateScopes = [...modifyScopes, `${gmail}.labels`];

/** The sandbox's Gmail inboxes and the routes that read them. */
export interface GmailInbox {
  /** Puts a message into a user's inbox, labelled INBOX and UNREAD. */
  deliver(user: string, raw: Buffer): GmailInboxMessage;
  /** A user's inbox messages, oldest first. */
  messages(user: string): readonly GmailInboxMessage[];
  /**
   * users.messages.list when the request asks for more than the sent-mail lookup (`labelIds`, or
   * `q` with `in:`, `label:`, `is:`); undefined to leave it to that lookup.
   */
  list(request: HttpRequest): HttpResponse | undefined;
  readonly routes: readonly Route[];
}

/**
 * The inboxes of the sandbox's Gmail users. Every message the Gmail emulator accepts for a
 * scenario recipient (`bounce@`, `delay@`, `ooto@simulator.amazonses.com`) puts Gmail's report
 * into the sender's inbox, and the sandbox's event log records it (channel `gmail-mailbox`).
 */
export function createGmailInbox(context: EmulatorContext, authorize: GmailAuthorize): GmailInbox {
  const inboxes = new Map<string, GmailInboxMessage[]>();
  const labels = new Map<string, UserLabel[]>();
  let counter = 0;
  let labelCounter = 0;
  // Gmail ids are 16 hex digits that grow with time; bit 19 keeps these apart from sent messages' ids.
  const base = (BigInt(context.now()) << 20n) | 0x80000n;
  const nextId = (): string => (base + BigInt(++counter)).toString(16).padStart(16, '0');
  const key = (user: string): string => user.toLowerCase();
  const inboxOf = (user: string): GmailInboxMessage[] => {
    let found = inboxes.get(key(user));
    if (found === undefined) {
      found = [];
      inboxes.set(key(user), found);
    }
    return found;
  };
  const labelsOf = (user: string): UserLabel[] => {
    let found = labels.get(key(user));
    if (found === undefined) {
      found = [];
      labels.set(key(user), found);
    }
    return found;
  };

  const deliver = (user: string, raw: Buffer): GmailInboxMessage => {
    const id = nextId();
    const message: GmailInboxMessage = { id, threadId: id, raw, internalDate: context.now(), labelIds: new Set(['INBOX', 'UNREAD']) };
    const inbox = inboxOf(user);
    inbox.push(message);
    if (inbox.length > gmailInboxLimit) inbox.splice(0, inbox.length - gmailInboxLimit);
    return message;
  };

  context.store.subscribe((stored) => {
    if (stored.api !== 'gmail') return;
    // Mail to one's own address lands in one's inbox too, as Gmail files it (SENT, INBOX, UNREAD).
    const user = String(stored.metadata.user ?? stored.envelope.from);
    const own = context.accounts.google.users[user]?.sendAs ?? [user];
    if (stored.envelope.to.some((recipient) => own.some((address) => address.toLowerCase() === recipient.toLowerCase()))) {
      deliver(user, stored.raw);
    }
    for (const recipient of stored.envelope.to) {
      const scenario = mailboxScenarioOf(recipient);
      if (scenario === undefined) continue;
      reportInBackground(context.events, stored, recipient, 'gmail-mailbox', () => report(stored, recipient, scenario));
    }
  });

  const report = async (stored: StoredMessage, recipient: string, scenario: NonNullable<ReturnType<typeof mailboxScenarioOf>>) => {
    const user = String(stored.metadata.user ?? stored.envelope.from);
    const built = await gmailReport(
      scenario,
      { raw: stored.raw, sender: stored.envelope.from, recipient, sentAt: new Date(stored.receivedAt) },
      { now: new Date(context.now()) },
    );
    const delivered = deliver(user, built.raw);
    const messageId = storedMessageId(stored);
    context.events.record({
      storeId: stored.id,
      messageId: messageId === undefined ? undefined : `<${messageId}>`,
      type: built.type,
      recipient,
      channel: 'gmail-mailbox',
      detail: `"${built.subject}" into ${user}'s inbox as message ${delivered.id}`,
    });
  };

  type MailboxMessage = { id: string; threadId: string; labelIds: ReadonlySet<string>; internalDate: number; raw: Buffer };
  /** The user's sent messages, as they are in the store. */
  const sentBy = (user: string): StoredMessage[] =>
    context.store.list({ api: 'gmail' }).filter((message) => String(message.metadata.user ?? '').toLowerCase() === user.toLowerCase());
  /** A sent message as the mailbox shows it: labelled SENT. */
  const asSent = (message: StoredMessage): MailboxMessage => ({
    id: message.providerMessageId ?? message.id,
    threadId: String(message.metadata.threadId ?? message.providerMessageId),
    labelIds: new Set(['SENT']),
    internalDate: Date.parse(message.receivedAt),
    raw: message.raw,
  });
  /** Every message of the user: sent ones (from the store) and the inbox, newest first. */
  const everything = (user: string): MailboxMessage[] =>
    [...sentBy(user).map(asSent), ...inboxOf(user)].sort((a, b) => b.internalDate - a.internalDate || (a.id < b.id ? 1 : -1));

  const labelByName = (user: string, name: string): string | undefined => {
    const wanted = name.toLowerCase();
    const system = systemLabels.find((label) => label.toLowerCase() === wanted);
    if (system !== undefined) return system;
    // Gmail's search writes spaces in label names as hyphens.
    return labelsOf(user).find((label) => label.name.toLowerCase() === wanted || label.name.toLowerCase().replace(/\s+/g, '-') === wanted)
      ?.id;
  };
  const labelExists = (user: string, id: string): boolean => systemLabels.includes(id) || labelsOf(user).some((label) => label.id === id);

  const list = (request: HttpRequest): HttpResponse | undefined => {
    const query = (request.url.searchParams.get('q') ?? '').trim();
    const labelIds = request.url.searchParams.getAll('labelIds');
    if (labelIds.length === 0 && !/(^|\s)-?(in|label|is):/i.test(query)) return undefined;
    const caller = authorize(request, context, query === '' ? listScopes : readScopes, 'caribou.api.proto.MailboxService.ListMessages');
    if ('response' in caller) return caller.response;
    const tests: ((message: { labelIds: ReadonlySet<string>; raw: Buffer }) => boolean)[] = [];
    for (const id of labelIds) tests.push((message) => message.labelIds.has(id));
    for (const term of query.split(/\s+/).filter((part) => part !== '')) {
      const match = /^(-?)(in|label|is|rfc822msgid):(\S+)$/i.exec(term);
      if (match === null)
        return googleError(400, 'invalidArgument', `The sandbox searches by in:, label:, is:unread and rfc822msgid: only, not: ${term}`);
      const [, negate, field = '', value = ''] = match;
      let test: (message: { labelIds: ReadonlySet<string>; raw: Buffer }) => boolean;
      const lowerField = field.toLowerCase();
      if (lowerField === 'rfc822msgid') {
        const wanted = bare(value);
        test = (message) => storedMessageId({ raw: message.raw } as StoredMessage) === wanted;
      } else if (lowerField === 'is') {
        if (value.toLowerCase() !== 'unread' && value.toLowerCase() !== 'read')
          return googleError(400, 'invalidArgument', `The sandbox knows is:unread and is:read only, not: ${term}`);
        const unread = value.toLowerCase() === 'unread';
        test = (message) => message.labelIds.has('UNREAD') === unread;
      } else {
        // An unknown label matches nothing, as in Gmail; a quoted name is taken as written.
        const id = labelByName(caller.user, value.replace(/^"(.*)"$/, '$1'));
        test = (message) => id !== undefined && message.labelIds.has(id);
      }
      tests.push(negate === '-' ? (message) => !test(message) : test);
    }
    const found = everything(caller.user).filter((message) => tests.every((test) => test(message)));
    const max = Number.parseInt(request.url.searchParams.get('maxResults') ?? '100', 10);
    const size = Number.isFinite(max) && max > 0 ? Math.min(max, 500) : 100;
    const token = request.url.searchParams.get('pageToken');
    const offset = token === null ? 0 : Number.parseInt(Buffer.from(token, 'base64url').toString('latin1'), 10);
    if (!Number.isSafeInteger(offset) || offset < 0) return googleError(400, 'invalidArgument', 'Invalid pageToken');
    const page = found.slice(offset, offset + size);
    const body: Record<string, unknown> = { resultSizeEstimate: found.length };
    if (page.length > 0) body.messages = page.map((message) => ({ id: message.id, threadId: message.threadId }));
    if (offset + size < found.length) body.nextPageToken = Buffer.from(String(offset + size)).toString('base64url');
    return json(body);
  };

  /** One message by id: the inbox's, or a sent one (without listing and sorting the whole mailbox). */
  const findMessage = (request: HttpRequest, user: string): MailboxMessage | undefined => {
    const id = request.params.id ?? '';
    const received = inboxOf(user).find((message) => message.id === id);
    if (received !== undefined) return received;
    const sent = sentBy(user).find((message) => (message.providerMessageId ?? message.id) === id);
    return sent === undefined ? undefined : asSent(sent);
  };

  const getMessage = (request: HttpRequest): HttpResponse => {
    const format = (request.url.searchParams.get('format') ?? 'full').toLowerCase();
    // The metadata scope reads labels and headers, never a raw message.
    const caller = authorize(
      request,
      context,
      format === 'minimal' ? listScopes : readScopes,
      'caribou.api.proto.MailboxService.GetMessage',
    );
    if ('response' in caller) return caller.response;
    if (format !== 'raw' && format !== 'minimal') {
      return googleError(400, 'invalidArgument', `The sandbox answers format=raw and format=minimal only, not ${format}`);
    }
    const message = findMessage(request, caller.user);
    if (message === undefined) return googleError(404, 'notFound', 'Requested entity was not found.');
    const body: Record<string, unknown> = {
      id: message.id,
      threadId: message.threadId,
      labelIds: [...message.labelIds],
      snippet: '',
      sizeEstimate: message.raw.length,
      historyId: String(1000 + counter * 7),
      internalDate: String(message.internalDate),
    };
    if (format === 'raw') body.raw = message.raw.toString('base64url');
    return json(body);
  };

  const modifyMessage = (request: HttpRequest): HttpResponse => {
    const caller = authorize(request, context, modifyScopes, 'caribou.api.proto.MailboxService.ModifyMessage');
    if ('response' in caller) return caller.response;
    const body = parseBody(request);
    if (body === undefined) return googleError(400, 'parseError', 'Invalid JSON payload received. Unexpected token.');
    const add = stringList(body.addLabelIds);
    const remove = stringList(body.removeLabelIds);
    if (add === undefined || remove === undefined) {
      return googleError(
        400,
        'invalidArgument',
        'Invalid JSON payload received. addLabelIds and removeLabelIds must be lists of label ids.',
      );
    }
    if (add.length + remove.length === 0) return googleError(400, 'invalidArgument', 'No label add or removes specified');
    const unknown = [...add, ...remove].find((id) => !labelExists(caller.user, id));
    if (unknown !== undefined) return googleError(400, 'invalidArgument', `Invalid label: ${unknown.slice(0, 100)}`);
    const message = inboxOf(caller.user).find((candidate) => candidate.id === (request.params.id ?? ''));
    if (message === undefined) {
      // A sent message exists but the sandbox keeps its labels fixed; anything else is unknown.
      return findMessage(request, caller.user) === undefined
        ? googleError(404, 'notFound', 'Requested entity was not found.')
        : googleError(400, 'failedPrecondition', 'The sandbox does not relabel sent messages.');
    }
    for (const id of add) message.labelIds.add(id);
    for (const id of remove) message.labelIds.delete(id);
    return json({ id: message.id, threadId: message.threadId, labelIds: [...message.labelIds] });
  };

  const listLabels = (request: HttpRequest): HttpResponse => {
    const caller = authorize(request, context, labelListScopes, 'caribou.api.proto.MailboxService.ListLabels');
    if ('response' in caller) return caller.response;
    return json({
      labels: [
        ...systemLabels.map((id) => ({ id, name: id, type: 'system' })),
        ...labelsOf(caller.user).map((label) => ({ ...label, type: 'user' })),
      ],
    });
  };

  const createLabel = (request: HttpRequest): HttpResponse => {
    const caller = authorize(request, context, labelCreateScopes, 'caribou.api.proto.MailboxService.CreateLabel');
    if ('response' in caller) return caller.response;
    const body = parseBody(request);
    if (body === undefined) return googleError(400, 'parseError', 'Invalid JSON payload received. Unexpected token.');
    const name = typeof body.name === 'string' ? body.name.trim() : '';
    // Gmail refuses empty names, control characters, over-long names and the system labels' names.
    if (
      name === '' ||
      name.length > 225 ||
      /[\u0000-\u001f\u007f]/.test(name) ||
      systemLabels.some((id) => id.toLowerCase() === name.toLowerCase())
    ) {
      return googleError(400, 'invalidArgument', 'Invalid label name');
    }
    const own = labelsOf(caller.user);
    if (own.some((label) => label.name.toLowerCase() === name.toLowerCase()))
      return googleError(409, 'alreadyExists', 'Label name exists or conflicts');
    if (own.length >= maxLabels) return googleError(400, 'invalidArgument', 'Too many labels: at most 10000');
    const label: UserLabel = {
      id: `Label_${++labelCounter}`,
      name,
      labelListVisibility: typeof body.labelListVisibility === 'string' ? body.labelListVisibility : 'labelShow',
      messageListVisibility: typeof body.messageListVisibility === 'string' ? body.messageListVisibility : 'show',
    };
    own.push(label);
    return json({ ...label, type: 'user' });
  };

  const deleteLabel = (request: HttpRequest): HttpResponse => {
    const caller = authorize(request, context, labelCreateScopes, 'caribou.api.proto.MailboxService.DeleteLabel');
    if ('response' in caller) return caller.response;
    const own = labelsOf(caller.user);
    const index = own.findIndex((label) => label.id === request.params.id);
    if (index === -1) return googleError(404, 'notFound', 'Requested entity was not found.');
    const [gone] = own.splice(index, 1);
    for (const message of inboxOf(caller.user)) message.labelIds.delete(gone?.id ?? '');
    return { status: 204 };
  };

  return {
    deliver,
    messages: (user) => [...inboxOf(user)],
    list,
    routes: [
      { method: 'GET', path: '/gmail/v1/users/:userId/messages/:id', endpoint: 'gmail.messages.get', handle: getMessage },
      {
        method: 'POST',
        path: '/gmail/v1/users/:userId/messages/:id/modify',
        endpoint: 'gmail.messages.modify',
        maxBodyBytes: 64 * 1024,
        handle: modifyMessage,
      },
      { method: 'GET', path: '/gmail/v1/users/:userId/labels', endpoint: 'gmail.labels.list', handle: listLabels },
      {
        method: 'POST',
        path: '/gmail/v1/users/:userId/labels',
        endpoint: 'gmail.labels.create',
        maxBodyBytes: 64 * 1024,
        handle: createLabel,
      },
      { method: 'DELETE', path: '/gmail/v1/users/:userId/labels/:id', endpoint: 'gmail.labels.delete', handle: deleteLabel },
    ],
  };
}

function parseBody(request: HttpRequest): Record<string, unknown> | undefined {
  try {
    const value = JSON.parse(request.body.toString('utf8')) as unknown;
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function stringList(value: unknown): string[] | undefined {
  if (value === undefined) return [];
  if (!Array.isArray(value) || value.length > 100 || !value.every((item) => typeof item === 'string')) return undefined;
  return value as string[];
}

function json(body: object): HttpResponse {
  return { status: 200, headers: { 'content-type': 'application/json; charset=UTF-8' }, body };
}
