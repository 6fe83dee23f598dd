import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dkimRecord } from '@mailport/core/dkim';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDnsServer, type TestDnsServer } from '../test/dns-server.js';
import { run } from './cli.js';
import { exitCodes } from './exit-codes.js';
import { memoryIo } from './io.js';

// `mailport doctor dkim` against a DNS server on a loopback port (--dns-server), as a user runs it.

const pem = (type: 'rsa' | 'ed25519'): string =>
  (type === 'rsa' ? generateKeyPairSync('rsa', { modulusLength: 2048 }) : generateKeyPairSync('ed25519')).privateKey.export({
    format: 'pem',
    type: 'pkcs8',
  }) as string;
const ed25519 = pem('ed25519');
const rsa = pem('rsa');
const other = pem('ed25519');
const recordOf = (selector: string, privateKey: string): string => dkimRecord({ domain: 'shop.example', selector, privateKey }).value;
// An RSA record is longer than one 255-byte character-string: DNS carries it as several.
const split = (text: string): string[] => text.match(/.{1,255}/g) ?? [];

let directory: string;
let dns: TestDnsServer;
beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'mailport-doctor-dkim-'));
  await writeFile(join(directory, 'ed25519.pem'), ed25519);
  await writeFile(join(directory, 'rsa.pem'), rsa);
  await writeFile(join(directory, 'other.pem'), other);
  await writeFile(join(directory, 'broken.pem'), '-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----\n');
  dns = await startDnsServer({
    'ed._domainkey.shop.example': [[recordOf('ed', ed25519)]],
    'rsa._domainkey.shop.example': [split(recordOf('rsa', rsa)), ['google-site-verification=abc']],
    'two._domainkey.shop.example': [[recordOf('two', ed25519)], [recordOf('two', other)]],
    'revoked._domainkey.shop.example': [['v=DKIM1; k=ed25519; p=']],
    'junk._domainkey.shop.example': [['v=DKIM1; k=ed25519; p=abc; p=def']],
    'testing._domainkey.shop.example': [[`${recordOf('testing', ed25519)}; t=y`]],
  });
});
afterAll(async () => {
  await dns.close();
  await rm(directory, { recursive: true, force: true });
});

async function doctor(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const io = memoryIo({ cwd: directory });
  const code = await run(['doctor', 'dkim', '--dns-server', dns.address, '--timeout', '2s', ...args], io);
  return { code, out: io.out(), err: io.err() };
}

describe('mailport doctor dkim', () => {
  it('passes when the record publishes the configured Ed25519 key', async () => {
    const result = await doctor('--domain', 'shop.example', '--selector', 'ed', '--key', 'ed25519.pem');
    expect(result.code).toBe(exitCodes.ok);
    expect(result.out).toContain('ed._domainkey.shop.example');
    expect(result.out).toContain('OK     publishes the configured Ed25519 key');
    expect(dns.questions).toContain('ed._domainkey.shop.example');
  });

  it('joins an RSA record split into strings, and ignores other TXT records at the name', async () => {
    const result = await doctor('--domain', 'SHOP.example', '--selector', 'rsa', '--key', 'rsa.pem');
    expect(result.code).toBe(exitCodes.ok);
    expect(result.out).toContain('OK     publishes the configured RSA 2048-bit key');
  });

  it('fails when the published key is another one, and prints the record to publish', async () => {
    const result = await doctor('--domain', 'shop.example', '--selector', 'ed', '--key', 'other.pem');
    expect(result.code).toBe(exitCodes.configuration);
    expect(result.out).toMatch(/FAIL {3}the published public key is not the configured private key/);
    expect(result.out).toContain(`Publish this TXT record at ed._domainkey.shop.example:\n  ${recordOf('ed', other)}`);
  });

  it('fails when the algorithm differs', async () => {
    const result = await doctor('--domain', 'shop.example', '--selector', 'ed', '--key', 'rsa.pem');
    expect(result.code).toBe(exitCodes.configuration);
    expect(result.out).toContain('the record is k=ed25519, the configured key is rsa');
  });

  it('fails when nothing is published yet, with the record to publish', async () => {
    const result = await doctor('--domain', 'shop.example', '--selector', 's2026', '--key', 'rsa.pem');
    expect(result.code).toBe(exitCodes.configuration);
    expect(result.out).toContain('FAIL   no TXT record at s2026._domainkey.shop.example');
    expect(result.out).toContain(recordOf('s2026', rsa));
    expect(result.out).toContain('longer than 255 characters');
  });

  it.each([
    ['two DKIM records', 'two', /2 DKIM records/],
    ['a revoked key', 'revoked', /revokes the key/],
    ['a malformed record', 'junk', /Not a DKIM key record: the tag p= appears twice/],
  ])('fails on %s', async (_name, selector, problem) => {
    const result = await doctor('--domain', 'shop.example', '--selector', selector, '--key', 'ed25519.pem');
    expect(result.code).toBe(exitCodes.configuration);
    expect(result.out).toMatch(problem);
  });

  it('notes testing mode, and checks the record alone without --key', async () => {
    const testing = await doctor('--domain', 'shop.example', '--selector', 'testing', '--key', 'ed25519.pem');
    expect(testing.code).toBe(exitCodes.ok);
    expect(testing.out).toContain('NOTE   t=y');
    const alone = await doctor('--domain', 'shop.example', '--selector', 'ed');
    expect(alone.code).toBe(exitCodes.ok);
    expect(alone.out).toContain('OK     publishes an Ed25519 key');
    expect(alone.out).toContain('no --key given');
  });

  it('prints JSON with --json', async () => {
    const result = await doctor('--domain', 'shop.example', '--selector', 'ed', '--key', 'other.pem', '--json');
    expect(JSON.parse(result.out)).toMatchObject({
      name: 'ed._domainkey.shop.example',
      ok: false,
      record: { keyType: 'ed25519' },
      publish: { name: 'ed._domainkey.shop.example', value: recordOf('ed', other) },
    });
  });

  it('refuses a key that is not a key, or a selector that is not a DNS name, as the mailer would (exit 4)', async () => {
    const broken = await doctor('--domain', 'shop.example', '--selector', 'ed', '--key', 'broken.pem');
    expect(broken.code).toBe(exitCodes.configuration);
    expect(broken.err).toContain('not a readable PEM private key');
    const selector = await doctor('--domain', 'shop.example', '--selector', 'bad_one', '--key', 'ed25519.pem');
    expect(selector.code).toBe(exitCodes.configuration);
    expect(selector.err).toContain('is not a DNS name');
    const missing = await doctor('--domain', 'shop.example', '--selector', 'ed', '--key', 'missing.pem');
    expect(missing.code).toBe(exitCodes.configuration);
  });

  it('says when DNS does not answer (exit 8)', async () => {
    const silent = await startDnsServer({}, { silent: true });
    try {
      const io = memoryIo({ cwd: directory });
      const code = await run(
        ['doctor', 'dkim', '--dns-server', silent.address, '--timeout', '300ms', '--domain', 'shop.example', '--selector', 'ed'],
        io,
      );
      expect(code).toBe(exitCodes.transient);
      expect(io.err()).toContain('DNS did not answer for ed._domainkey.shop.example');
    } finally {
      await silent.close();
    }
  });

  it('refuses wrong usage (exit 2)', async () => {
    expect((await doctor('--selector', 'ed')).code).toBe(exitCodes.usage);
    expect((await doctor('--domain', 'shop.example', '--selector', 'ed', '--dns-server', 'dns.example')).code).toBe(exitCodes.usage);
    const help = memoryIo();
    expect(await run(['doctor', 'dkim', '--help'], help)).toBe(exitCodes.ok);
    expect(help.out()).toContain('mailport doctor dkim');
  });
});
