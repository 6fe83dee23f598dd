import { isIPv4, isIPv6 } from 'node:net';
import { domainToASCII } from 'node:url';
import { invalidMessage, type MailError } from './errors.js';

/** A mailbox after parsing: an optional display name and an `addr-spec` whose domain is in A-label (punycode) form. */
export interface Address {
  /** The display name, as Unicode text. */
  readonly name: string | undefined;
  /** `local@domain`, the domain in A-labels. The local part may be non-ASCII (see {@link requiresSmtpUtf8}). */
  readonly address: string;
}

/**
 * A mailbox as callers give it: `"Name <local@domain>"`, `"local@domain"`, or `{ name, address }`.
 * One string is one mailbox; pass several as an array.
 */
export type AddressInput = string | { readonly name?: string | undefined; readonly address: string };

// RFC 5322 atext, plus any non-ASCII character (RFC 6531 UTF8-non-ascii) for internationalised local parts.
const atext = /^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~\u0080-\u{10FFFF}]+$/u;
// C0 controls, DEL and C1 controls. TAB is refused too: it has no place in an address or a name.
const controlCharacter = /[\u0000-\u001f\u007f-\u009f]/;
const encodedWord = /=\?[^?\s]*\?[bBqQ]\?[^?\s]*\?=/;
const label = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

/** The first control character in `value`, described as `U+000A`, or undefined. */
export function findControlCharacter(value: string, pattern: RegExp = controlCharacter): string | undefined {
  const match = pattern.exec(value);
  if (match === null) return undefined;
  return `U+${match[0].codePointAt(0)?.toString(16).toUpperCase().padStart(4, '0')}`;
}

/** True when the address has a non-ASCII local part, which only an SMTPUTF8 path can carry. */
export function requiresSmtpUtf8(address: Address): boolean {
  return /[^\x00-\x7f]/.test(address.address);
}

/**
 * Parses one mailbox strictly. Anything that is not plainly one valid mailbox is refused with
 * an `invalid-message` error naming `field`; nothing is repaired into a different address.
 *
 * @example
 * ```ts
 * parseAddress('Ana Núñez <ana@bücher.example>', 'from');
 * // { name: 'Ana Núñez', address: 'ana@xn--bcher-kva.example' }
 * ```
 */
export function parseAddress(input: AddressInput, field: string): Address {
  if (typeof input === 'string') return parseMailboxString(input, field);
  if (typeof input !== 'object' || input === null || typeof input.address !== 'string') {
    throw invalidMessage(field, 'must be a string or an object with an address');
  }
  const name = input.name === undefined || input.name === '' ? undefined : checkName(input.name, field);
  // Checked before trimming, as for strings: trim() would silently drop a trailing CR, LF or TAB.
  const control = findControlCharacter(input.address);
  if (control !== undefined) throw fail(field, `contains the control character ${control}`);
  return Object.freeze({ name, address: parseAddrSpec(input.address.trim(), field) });
}

/** Parses one mailbox or an array of them; an empty or missing value gives an empty list. */
export function parseAddressList(input: AddressInput | readonly AddressInput[] | undefined, field: string): readonly Address[] {
  if (input === undefined || input === null) return Object.freeze([]);
  const list = Array.isArray(input) ? (input as readonly AddressInput[]) : [input as AddressInput];
  return Object.freeze(list.map((entry, index) => parseAddress(entry, `${field}[${index}]`)));
}

function fail(field: string, reason: string, remediation?: string): MailError {
  return invalidMessage(field, reason, remediation);
}

function parseMailboxString(raw: string, field: string): Address {
  const control = findControlCharacter(raw);
  if (control !== undefined) throw fail(field, `contains the control character ${control}`);
  const value = raw.trim();
  if (value === '') throw fail(field, 'is empty');

  if (!value.endsWith('>')) {
    if (/[<>()",;\s]/.test(value)) {
      throw fail(
        field,
        `is not a plain address: ${JSON.stringify(value)}`,
        'Write "Name <local@domain>" or "local@domain"; pass several addresses as an array.',
      );
    }
    return Object.freeze({ name: undefined, address: parseAddrSpec(value, field) });
  }

  const open = findAngleOpen(value, field);
  const display = value.slice(0, open).trim();
  const spec = value.slice(open + 1, -1).trim();
  if (/[<>]/.test(spec)) throw fail(field, 'has nested angle brackets');
  return Object.freeze({ name: display === '' ? undefined : parseDisplayName(display, field), address: parseAddrSpec(spec, field) });
}

/** The index of the `<` that opens the angle-addr, ignoring any inside a quoted display name. */
function findAngleOpen(value: string, field: string): number {
  let quoted = false;
  let open = -1;
  for (let index = 0; index < value.length - 1; index++) {
    const char = value[index];
    if (quoted) {
      if (char === '\\') index++;
      else if (char === '"') quoted = false;
    } else if (char === '"') quoted = true;
    else if (char === '<') {
      if (open !== -1) throw fail(field, 'has more than one "<"');
      open = index;
    } else if (char === '>') throw fail(field, 'has a ">" before the address');
  }
  if (quoted) throw fail(field, 'has an unterminated quoted display name');
  if (open === -1) throw fail(field, 'ends with ">" but has no "<"');
  return open;
}

function parseDisplayName(display: string, field: string): string {
  if (display.startsWith('"')) {
    if (!display.endsWith('"') || display.length < 2) throw fail(field, 'has text after the quoted display name');
    const inner = display.slice(1, -1);
    let name = '';
    for (let index = 0; index < inner.length; index++) {
      const char = inner[index] as string;
      if (char === '\\') {
        index++;
        if (index >= inner.length) throw fail(field, 'ends its display name with a lone backslash');
        name += inner[index];
      } else if (char === '"') throw fail(field, 'has an unescaped quote in its display name');
      else name += char;
    }
    return checkName(name, field);
  }
  if (/[()]/.test(display)) {
    throw fail(field, 'contains a comment "(...)"', 'Remove the comment, or quote the display name: "\\"Name (team)\\" <a@b.example>".');
  }
  if (display.includes(',')) {
    throw fail(field, 'contains a comma outside quotes', 'Quote a display name with a comma, or pass several addresses as an array.');
  }
  if (/[<>[\]:;@\\"]/.test(display)) throw fail(field, `has a special character in its unquoted display name ${JSON.stringify(display)}`);
  return checkName(display.replace(/\s+/g, ' '), field);
}

function checkName(name: string, field: string): string {
  if (typeof name !== 'string') throw fail(`${field}.name`, 'must be a string');
  const control = findControlCharacter(name);
  if (control !== undefined) throw fail(`${field}.name`, `contains the control character ${control}`);
  if (encodedWord.test(name)) {
    throw fail(`${field}.name`, 'contains an RFC 2047 encoded-word', 'Pass the decoded Unicode text; mailport encodes it.');
  }
  return name.trim();
}

/** Validates `local@domain` and returns it with the domain in A-labels. */
function parseAddrSpec(spec: string, field: string): string {
  const control = findControlCharacter(spec);
  if (control !== undefined) throw fail(field, `contains the control character ${control}`);
  if (spec === '') throw fail(field, 'has an empty address');
  if (spec.includes('"')) throw fail(field, 'has a quoted local part, which mailport does not send');
  if (/[()]/.test(spec)) throw fail(field, 'contains a comment "(...)" inside the address');
  if (encodedWord.test(spec)) throw fail(field, 'contains an encoded-word inside the address');
  if (/\s/.test(spec)) throw fail(field, 'contains whitespace inside the address');
  const at = spec.lastIndexOf('@');
  if (at === -1) throw fail(field, `has no "@" in ${JSON.stringify(spec)}`);
  if (spec.indexOf('@') !== at) throw fail(field, `has more than one "@" in ${JSON.stringify(spec)}`);
  const local = spec.slice(0, at);
  const domain = spec.slice(at + 1);
  if (local === '') throw fail(field, 'has an empty local part');
  if (domain === '') throw fail(field, 'has an empty domain');
  if (!local.split('.').every((atom) => atom !== '' && atext.test(atom))) {
    throw fail(field, `has an invalid local part ${JSON.stringify(local)}`);
  }
  if (Buffer.byteLength(local) > 64) throw fail(field, 'has a local part longer than 64 octets');
  const asciiDomain = normaliseDomain(domain, field);
  const address = `${local}@${asciiDomain}`;
  if (Buffer.byteLength(address) > 254) throw fail(field, 'is longer than 254 octets');
  return address;
}

function normaliseDomain(domain: string, field: string): string {
  if (domain.startsWith('[')) {
    if (!domain.endsWith(']')) throw fail(field, `has an unterminated address literal ${JSON.stringify(domain)}`);
    const literal = domain.slice(1, -1);
    if (isIPv4(literal)) return domain;
    if (/^IPv6:/i.test(literal) && isIPv6(literal.slice(5))) return `[IPv6:${literal.slice(5)}]`;
    throw fail(field, `has an invalid address literal ${JSON.stringify(domain)}`);
  }
  if (domain.endsWith('.')) throw fail(field, 'has a domain ending with a dot');
  const ascii = domainToASCII(domain);
  if (ascii === '' || ascii.length > 253 || !ascii.split('.').every((part) => label.test(part))) {
    throw fail(field, `has an invalid domain ${JSON.stringify(domain)}`);
  }
  return ascii;
}

/** Formats an address for a log line or a header preview: `Name <a@b>` or `a@b`. */
export function formatAddress(address: Address): string {
  if (address.name === undefined) return address.address;
  const quoted = /^[\p{L}\p{N} !#$%&'*+\-/=?^_`{|}~.]+$/u.test(address.name) ? address.name : `"${address.name.replace(/[\\"]/g, '\\$&')}"`;
  return `${quoted} <${address.address}>`;
}
