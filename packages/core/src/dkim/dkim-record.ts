import { createPublicKey, type KeyObject } from 'node:crypto';
import { MailError } from '../errors.js';
import { type DkimKey, type DkimKeyInput, publicKeyOf, resolveDkimOptions } from './dkim-keys.js';

/** A DKIM key record (RFC 6376 3.6.1), as published in DNS TXT at `selector._domainkey.domain`. */
export interface DkimRecord {
  /** `v=`, when present (`DKIM1`). */
  readonly version: string | undefined;
  /** `k=`: `rsa` (the default) or `ed25519`. */
  readonly keyType: string;
  /** `p=`, whitespace removed; empty for a revoked key. */
  readonly publicKey: string;
  /** `t=` flags: `y` (testing), `s` (no subdomains). */
  readonly flags: readonly string[];
  /** `h=` acceptable hash algorithms, when restricted. */
  readonly hashes: readonly string[] | undefined;
  /** `s=` service types, when restricted. */
  readonly services: readonly string[] | undefined;
  /** Every tag as written. */
  readonly tags: Readonly<Record<string, string>>;
}

/**
 * The TXT record to publish for a key: `v=DKIM1; k=rsa; p=<SubjectPublicKeyInfo, base64>` for
 * RSA, `v=DKIM1; k=ed25519; p=<the 32-byte public key, base64>` for Ed25519 (RFC 8463 4.2). An
 * RSA record is longer than the 255 characters of one TXT string: DNS tools split it into
 * several strings of one record, which verifiers join.
 *
 * @example
 * ```ts
 * dkimRecord({ domain: 'shop.example', selector: 's2025', privateKey: pem });
 * // { name: 's2025._domainkey.shop.example', value: 'v=DKIM1; k=rsa; p=MIIBIjANBgkq...' }
 * ```
 */
export function dkimRecord(key: DkimKeyInput | DkimKey): { name: string; value: string } {
  const resolved = 'privateKey' in key ? (resolveDkimOptions({ keys: [key] }).keys[0] as DkimKey) : key;
  return {
    name: `${resolved.selector}._domainkey.${resolved.domain}`,
    value: recordValue(publicKeyOf(resolved)),
  };
}

/** `v=DKIM1; k=...; p=...` for a public key. */
export function recordValue(publicKey: KeyObject): string {
  if (publicKey.asymmetricKeyType === 'ed25519') {
    const jwk = publicKey.export({ format: 'jwk' });
    return `v=DKIM1; k=ed25519; p=${Buffer.from(jwk.x as string, 'base64url').toString('base64')}`;
  }
  return `v=DKIM1; k=rsa; p=${publicKey.export({ format: 'der', type: 'spki' }).toString('base64')}`;
}

/**
 * Reads a DKIM key record: the strings of one TXT record joined (as `dns.resolveTxt` gives them,
 * an array per record). Throws `configuration` when it is no DKIM record.
 *
 * @example
 * ```ts
 * parseDkimRecord('v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=').keyType; // 'ed25519'
 * ```
 */
export function parseDkimRecord(text: string | readonly string[]): DkimRecord {
  const joined = typeof text === 'string' ? text : text.join('');
  const tags: Record<string, string> = {};
  for (const part of joined.split(';')) {
    const trimmed = part.trim();
    if (trimmed === '') continue;
    const equals = trimmed.indexOf('=');
    if (equals <= 0) throw recordError(`"${trimmed}" is not a tag=value pair`);
    const name = trimmed.slice(0, equals).trim();
    if (name in tags) throw recordError(`the tag ${name}= appears twice`);
    tags[name] = trimmed.slice(equals + 1).trim();
  }
  if (tags.v !== undefined && tags.v !== 'DKIM1') throw recordError(`v=${tags.v} is not DKIM1`);
  if (tags.p === undefined) throw recordError('it has no p= tag');
  const list = (value: string | undefined): string[] | undefined =>
    value === undefined
      ? undefined
      : value
          .split(':')
          .map((item) => item.trim())
          .filter((item) => item !== '');
  return Object.freeze({
    version: tags.v,
    keyType: tags.k ?? 'rsa',
    publicKey: tags.p.replace(/\s+/g, ''),
    flags: Object.freeze(list(tags.t) ?? []),
    hashes: list(tags.h),
    services: list(tags.s),
    tags: Object.freeze(tags),
  });
}

/** What {@link compareDkimRecord} found. */
export interface DkimRecordComparison {
  /** True when the record publishes the configured key, for the right algorithm, usable for email. */
  readonly ok: boolean;
  /** Problems, one sentence each; empty when ok. */
  readonly problems: readonly string[];
  /** Worth knowing but not wrong: testing mode, a 1024-bit key. */
  readonly notes: readonly string[];
}

/**
 * Compares a published record with a configured key: the key type, the public key, the hash
 * algorithms and service types it allows, a revoked key (`p=` empty), testing mode (`t=y`).
 *
 * @example
 * ```ts
 * compareDkimRecord(parseDkimRecord(txt), key).ok;
 * ```
 */
export function compareDkimRecord(record: DkimRecord, key: DkimKeyInput | DkimKey): DkimRecordComparison {
  const resolved = 'privateKey' in key ? (resolveDkimOptions({ keys: [key] }).keys[0] as DkimKey) : key;
  const problems: string[] = [];
  const notes: string[] = [];
  const expectedType = resolved.algorithm === 'ed25519-sha256' ? 'ed25519' : 'rsa';
  if (record.publicKey === '') problems.push('the record revokes the key (p= is empty)');
  else if (record.keyType !== expectedType) problems.push(`the record is k=${record.keyType}, the configured key is ${expectedType}`);
  else if (!samePublicKey(record, publicKeyOf(resolved))) {
    problems.push(
      'the published public key is not the configured private key’s: publish the record mailport prints, or configure the matching private key',
    );
  }
  if (record.hashes !== undefined && !record.hashes.includes('sha256')) problems.push(`h=${record.hashes.join(':')} does not allow sha256`);
  if (record.services !== undefined && !record.services.includes('*') && !record.services.includes('email')) {
    problems.push(`s=${record.services.join(':')} does not allow email`);
  }
  if (record.flags.includes('y')) notes.push('t=y: the domain is testing DKIM; verifiers may treat failures as unsigned');
  if (resolved.bits !== undefined && resolved.bits < 2048) notes.push(`${resolved.bits}-bit RSA key: 2048 bits is the recommended size`);
  return { ok: problems.length === 0, problems, notes };
}

function samePublicKey(record: DkimRecord, configured: KeyObject): boolean {
  try {
    const bytes = Buffer.from(record.publicKey, 'base64');
    if (record.keyType === 'ed25519') {
      return Buffer.from(configured.export({ format: 'jwk' }).x as string, 'base64url').equals(bytes);
    }
    // RFC 6376 says RSAPublicKey, and practice publishes SubjectPublicKeyInfo: accept either.
    let published: KeyObject;
    try {
      published = createPublicKey({ key: bytes, format: 'der', type: 'spki' });
    } catch {
      published = createPublicKey({ key: bytes, format: 'der', type: 'pkcs1' });
    }
    return published.equals(configured);
  } catch {
    return false;
  }
}

function recordError(reason: string): MailError {
  return new MailError('configuration', `Not a DKIM key record: ${reason}`, {
    remediation: 'Publish the record `mailport doctor dkim` prints: v=DKIM1; k=rsa|ed25519; p=<public key>.',
  });
}
