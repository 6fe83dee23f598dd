import { generateKeyPairSync } from 'node:crypto';
import { createMailer, type DkimKeyInput } from '@mailport/core';
import { dkimRecord } from '@mailport/core/dkim';
import { type Sandbox, startSandbox } from '@mailport/sandbox';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { findPythonDkim, verifyWithBoth } from '../../core/test/dkim-verifiers.js';
import { skipUnlessFound } from '../../sandbox/test/find-tool.js';
import { createSmtpTransport } from './smtp-transport.js';

// DKIM over SMTP: createMailer({ transport: 'smtp://…', dkim }) to the sandbox's SMTP server, and the
// bytes it received verified by python3-dkim and mailauth with the key records injected.

const pem = (type: 'rsa' | 'ed25519'): string =>
  (type === 'rsa' ? generateKeyPairSync('rsa', { modulusLength: 2048 }) : generateKeyPairSync('ed25519')).privateKey.export({
    format: 'pem',
    type: 'pkcs8',
  }) as string;
const rsaKey: DkimKeyInput = { domain: 'shop.example', selector: 'rsa2025', privateKey: pem('rsa') };
const ed25519Key: DkimKeyInput = { domain: 'shop.example', selector: 'ed2025', privateKey: pem('ed25519') };
const records = Object.fromEntries([rsaKey, ed25519Key].map((key) => Object.values(dkimRecord(key))));

const message = {
  from: 'Shop <orders@shop.example>',
  to: 'ana@example.org',
  bcc: 'audit@example.net',
  subject: 'Your order has shipped',
  text: 'Hello Ana,\r\n\r\nYour order is on its way.\r\n',
  listUnsubscribe: { url: 'https://shop.example/unsubscribe?u=42', oneClick: true },
};

describe('the SMTP transport’s DKIM capability', () => {
  it('carries any signature, except through SES’s SMTP endpoint, which rewrites Message-ID and Date', () => {
    expect(createSmtpTransport({ host: 'smtp.shop.example' }).capabilities.dkim).toBe('any');
    expect(createSmtpTransport({ host: 'email-smtp.eu-west-1.amazonaws.com' }).capabilities.dkim).toBe('one-key-no-id-date');
  });
});

const python = findPythonDkim();
describe.skipIf(skipUnlessFound(python))('DKIM over SMTP, verified by python3-dkim and mailauth', () => {
  const path = 'path' in python ? python.path : '';
  let sandbox: Sandbox;
  beforeAll(async () => {
    sandbox = await startSandbox();
  });
  afterAll(() => sandbox.close());
  beforeEach(() => sandbox.store.clear());

  it.each([
    ['RSA', [rsaKey], [['pass', 'pass']]],
    ['Ed25519', [ed25519Key], [['pass', 'pass']]],
    [
      'RSA and Ed25519',
      [rsaKey, ed25519Key],
      [
        ['pass', 'pass'],
        ['pass', 'pass'],
      ],
    ],
  ])('%s: what the server received verifies', async (_name, keys, expected) => {
    await using mailer = createMailer({ transport: sandbox.urls.smtp, dkim: { keys } });
    await mailer.send(message);
    const stored = sandbox.store.last();
    expect(stored?.envelope.to).toEqual(['ana@example.org', 'audit@example.net']);
    expect(await verifyWithBoth(path, stored?.raw ?? Buffer.alloc(0), records)).toEqual(expected);
  });
});
