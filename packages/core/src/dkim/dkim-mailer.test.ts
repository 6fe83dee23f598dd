import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { skipUnlessFound } from '../../../sandbox/test/find-tool.js';
import { findPythonDkim, verifyWithBoth, verifyWithMailauth } from '../../test/dkim-verifiers.js';
import { failover } from '../composite.js';
import type { MailError } from '../errors.js';
import { createFileTransport } from '../file-transport.js';
import { createMailer, type MailerInput } from '../mailer.js';
import { createMemoryTransport } from '../memory-transport.js';
import { createMessage } from '../message.js';
import { renderMimeParts } from '../mime.js';
import type { DkimKeyInput, DkimOptions } from './dkim-keys.js';
import { resolveDkimOptions } from './dkim-keys.js';
import { attachDkimPlan, requestsDkim, withSigningProfile } from './dkim-plan.js';
import { dkimRecord } from './dkim-record.js';

const pem = (pair: { privateKey: { export(options: object): string | Buffer } }): string =>
  pair.privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
const rsaKey: DkimKeyInput = {
  domain: 'shop.example',
  selector: 'rsa2025',
  privateKey: pem(generateKeyPairSync('rsa', { modulusLength: 2048 })),
};
const ed25519Key: DkimKeyInput = { domain: 'shop.example', selector: 'ed2025', privateKey: pem(generateKeyPairSync('ed25519')) };
const otherKey: DkimKeyInput = { domain: 'brand.example', selector: 'b1', privateKey: pem(generateKeyPairSync('ed25519')) };
const records = Object.fromEntries([rsaKey, ed25519Key, otherKey].map((key) => Object.values(dkimRecord(key))));

const input: MailerInput = {
  from: 'Shop <orders@shop.example>',
  to: 'Ana <ana@example.org>',
  cc: 'ops@example.org',
  bcc: 'audit@example.net',
  subject: 'Your order  has shipped',
  text: 'Hello Ana,\r\n\r\nYour order is on its way.  \r\n\r\n\r\n',
  html: '<p>Hello Ana,</p>\r\n<p>Your order is on its way.</p>',
  listUnsubscribe: { url: 'https://shop.example/unsubscribe?u=42', mailto: 'unsubscribe@shop.example', oneClick: true },
  attachments: [{ filename: 'invoice.txt', content: 'total 42' }],
};

async function sendThroughMemory(dkim: DkimOptions, message: MailerInput = input): Promise<Buffer> {
  const transport = createMemoryTransport();
  await createMailer({ transport, dkim }).send(message);
  return transport.last()?.mime as Buffer;
}

const signatureFields = (mime: Buffer): string[] =>
  (mime.toString('latin1').split('\r\n\r\n')[0] as string).split(/\r\n(?=\S)/).filter((field) => field.startsWith('DKIM-Signature:'));
const tag = (field: string, name: string): string =>
  (new RegExp(`(?:^|;)\\s*${name}=([^;]*)`).exec(field.replace(/^DKIM-Signature:/, '').replace(/\r\n/g, ''))?.[1] ?? '').replace(
    /\s+/g,
    '',
  );

describe('DKIM through createMailer and the memory transport', () => {
  it('puts one signature per key in front, relaxed/relaxed, and mailauth accepts each', async () => {
    const mime = await sendThroughMemory({ keys: [rsaKey, ed25519Key] });
    const fields = signatureFields(mime);
    expect(fields.map((field) => [tag(field, 'a'), tag(field, 's'), tag(field, 'd'), tag(field, 'c')])).toEqual([
      ['rsa-sha256', 'rsa2025', 'shop.example', 'relaxed/relaxed'],
      ['ed25519-sha256', 'ed2025', 'shop.example', 'relaxed/relaxed'],
    ]);
    expect(mime.toString('latin1').startsWith('DKIM-Signature: v=1; a=rsa-sha256;')).toBe(true);
    expect(await verifyWithMailauth(mime, records)).toEqual(['pass', 'pass']);
  });

  it('oversigns each listed field (present ones once more than they occur) and never signs Bcc', async () => {
    const mime = await sendThroughMemory({ keys: [ed25519Key] });
    const names = tag(signatureFields(mime)[0] as string, 'h').split(':');
    const count = (name: string) => names.filter((listed) => listed === name).length;
    expect(count('from')).toBe(2);
    expect(count('to')).toBe(2);
    expect(count('cc')).toBe(2);
    expect(count('subject')).toBe(2);
    expect(count('date')).toBe(2);
    expect(count('message-id')).toBe(2);
    expect(count('mime-version')).toBe(2);
    expect(count('content-type')).toBe(2);
    expect(count('list-unsubscribe')).toBe(2);
    expect(count('list-unsubscribe-post')).toBe(2);
    // Absent fields are listed once: adding one on the way breaks the signature too.
    expect(count('sender')).toBe(1);
    expect(count('reply-to')).toBe(1);
    expect(names).not.toContain('bcc');
    expect(line(mime, 'bcc')).toBeUndefined();
  });

  it('keeps every line under 78 characters', async () => {
    const mime = await sendThroughMemory({ keys: [rsaKey, ed25519Key] });
    for (const field of signatureFields(mime)) for (const text of field.split('\r\n')) expect(text.length).toBeLessThanOrEqual(78);
  });

  it('signs the file transport’s .eml, Bcc header kept and unsigned', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'mailport-dkim-'));
    try {
      await createMailer({ transport: createFileTransport({ directory }), dkim: { keys: [ed25519Key] } }).send(input);
      const [name] = await readdir(directory);
      const mime = await readFile(join(directory, name as string));
      expect(line(mime, 'bcc')).toBe('Bcc: audit@example.net');
      expect(await verifyWithMailauth(mime, records)).toEqual(['pass']);
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });

  it('chooses keys per message: the From domain’s by default, or what select returns', async () => {
    const keys = [rsaKey, ed25519Key, otherKey];
    const brand = await sendThroughMemory({ keys }, { ...input, from: 'news@brand.example' });
    expect(signatureFields(brand).map((field) => tag(field, 'd'))).toEqual(['brand.example']);
    const onlyEd25519 = await sendThroughMemory({
      keys,
      select: (_message, all) => all.filter((key) => key.algorithm === 'ed25519-sha256' && key.domain === 'shop.example'),
    });
    expect(signatureFields(onlyEd25519).map((field) => tag(field, 's'))).toEqual(['ed2025']);
    const unsigned = await sendThroughMemory({ keys, select: () => [] });
    expect(signatureFields(unsigned)).toEqual([]);
  });

  it('refuses a select that returns keys it was not given, and a From domain without keys', async () => {
    const transport = createMemoryTransport();
    const forged = createMailer({ transport, dkim: { keys: [rsaKey], select: (_message, all) => all.map((key) => ({ ...key })) } });
    await expect(forged.send(input)).rejects.toMatchObject({ code: 'configuration', message: expect.stringMatching(/keys from the list/) });
    const elsewhere = createMailer({ transport, dkim: { keys: [rsaKey] } });
    await expect(elsewhere.send({ ...input, from: 'a@elsewhere.example' })).rejects.toMatchObject({ code: 'configuration', field: 'from' });
    expect(transport.sent).toHaveLength(0);
  });

  it('signs for SES’s profile with the first key only, leaving Message-ID and Date out', async () => {
    const transport = createMemoryTransport({ id: 'memory://ses-like', capabilities: { dkim: 'one-key-no-id-date' } });
    await createMailer({ transport, dkim: { keys: [rsaKey, ed25519Key] } }).send(input);
    const fields = signatureFields(transport.last()?.mime as Buffer);
    expect(fields).toHaveLength(1);
    expect(tag(fields[0] as string, 'a')).toBe('rsa-sha256');
    expect(tag(fields[0] as string, 'h').split(':')).not.toContain('message-id');
    expect(tag(fields[0] as string, 'h').split(':')).not.toContain('date');
  });

  it('refuses DKIM on a transport that cannot carry it, with its own remediation, and sends nothing', async () => {
    const gmailLike = createMemoryTransport({
      id: 'memory://gmail-like',
      capabilities: { dkim: { remediation: 'Turn on DKIM in the Google Admin console.' } },
    });
    const error = await createMailer({ transport: gmailLike, dkim: { keys: [rsaKey] } })
      .send(input)
      .catch((caught: unknown) => caught as MailError);
    expect(error).toMatchObject({ code: 'unsupported', field: 'dkim', remediation: 'Turn on DKIM in the Google Admin console.' });
    expect(gmailLike.sent).toHaveLength(0);
    // Without dkim on the mailer, the same transport sends.
    await createMailer({ transport: gmailLike }).send(input);
    expect(gmailLike.sent).toHaveLength(1);
    // A transport that declares nothing is taken not to carry a signature.
    const plain = createMemoryTransport({ id: 'memory://plain', capabilities: { dkim: undefined } });
    await expect(createMailer({ transport: plain, dkim: { keys: [rsaKey] } }).send(input)).rejects.toMatchObject({ code: 'unsupported' });
  });

  it('failover() skips a member that cannot sign and signs on the next', async () => {
    const gmailLike = createMemoryTransport({ id: 'memory://gmail-like', capabilities: { dkim: false } });
    const smtpLike = createMemoryTransport({ id: 'memory://smtp-like' });
    const receipt = await createMailer({ transport: failover([gmailLike, smtpLike]), dkim: { keys: [ed25519Key] } }).send(input);
    expect(receipt.route?.map((step) => step.outcome)).toEqual(['skipped', 'sent']);
    expect(receipt.route?.[0]?.reason).toMatch(/DKIM signature/);
    expect(gmailLike.sent).toHaveLength(0);
    expect(await verifyWithMailauth(smtpLike.last()?.mime as Buffer, records)).toEqual(['pass']);
    // A message without DKIM still goes to the first member.
    await createMailer({ transport: failover([gmailLike, smtpLike]) }).send(input);
    expect(gmailLike.sent).toHaveLength(1);
  });

  it('prepends the signature to the rendered chunks without copying them', async () => {
    const message = createMessage({ ...input, from: 'orders@shop.example' });
    attachDkimPlan(message, resolveDkimOptions({ keys: [ed25519Key] }));
    expect(requestsDkim(message)).toBe(true);
    const unsigned = await renderMimeParts(message);
    const signed = await withSigningProfile(message, 'any', () => renderMimeParts(message));
    expect(signed.chunks.slice(1)).toHaveLength(unsigned.chunks.length);
    for (const [index, chunk] of signed.chunks.slice(1).entries()) expect(chunk).toBe(unsigned.chunks[index]);
    expect(signed.size).toBe(unsigned.size + (signed.chunks[0]?.length ?? 0));
    // One signing per message and profile: a retry sends the same bytes.
    expect(await withSigningProfile(message, 'any', () => renderMimeParts(message))).toBe(signed);
    expect(requestsDkim(createMessage({ from: 'a@shop.example', to: 'b@example.org', text: 'hi' }))).toBe(false);
  });
});

const python = findPythonDkim();
describe.skipIf(skipUnlessFound(python))('DKIM verified by python3-dkim and mailauth', () => {
  const path = 'path' in python ? python.path : '';
  let signed: Buffer;
  const both = (mime: Buffer | string) => verifyWithBoth(path, mime, records);

  it('RSA, Ed25519 and both verify in both verifiers', async () => {
    expect(await both(await sendThroughMemory({ keys: [rsaKey] }))).toEqual([['pass', 'pass']]);
    expect(await both(await sendThroughMemory({ keys: [ed25519Key] }))).toEqual([['pass', 'pass']]);
    signed = await sendThroughMemory({ keys: [rsaKey, ed25519Key] });
    expect(await both(signed)).toEqual([
      ['pass', 'pass'],
      ['pass', 'pass'],
    ]);
  });

  const tampered: [string, (text: string) => string][] = [
    ['a changed Subject', (text) => text.replace(/^Subject: .*$/m, 'Subject: Your order has been cancelled')],
    ['an appended body', (text) => `${text}P.S. Click here.\r\n`],
    ['a removed List-Unsubscribe-Post', (text) => text.replace(/^List-Unsubscribe-Post: .*\r\n/m, '')],
    ['a second From in front', (text) => `From: Bank <security@bank.example>\r\n${text}`],
  ];
  it.each(tampered)('%s fails both verifiers for both signatures', async (_name, change) => {
    signed ??= await sendThroughMemory({ keys: [rsaKey, ed25519Key] });
    const text = signed.toString('latin1');
    const changed = change(text);
    expect(changed).not.toBe(text);
    const results = await both(Buffer.from(changed, 'latin1'));
    expect(results).toHaveLength(2);
    for (const [fromPython, fromMailauth] of results) {
      expect(fromPython).toBe('fail');
      expect(fromMailauth).not.toBe('pass');
    }
  });
});

function line(mime: Buffer, name: string): string | undefined {
  const header = mime.toString('latin1').split('\r\n\r\n')[0] as string;
  return header.split('\r\n').find((text) => text.toLowerCase().startsWith(`${name}:`));
}
