import { createMailer } from '@mailport/core';
import { type Sandbox, startSandbox } from '@mailport/sandbox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gmailAdapter } from './index.js';

// Issue 11: no file required. A Worker has secrets, not files: a service account key given in
// code (JSON.parse(env.GOOGLE_CREDENTIALS)) serves a gmail:// URL without credentials_file.

let sandbox: Sandbox;
beforeAll(async () => {
  sandbox = await startSandbox();
});
afterAll(() => sandbox.close());

describe('gmail:// with credentials in code', () => {
  it('sends with a service account key given as adapters.gmail.auth, no file and no environment', async () => {
    const key = {
      type: 'service_account',
      client_email: sandbox.accounts.google.serviceAccount.clientEmail,
      private_key: sandbox.accounts.google.serviceAccount.privateKey,
      private_key_id: sandbox.accounts.google.serviceAccount.privateKeyId,
    };
    await using mailer = createMailer({
      transport: `gmail://user@example.com?endpoint=${encodeURIComponent(`${sandbox.httpUrl}/`)}`,
      transportOptions: {
        use: [gmailAdapter],
        env: {},
        adapters: { gmail: { auth: { credentials: JSON.parse(JSON.stringify(key)), tokenUrl: `${sandbox.httpUrl}/token` } } },
      },
    });
    const receipt = await mailer.send({ from: 'user@example.com', to: 'ana@example.org', subject: 'Inline', text: 'No file.' });
    expect(sandbox.store.last()?.metadata).toBeDefined();
    expect(sandbox.store.list({ api: 'gmail' }).map((message) => message.envelope.to)).toEqual([['ana@example.org']]);
    expect(receipt.accepted).toEqual(['ana@example.org']);
  });

  it('still refuses a URL with neither credentials nor auth in code', async () => {
    await using mailer = createMailer({ transport: 'gmail://user@example.com', transportOptions: { use: [gmailAdapter], env: {} } });
    const failure = await mailer.verify().catch((error: unknown) => error);
    expect(failure).toMatchObject({ code: 'configuration', message: expect.stringMatching(/no Google credentials/) });
    expect((failure as { remediation: string }).remediation).toContain('adapters: { gmail: { auth');
  });
});
