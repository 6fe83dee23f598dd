import { Writable } from 'node:stream';
import addressparser from 'nodemailer/lib/addressparser';
import MailComposer from 'nodemailer/lib/mail-composer';

/** One header field of a raw message: its name as written and its value unfolded. */
export interface RawHeader {
  readonly name: string;
  readonly value: string;
}

/** A raw message split into its header fields and the rest, untouched. */
export interface RawMessage {
  readonly headers: readonly RawHeader[];
  /** The header section's lines, one entry per field (continuation lines included). */
  readonly fieldLines: readonly string[];
  readonly newline: string;
  /** Everything from the blank line on, byte for byte. */
  readonly rest: Buffer;
}

/** Splits a raw message, or returns why SES would refuse its structure. */
export function splitRaw(raw: Buffer): RawMessage | string {
  const crlf = raw.indexOf('\r\n\r\n');
  const lf = raw.indexOf('\n\n');
  let end: number;
  let newline: string;
  if (crlf !== -1 && (lf === -1 || crlf < lf)) {
    end = crlf;
    newline = '\r\n';
  } else if (lf !== -1) {
    end = lf;
    newline = '\n';
  } else {
    return 'The message has to contain a header and a body, separated by one blank line.';
  }
  // latin1 keeps every byte as one character, so the header section round-trips exactly.
  const section = raw.subarray(0, end).toString('latin1');
  const fieldLines: string[] = [];
  const headers: RawHeader[] = [];
  for (const line of section.split(/\r?\n/)) {
    if (/^[ \t]/.test(line) && fieldLines.length > 0) {
      fieldLines[fieldLines.length - 1] += `${newline}${line}`;
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0 || !/^[\x21-\x39\x3b-\x7e]+$/.test(line.slice(0, colon)))
      return `Invalid header line: ${JSON.stringify(line.slice(0, 80))}`;
    fieldLines.push(line);
  }
  for (const field of fieldLines) {
    const colon = field.indexOf(':');
    headers.push({
      name: field.slice(0, colon),
      value: field
        .slice(colon + 1)
        .replace(/\r?\n(?=[ \t])/g, '')
        .trim(),
    });
  }
  return { headers, fieldLines, newline, rest: raw.subarray(end) };
}

/** Values of every header named `name` (case-insensitive). */
export function headerValues(message: RawMessage, name: string): string[] {
  const lower = name.toLowerCase();
  return message.headers.filter((header) => header.name.toLowerCase() === lower).map((header) => header.value);
}

/**
 * The message as SES delivers it: Bcc removed, Message-ID and Date replaced by SES's own
 * ("If you provide a Message-ID header, Amazon SES overrides the header with its own value";
 * the same for Date: SES header-fields documentation). The body is not touched.
 */
export function deliveredRaw(message: RawMessage, replacements: { messageId: string; date: string }): Buffer {
  const lines: string[] = [];
  let messageIdDone = false;
  let dateDone = false;
  message.fieldLines.forEach((line, index) => {
    const name = (message.headers[index] as RawHeader).name.toLowerCase();
    if (name === 'bcc') return;
    if (name === 'message-id') {
      if (!messageIdDone) lines.push(`Message-ID: ${replacements.messageId}`);
      messageIdDone = true;
      return;
    }
    if (name === 'date') {
      if (!dateDone) lines.push(`Date: ${replacements.date}`);
      dateDone = true;
      return;
    }
    lines.push(line);
  });
  if (!dateDone) lines.push(`Date: ${replacements.date}`);
  if (!messageIdDone) lines.push(`Message-ID: ${replacements.messageId}`);
  return Buffer.concat([Buffer.from(lines.join(message.newline), 'latin1'), message.rest]);
}

/** Plain addresses of address header values (groups flattened). */
export function addressesOf(values: readonly string[]): string[] {
  return values.flatMap((value) => addressparser(value, { flatten: true }).map((entry) => entry.address));
}

/** The first line longer than SES allows (1,000 characters with the line break, RFC 5321), as its length. */
export function longLine(raw: Buffer): number | undefined {
  let start = 0;
  while (start < raw.length) {
    let end = raw.indexOf(10, start);
    if (end === -1) end = raw.length;
    const length = end - start - (end > start && raw[end - 1] === 13 ? 1 : 0);
    if (length > 998) return length;
    start = end + 1;
  }
  return undefined;
}

/** One attachment of Simple or Template content, decoded. */
export interface ComposedAttachment {
  readonly filename: string;
  readonly content: Buffer;
  readonly contentType: string | undefined;
  readonly disposition: 'attachment' | 'inline';
  readonly contentId: string | undefined;
  readonly description: string | undefined;
  readonly transferEncoding: 'base64' | 'quoted-printable' | '7bit' | undefined;
}

/** What SES assembles for Simple and Template content. */
export interface ComposeInput {
  readonly from: string;
  readonly to: readonly string[];
  readonly cc: readonly string[];
  readonly replyTo: readonly string[];
  readonly subject: string;
  readonly text: string | undefined;
  readonly html: string | undefined;
  readonly headers: readonly RawHeader[];
  readonly attachments: readonly ComposedAttachment[];
  readonly messageId: string;
  readonly date: Date;
}

/** Builds the MIME SES would send for Simple or Template content, with nodemailer's MailComposer. */
export async function composeMime(input: ComposeInput): Promise<Buffer> {
  const composer = new MailComposer({
    from: input.from,
    to: [...input.to],
    cc: [...input.cc],
    replyTo: [...input.replyTo],
    subject: input.subject,
    text: input.text,
    html: input.html,
    headers: input.headers.map((header) => ({ key: header.name, value: header.value })),
    attachments: input.attachments.map((attachment) => ({
      filename: attachment.filename,
      content: attachment.content,
      contentType: attachment.contentType,
      contentDisposition: attachment.disposition,
      cid: attachment.contentId,
      contentTransferEncoding: attachment.transferEncoding,
      headers: attachment.description === undefined ? undefined : { 'Content-Description': attachment.description },
    })),
    messageId: input.messageId,
    date: input.date,
    disableFileAccess: true,
    disableUrlAccess: true,
  });
  const chunks: Buffer[] = [];
  const collector = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk);
      done();
    },
  });
  await new Promise<void>((resolve, reject) => composer.compile().stream(collector, {}, (error) => (error ? reject(error) : resolve())));
  return Buffer.concat(chunks);
}

/** RFC 5322 date in UTC, as SES stamps it. */
export function rfc5322Date(ms: number): string {
  return new Date(ms).toUTCString().replace(/GMT$/, '+0000');
}
