import { randomBytes } from 'node:crypto';
import addressparser from 'nodemailer/lib/addressparser';
import MailComposer from 'nodemailer/lib/mail-composer';
import MimeNode from 'nodemailer/lib/mime-node';
import { splitMessage as splitRawMessage } from '../raw-message.js';

/** A Graph `recipient`: `{ emailAddress: { address, name } }`. */
export interface GraphRecipient {
  readonly emailAddress?: { readonly address?: string | undefined; readonly name?: string | undefined } | undefined;
}

/** The parts of a Graph `message` the sandbox reads. */
export interface GraphMessage {
  readonly subject?: string | undefined;
  readonly body?: { readonly contentType?: string | undefined; readonly content?: string | undefined } | undefined;
  readonly from?: GraphRecipient | undefined;
  readonly sender?: GraphRecipient | undefined;
  readonly toRecipients?: readonly GraphRecipient[] | undefined;
  readonly ccRecipients?: readonly GraphRecipient[] | undefined;
  readonly bccRecipients?: readonly GraphRecipient[] | undefined;
  readonly replyTo?: readonly GraphRecipient[] | undefined;
  readonly internetMessageHeaders?: readonly { readonly name?: string; readonly value?: string }[] | undefined;
  readonly internetMessageId?: string | undefined;
  readonly importance?: string | undefined;
}

/** An attachment as the sandbox keeps it, from `attachments`, the attachments endpoint or an upload session. */
export interface SandboxAttachment {
  readonly id: string;
  readonly name: string;
  readonly contentType: string;
  readonly isInline: boolean;
  readonly contentId: string | undefined;
  readonly bytes: Buffer;
}

/** One header field of a MIME message: its name, unfolded value, and the raw lines it came as. */
export interface MimeHeader {
  readonly name: string;
  readonly value: string;
  readonly raw: string;
}

/** Splits a message into its header fields (with their values unfolded) and the body after the first empty line. */
export function splitMessage(raw: Buffer): { headers: MimeHeader[]; body: Buffer } {
  const message = splitRawMessage(raw);
  const headers = message.fields.map((field) => ({
    name: field.name,
    // Folded lines joined by one space, as Graph reads a field.
    value: field.raw
      .slice(field.raw.indexOf(':') + 1)
      .split('\r\n')
      .map((line) => line.trim())
      .join(' ')
      .trim(),
    raw: field.raw,
  }));
  return { headers, body: message.body };
}

/** The first value of a header field, case-insensitively. */
export function headerOf(headers: readonly MimeHeader[], name: string): string | undefined {
  const lower = name.toLowerCase();
  return headers.find((header) => header.name.toLowerCase() === lower)?.value;
}

/** The plain addresses of every field called `name` (To, Cc, Bcc, From, ...). */
export function addressesOf(headers: readonly MimeHeader[], name: string): string[] {
  const lower = name.toLowerCase();
  return headers
    .filter((header) => header.name.toLowerCase() === lower)
    .flatMap((header) => addressparser(header.value, { flatten: true }).map((address) => address.address));
}

/**
 * Writes a message back from header fields and a body, leaving out the fields named in `drop`
 * and adding `add` in front (Message-ID and Date when the client sent none, as Exchange does).
 */
export function rebuildMessage(
  headers: readonly MimeHeader[],
  body: Buffer,
  options: { drop?: readonly string[]; add?: readonly string[] } = {},
): Buffer {
  const drop = new Set((options.drop ?? []).map((name) => name.toLowerCase()));
  const lines = [...(options.add ?? []), ...headers.filter((header) => !drop.has(header.name.toLowerCase())).map((header) => header.raw)];
  return Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), body]);
}

/**
 * A Message-ID in the form Exchange Online gives messages that arrive without one:
 * `<MW4PR12MB7000F3A1...@MW4PR12MB7000.namprd12.prod.outlook.com>`.
 */
export function exchangeMessageId(): string {
  const server = `SA1PR12MB${String(1000 + (randomBytes(2).readUInt16BE() % 9000))}`;
  return `<${server}${randomBytes(16).toString('hex').toUpperCase()}@${server}.namprd12.prod.outlook.com>`;
}

/** RFC 5322 date, as Exchange writes it. */
export function rfc5322Date(date: Date): string {
  return date.toUTCString().replace('GMT', '+0000');
}

const mailbox = (recipient: GraphRecipient | undefined): { name: string; address: string } | undefined => {
  const address = recipient?.emailAddress?.address;
  return address === undefined ? undefined : { name: recipient?.emailAddress?.name ?? '', address };
};

/**
 * Builds the RFC 5322 message recipients of a JSON-mode send receive, with nodemailer's
 * MailComposer: the body as its one part (Graph's body is text or HTML, never both), the
 * attachments, the `x-` headers and `internetMessageId`; no Bcc header.
 */
export async function composeJsonMessage(
  message: GraphMessage,
  options: { mailbox: { name: string; address: string }; messageId: string; attachments: readonly SandboxAttachment[]; date: Date },
): Promise<Buffer> {
  const html = message.body?.contentType?.toLowerCase() === 'html';
  const content = message.body?.content ?? '';
  const composer = new MailComposer({
    from: mailbox(message.from) ?? options.mailbox,
    sender: mailbox(message.sender),
    to: (message.toRecipients ?? []).map(mailbox).filter((entry) => entry !== undefined),
    cc: (message.ccRecipients ?? []).map(mailbox).filter((entry) => entry !== undefined),
    replyTo: (message.replyTo ?? []).map(mailbox).filter((entry) => entry !== undefined),
    subject: message.subject ?? '',
    ...(html ? { html: content } : { text: content }),
    headers: (message.internetMessageHeaders ?? []).map((header) => ({ key: header.name ?? '', value: header.value ?? '' })),
    attachments: options.attachments.map((attachment) => ({
      filename: attachment.name,
      content: attachment.bytes,
      contentType: attachment.contentType,
      cid: attachment.contentId,
      contentDisposition: attachment.isInline ? ('inline' as const) : ('attachment' as const),
    })),
    messageId: options.messageId,
    date: options.date,
    disableFileAccess: true,
    disableUrlAccess: true,
  });
  return composer.compile().build();
}

/**
 * Adds attachments to a message given as MIME (a draft created from MIME, then given attachments
 * through the attachments endpoint or upload sessions): into its multipart/mixed root when it has
 * one, otherwise by wrapping the original body in a new multipart/mixed. Everything else of the
 * original stays as it was sent.
 */
export async function appendAttachments(raw: Buffer, attachments: readonly SandboxAttachment[]): Promise<Buffer> {
  if (attachments.length === 0) return raw;
  const { headers, body } = splitMessage(raw);
  const parts = await Promise.all(attachments.map(attachmentPart));
  const contentType = headerOf(headers, 'content-type') ?? 'text/plain';
  const mixed = /^multipart\/mixed\b/i.test(contentType) ? /\bboundary\s*=\s*(?:"([^"]+)"|([^\s;]+))/i.exec(contentType) : null;
  const boundary = mixed === null ? undefined : (mixed[1] ?? mixed[2]);
  if (boundary !== undefined) {
    const closing = Buffer.from(`--${boundary}--`);
    const at = body.lastIndexOf(closing);
    if (at !== -1) {
      const inserted = parts.map((part) => Buffer.concat([Buffer.from(`--${boundary}\r\n`), part, Buffer.from('\r\n')]));
      return rebuildMessage(headers, Buffer.concat([body.subarray(0, at), ...inserted, body.subarray(at)]));
    }
  }
  const wrapper = `----sandbox_mixed_${randomBytes(12).toString('hex')}`;
  const isContent = (header: MimeHeader): boolean => /^content-/i.test(header.name);
  const contentLines = headers.filter(isContent).map((header) => header.raw);
  const top = headers.filter((header) => !isContent(header));
  const hasVersion = top.some((header) => header.name.toLowerCase() === 'mime-version');
  const wrapped = Buffer.concat([
    Buffer.from(
      `--${wrapper}\r\n${(contentLines.length > 0 ? contentLines : ['Content-Type: text/plain']).join('\r\n')}\r\n\r\n`,
      'latin1',
    ),
    body,
    Buffer.from('\r\n'),
    ...parts.map((part) => Buffer.concat([Buffer.from(`--${wrapper}\r\n`), part, Buffer.from('\r\n')])),
    Buffer.from(`--${wrapper}--\r\n`),
  ]);
  return rebuildMessage(top, wrapped, {
    add: [...(hasVersion ? [] : ['MIME-Version: 1.0']), `Content-Type: multipart/mixed; boundary="${wrapper}"`],
  });
}

/** One attachment as a MIME body part (headers and base64 content), built by nodemailer's MimeNode. */
async function attachmentPart(attachment: SandboxAttachment): Promise<Buffer> {
  // A child node: a root would add Date, Message-ID and MIME-Version of its own.
  const parent = new MimeNode('multipart/mixed');
  const node = parent.createChild(attachment.contentType || 'application/octet-stream', { filename: attachment.name });
  node.setHeader('Content-Disposition', attachment.isInline ? 'inline' : 'attachment');
  node.setHeader('Content-Transfer-Encoding', 'base64');
  if (attachment.contentId !== undefined) node.setHeader('Content-ID', `<${attachment.contentId.replace(/^<|>$/g, '')}>`);
  node.setContent(attachment.bytes);
  return node.build();
}
