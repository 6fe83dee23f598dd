import { generateKeyPairSync } from 'node:crypto';
import { createMailer, createTransport, failover, MailError } from '@mailport/core';
import { type Sandbox, startSandbox } from '@mailport/sandbox';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

// Microsoft Graph rebuilds the message and signs it for the domain itself: a message a mailer asks to
// DKIM-sign is refused with `unsupported` before any request, and failover() moves it to SMTP.

const privateKey = generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
const dkim = { keys: [{ domain: 'contoso.example', selector: 's2025', privateKey }] };
const message = { from: 'sender@contoso.example', to: 'ana@example.org', subject: 'Plans', text: 'Hi' };

let sandbox: Sandbox;
beforeAll(async () => {
  sandbox = await startSandbox();
});
afterAll(() => sandbox.close());
beforeEach(() => {
  sandbox.store.clear();
  sandbox.requests.clear();
});

describe('Microsoft Graph and DKIM', () => {
  it('refuses a message to sign with unsupported, names the Exchange Online setting, and makes no request', async () => {
    await using mailer = createMailer({ transport: sandbox.urls.graph, dkim });
    const error = await mailer.send(message).catch((caught: unknown) => caught);
    expect(MailError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ code: 'unsupported', field: 'dkim', retryable: false });
    expect((error as MailError).remediation).toContain('New-DkimSigningConfig');
    expect(sandbox.requests.entries).toEqual([]);
    expect(sandbox.store.list()).toEqual([]);
  });

  it('failover() skips it for a message to sign and sends over SMTP', async () => {
    await using mailer = createMailer({
      transport: failover([await createTransport(sandbox.urls.graph), await createTransport(sandbox.urls.smtp)]),
      dkim,
    });
    const receipt = await mailer.send(message);
    expect(receipt.route?.map((step) => step.outcome)).toEqual(['skipped', 'sent']);
    expect(sandbox.store.last()?.api).toBe('smtp');
    expect(sandbox.store.last()?.raw.toString('latin1')).toMatch(/^DKIM-Signature: v=1; a=ed25519-sha256;/);
    expect(sandbox.requests.entries.filter((entry) => !entry.endpoint.startsWith('smtp'))).toEqual([]);
  });
});
