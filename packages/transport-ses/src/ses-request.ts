import type { MessageTag, SendEmailCommandInput } from '@aws-sdk/client-sesv2';
import { type Address, type EmailMessage, invalidMessage, requestsDkim } from '@mailport/core';

/**
 * SES v2's largest message: "40 MB per message (after base64 encoding)" including attachments
 * (SES quotas), counted on the rendered MIME. AWS does not give the byte count; 40,000,000 is
 * the lower reading of "40 MB" (SES v1 enforced its 10 MB at 10,485,760 bytes), so nothing
 * mailport lets through is over SES's limit.
 */
export const sesMaxMessageBytes: number = 40_000_000;
/** To, Cc and Bcc together (SES quotas). */
export const sesMaxRecipients: number = 50;

// MessageTag names and values: ASCII letters, digits, "_" and "-", at most 256 characters (API_MessageTag).
const tagPattern = /^[A-Za-z0-9_-]{1,256}$/;
const tagRule = 'SES tags use only ASCII letters, digits, "_" and "-", at most 256 characters';

// What a decoder takes for an encoded-word, `=?charset?B|Q?text?=`, matched leniently (as core's MIME rendering does).
const encodedWordLookalike = /=\?[^?]*\?[bBqQ]\?[^?]*\?=/;

/** Which SendEmail content carries a message. */
export type SesContentKind = 'simple' | 'raw';

/** What the request needs besides the message. */
export interface SesRequestOptions {
  readonly configurationSet?: string | undefined;
}

/**
 * Why SES's Simple content cannot carry `message` exactly, or undefined when it can. Simple
 * content is SES building the MIME from a subject, a text and/or HTML body and addresses; SES
 * replaces Date and Message-ID in every message whichever content it gets, so those two never
 * decide. Anything else mailport writes into the MIME needs Raw.
 *
 * @example
 * ```ts
 * rawReason(createMessage({ from: 'a@shop.example', to: 'b@example.org', text: 'hi', headers: { 'X-Id': '1' } })); // 'custom headers'
 * ```
 */
export function rawReason(message: EmailMessage): string | undefined {
  // Simple content is MIME that SES writes: mailport's signature is on mailport's rendering.
  if (requestsDkim(message)) return 'a DKIM signature';
  if (message.attachments.length > 0) return 'attachments';
  if (message.headers.length > 0) return 'custom headers';
  if (message.sender !== undefined) return 'a Sender';
  if (message.inReplyTo !== undefined || message.references.length > 0) return 'In-Reply-To or References';
  if (message.priority === 'high' || message.priority === 'low') return 'a priority';
  if (message.listUnsubscribe !== undefined) return 'List-Unsubscribe';
  if (message.hasCustomEnvelope) return 'a separate envelope';
  if (message.text === undefined && message.html === undefined) return 'no body';
  if (message.subject === '') return 'an empty subject';
  // SES writes a Simple Subject as given when it is ASCII, so text that looks like an RFC 2047
  // encoded-word would be decoded by mail clients ("Re: =?ISO-8859-1?Q?Caf=E9?=" shown as
  // "Re: Café"). Raw carries core's rendering, which encodes such a Subject so it reads literally.
  if (encodedWordLookalike.test(message.subject)) return 'a subject that looks like an RFC 2047 encoded-word';
  // SES would send (and count) an address twice if it is in two of To, Cc and Bcc; the envelope lists it once.
  if (message.to.length + message.cc.length + message.bcc.length !== message.envelope.to.length) return 'a repeated recipient';
  // SES wants RFC 2047 encoded-words for non-ASCII display names in its address fields; MailComposer writes them in Raw.
  const everyone = [message.from, ...message.to, ...message.cc, ...message.bcc, ...message.replyTo];
  if (everyone.some((address) => address.name !== undefined && !/^[\x20-\x7e]*$/.test(address.name))) return 'a non-ASCII display name';
  return undefined;
}

/**
 * Simple when {@link rawReason} finds nothing (and `content`, default `'auto'`, allows it), else Raw.
 *
 * @example
 * ```ts
 * contentKind(createMessage({ from: 'a@shop.example', to: 'b@example.org', subject: 'Hi', text: 'hi' })); // 'simple'
 * ```
 */
export function contentKind(message: EmailMessage, content: 'auto' | 'raw' = 'auto'): SesContentKind {
  return content === 'auto' && rawReason(message) === undefined ? 'simple' : 'raw';
}

/**
 * The message's tags and metadata as SES EmailTags: a tag `x` becomes `{ Name: 'x', Value: 'true' }`,
 * a metadata entry `k: v` becomes `{ Name: 'k', Value: 'v' }`. Throws `invalid-message` for a
 * name or value SES cannot carry, and for a tag that is also a metadata key.
 *
 * @example
 * ```ts
 * sesEmailTags(createMessage({ from: 'a@shop.example', to: 'b@example.org', tags: ['welcome'], metadata: { plan: 'pro' } }));
 * // [{ Name: 'welcome', Value: 'true' }, { Name: 'plan', Value: 'pro' }]
 * ```
 */
export function sesEmailTags(message: EmailMessage): MessageTag[] {
  const tags: MessageTag[] = [];
  const seen = new Set<string>();
  const add = (name: string, value: string, field: string): void => {
    if (!tagPattern.test(name)) throw invalidMessage(field, `cannot be an SES tag name: ${tagRule}`, `Rename it; ${tagRule}.`);
    if (!tagPattern.test(value))
      throw invalidMessage(field, `has a value SES cannot carry as a tag: ${tagRule}`, `Change the value; ${tagRule}.`);
    if (seen.has(name)) throw invalidMessage(field, `repeats the SES tag name "${name}"`, 'Use each name once across tags and metadata.');
    seen.add(name);
    tags.push({ Name: name, Value: value });
  };
  for (const [index, tag] of message.tags.entries()) add(tag, 'true', `tags[${index}]`);
  for (const [key, value] of Object.entries(message.metadata)) add(key, value, `metadata.${key}`);
  return tags;
}

/**
 * SendEmail with Simple content: SES assembles the MIME. Only for a message {@link rawReason} accepts.
 *
 * @example
 * ```ts
 * const input = sesSimpleRequest(message, { configurationSet: 'transactional' });
 * await client.send(new SendEmailCommand(input));
 * ```
 */
export function sesSimpleRequest(message: EmailMessage, options: SesRequestOptions = {}): SendEmailCommandInput {
  const utf8 = (data: string) => ({ Data: data, Charset: 'UTF-8' });
  return withCommon(message, options, {
    FromEmailAddress: sesAddress(message.from),
    Destination: {
      ToAddresses: nonEmpty(message.to.map(sesAddress)),
      CcAddresses: nonEmpty(message.cc.map(sesAddress)),
      BccAddresses: nonEmpty(message.bcc.map(sesAddress)),
    },
    ReplyToAddresses: nonEmpty(message.replyTo.map(sesAddress)),
    Content: {
      Simple: {
        Subject: utf8(message.subject),
        Body: {
          Text: message.text === undefined ? undefined : utf8(message.text),
          Html: message.html === undefined ? undefined : utf8(message.html),
        },
      },
    },
  });
}

/**
 * SendEmail with Raw content: the rendered MIME as it is, with the envelope in Destination (so
 * Bcc recipients, absent from the MIME, get it) and the envelope sender as FromEmailAddress,
 * where SES sends bounces and complaints.
 *
 * @example
 * ```ts
 * const input = sesRawRequest(message, await renderMime(message));
 * ```
 */
export function sesRawRequest(message: EmailMessage, mime: Uint8Array, options: SesRequestOptions = {}): SendEmailCommandInput {
  return withCommon(message, options, {
    FromEmailAddress: message.envelope.from,
    Destination: { ToAddresses: [...message.envelope.to] },
    Content: { Raw: { Data: mime } },
  });
}

function withCommon(message: EmailMessage, options: SesRequestOptions, input: SendEmailCommandInput): SendEmailCommandInput {
  const tags = sesEmailTags(message);
  return {
    ...input,
    EmailTags: nonEmpty(tags),
    ConfigurationSetName: options.configurationSet,
  };
}

/** `Name <a@b>` for SES's address fields: the name quoted unless it is plain atext and spaces (ASCII only: see {@link rawReason}). */
export function sesAddress(address: Address): string {
  if (address.name === undefined || address.name === '') return address.address;
  const name = /^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~ ]+$/.test(address.name) ? address.name : `"${address.name.replace(/[\\"]/g, '\\$&')}"`;
  return `${name} <${address.address}>`;
}

function nonEmpty<T>(list: T[]): T[] | undefined {
  return list.length === 0 ? undefined : list;
}

/** Plain addresses of the message's senders (From, Sender, envelope sender), lower case. */
export function senderAddresses(message: EmailMessage): string[] {
  const addresses: Address[] = [message.from, ...(message.sender === undefined ? [] : [message.sender])];
  return [...new Set([...addresses.map((address) => address.address), message.envelope.from].map((address) => address.toLowerCase()))];
}
