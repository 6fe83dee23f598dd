import addressparser from 'nodemailer/lib/addressparser';

/**
 * One header field of a raw message, kept as its original bytes (latin1 text, one character per
 * byte) so that fields the emulator does not touch are delivered exactly as they came.
 */
export interface HeaderField {
  /** As written, without the colon. */
  readonly name: string;
  /** The whole field, folded lines joined with CRLF, without the final line break. */
  readonly raw: string;
}

/** A message split into its header fields and the bytes after the blank line. */
export interface RawMessage {
  readonly fields: readonly HeaderField[];
  /** Everything after the header section, blank line excluded. */
  readonly body: Buffer;
}

/** Splits RFC 5322 bytes into header fields and body; a message without a blank line is all header. */
export function splitMessage(bytes: Buffer): RawMessage {
  const crlf = bytes.indexOf('\r\n\r\n');
  const lf = bytes.indexOf('\n\n');
  let headerEnd: number;
  let bodyStart: number;
  if (crlf !== -1 && (lf === -1 || crlf < lf)) {
    headerEnd = crlf;
    bodyStart = crlf + 4;
  } else if (lf !== -1) {
    headerEnd = lf;
    bodyStart = lf + 2;
  } else {
    headerEnd = bytes.length;
    bodyStart = bytes.length;
  }
  const fields: HeaderField[] = [];
  const lines = bytes.subarray(0, headerEnd).toString('latin1').split(/\r?\n/);
  for (const line of lines) {
    const last = fields.at(-1);
    if (/^[ \t]/.test(line) && last !== undefined) {
      fields[fields.length - 1] = { name: last.name, raw: `${last.raw}\r\n${line}` };
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) continue; // Not a header field: providers ignore such a line, and so does the sandbox.
    fields.push({ name: line.slice(0, colon).trim(), raw: line });
  }
  return { fields, body: bytes.subarray(bodyStart) };
}

/** The bytes of a message rebuilt from fields and body, with CRLF line breaks in the header. */
export function joinMessage(message: RawMessage): Buffer {
  const header = Buffer.from(`${message.fields.map((field) => field.raw).join('\r\n')}\r\n\r\n`, 'latin1');
  return Buffer.concat([header, message.body]);
}

/** The value of a field, unfolded and decoded from UTF-8 (RFC 6532 allows raw UTF-8 in headers). */
export function fieldValue(field: HeaderField): string {
  const value = field.raw.slice(field.raw.indexOf(':') + 1).replace(/\r\n(?=[ \t])/g, '');
  return Buffer.from(value, 'latin1').toString('utf8').trim();
}

/** Every field with this name, case-insensitively. */
export function fieldsNamed(message: RawMessage, name: string): HeaderField[] {
  const lower = name.toLowerCase();
  return message.fields.filter((field) => field.name.toLowerCase() === lower);
}

/** The addresses of an address field (groups flattened), or undefined when one of them is malformed. */
export function addressesOf(field: HeaderField): string[] | undefined {
  const parsed = addressparser(fieldValue(field), { flatten: true });
  const addresses: string[] = [];
  for (const entry of parsed) {
    const address = entry.address.trim();
    if (address === '' && entry.name !== '') return undefined;
    if (address === '') continue;
    if (!/^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$/u.test(address)) return undefined;
    addresses.push(address);
  }
  return addresses;
}

/** Decodes RFC 2047 encoded-words (`=?utf-8?B?...?=`, `=?utf-8?Q?...?=`) in a header value. */
export function decodeWords(value: string): string {
  return value
    .replace(/(=\?[^?]+\?[bBqQ]\?[^?]*\?=)\s+(?==\?)/g, '$1')
    .replace(/=\?([^?]+)\?([bBqQ])\?([^?]*)\?=/g, (_match, charset: string, encoding: string, text: string) => {
      const bytes =
        encoding.toUpperCase() === 'B'
          ? Buffer.from(text, 'base64')
          : Buffer.from(
              text.replace(/_/g, ' ').replace(/=([0-9a-fA-F]{2})/g, (_hex, code: string) => String.fromCharCode(Number.parseInt(code, 16))),
              'latin1',
            );
      return /^utf-?8$/i.test(charset) ? bytes.toString('utf8') : bytes.toString('latin1');
    });
}

/** A subject without reply and forward prefixes, for thread matching. */
export function threadSubject(subject: string): string {
  return decodeWords(subject)
    .replace(/^(\s*(re|fwd?|aw|wg|sv|vs)\s*(\[\d+\])?\s*:\s*)+/i, '')
    .trim()
    .toLowerCase();
}
