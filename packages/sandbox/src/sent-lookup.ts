import { fieldsNamed, fieldValue, splitMessage } from './raw-message.js';
import type { MessageStore, StoredMessage } from './store.js';

/** The Message-ID header of stored bytes, without angle brackets, or undefined. */
export function storedMessageId(message: StoredMessage): string | undefined {
  const field = fieldsNamed(splitMessage(message.raw), 'Message-ID')[0];
  if (field === undefined) return undefined;
  return bare(fieldValue(field));
}

/** A Message-ID as users write it, with or without angle brackets, compared without them. */
export function bare(messageId: string): string {
  return messageId.trim().replace(/^<|>$/g, '');
}

/**
 * The stored messages that one mailbox sent with this Message-ID (what the Gmail `rfc822msgid:`
 * search and Graph's Sent Items filter find), oldest first.
 */
export function sentWithMessageId(store: MessageStore, messageId: string, sentBy: (message: StoredMessage) => boolean): StoredMessage[] {
  const wanted = bare(messageId);
  if (wanted === '') return [];
  return store.list().filter((message) => sentBy(message) && storedMessageId(message) === wanted);
}
