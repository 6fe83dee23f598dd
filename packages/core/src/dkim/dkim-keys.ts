import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { domainToASCII } from 'node:url';
import { MailError } from '../errors.js';
import type { EmailMessage } from '../message.js';
import { Secret } from '../secret.js';

/** The two signing algorithms: RSA (RFC 6376) and Ed25519 (RFC 8463), both over SHA-256. */
export type DkimAlgorithm = 'rsa-sha256' | 'ed25519-sha256';

/** One signing key as configured. */
export interface DkimKeyInput {
  /** The signing domain, `d=`: the From domain or a parent of it, so that DMARC aligns. */
  readonly domain: string;
  /** The selector, `s=`: the key's record is published at `selector._domainkey.domain`. */
  readonly selector: string;
  /**
   * The private key: PEM (PKCS #8, or PKCS #1 for RSA), DER, a `KeyObject`, or a `Secret` holding
   * PEM. An Ed25519 key may also be its 32-byte seed, raw or in base64 (as RFC 8463 prints it).
   */
  readonly privateKey: string | Buffer | KeyObject | Secret;
  /** Checked against the key. Default: what the key is (`rsa-sha256` for RSA, `ed25519-sha256` for Ed25519). */
  readonly algorithm?: DkimAlgorithm | undefined;
}

/**
 * A validated signing key, as `select` sees it. It carries no key material: `util.inspect`,
 * `JSON.stringify` and hooks never show the private key.
 */
export interface DkimKey {
  readonly domain: string;
  readonly selector: string;
  readonly algorithm: DkimAlgorithm;
  /** RSA modulus length; undefined for Ed25519. */
  readonly bits: number | undefined;
}

/** Options of DKIM signing, given to `createMailer` as `dkim`. */
export interface DkimOptions {
  /** The signing keys: several domains, and for one domain an RSA and an Ed25519 key, or the keys of a rotation. */
  readonly keys: readonly DkimKeyInput[];
  /**
   * The keys that sign `message`, each adding one DKIM-Signature; an empty list sends it unsigned.
   * Return keys from `keys` (the second argument), not new objects. Default {@link selectDkimKeys}:
   * for the From domain, or its closest parent that has keys, the first key of each algorithm.
   */
  readonly select?: ((message: EmailMessage, keys: readonly DkimKey[]) => readonly DkimKey[]) | undefined;
  /**
   * The header fields to sign, in order; each is signed once more than it occurs (oversigned), so
   * a field added on the way breaks the signature. Must include From; never Bcc. Default
   * {@link defaultDkimHeaders}.
   */
  readonly headers?: readonly string[] | undefined;
  /** The clock for `t=`, in epoch milliseconds. Default `Date.now`. */
  readonly now?: (() => number) | undefined;
}

/** The fields signed by default: the ones a reader trusts, the MIME structure, and RFC 8058 one-click unsubscribe. */
export const defaultDkimHeaders: readonly string[] = Object.freeze([
  'from',
  'sender',
  'reply-to',
  'to',
  'cc',
  'subject',
  'date',
  'message-id',
  'in-reply-to',
  'references',
  'mime-version',
  'content-type',
  'content-transfer-encoding',
  'list-unsubscribe',
  'list-unsubscribe-post',
]);

/** {@link DkimOptions} validated: keys parsed, names lower-cased. */
export interface ResolvedDkim {
  readonly keys: readonly DkimKey[];
  readonly select: (message: EmailMessage, keys: readonly DkimKey[]) => readonly DkimKey[];
  readonly headers: readonly string[];
  readonly now: () => number;
}

// The private key of each validated key, out of reach of anything that prints or serialises a DkimKey.
const privateKeys = new WeakMap<DkimKey, KeyObject>();

/** The private key of a key made by {@link resolveDkimOptions}; throws for any other object. */
export function privateKeyOf(key: DkimKey): KeyObject {
  const found = privateKeys.get(key);
  if (found === undefined) {
    throw configurationError(
      `select() returned a key that is not one of the configured keys (${key.selector}._domainkey.${key.domain})`,
      'Return keys from the list select() is given.',
    );
  }
  return found;
}

// RFC 8410: the PKCS #8 wrapping of a raw Ed25519 private key (SEQUENCE, version 0, id-Ed25519, OCTET STRING).
const ed25519Pkcs8Prefix = Buffer.from('302e020100300506032b657004220420', 'hex');
const minimumRsaBits = 1024;
// RFC 6376 3.5: a selector and a domain are dot-separated labels of letters, digits and hyphens.
const label = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const headerName = /^[\x21-\x39\x3b-\x7e]+$/;

/**
 * Validates DKIM options: each key is parsed and must be RSA of at least 1024 bits or Ed25519,
 * match its `algorithm`, and have a selector and domain that are DNS names. Throws `configuration`.
 *
 * @example
 * ```ts
 * const dkim = resolveDkimOptions({ keys: [{ domain: 'shop.example', selector: 's2025', privateKey: pem }] });
 * dkim.keys[0]; // { domain: 'shop.example', selector: 's2025', algorithm: 'rsa-sha256', bits: 2048 }
 * ```
 */
export function resolveDkimOptions(options: DkimOptions): ResolvedDkim {
  if (typeof options !== 'object' || options === null || !Array.isArray(options.keys) || options.keys.length === 0) {
    throw configurationError('dkim needs at least one key', 'Pass dkim: { keys: [{ domain, selector, privateKey }] }.');
  }
  const seen = new Set<string>();
  const keys = options.keys.map((input, index) => {
    const key = resolveKey(input, `dkim.keys[${index}]`);
    const name = `${key.selector}._domainkey.${key.domain}`;
    if (seen.has(name)) {
      throw configurationError(`dkim.keys[${index}]: ${name} is configured twice`, 'Give each key its own selector.');
    }
    seen.add(name);
    return key;
  });
  if (options.select !== undefined && typeof options.select !== 'function') {
    throw configurationError('dkim.select must be a function', 'Pass (message, keys) => keys, or leave select out.');
  }
  const headers = options.headers === undefined ? defaultDkimHeaders : resolveHeaders(options.headers);
  return Object.freeze({ keys: Object.freeze(keys), select: options.select ?? selectDkimKeys, headers, now: options.now ?? Date.now });
}

/**
 * The default key choice: the keys of the From domain or, when it has none, of its closest parent
 * that has some (`news.shop.example` is signed by `shop.example`: DMARC's relaxed alignment), and of
 * those the first of each algorithm, so that the first listed key of a rotation signs. Throws
 * `configuration` when no key fits the From domain: a typo would otherwise send unsigned mail.
 *
 * @example
 * ```ts
 * createMailer({ transport, dkim: { keys, select: (message, keys) => selectDkimKeys(message, keys).slice(0, 1) } });
 * ```
 */
export function selectDkimKeys(message: EmailMessage, keys: readonly DkimKey[]): readonly DkimKey[] {
  const address = message.from.address;
  let domain = address.slice(address.lastIndexOf('@') + 1).toLowerCase();
  for (;;) {
    const own = keys.filter((key) => key.domain === domain);
    if (own.length > 0) return own.filter((key, index) => own.findIndex((other) => other.algorithm === key.algorithm) === index);
    const dot = domain.indexOf('.');
    if (dot === -1 || domain.indexOf('.', dot + 1) === -1) break;
    domain = domain.slice(dot + 1);
  }
  const domains = [...new Set(keys.map((key) => key.domain))].join(', ');
  throw new MailError('configuration', `No DKIM key for the From domain of this message (${address}); keys are configured for ${domains}`, {
    field: 'from',
    remediation: 'Add a key for this domain, or pass dkim.select and return [] for messages to send unsigned.',
  });
}

function resolveKey(input: DkimKeyInput, field: string): DkimKey {
  if (typeof input !== 'object' || input === null) throw configurationError(`${field} must be { domain, selector, privateKey }`);
  const domain = dnsName(input.domain, `${field}.domain`, 2);
  const selector = dnsName(input.selector, `${field}.selector`, 1);
  if (`${selector}._domainkey.${domain}`.length > 253) {
    throw configurationError(`${field}: ${selector}._domainkey.${domain} is longer than a DNS name can be (253)`);
  }
  const privateKey = parsePrivateKey(input.privateKey, field);
  const type = privateKey.asymmetricKeyType;
  const algorithm: DkimAlgorithm | undefined = type === 'rsa' ? 'rsa-sha256' : type === 'ed25519' ? 'ed25519-sha256' : undefined;
  if (algorithm === undefined) {
    throw configurationError(
      `${field}.privateKey is ${type === undefined ? 'not an asymmetric key' : `an ${type} key`}; DKIM signs with RSA or Ed25519`,
      'Generate one with `openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048` or `openssl genpkey -algorithm ed25519`.',
    );
  }
  if (input.algorithm !== undefined && input.algorithm !== algorithm) {
    throw configurationError(
      `${field}.algorithm is ${String(input.algorithm)} but the key is ${type === 'rsa' ? 'an RSA' : 'an Ed25519'} key`,
      `Write algorithm: '${algorithm}', or leave it out.`,
    );
  }
  const bits = algorithm === 'rsa-sha256' ? privateKey.asymmetricKeyDetails?.modulusLength : undefined;
  if (bits !== undefined && bits < minimumRsaBits) {
    throw configurationError(
      `${field}.privateKey is a ${bits}-bit RSA key; verifiers ignore signatures by keys under ${minimumRsaBits} bits (RFC 8301)`,
      'Use a 2048-bit key: `openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048`.',
    );
  }
  const key: DkimKey = Object.freeze({ domain, selector, algorithm, bits });
  privateKeys.set(key, privateKey);
  return key;
}

function parsePrivateKey(value: DkimKeyInput['privateKey'], field: string): KeyObject {
  const fail = (reason: string): never => {
    throw configurationError(
      `${field}.privateKey ${reason}`,
      'Pass a PEM private key (-----BEGIN PRIVATE KEY-----), DER bytes, a KeyObject, or an Ed25519 seed of 32 bytes.',
    );
  };
  if (value instanceof Secret) return parsePrivateKey(value.reveal(), field);
  if (typeof value === 'object' && value !== null && !Buffer.isBuffer(value) && typeof (value as KeyObject).type === 'string') {
    const keyObject = value as KeyObject;
    if (keyObject.type !== 'private') fail(`is a ${keyObject.type} key; signing needs the private key`);
    return keyObject;
  }
  let bytes: Buffer;
  if (typeof value === 'string') {
    const text = value.trim();
    if (text.includes('-----BEGIN')) return attempt(() => createPrivateKey(text)) ?? fail('is not a readable PEM private key');
    if (!/^[A-Za-z0-9+/\s]+={0,2}$/.test(text)) fail('is neither PEM nor base64');
    bytes = Buffer.from(text, 'base64');
  } else if (Buffer.isBuffer(value)) {
    if (value.subarray(0, 64).toString('latin1').includes('-----BEGIN')) {
      return attempt(() => createPrivateKey(value)) ?? fail('is not a readable PEM private key');
    }
    bytes = value;
  } else {
    return fail('must be a string, a Buffer, a KeyObject or a Secret');
  }
  if (bytes.length === 32) {
    return attempt(() => createPrivateKey({ key: Buffer.concat([ed25519Pkcs8Prefix, bytes]), format: 'der', type: 'pkcs8' })) as KeyObject;
  }
  return (
    attempt(() => createPrivateKey({ key: bytes, format: 'der', type: 'pkcs8' })) ??
    attempt(() => createPrivateKey({ key: bytes, format: 'der', type: 'pkcs1' })) ??
    fail('is not a readable DER private key')
  );
}

function attempt(make: () => KeyObject): KeyObject | undefined {
  try {
    return make();
  } catch {
    return undefined;
  }
}

/** `value` as a lower-case A-label DNS name of at least `minimumLabels` labels, or a `configuration` error. */
function dnsName(value: unknown, field: string, minimumLabels: number): string {
  if (typeof value !== 'string' || value === '') throw configurationError(`${field} must be a DNS name`);
  const ascii = /^[\x21-\x7e]+$/.test(value) ? value.toLowerCase() : domainToASCII(value);
  const labels = ascii.replace(/\.$/, '').split('.');
  if (ascii === '' || labels.length < minimumLabels || ascii.length > 253 || !labels.every((part) => label.test(part))) {
    throw configurationError(
      `${field} "${value}" is not a DNS name`,
      minimumLabels > 1
        ? 'Write the signing domain, such as shop.example: letters, digits and hyphens between dots.'
        : 'Write a selector such as s2025 or mail-2025-06: letters, digits and hyphens, dots between labels.',
    );
  }
  return labels.join('.');
}

function resolveHeaders(headers: readonly string[]): readonly string[] {
  if (!Array.isArray(headers) || headers.some((name) => typeof name !== 'string' || !headerName.test(name))) {
    throw configurationError('dkim.headers must be header field names', "Write names such as 'from', 'subject'.");
  }
  const names = [...new Set(headers.map((name) => name.toLowerCase()))];
  if (!names.includes('from')) throw configurationError('dkim.headers must include From (RFC 6376 5.4)', "Add 'from'.");
  if (names.includes('bcc')) {
    throw configurationError(
      'dkim.headers must not include Bcc',
      'Leave Bcc out: it is removed before delivery, and signing it tells every recipient it was there.',
    );
  }
  if (names.includes('dkim-signature')) throw configurationError('dkim.headers must not include DKIM-Signature');
  return Object.freeze(names);
}

function configurationError(message: string, remediation?: string): MailError {
  return new MailError('configuration', message, { field: 'dkim', remediation });
}

/** The public key of a configured key, for the DNS record; used by `@mailport/core/dkim`. */
export function publicKeyOf(key: DkimKey): KeyObject {
  return createPublicKey(privateKeyOf(key));
}
