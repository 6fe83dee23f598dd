import { createHash, sign } from 'node:crypto';
import { MailError } from '../errors.js';
import { type RenderedMime, renderedFrom } from '../mime.js';
import { type HeaderField, headerFields, RelaxedBodyHash, relaxedHeader } from './dkim-canonical.js';
import { type DkimKey, privateKeyOf } from './dkim-keys.js';

/** Options of {@link dkimSignatures}. */
export interface DkimSignatureOptions {
  /** Header field names to sign, lower case, in order; each is listed once more than it occurs. */
  readonly headers: readonly string[];
  /** `t=`, in epoch seconds. */
  readonly timestamp: number;
}

/** A header section larger than this is not a message mailport rendered; it is refused rather than buffered. */
const maxHeaderBytes = 1024 * 1024;
const headerEnd = Buffer.from('\r\n\r\n');

/**
 * The DKIM-Signature fields (RFC 6376, RFC 8463) for the message in `chunks`, one per key, each
 * ending with CRLF, to put in front of the message. `relaxed/relaxed`; `h=` oversigns every listed
 * field. The chunks are read once, in order: the header section is kept (it is small), the body
 * is hashed as it passes and no chunk is held after the next one arrives.
 *
 * @example
 * ```ts
 * const fields = await dkimSignatures(rendered.chunks, [key], { headers: defaultDkimHeaders, timestamp: Math.floor(Date.now() / 1000) });
 * ```
 */
export async function dkimSignatures(
  chunks: Iterable<Uint8Array> | AsyncIterable<Uint8Array>,
  keys: readonly DkimKey[],
  options: DkimSignatureOptions,
): Promise<Buffer> {
  const body = new RelaxedBodyHash();
  const header: Uint8Array[] = [];
  let headerBytes = 0;
  // How many bytes of "\r\n\r\n" the header collected so far ends with.
  let matched = 0;
  let inBody = false;
  for await (const chunk of chunks) {
    if (inBody) {
      body.update(chunk);
      continue;
    }
    const end = findHeaderEnd(chunk, matched);
    if (end === -1) {
      header.push(chunk);
      headerBytes += chunk.length;
      matched = trailingMatch(chunk, matched);
      if (headerBytes > maxHeaderBytes) throw signingError('the header section is over 1 MB, or the message has no body separator');
      continue;
    }
    // end: the index just after the blank line; the header keeps its last field's CRLF.
    header.push(chunk.subarray(0, Math.max(0, end - 2)));
    inBody = true;
    body.update(chunk.subarray(end));
  }
  const section = Buffer.concat(header).toString('latin1');
  // Without a blank line, the last two bytes kept are the final field's CRLF: drop them too.
  const fields = headerFields(inBody ? section : section.replace(/\r\n$/, ''));
  const bodyHash = body.digest().toString('base64');
  return Buffer.from(keys.map((key) => signatureField(fields, key, bodyHash, options)).join(''), 'latin1');
}

/**
 * `rendered` with a DKIM-Signature field per key in front: a new rendering over the same chunks
 * (nothing is copied), whose `size` counts the fields.
 */
export async function signRendering(
  rendered: RenderedMime,
  keys: readonly DkimKey[],
  options: DkimSignatureOptions,
): Promise<RenderedMime> {
  const fields = await dkimSignatures(rendered.chunks, keys, options);
  return renderedFrom([fields, ...rendered.chunks], fields.length + rendered.size);
}

/** The field for one key, CRLF included. */
function signatureField(fields: readonly HeaderField[], key: DkimKey, bodyHash: string, options: DkimSignatureOptions): string {
  const names = signedNames(fields, options.headers);
  const unsigned = foldTags([
    ['v', '1'],
    ['a', key.algorithm],
    ['c', 'relaxed/relaxed'],
    ['d', key.domain],
    ['s', key.selector],
    ['t', String(options.timestamp)],
    ['h', names.join(':')],
    ['bh', bodyHash],
    ['b', ''],
  ]);
  const signature = signatureValue(key, signedData(fields, names, unsigned));
  return `${unsigned}${foldBase64(signature, lastLineLength(unsigned))}\r\n`;
}

/**
 * Each name of `headers` once more than it occurs in `fields` (RFC 6376 8.15, "oversigning"): the
 * extra instance is signed as absent, so adding that field later breaks the signature.
 */
export function signedNames(fields: readonly HeaderField[], headers: readonly string[]): string[] {
  const names: string[] = [];
  for (const name of headers) {
    const count = fields.reduce((total, field) => total + (field.name === name ? 1 : 0), 0);
    for (let index = 0; index <= count; index++) names.push(name);
  }
  return names;
}

/**
 * What the signature covers (RFC 6376 3.7): the fields named in `h=`, each occurrence of a name
 * taken from the bottom up, in relaxed form; then the DKIM-Signature field itself with an empty
 * `b=`, in relaxed form without its CRLF.
 */
export function signedData(fields: readonly HeaderField[], names: readonly string[], unsignedField: string): Buffer {
  const used = new Map<string, number>();
  let data = '';
  for (const name of names) {
    const seen = used.get(name) ?? 0;
    used.set(name, seen + 1);
    let remaining = seen;
    for (let index = fields.length - 1; index >= 0; index--) {
      const field = fields[index] as HeaderField;
      if (field.name !== name) continue;
      if (remaining === 0) {
        data += relaxedHeader(field.text);
        break;
      }
      remaining--;
    }
  }
  data += relaxedHeader(unsignedField).slice(0, -2);
  return Buffer.from(data, 'latin1');
}

/** `b=` for `data`: RSASSA-PKCS1-v1_5 over SHA-256, or Ed25519 over the SHA-256 of the data (RFC 8463 3). */
export function signatureValue(key: DkimKey, data: Buffer): string {
  const privateKey = privateKeyOf(key);
  if (key.algorithm === 'ed25519-sha256') return sign(null, createHash('sha256').update(data).digest(), privateKey).toString('base64');
  return sign('sha256', data, privateKey).toString('base64');
}

/** `DKIM-Signature: v=1; a=...; ...; b=`, folded before a tag or between names of `h=` to keep lines under 78 characters. */
function foldTags(tags: readonly (readonly [string, string])[]): string {
  const lines: string[] = [];
  let line = 'DKIM-Signature:';
  const add = (piece: string, separator: string): void => {
    if (line.length + separator.length + piece.length > 76) {
      lines.push(line);
      line = ` ${piece}`;
    } else {
      line += separator + piece;
    }
  };
  for (const [name, value] of tags) {
    if (name === 'h') {
      const parts = value.split(':');
      for (const [index, part] of parts.entries()) {
        add(`${index === 0 ? 'h=' : ''}${part}${index === parts.length - 1 ? ';' : ':'}`, index === 0 ? ' ' : '');
      }
      continue;
    }
    add(name === 'b' ? 'b=' : `${name}=${value};`, ' ');
  }
  lines.push(line);
  return lines.join('\r\n');
}

/** The base64 signature after `b=`, folded so that no line passes 76 characters. */
function foldBase64(value: string, used: number): string {
  let out = '';
  let room = Math.max(8, 76 - used);
  let rest = value;
  while (rest.length > room) {
    out += `${rest.slice(0, room)}\r\n `;
    rest = rest.slice(room);
    room = 75;
  }
  return out + rest;
}

function lastLineLength(text: string): number {
  return text.length - (text.lastIndexOf('\r\n') + 2);
}

/** The index after the "\r\n\r\n" that ends the header section, given that the bytes before `chunk` ended with `matched` of them; -1 when not in `chunk`. */
function findHeaderEnd(chunk: Uint8Array, matched: number): number {
  if (matched > 0) {
    let index = 0;
    let have = matched;
    while (have < 4 && index < chunk.length && chunk[index] === headerEnd[have]) {
      have++;
      index++;
    }
    if (have === 4) return index;
  }
  const found = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length).indexOf(headerEnd);
  return found === -1 ? -1 : found + 4;
}

/** How many bytes of "\r\n\r\n" the header ends with after `chunk`. */
function trailingMatch(chunk: Uint8Array, before: number): number {
  for (let have = Math.min(3, chunk.length + before); have > 0; have--) {
    let ok = true;
    for (let offset = 0; offset < have && ok; offset++) {
      const position = chunk.length - have + offset;
      const byte = position >= 0 ? chunk[position] : headerEnd[before + position];
      ok = byte === headerEnd[offset];
    }
    if (ok) return have;
  }
  return 0;
}

function signingError(reason: string): MailError {
  return new MailError('invalid-message', `Cannot DKIM-sign this message: ${reason}`, { field: 'dkim' });
}
