/**
 * The header-style fields of `message/delivery-status` (RFC 3464 §2), `message/feedback-report`
 * (RFC 5965 §3) and a returned message's header block: no library on npm reads these, so a small
 * line reader does, with every size bounded and only linear-time regular expressions.
 */

/** One field: its lower-cased name and its unfolded value. */
export interface Field {
  readonly name: string;
  readonly value: string;
}

/** A blank line (the RFC 3464 group separator) or a field. */
export type FieldToken = Field | 'blank';

const maxFieldValue = 4_000;
const maxFields = 10_000;
/** A field name: printable US-ASCII without the colon (RFC 5322 §3.6.8). */
const fieldNamePattern = /^[!-9;-~]{1,76}$/;

/**
 * Reads `Name: value` lines with folding. A line that is neither a field nor a continuation (prose
 * around DSN fields in a plain-text body) ends a group, as a blank line does. At most `maxChars`
 * characters and 10,000 fields are read.
 */
export function readFields(text: string, maxChars = 262_144): FieldToken[] {
  const tokens: FieldToken[] = [];
  let current: { name: string; value: string } | undefined;
  const flush = (): void => {
    if (current !== undefined) {
      tokens.push({ name: current.name, value: current.value.trim() });
      current = undefined;
    }
  };
  const source = text.length > maxChars ? text.slice(0, maxChars) : text;
  let fields = 0;
  for (const line of source.split('\n')) {
    const clean = line.endsWith('\r') ? line.slice(0, -1) : line;
    if (clean.trim() === '') {
      flush();
      if (tokens.at(-1) !== 'blank') tokens.push('blank');
      continue;
    }
    if ((clean.startsWith(' ') || clean.startsWith('\t')) && current !== undefined) {
      if (current.value.length < maxFieldValue) current.value = `${current.value.trimEnd()} ${clean.trim()}`.slice(0, maxFieldValue);
      continue;
    }
    flush();
    const colon = clean.indexOf(':');
    const name = colon > 0 ? clean.slice(0, colon).trimEnd() : '';
    if (colon > 0 && fieldNamePattern.test(name)) {
      if (++fields > maxFields) break;
      current = { name: name.toLowerCase(), value: clean.slice(colon + 1, colon + 1 + maxFieldValue) };
    } else if (tokens.at(-1) !== 'blank') {
      // Prose between fields ends a group, as a blank line would.
      tokens.push('blank');
    }
  }
  flush();
  return tokens;
}

/** The header block of a message (up to its first blank line) as fields; at most 64 KB read. */
export function readHeaderBlock(message: string): Field[] {
  const limit = Math.min(message.length, 65_536);
  let end = limit;
  const blank = /\r?\n\r?\n/.exec(message.slice(0, limit));
  if (blank !== null) end = blank.index;
  const out: Field[] = [];
  for (const token of readFields(message.slice(0, end), limit)) if (token !== 'blank') out.push(token);
  return out;
}

/** The first value of a field, or undefined. */
export function fieldValue(fields: readonly Field[], name: string): string | undefined {
  for (const field of fields) if (field.name === name) return field.value;
  return undefined;
}

/** RFC 3461 §4 xtext: `+XX` is the byte XX. Anything malformed is left as it is. */
export function decodeXtext(value: string): string {
  return value.replace(/\+([0-9A-Fa-f]{2})/g, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));
}

/**
 * An address from a typed field (`rfc822; Ana@Shop.Example`, `<ana@shop.example>`): the address
 * with its domain lower-cased, or undefined when the type is not rfc822 or it is not an address.
 */
export function addressOf(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  let text = value.trim();
  const semicolon = text.indexOf(';');
  if (semicolon >= 0) {
    const type = text.slice(0, semicolon).trim().toLowerCase();
    // `rfc822`, and the spellings seen in the wild (`RFC822`, `rfc/822`); `utf-8` is RFC 6533's.
    const compact = type.replace(/[^a-z0-9]/g, '');
    if (compact !== 'rfc822' && compact !== 'utf8') return undefined;
    text = text.slice(semicolon + 1).trim();
  }
  const bracket = /<([^<>\s]{1,320})>/.exec(text);
  if (bracket?.[1] !== undefined) text = bracket[1];
  return normaliseAddress(text);
}

/** `local@domain` with the domain lower-cased, or undefined when it is not one address. */
export function normaliseAddress(text: string): string | undefined {
  const address = text.trim().replace(/^<|>$/g, '');
  if (address.length > 320 || address.length < 3 || /[\s<>,;()\\"]/.test(address)) return undefined;
  const at = address.lastIndexOf('@');
  if (at <= 0 || at === address.length - 1) return undefined;
  const domain = address.slice(at + 1).toLowerCase();
  if (!/^[a-z0-9.[\]:_-]+$/.test(domain) && !/^[^\s@]+$/.test(domain)) return undefined;
  return `${address.slice(0, at)}@${domain}`;
}

/** The name of a typed MTA field (`dns; mx.example.org`). */
export function mtaOf(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const semicolon = value.indexOf(';');
  const name = (semicolon >= 0 ? value.slice(semicolon + 1) : value).trim();
  return name === '' ? undefined : name.slice(0, 255);
}

/** An RFC 3463 enhanced status code at the start of `value` (`5.1.1 (bad mailbox)` gives `5.1.1`). */
export function statusOf(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const match = /^\s*([245])\.(\d{1,3})\.(\d{1,3})(?!\d)/.exec(value);
  return match === null ? undefined : `${match[1]}.${match[2]}.${match[3]}`;
}

/** The first enhanced status code anywhere in a diagnostic (`550 5.1.1 <x>... User unknown`). */
export function statusIn(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  const match = /(?:^|[^\d.])([245])\.(\d{1,3})\.(\d{1,3})(?![\d.])/.exec(text.slice(0, 2_000));
  return match === null ? undefined : `${match[1]}.${match[2]}.${match[3]}`;
}

/** The first SMTP reply code in a diagnostic (`smtp; 550 ...`, `... returned was: 450 ...`): `5` or `4`. */
export function replyClassIn(text: string | undefined): '4' | '5' | undefined {
  if (text === undefined) return undefined;
  const match = /(?:^|[\s;:])([45])[0-9]{2}(?:[\s-]|$)/.exec(text.slice(0, 2_000));
  return match?.[1] === '4' || match?.[1] === '5' ? match[1] : undefined;
}

/** A date field as ISO 8601, or the value as written (bounded) when it does not parse. */
export function dateOf(value: string | undefined): string | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const text = value.trim().slice(0, 200);
  return parsedDate(text) ?? text;
}

/**
 * A date that parses, as ISO 8601 with a four-digit year; undefined otherwise (for event
 * timestamps). Takes a field as written or what {@link dateOf} made of it.
 */
export function isoDate(value: string | undefined): string | undefined {
  const iso = value === undefined ? undefined : parsedDate(value.trim().slice(0, 200));
  return iso !== undefined && /^\d{4}-\d{2}-\d{2}T/.test(iso) ? iso : undefined;
}

/** `text` as ISO 8601 when it parses, with or without a trailing comment such as `(UTC)`. */
function parsedDate(text: string): string | undefined {
  for (const candidate of [text, text.replace(/\s*\([^()]*\)\s*$/, '')]) {
    const time = Date.parse(candidate);
    if (Number.isFinite(time)) return new Date(time).toISOString();
  }
  return undefined;
}

/**
 * A Message-ID as `<...>`: the first bracketed token, or a bare `id@host` (RFC 5965's example
 * writes one without brackets). Undefined when there is none or it is longer than 998 characters.
 */
export function messageIdOf(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  const bracketed = /<([^<>\s]{1,996})>/.exec(text);
  if (bracketed?.[1] !== undefined) return `<${bracketed[1]}>`;
  if (text.length > 0 && text.length <= 996 && !/[\s<>]/.test(text) && text.includes('@')) return `<${text}>`;
  return undefined;
}

/** Every `<...>` in a References header, at most 50. */
export function messageIdsOf(value: string | undefined): string[] {
  if (value === undefined) return [];
  const out: string[] = [];
  for (const match of value.slice(0, 50_000).matchAll(/<([^<>\s]{1,996})>/g)) {
    out.push(`<${match[1]}>`);
    if (out.length >= 50) break;
  }
  return out;
}
