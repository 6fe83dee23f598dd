import { randomBytes } from 'node:crypto';
import type { EmulatorContext } from '../context.js';
import type { HttpResponse } from '../http.js';
import {
  addressesOf,
  fieldsNamed,
  fieldValue,
  type HeaderField,
  joinMessage,
  type RawMessage,
  splitMessage,
  threadSubject,
} from '../raw-message.js';
import { googleError } from './google-errors.js';

/** Most recipients (To, Cc and Bcc together) Gmail takes in one message. */
export const maxRecipients = 100;

/** How a message reached `messages.send`. */
export type UploadType = 'json' | 'media' | 'multipart';

/** What a send needs besides the bytes. */
export interface Submission {
  /** The mailbox that sends (the token's user). */
  readonly user: string;
  readonly raw: Buffer;
  readonly threadId: string | undefined;
  readonly uploadType: UploadType;
}

interface Thread {
  readonly subject: string;
  readonly messageIds: string[];
}

/**
 * The sent mail of every Gmail user in the sandbox: message and thread ids, and the delivery
 * rules of `users.messages.send`.
 */
export interface GmailMailboxes {
  send(submission: Submission): HttpResponse;
  /** `messagesTotal` and `threadsTotal` of a user's mailbox. */
  totals(user: string): { messages: number; threads: number };
  /** A history id that grows with every message, as Gmail's does. */
  historyId(): string;
}

/** Creates the mailboxes of the users in `context.accounts.google.users`. */
export function createMailboxes(context: EmulatorContext): GmailMailboxes {
  const threads = new Map<string, Map<string, Thread>>();
  let counter = 0;
  // Gmail ids are 16 hex digits that grow with time.
  const base = BigInt(context.now()) << 20n;
  const nextId = (): string => {
    counter++;
    return (base + BigInt(counter)).toString(16).padStart(16, '0');
  };
  const threadsOf = (user: string): Map<string, Thread> => {
    let found = threads.get(user);
    if (found === undefined) {
      found = new Map();
      threads.set(user, found);
    }
    return found;
  };

  return {
    send(submission) {
      const { user } = submission;
      const sendAs = context.accounts.google.users[user]?.sendAs ?? [user];
      const primary = sendAs[0] ?? user;
      const message = splitMessage(submission.raw);

      const recipients: string[] = [];
      for (const name of ['To', 'Cc', 'Bcc']) {
        for (const field of fieldsNamed(message, name)) {
          const addresses = addressesOf(field);
          if (addresses === undefined) return googleError(400, 'invalidArgument', `Invalid ${name} header`);
          for (const address of addresses) {
            if (!recipients.some((known) => known.toLowerCase() === address.toLowerCase())) recipients.push(address);
          }
        }
      }
      if (recipients.length === 0) return googleError(400, 'invalidArgument', 'Recipient address required');
      // 100 recipients per message outside the Gmail web UI (Google Workspace sending limits; docs/provider-facts.md).
      if (recipients.length > maxRecipients) {
        return googleError(400, 'invalidArgument', `Too many recipients: at most ${maxRecipients} per message (To, Cc and Bcc together)`);
      }

      const threadsOfUser = threadsOf(user);
      const requested = submission.threadId;
      if (requested !== undefined && requested !== '') {
        if (!/^[0-9a-f]{16}$/.test(requested)) return googleError(400, 'invalidArgument', 'Invalid thread_id value');
        if (!threadsOfUser.has(requested)) return googleError(404, 'notFound', 'Requested entity was not found.');
      }

      const fields: HeaderField[] = [];
      let fromAddress = primary;
      let hasFrom = false;
      let hasMessageId = false;
      for (const field of message.fields) {
        const name = field.name.toLowerCase();
        // The delivered copy carries no Bcc; Gmail read the recipients from it above.
        if (name === 'bcc') continue;
        if (name === 'from' && !hasFrom) {
          hasFrom = true;
          const address = addressesOf(field)?.[0];
          const allowed = address === undefined ? undefined : sendAs.find((candidate) => candidate.toLowerCase() === address.toLowerCase());
          // Gmail quietly sends from the primary address when the From is not one of the user's send-as addresses.
          if (allowed === undefined) {
            fields.push({ name: 'From', raw: `From: ${primary}` });
            continue;
          }
          fromAddress = allowed;
        }
        if (name === 'message-id' && !hasMessageId) {
          hasMessageId = true;
          const value = fieldValue(field);
          if (!/^<[^<>\s@]+@[^<>\s@]+>$/.test(value)) {
            // A malformed Message-ID is replaced, and the original kept, as Gmail does.
            fields.push({ name: 'Message-ID', raw: `Message-ID: ${gmailMessageId()}` });
            fields.push({
              name: 'X-Google-Original-Message-ID',
              raw: `X-Google-Original-Message-ID: ${field.raw.slice(field.raw.indexOf(':') + 1).trim()}`,
            });
            continue;
          }
        }
        fields.push(field);
      }
      if (!hasFrom) fields.unshift({ name: 'From', raw: `From: ${primary}` });
      if (!hasMessageId) fields.push({ name: 'Message-ID', raw: `Message-ID: ${gmailMessageId()}` });
      const delivered: RawMessage = { fields, body: message.body };

      const id = nextId();
      const threadId = chooseThread(threadsOfUser, requested, message, id);
      const raw = joinMessage(delivered);
      context.store.add({
        api: 'gmail',
        operation: submission.uploadType === 'json' ? 'messages.send' : 'messages.send (upload)',
        envelope: { from: fromAddress, to: recipients },
        raw,
        providerMessageId: id,
        metadata: { threadId, user, uploadType: submission.uploadType },
      });
      const labelIds = recipients.some((address) => sendAs.some((own) => own.toLowerCase() === address.toLowerCase()))
        ? ['UNREAD', 'SENT', 'INBOX']
        : ['SENT'];
      return { status: 200, headers: { 'content-type': 'application/json; charset=UTF-8' }, body: { id, threadId, labelIds } };
    },
    totals(user) {
      const own = threadsOf(user);
      let messages = 0;
      for (const thread of own.values()) messages += thread.messageIds.length;
      return { messages, threads: own.size };
    },
    historyId: () => String(1000 + counter * 7),
  };
}

/**
 * The thread a sent message joins. As the Gmail docs put it: the requested threadId must be
 * given, References or In-Reply-To set, and the Subject must match; otherwise the message
 * starts a thread of its own, whose id is the message's id.
 */
function chooseThread(threads: Map<string, Thread>, requested: string | undefined, message: RawMessage, id: string): string {
  const subject = threadSubject(fieldsNamed(message, 'Subject').map(fieldValue)[0] ?? '');
  const replies = fieldsNamed(message, 'In-Reply-To').length > 0 || fieldsNamed(message, 'References').length > 0;
  const thread = requested === undefined ? undefined : threads.get(requested);
  if (requested !== undefined && thread !== undefined && replies && thread.subject === subject) {
    thread.messageIds.push(id);
    return requested;
  }
  threads.set(id, { subject, messageIds: [id] });
  return id;
}

function gmailMessageId(): string {
  return `<${randomBytes(24).toString('base64url')}@mail.gmail.com>`;
}
