import { createMessage } from '@mailport/core';
import { type Sandbox, startSandbox } from '@mailport/sandbox';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { GmailTransportOptions } from './gmail-options.js';
import { createGmailTransport, type GmailTransport } from './gmail-transport.js';

const gmail = 'https://www.googleapis.com/auth/gmail';

describe('Gmail lookup (rfc822msgid: search) against the sandbox', () => {
  let sandbox: Sandbox;
  const opened: GmailTransport[] = [];

  beforeAll(async () => {
    sandbox = await startSandbox();
  });
  afterAll(() => sandbox.close());
  beforeEach(() => {
    sandbox.store.clear();
    sandbox.faults.clear();
    sandbox.requests.clear();
  });
  afterEach(async () => {
    for (const transport of opened.splice(0)) await transport.close();
  });

  const userAuth = () => ({
    clientId: sandbox.accounts.google.clientId,
    clientSecret: sandbox.accounts.google.clientSecret,
    refreshToken: 'sandbox-google-refresh-token',
    tokenUrl: `${sandbox.httpUrl}/token`,
  });
  const serviceAuth = (scopes: string[]) => ({
    credentials: {
      client_email: sandbox.accounts.google.serviceAccount.clientEmail,
      private_key: sandbox.accounts.google.serviceAccount.privateKey,
      private_key_id: sandbox.accounts.google.serviceAccount.privateKeyId,
    },
    scopes,
    tokenUrl: `${sandbox.httpUrl}/token`,
  });
  const transport = (options: Partial<GmailTransportOptions> = {}): GmailTransport => {
    const created = createGmailTransport({ user: 'user@example.com', auth: userAuth(), endpoint: `${sandbox.httpUrl}/`, ...options });
    opened.push(created);
    return created;
  };

  it('finds a sent message by its Message-ID, with or without angle brackets; another id is not found', async () => {
    const gmailTransport = transport();
    const message = createMessage({ from: 'user@example.com', to: 'ana@example.org', subject: 'Order 42', text: 'Shipped.' });
    await gmailTransport.send(message);
    expect(await gmailTransport.lookup(message.messageId)).toBe('sent');
    expect(await gmailTransport.lookup(message.messageId.slice(1, -1))).toBe('sent');
    expect(await gmailTransport.lookup('<never-sent@example.com>')).toBe('not-found');
    expect(sandbox.requests.count('gmail.messages.list')).toBe(3);
  });

  it('needs gmail.readonly: with gmail.send, or gmail.metadata (no q search), the answer is unknown', async () => {
    const message = createMessage({ from: 'user@example.com', to: 'ana@example.org', subject: 'Order 43', text: 'Shipped.' });
    await transport().send(message);
    expect(await transport({ auth: serviceAuth([`${gmail}.send`]) }).lookup(message.messageId)).toBe('unknown');
    expect(await transport({ auth: serviceAuth([`${gmail}.send`, `${gmail}.metadata`]) }).lookup(message.messageId)).toBe('unknown');
    expect(await transport({ auth: serviceAuth([`${gmail}.send`, `${gmail}.readonly`]) }).lookup(message.messageId)).toBe('sent');
  });

  it('an error or a stalled answer is unknown, never an exception', async () => {
    sandbox.faults.inject({ endpoint: 'gmail.messages.list', status: 500 });
    expect(await transport().lookup('<a@example.com>')).toBe('unknown');
    sandbox.faults.inject({ endpoint: 'gmail.messages.list', action: 'stall' });
    expect(await transport().lookup('<a@example.com>', { signal: AbortSignal.timeout(200) })).toBe('unknown');
  });
});
