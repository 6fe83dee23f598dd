import { randomBytes } from 'node:crypto';
import { createMailer, createMessage, MailError, type MessageInput, type SendOutcome } from '@mailport/core';
import { type Sandbox, startSandbox } from '@mailport/sandbox';
import { simpleParser } from 'mailparser';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { GmailTransportOptions } from './gmail-options.js';
import { createGmailTransport, type GmailTransport } from './gmail-transport.js';
import { gmailSettingsScope } from './oauth/google-oauth.js';

const base: MessageInput = { from: 'user@example.com', to: 'ana@example.org', subject: 'Order 42', text: 'Shipped.' };

describe('Gmail transport against the sandbox', () => {
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

  const userAuth = (refreshToken = 'sandbox-google-refresh-token') => ({
    clientId: sandbox.accounts.google.clientId,
    clientSecret: sandbox.accounts.google.clientSecret,
    refreshToken,
    tokenUrl: `${sandbox.httpUrl}/token`,
  });
  const serviceAuth = (scopes?: string[]) => ({
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
  const failure = async (promise: Promise<unknown>): Promise<MailError> => {
    const error = await promise.then(
      () => new Error('expected the send to fail'),
      (caught: unknown) => caught,
    );
    expect(MailError.isInstance(error), String(error)).toBe(true);
    return error as MailError;
  };
  const parsedLast = async () => simpleParser(sandbox.store.last()?.raw ?? Buffer.alloc(0));

  it("sends a small message as JSON and returns Gmail's id and threadId", async () => {
    const message = createMessage(base);
    const receipt = await transport().send(message);
    const stored = sandbox.store.last();
    expect(stored).toMatchObject({ api: 'gmail', operation: 'messages.send', metadata: { uploadType: 'json', user: 'user@example.com' } });
    expect(receipt.providerMessageId).toBe(stored?.providerMessageId);
    expect(receipt.details).toMatchObject({ threadId: stored?.metadata.threadId, uploadType: 'json', labelIds: ['SENT'] });
    expect(receipt.messageId).toBe(message.messageId);
    expect((await parsedLast()).messageId).toBe(receipt.messageId);
    expect(receipt.accepted).toEqual(['ana@example.org']);
    expect(String(receipt.transport)).toBe('gmail://user@example.com');
  });

  it('keeps the Bcc in the request, and Gmail delivers it without the Bcc header', async () => {
    await transport().send(createMessage({ ...base, cc: 'copy@example.net', bcc: ['audit@example.net', 'legal@example.net'] }));
    const stored = sandbox.store.last();
    // Gmail reads recipients from the headers only, so the Bcc addresses arrived inside the raw message.
    expect(stored?.envelope.to).toEqual(['ana@example.org', 'copy@example.net', 'audit@example.net', 'legal@example.net']);
    expect((await parsedLast()).bcc).toBeUndefined();
    expect(stored?.raw.toString()).not.toMatch(/audit@example\.net|legal@example\.net|^bcc:/im);
  });

  it('sends a 10 MB message through the upload endpoint, byte for byte', async () => {
    const attachment = randomBytes(10 * 1024 * 1024);
    const receipt = await transport().send(
      createMessage({ ...base, bcc: 'audit@example.net', attachments: [{ filename: 'big.bin', content: attachment }] }),
    );
    const stored = sandbox.store.last();
    expect(stored).toMatchObject({ operation: 'messages.send (upload)', metadata: { uploadType: 'media' } });
    expect(stored?.envelope.to).toEqual(['ana@example.org', 'audit@example.net']);
    expect(receipt.details?.uploadType).toBe('media');
    const parsed = await parsedLast();
    expect(parsed.attachments[0]?.content.equals(attachment)).toBe(true);
    expect(parsed.bcc).toBeUndefined();
    expect(sandbox.requests.entries.filter((entry) => entry.endpoint === 'gmail.messages.send').map((entry) => entry.path)).toEqual([
      '/upload/gmail/v1/users/user%40example.com/messages/send',
    ]);
  });

  it("puts a reply in the thread named by metadata['gmail.threadId'], on both endpoints", async () => {
    const gmail = transport();
    const first = await gmail.send(createMessage({ ...base, subject: 'Plans' }));
    const threadId = String(first.details?.threadId);
    const reply = (extra: Partial<MessageInput> = {}) =>
      createMessage({
        ...base,
        subject: 'Re: Plans',
        inReplyTo: first.messageId,
        references: first.messageId,
        metadata: { 'gmail.threadId': threadId },
        ...extra,
      });
    expect((await gmail.send(reply())).details?.threadId).toBe(threadId);
    const viaUpload = transport({ uploadThreshold: 100 });
    const uploaded = await viaUpload.send(reply());
    expect(uploaded.details).toMatchObject({ threadId, uploadType: 'multipart' });
    expect(sandbox.store.list().map((message) => message.metadata.threadId)).toEqual([threadId, threadId, threadId]);
    const unknown = await failure(gmail.send(reply({ metadata: { 'gmail.threadId': '0123456789abcdef' } })));
    expect(unknown).toMatchObject({ code: 'message-rejected', statusCode: 404 });
    expect(unknown.remediation).toMatch(/threadId/);
  });

  it('waits for Retry-After on a 429 before the mailer tries again', async () => {
    await using mailer = createMailer({ transport: transport() });
    sandbox.faults.inject({ endpoint: 'gmail.messages.send', status: 429, code: 'rateLimitExceeded', retryAfter: 1 });
    const started = performance.now();
    const receipt = await mailer.send(base);
    expect(performance.now() - started).toBeGreaterThanOrEqual(1000);
    expect(receipt.attempts).toBe(2);
    expect(sandbox.requests.count('gmail.messages.send')).toBe(2);
    expect(sandbox.store.size).toBe(1);
  });

  it('refreshes the token exactly once when it expires in the middle of a batch', async () => {
    await using mailer = createMailer({ transport: transport(), retry: false });
    await mailer.send(base);
    expect(sandbox.requests.count('google.token')).toBe(1);
    sandbox.tokens.expireAll();
    const outcomes: SendOutcome[] = [];
    const batch = Array.from({ length: 8 }, (_, index) => ({ ...base, subject: `Batch ${index}` }));
    for await (const outcome of mailer.sendMany(batch, { concurrency: 4 })) outcomes.push(outcome);
    expect(outcomes.every((outcome) => outcome.ok)).toBe(true);
    expect(sandbox.requests.count('google.token')).toBe(2);
    expect(sandbox.store.size).toBe(9);
    const refused = sandbox.requests.entries.filter((entry) => entry.endpoint === 'gmail.messages.send' && entry.outcome === 401);
    expect(refused.length).toBeGreaterThanOrEqual(1);
    expect(refused.length).toBeLessThanOrEqual(4);
  });

  it('refreshes once on a 401 and gives up with auth on a second one', async () => {
    const gmail = transport();
    sandbox.faults.inject({ endpoint: 'gmail.messages.send', status: 401, code: 'authError' });
    await gmail.send(createMessage(base));
    expect(sandbox.requests.count('google.token')).toBe(2);
    sandbox.requests.clear();
    sandbox.faults.inject({ endpoint: 'gmail.messages.send', status: 401, code: 'authError', count: 2 });
    const error = await failure(gmail.send(createMessage(base)));
    expect(error).toMatchObject({ code: 'auth', retryable: false, statusCode: 401, providerCode: 'authError' });
    expect(sandbox.requests.count('gmail.messages.send')).toBe(2);
    expect(sandbox.requests.count('google.token')).toBe(1);
  });

  it('makes a revoked refresh token an auth error asking the user to consent again', async () => {
    const error = await failure(transport({ auth: userAuth('revoked') }).send(createMessage(base)));
    expect(error).toMatchObject({ code: 'auth', retryable: false, providerCode: 'invalid_grant', transport: 'gmail://user@example.com' });
    expect(error.remediation).toMatch(/consent again/);
    expect(error.remediation).toContain('mailport auth google');
    expect(sandbox.requests.count('gmail.*')).toBe(0);
  });

  it('refuses a From that is not a send-as address before any send request', async () => {
    const gmail = transport();
    const error = await failure(gmail.send(createMessage({ ...base, from: 'Someone <someone@example.net>' })));
    expect(error).toMatchObject({ code: 'sender-rejected', retryable: false, field: 'from' });
    expect(error.message).toContain('someone@example.net');
    expect(error.remediation).toContain('user@example.com, alias@example.com');
    expect(sandbox.requests.count('gmail.messages.send')).toBe(0);
    expect(sandbox.store.size).toBe(0);
    // The list is cached per transport: an alias goes through without reading it again.
    await gmail.send(createMessage({ ...base, from: 'Alias <ALIAS@example.com>' }));
    await gmail.send(createMessage(base));
    expect(sandbox.requests.count('gmail.sendAs.list')).toBe(1);
    expect((await parsedLast()).from?.value[0]?.address).toBe('user@example.com');
  });

  it('sends through a service account with domain-wide delegation, checking the From without the send-as scope', async () => {
    const narrow = transport({ auth: serviceAuth() });
    const receipt = await narrow.send(createMessage(base));
    expect(receipt.providerMessageId).toBe(sandbox.store.last()?.providerMessageId);
    // gmail.send alone reads neither the send-as list nor the profile: the configured mailbox is the only allowed From.
    expect(
      sandbox.requests.entries.filter((entry) => entry.endpoint !== 'google.token').map((entry) => [entry.endpoint, entry.outcome]),
    ).toEqual([
      ['gmail.sendAs.list', 403],
      ['gmail.getProfile', 403],
      ['gmail.messages.send', 200],
    ]);
    const alias = await failure(narrow.send(createMessage({ ...base, from: 'alias@example.com' })));
    expect(alias.code).toBe('sender-rejected');
    expect(alias.remediation).toMatch(/gmail\.settings\.basic/);
    const wide = transport({ auth: serviceAuth(['https://www.googleapis.com/auth/gmail.send', gmailSettingsScope]) });
    await expect(wide.send(createMessage({ ...base, from: 'alias@example.com' }))).resolves.toMatchObject({
      transport: 'gmail://user@example.com',
    });
  });

  it('makes missing delegation and a missing send scope configuration errors', async () => {
    const undelegated = await failure(
      transport({ auth: serviceAuth(['https://www.googleapis.com/auth/drive']) }).send(createMessage(base)),
    );
    expect(undelegated).toMatchObject({ code: 'configuration', providerCode: 'unauthorized_client' });
    expect(undelegated.remediation).toMatch(/Domain-wide delegation/);
    const readOnly = await failure(
      transport({ auth: serviceAuth(['https://www.googleapis.com/auth/gmail.readonly']) }).send(createMessage(base)),
    );
    expect(readOnly).toMatchObject({ code: 'configuration', statusCode: 403, providerCode: 'insufficientPermissions' });
    expect(readOnly.remediation).toMatch(/gmail\.send/);
    expect(sandbox.store.size).toBe(0);
  });

  it('gives unknown-outcome for a connection dropped after the request body, never retried', async () => {
    await using mailer = createMailer({ transport: transport() });
    await mailer.send(base);
    sandbox.store.clear();
    sandbox.requests.clear();
    sandbox.faults.inject({ endpoint: 'gmail.messages.send', action: 'drop' });
    const error = await failure(mailer.send(base));
    expect(error).toMatchObject({ code: 'unknown-outcome', retryable: false });
    expect(error.remediation).toMatch(/Sent folder/);
    expect(sandbox.requests.count('gmail.messages.send')).toBe(1);
    expect(sandbox.store.size).toBe(1);
  });

  it('gives unknown-outcome for a timeout after the request body, and googleapis never retries a failed read on its own', async () => {
    const gmail = transport({ timeoutMs: 300 });
    await gmail.send(createMessage(base));
    sandbox.faults.inject({ endpoint: 'gmail.messages.send', action: 'stall' });
    expect(await failure(gmail.send(createMessage(base)))).toMatchObject({ code: 'unknown-outcome', providerCode: 'ETIMEDOUT' });
    // googleapis would retry a failing GET three times on its own; it must not.
    const fresh = transport();
    sandbox.requests.clear();
    sandbox.faults.inject({ endpoint: 'gmail.sendAs.list', status: 503 });
    expect(await failure(fresh.send(createMessage(base)))).toMatchObject({ code: 'transient', retryable: true, statusCode: 503 });
    expect(sandbox.requests.count('gmail.sendAs.list')).toBe(1);
  });

  it('refuses messages over the limits before any request', async () => {
    const gmail = transport();
    const many = Array.from({ length: 101 }, (_, index) => `r${index}@example.org`);
    expect(await failure(gmail.send(createMessage({ ...base, to: many })))).toMatchObject({ code: 'invalid-message', field: 'to' });
    const huge = createMessage({ ...base, attachments: [{ filename: 'huge.bin', content: Buffer.alloc(27 * 1024 * 1024, 1) }] });
    const tooLarge = await failure(gmail.send(huge));
    expect(tooLarge).toMatchObject({ code: 'invalid-message', field: 'body' });
    expect(tooLarge.message).toMatch(/more than the 36\.7 MB gmail:\/\/user@example.com accepts/);
    expect(sandbox.requests.count()).toBe(0);
  });

  it('verifies through the profile and the send-as list', async () => {
    const report = await transport().verify();
    expect(report.checks.map((check) => [check.name, check.ok])).toEqual([
      ['auth', true],
      ['profile', true],
      ['send-as', true],
    ]);
    expect(report.details).toMatchObject({
      emailAddress: 'user@example.com',
      sendAs: [
        { address: 'user@example.com', primary: true, verified: true },
        { address: 'alias@example.com', primary: false, verified: true },
      ],
    });
    const narrow = await transport({ auth: serviceAuth() }).verify();
    expect(narrow.checks.every((check) => check.ok)).toBe(true);
    expect(narrow.checks.find((check) => check.name === 'send-as')?.detail).toMatch(/not readable/);
    expect(await failure(transport({ auth: userAuth('revoked') }).verify())).toMatchObject({ code: 'auth' });
  });

  it('sends as "me", the account of the token', async () => {
    const receipt = await transport({ user: 'me' }).send(createMessage(base));
    expect(receipt.transport).toBe('gmail://me');
    expect(sandbox.requests.entries.find((entry) => entry.endpoint === 'gmail.messages.send')?.path).toBe(
      '/gmail/v1/users/me/messages/send',
    );
  });

  it('rejects sends after close, and close twice is fine', async () => {
    const gmail = transport();
    await gmail.close();
    await gmail.close();
    expect(await failure(gmail.send(createMessage(base)))).toMatchObject({ code: 'configuration' });
  });
});
