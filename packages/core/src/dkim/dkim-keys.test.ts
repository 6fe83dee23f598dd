import { generateKeyPairSync } from 'node:crypto';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { MailError } from '../errors.js';
import { createMailer } from '../mailer.js';
import { createMemoryTransport } from '../memory-transport.js';
import { createMessage } from '../message.js';
import { Secret } from '../secret.js';
import { type DkimKeyInput, type DkimOptions, resolveDkimOptions, selectDkimKeys } from './dkim-keys.js';
import { dkimRecord } from './dkim-record.js';

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const rsaPem = rsa.privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
const ed25519 = generateKeyPairSync('ed25519');
const ed25519Pem = ed25519.privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
const small = generateKeyPairSync('rsa', { modulusLength: 768 }).privateKey;
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;

const key = (overrides: Partial<DkimKeyInput> = {}): DkimKeyInput => ({
  domain: 'shop.example',
  selector: 's2025',
  privateKey: rsaPem,
  ...overrides,
});

// Every refusal is a configuration error when the mailer is created, before any message.
function creationError(dkim: DkimOptions): MailError {
  try {
    createMailer({ transport: createMemoryTransport(), dkim });
  } catch (error) {
    if (MailError.isInstance(error)) return error;
    throw error;
  }
  throw new Error('createMailer accepted it');
}

describe('DKIM keys, checked when the mailer is created', () => {
  it.each([
    ['no keys', { keys: [] }, /at least one key/],
    [
      'a malformed PEM',
      { keys: [key({ privateKey: '-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----' })] },
      /not a readable PEM/,
    ],
    ['text that is no key', { keys: [key({ privateKey: 'hunter2!' })] }, /neither PEM nor base64/],
    ['bytes that are no key', { keys: [key({ privateKey: Buffer.from('0123456789') })] }, /not a readable DER/],
    ['a public key', { keys: [key({ privateKey: rsa.publicKey })] }, /is a public key/],
    ['an RSA key under 1024 bits', { keys: [key({ privateKey: small })] }, /768-bit RSA key/],
    ['an EC key', { keys: [key({ privateKey: ec })] }, /an ec key; DKIM signs with RSA or Ed25519/],
    [
      'an RSA key said to be Ed25519',
      { keys: [key({ algorithm: 'ed25519-sha256' })] },
      /algorithm is ed25519-sha256 but the key is an RSA key/,
    ],
    [
      'an Ed25519 key said to be RSA',
      { keys: [key({ privateKey: ed25519Pem, algorithm: 'rsa-sha256' })] },
      /but the key is an Ed25519 key/,
    ],
    ['a selector with a space', { keys: [key({ selector: 's 2025' })] }, /selector "s 2025" is not a DNS name/],
    ['a selector with an underscore', { keys: [key({ selector: 'mail_2025' })] }, /is not a DNS name/],
    ['a domain of one label', { keys: [key({ domain: 'localhost' })] }, /domain "localhost" is not a DNS name/],
    ['a domain with a leading hyphen', { keys: [key({ domain: '-shop.example' })] }, /is not a DNS name/],
    ['a label of 64 characters', { keys: [key({ domain: `${'a'.repeat(64)}.example` })] }, /is not a DNS name/],
    ['the same selector twice', { keys: [key(), key({ privateKey: ed25519Pem })] }, /s2025._domainkey.shop.example is configured twice/],
    ['headers without From', { keys: [key()], headers: ['subject'] }, /must include From/],
    ['headers with Bcc', { keys: [key()], headers: ['from', 'bcc'] }, /must not include Bcc/],
  ] satisfies [string, DkimOptions, RegExp][])('refuses %s', (_name, dkim, message) => {
    const error = creationError(dkim);
    expect(error.code).toBe('configuration');
    expect(error.message).toMatch(message);
    expect(error.remediation === undefined || error.remediation.length > 0).toBe(true);
  });

  it('takes PEM (PKCS #8 and PKCS #1), DER, a KeyObject, a Secret and an Ed25519 seed, and infers the algorithm', () => {
    const pkcs1 = rsa.privateKey.export({ format: 'pem', type: 'pkcs1' }) as string;
    const der = ed25519.privateKey.export({ format: 'der', type: 'pkcs8' });
    const seed = Buffer.from(ed25519.privateKey.export({ format: 'jwk' }).d as string, 'base64url');
    const { keys } = resolveDkimOptions({
      keys: [
        key({ selector: 'a' }),
        key({ selector: 'b', privateKey: pkcs1 }),
        key({ selector: 'c', privateKey: der }),
        key({ selector: 'd', privateKey: rsa.privateKey }),
        key({ selector: 'e', privateKey: new Secret(ed25519Pem) }),
        key({ selector: 'f', privateKey: seed.toString('base64') }),
        key({ selector: 'g', privateKey: seed }),
        key({ selector: 'h', domain: 'BÜCHER.example' }),
      ],
    });
    expect(keys.map((found) => [found.selector, found.algorithm, found.bits])).toEqual([
      ['a', 'rsa-sha256', 2048],
      ['b', 'rsa-sha256', 2048],
      ['c', 'ed25519-sha256', undefined],
      ['d', 'rsa-sha256', 2048],
      ['e', 'ed25519-sha256', undefined],
      ['f', 'ed25519-sha256', undefined],
      ['g', 'ed25519-sha256', undefined],
      ['h', 'rsa-sha256', 2048],
    ]);
    expect(keys[7]?.domain).toBe('xn--bcher-kva.example');
    // The seed is the same key as the PEM: the same record.
    expect(dkimRecord(keys[5] as never).value).toBe(dkimRecord(keys[4] as never).value);
  });

  it('never shows key material: the keys select() sees are names and sizes only', () => {
    const { keys } = resolveDkimOptions({ keys: [key()] });
    const shown = `${inspect(keys, { depth: 5, showHidden: true })} ${JSON.stringify(keys)}`;
    expect(shown).not.toMatch(/PRIVATE|MII/);
    expect(Object.keys(keys[0] as object)).toEqual(['domain', 'selector', 'algorithm', 'bits']);
  });
});

describe('selectDkimKeys, the default choice', () => {
  const { keys } = resolveDkimOptions({
    keys: [
      key({ selector: 'new' }),
      key({ selector: 'old' }),
      key({ selector: 'ed', privateKey: ed25519Pem }),
      key({ domain: 'news.shop.example', selector: 'n1' }),
      key({ domain: 'other.example', selector: 'o1' }),
    ],
  });
  const from = (address: string) => createMessage({ from: address, to: 'b@example.org', text: 'hi' });
  const chosen = (address: string) => selectDkimKeys(from(address), keys).map((found) => `${found.selector}._domainkey.${found.domain}`);

  it('signs with the first key of each algorithm of the From domain: the first listed key of a rotation', () => {
    expect(chosen('a@shop.example')).toEqual(['new._domainkey.shop.example', 'ed._domainkey.shop.example']);
    expect(chosen('a@SHOP.example')).toEqual(['new._domainkey.shop.example', 'ed._domainkey.shop.example']);
  });

  it('prefers the From domain’s own keys, and else those of its closest parent (relaxed alignment)', () => {
    expect(chosen('a@news.shop.example')).toEqual(['n1._domainkey.news.shop.example']);
    expect(chosen('a@deals.shop.example')).toEqual(['new._domainkey.shop.example', 'ed._domainkey.shop.example']);
  });

  it('refuses a From domain without keys rather than send it unsigned', () => {
    expect(() => chosen('a@elsewhere.example')).toThrow(
      expect.objectContaining({
        code: 'configuration',
        message: expect.stringMatching(/No DKIM key for the From domain.*shop\.example, news\.shop\.example, other\.example/),
      }),
    );
  });
});
