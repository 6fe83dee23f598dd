import { generateKeyPairSync } from 'node:crypto';
import { createMailer, type DkimKeyInput } from '@mailport/core';
import { dkimRecord } from '@mailport/core/dkim';
import { type Sandbox, startSandbox } from '@mailport/sandbox';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { findPythonDkim, verifyWithBoth } from '../../core/test/dkim-verifiers.js';
import { skipUnlessFound } from '../../sandbox/test/find-tool.js';

// DKIM through SES Raw content: the sandbox, like SES, replaces Message-ID and Date before delivery,
// so mailport's signature leaves them out and is the only one (SES takes one DKIM-Signature).

const pem = (type: 'rsa' | 'ed25519'): string =>
  (type === 'rsa' ? generateKeyPairSync('rsa', { modulusLength: 2048 }) : generateKeyPairSync('ed25519')).privateKey.export({
    format: 'pem',
    type: 'pkcs8',
  }) as string;
const rsaKey: DkimKeyInput = { domain: 'shop.example', selector: 'rsa2025', privateKey: pem('rsa') };
const ed25519Key: DkimKeyInput = { domain: 'shop.example', selector: 'ed2025', privateKey: pem('ed25519') };
const records = Object.fromEntries([rsaKey, ed25519Key].map((key) => Object.values(dkimRecord(key))));

// A message SES's Simple content could carry: DKIM alone makes it Raw.
const message = { from: 'orders@shop.example', to: 'ana@example.org', subject: 'Your order has shipped', text: 'On its way.' };

const python = findPythonDkim();
describe.skipIf(skipUnlessFound(python))('DKIM through SES Raw content, verified by python3-dkim and mailauth', () => {
  const path = 'path' in python ? python.path : '';
  let sandbox: Sandbox;
  beforeAll(async () => {
    sandbox = await startSandbox();
  });
  afterAll(() => sandbox.close());
  beforeEach(() => sandbox.store.clear());

  it.each([
    ['RSA', [rsaKey], 'rsa-sha256'],
    ['Ed25519', [ed25519Key], 'ed25519-sha256'],
    ['RSA and Ed25519 (the first key signs)', [rsaKey, ed25519Key], 'rsa-sha256'],
  ])('%s: one signature, without Message-ID and Date, that survives SES’s rewriting', async (_name, keys, algorithm) => {
    await using mailer = createMailer({ transport: sandbox.urls.ses, dkim: { keys } });
    const receipt = await mailer.send(message);
    expect(receipt.details).toMatchObject({ content: 'raw' });
    const raw = sandbox.store.last()?.raw ?? Buffer.alloc(0);
    const header = raw.toString('latin1').split('\r\n\r\n')[0] as string;
    // SES replaced the Message-ID mailport wrote.
    expect(header).toContain(`Message-ID: ${receipt.messageId}`);
    expect(receipt.messageId).not.toBe(receipt.details?.submittedMessageId);
    const fields = header.split(/\r\n(?=\S)/).filter((field) => field.startsWith('DKIM-Signature:'));
    expect(fields).toHaveLength(1);
    const signedNames = /h=([^;]*);/
      .exec((fields[0] as string).replace(/\r\n/g, ''))?.[1]
      ?.replace(/\s/g, '')
      .split(':');
    expect(signedNames).toContain('from');
    expect(signedNames).not.toContain('message-id');
    expect(signedNames).not.toContain('date');
    expect(fields[0]).toContain(`a=${algorithm};`);
    expect(await verifyWithBoth(path, raw, records)).toEqual([['pass', 'pass']]);
  });

  it('without dkim the same message still goes as Simple content', async () => {
    await using mailer = createMailer({ transport: sandbox.urls.ses });
    expect((await mailer.send(message)).details).toMatchObject({ content: 'simple' });
  });
});
