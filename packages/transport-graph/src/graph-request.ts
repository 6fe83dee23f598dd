import { type Address, type Attachment, type EmailMessage, type HeaderRule, MailError } from '@mailport/core';

/** Graph's limits as the transport plans with them. */
export const graphLimits: Readonly<{
  requestBytes: number;
  uploadSessionBytes: number;
  chunkBytes: number;
  maxMessageBytes: number;
  maxRecipients: number;
  maxJsonHeaders: number;
  mailboxConcurrency: number;
}> = Object.freeze({
  // "The maximum request length supported is 4MB": keep a margin for the JSON around the content.
  requestBytes: 4_000_000,
  // attachment: createUploadSession is for files "between 3 MB and 150 MB"; smaller ones POST to attachments.
  uploadSessionBytes: 3_000_000,
  // Upload ranges "up to 4 MB each time".
  chunkBytes: 4 * 1024 * 1024,
  // Exchange Online's largest message (the default mailbox limit is 35 MB; admins can raise it to 150 MB).
  maxMessageBytes: 150 * 1024 * 1024,
  // Exchange Online: 500 recipients per message.
  maxRecipients: 500,
  // internetMessageHeaders: at most 5, each named x-....
  maxJsonHeaders: 5,
  // Outlook service limits: 4 concurrent requests per app per mailbox.
  mailboxConcurrency: 4,
});

/**
 * The custom headers JSON mode carries (`internetMessageHeaders`): at most 5, each named `x-...`.
 * The transport's `capabilities.customHeaders` in JSON mode, so the mailer and `failover()` know it.
 */
export const jsonHeaderRule: HeaderRule = Object.freeze({
  max: graphLimits.maxJsonHeaders,
  names: /^x-/i,
  description: 'at most 5, each named x-... (JSON mode; mode=mime passes any header)',
});

/** A Graph `recipient`. */
export interface GraphRecipient {
  readonly emailAddress: { readonly address: string; readonly name?: string | undefined };
}

/** A `#microsoft.graph.fileAttachment` with its bytes in base64. */
export interface GraphFileAttachment {
  readonly '@odata.type': '#microsoft.graph.fileAttachment';
  readonly name: string;
  readonly contentType: string;
  readonly contentBytes: string;
  readonly isInline?: boolean | undefined;
  readonly contentId?: string | undefined;
}

/** The Graph `message` JSON mode sends. */
export interface GraphJsonMessage {
  readonly subject: string;
  readonly body: { readonly contentType: 'HTML' | 'Text'; readonly content: string };
  readonly from?: GraphRecipient | undefined;
  readonly sender?: GraphRecipient | undefined;
  readonly toRecipients: readonly GraphRecipient[];
  readonly ccRecipients: readonly GraphRecipient[];
  readonly bccRecipients: readonly GraphRecipient[];
  readonly replyTo: readonly GraphRecipient[];
  readonly internetMessageId: string;
  readonly internetMessageHeaders?: readonly { readonly name: string; readonly value: string }[] | undefined;
  readonly importance?: 'high' | 'low' | undefined;
  readonly attachments?: readonly GraphFileAttachment[] | undefined;
}

/** An attachment with its bytes read. */
export interface ReadAttachment {
  readonly attachment: Attachment;
  readonly bytes: Buffer;
}

const recipient = (address: Address): GraphRecipient => ({
  emailAddress:
    address.name === undefined || address.name === '' ? { address: address.address } : { address: address.address, name: address.name },
});

/** Base64 length of `bytes` bytes. */
export function base64Length(bytes: number): number {
  return Math.ceil(bytes / 3) * 4;
}

/**
 * Why JSON mode cannot carry this message faithfully, or undefined. JSON mode takes at most 5
 * custom headers named `x-...`, and has no field for In-Reply-To, References or List-Unsubscribe.
 */
export function jsonModeProblem(message: EmailMessage): string | undefined {
  const foreign = message.headers.find((header) => !(jsonHeaderRule.names as RegExp).test(header.name));
  if (foreign !== undefined) return `the header ${foreign.name} (JSON mode takes only x-... headers)`;
  if (message.headers.length > graphLimits.maxJsonHeaders) {
    return `${message.headers.length} custom headers (JSON mode takes at most ${graphLimits.maxJsonHeaders})`;
  }
  if (message.inReplyTo !== undefined || message.references.length > 0) return 'In-Reply-To or References (JSON mode cannot set them)';
  if (message.listUnsubscribe !== undefined) return 'List-Unsubscribe (JSON mode cannot set it)';
  return undefined;
}

/**
 * The Graph `message` for JSON mode. The body is HTML when the message has HTML (the text
 * alternative is then left out: Graph's body is one or the other), text otherwise. Inline parts
 * become inline file attachments referenced by their content id. `internetMessageId` carries
 * core's Message-ID.
 *
 * @example
 * ```ts
 * await client.api('/users/noreply@contoso.com/sendMail').post({ message: toGraphJsonMessage(message, attachments) });
 * ```
 */
export function toGraphJsonMessage(message: EmailMessage, attachments: readonly ReadAttachment[]): GraphJsonMessage {
  const html = message.html !== undefined;
  const headers = message.headers.map((header) => ({ name: header.name, value: header.value }));
  return {
    subject: message.subject,
    body: { contentType: html ? 'HTML' : 'Text', content: (html ? message.html : message.text) ?? '' },
    from: recipient(message.from),
    ...(message.sender === undefined ? {} : { sender: recipient(message.sender) }),
    toRecipients: message.to.map(recipient),
    ccRecipients: message.cc.map(recipient),
    bccRecipients: message.bcc.map(recipient),
    replyTo: message.replyTo.map(recipient),
    internetMessageId: message.messageId,
    // Graph refuses an empty internetMessageHeaders collection, so leave it out when there are none.
    ...(headers.length === 0 ? {} : { internetMessageHeaders: headers }),
    ...(message.priority === 'high' || message.priority === 'low' ? { importance: message.priority } : {}),
    ...(attachments.length === 0 ? {} : { attachments: attachments.map(toFileAttachment) }),
  };
}

/** One attachment as a `fileAttachment` (for `attachments` in JSON, or the attachments endpoint). */
export function toFileAttachment({ attachment, bytes }: ReadAttachment, index = 0): GraphFileAttachment {
  const inline = attachment.disposition === 'inline';
  return {
    '@odata.type': '#microsoft.graph.fileAttachment',
    name: attachment.filename ?? `attachment-${index + 1}`,
    contentType: attachment.contentType ?? 'application/octet-stream',
    contentBytes: bytes.toString('base64'),
    ...(inline ? { isInline: true } : {}),
    ...(attachment.contentId === undefined ? {} : { contentId: attachment.contentId }),
  };
}

/** The body of `createUploadSession` for one attachment. */
export function uploadSessionRequest({ attachment, bytes }: ReadAttachment, index = 0): Record<string, unknown> {
  return {
    AttachmentItem: {
      attachmentType: 'file',
      name: attachment.filename ?? `attachment-${index + 1}`,
      size: bytes.length,
      contentType: attachment.contentType ?? 'application/octet-stream',
      isInline: attachment.disposition === 'inline',
      ...(attachment.contentId === undefined ? {} : { contentId: attachment.contentId }),
    },
  };
}

/** How a message travels: in one request, or as a draft with attachments added separately and then sent. */
export type SendPlan =
  | { readonly kind: 'single' }
  | {
      readonly kind: 'draft';
      /** Attachments kept in the draft itself (in its MIME or JSON). */
      readonly inDraft: readonly ReadAttachment[];
      /** Attachments under 3 MB added with POST .../attachments. */
      readonly posted: readonly ReadAttachment[];
      /** Attachments of 3 MB and more, uploaded through upload sessions. */
      readonly uploaded: readonly ReadAttachment[];
    };

/**
 * Decides how to send: one request when it fits in `requestBytes`; otherwise a draft that keeps
 * as many small attachments as fit, the other small ones posted one by one, and the large ones
 * (3 MB and more) uploaded in ranges. `draftSize` tells the request size of a draft that keeps
 * the given attachments.
 */
export async function planSend(
  singleRequestSize: number,
  attachments: readonly ReadAttachment[],
  draftSize: (kept: readonly ReadAttachment[]) => Promise<number>,
  limits: { requestBytes: number; uploadSessionBytes: number } = graphLimits,
): Promise<SendPlan> {
  if (singleRequestSize <= limits.requestBytes) return { kind: 'single' };
  const uploaded = attachments.filter((entry) => entry.bytes.length >= limits.uploadSessionBytes);
  const small = attachments.filter((entry) => entry.bytes.length < limits.uploadSessionBytes);
  // Move the largest small attachments out of the draft until it fits in one request.
  const kept = [...small].sort((a, b) => a.bytes.length - b.bytes.length);
  const posted: ReadAttachment[] = [];
  while ((await draftSize(kept)) > limits.requestBytes) {
    const largest = kept.pop();
    if (largest === undefined) {
      throw new MailError('invalid-message', 'The message body alone is larger than one Graph request (4 MB) can carry', {
        field: 'body',
        remediation: 'Make the text or HTML body smaller, or send the content as an attachment.',
      });
    }
    posted.unshift(largest);
  }
  const order = new Map(attachments.map((entry, index) => [entry, index]));
  const byOrder = (a: ReadAttachment, b: ReadAttachment): number => (order.get(a) ?? 0) - (order.get(b) ?? 0);
  return { kind: 'draft', inDraft: kept.sort(byOrder), posted: posted.sort(byOrder), uploaded };
}
