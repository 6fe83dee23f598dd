import { execFileSync } from 'node:child_process';
import { generateKeyPairSync, verify } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decryptPkcs8, importRs256Key, pemBlocks, signRs256 } from '@mailport/core/jwt';
import { afterAll, describe, expect, it } from 'vitest';

// Encrypted keys as node:crypto and the openssl command write them, opened with WebCrypto only
// (what a Worker has), and checked by verifying a signature with node:crypto's public key.
const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const password = 'correct horse battery staple';
const directory = mkdtempSync(join(tmpdir(), 'mailport-pkcs8-'));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

async function signsWith(pem: string, secret: string | undefined): Promise<boolean> {
  const key = await importRs256Key(pem, secret);
  if (key === undefined) throw new Error('no key');
  const jwt = await signRs256({}, { sub: 'x' }, key);
  const [header, claims, signature] = jwt.split('.') as [string, string, string];
  return verify('sha256', Buffer.from(`${header}.${claims}`), publicKey, Buffer.from(signature, 'base64url'));
}

function opensslEncrypted(args: readonly string[]): string {
  const plain = join(directory, 'plain.pem');
  writeFileSync(plain, privateKey.export({ type: 'pkcs8', format: 'pem' }));
  return execFileSync('openssl', ['pkcs8', '-topk8', '-in', plain, '-passout', `pass:${password}`, ...args], { encoding: 'utf8' });
}

describe('decryptPkcs8 and importRs256Key with a password (WebCrypto only)', () => {
  for (const cipher of ['aes-128-cbc', 'aes-192-cbc', 'aes-256-cbc']) {
    it(`opens node:crypto's ${cipher} key`, async () => {
      const pem = privateKey.export({ type: 'pkcs8', format: 'pem', cipher, passphrase: password }) as string;
      expect(pem).toContain('ENCRYPTED PRIVATE KEY');
      expect(await signsWith(pem, password)).toBe(true);
    });
  }

  for (const [name, args] of [
    ['openssl, PBKDF2 with HMAC-SHA-1', ['-v2', 'aes-256-cbc', '-v2prf', 'hmacWithSHA1']],
    ['openssl, HMAC-SHA-512 and 100,000 iterations', ['-v2', 'aes-128-cbc', '-v2prf', 'hmacWithSHA512', '-iter', '100000']],
  ] as const) {
    it(`opens a key from ${name}`, async () => {
      expect(await signsWith(opensslEncrypted(args), password)).toBe(true);
    });
  }

  it('a wrong password, no password, a legacy scheme and damage are errors that say so', async () => {
    const pem = privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: password }) as string;
    const [encrypted] = pemBlocks(pem, 'ENCRYPTED PRIVATE KEY') as [Uint8Array];
    for (let attempt = 0; attempt < 20; attempt += 1) {
      await expect(decryptPkcs8(encrypted, `wrong ${attempt}`)).rejects.toThrow('wrong password or damaged key');
    }
    await expect(importRs256Key(pem)).rejects.toThrow('encrypted and no password');
    const legacy = opensslEncrypted(['-v1', 'PBE-SHA1-3DES']);
    await expect(importRs256Key(legacy, password)).rejects.toThrow(/legacy scheme .*openssl pkcs8 -topk8 -v2 aes-256-cbc/);
    await expect(decryptPkcs8(encrypted.subarray(0, 40), password)).rejects.toThrow(/truncated|malformed/);
    const flipped = Uint8Array.from(encrypted);
    flipped[flipped.length - 1] = (flipped[flipped.length - 1] as number) ^ 0xff;
    await expect(decryptPkcs8(flipped, password)).rejects.toThrow('wrong password or damaged key');
    await expect(decryptPkcs8(Uint8Array.from([0x02, 0x01, 0x00]), password)).rejects.toThrow(/malformed/);
  });
});
