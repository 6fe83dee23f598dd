/**
 * `@mailport/core/verp`: VERP envelope senders that name the message they belong to and carry an
 * HMAC, so a bounce receiver joins a bounce to its message and refuses forged return paths.
 *
 * An address is `<local>+<token>-<mac>@<domain>`: `token` is 20 base32 characters of the SHA-256
 * of the Message-ID (the send log finds the message by it), `mac` 16 base32 characters of
 * HMAC-SHA256(secret, token). 8 + 1 + 20 + 1 + 16 = 46 characters with the default local part
 * `bounces`, inside RFC 5321's 64.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/** How VERP addresses are made. */
export interface VerpOptions {
  /** The bounce domain, whose MX is the bounce receiver: `bounces.shop.example`. */
  readonly domain: string;
  /** The HMAC key: at least 16 bytes. */
  readonly secret: string | Uint8Array;
  /** The local part before `+`. Default `bounces`. */
  readonly local?: string | undefined;
}

const alphabet = 'abcdefghijklmnopqrstuvwxyz234567';

function base32(bytes: Uint8Array, length: number): string {
  let out = '';
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5 && out.length < length) {
      out += alphabet[(buffer >>> (bits - 5)) & 31];
      bits -= 5;
    }
    buffer &= (1 << bits) - 1;
    if (out.length >= length) break;
  }
  return out;
}

function checkSecret(secret: string | Uint8Array): void {
  // Anything else (a number, a Secret) would pass the length check and throw at the first HMAC.
  if (typeof secret !== 'string' && !(secret instanceof Uint8Array)) {
    throw new TypeError('VERP secret must be a string or a Uint8Array of at least 16 bytes');
  }
  const length = typeof secret === 'string' ? Buffer.byteLength(secret) : secret.byteLength;
  if (length < 16) throw new TypeError('VERP secret must be at least 16 bytes');
}

function mac(secret: string | Uint8Array, token: string): string {
  return base32(createHmac('sha256', secret).update(token).digest(), 16);
}

/** The 20-character token of a Message-ID (`<...>` or bare; compared with the brackets). */
export function verpToken(messageId: string): string {
  const bracketed = messageId.startsWith('<') ? messageId : `<${messageId}>`;
  return base32(createHash('sha256').update(bracketed).digest(), 20);
}

/** The VERP envelope sender for a message. */
export function verpAddress(messageId: string, options: VerpOptions): string {
  checkSecret(options.secret);
  const token = verpToken(messageId);
  return `${options.local ?? 'bounces'}+${token}-${mac(options.secret, token)}@${options.domain.toLowerCase()}`;
}

/**
 * The token of a VERP address whose HMAC verifies, or `undefined` (not VERP, another local part or
 * domain, or a forged or damaged MAC). Compares in constant time.
 */
export function parseVerpAddress(address: string, options: VerpOptions): string | undefined {
  checkSecret(options.secret);
  const at = address.lastIndexOf('@');
  if (at < 0 || address.slice(at + 1).toLowerCase() !== options.domain.toLowerCase()) return undefined;
  const match = /^(.+)\+([a-z2-7]{20})-([a-z2-7]{16})$/.exec(address.slice(0, at).toLowerCase());
  if (match === null || match[1] !== (options.local ?? 'bounces').toLowerCase()) return undefined;
  const [, , token = '', given = ''] = match;
  const expected = mac(options.secret, token);
  return timingSafeEqual(Buffer.from(given), Buffer.from(expected)) ? token : undefined;
}
