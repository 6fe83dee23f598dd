import { inspect } from 'node:util';
import { createMailer, createTransport, MailError } from '@mailport/core';
import { type Sandbox, startSandbox } from '@mailport/sandbox';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

describe('SMTP XOAUTH2 by URL: oauth=google', () => {
  let sandbox: Sandbox;
  beforeAll(async () => {
    sandbox = await startSandbox();
  });
  afterAll(() => sandbox.close());
  beforeEach(() => {
    sandbox.store.clear();
    sandbox.requests.clear();
  });

  const googleUrl = (refreshToken?: string): string => {
    const google = sandbox.accounts.google;
    const token = refreshToken ?? Object.keys(google.refreshTokens)[0] ?? '';
    return (
      `smtp://user%40example.com@127.0.0.1:${sandbox.smtpPort}?oauth=google&client_id=${encodeURIComponent(google.clientId)}` +
      `&client_secret=${encodeURIComponent(google.clientSecret)}&refresh_token=${encodeURIComponent(token)}` +
      `&token_url=${encodeURIComponent(`${sandbox.httpUrl}/token`)}&ca_file=${encodeURIComponent(sandbox.caFile)}`
    );
  };

  it('sends with tokens from the Google OAuth layer, refreshing once when they expire mid-batch', async () => {
    // One message per connection, so that every message authenticates again (a session stays authenticated).
    await using mailer = createMailer({ transport: `${googleUrl()}&max_messages=1`, defaults: { from: 'user@example.com' } });
    await mailer.send({ to: 'ana@example.org', subject: 'one', text: 'x' });
    expect(sandbox.requests.count('google.token')).toBe(1);
    sandbox.tokens.expireAll();
    const outcomes = [];
    for await (const outcome of mailer.sendMany(
      ['two', 'three', 'four'].map((subject) => ({ to: 'ana@example.org', subject, text: 'x' })),
      { concurrency: 1 },
    )) {
      outcomes.push(outcome.ok);
    }
    expect(outcomes).toEqual([true, true, true]);
    // Expired mid-batch: exactly one more token.
    expect(sandbox.requests.count('google.token')).toBe(2);
    expect(sandbox.store.list({ api: 'smtp' }).map((message) => message.metadata.user)).toEqual(Array(4).fill('user@example.com'));
  });

  it('a revoked refresh token is an auth error that says to consent again, and shows no secret', async () => {
    const url = googleUrl('revoked-refresh-token');
    const error = await createMailer({ transport: url, retry: false })
      .send({ from: 'user@example.com', to: 'ana@example.org', text: 'x' })
      .catch((caught: unknown) => caught as MailError);
    expect(MailError.isInstance(error) && error.code).toBe('auth');
    expect((error as MailError).remediation).toMatch(/consent/i);
    for (const shown of [String(error), JSON.stringify(error), inspect(error, { depth: 10 })]) {
      expect(shown).not.toContain('revoked-refresh-token');
      expect(shown).not.toContain(sandbox.accounts.google.clientSecret);
    }
  });

  it('refuses an unknown oauth provider and keeps its parameters out of the unknown list', async () => {
    await expect(createTransport(`smtp://a%40b.example@127.0.0.1:${sandbox.smtpPort}?oauth=yahoo`)).rejects.toMatchObject({
      code: 'configuration',
      message: expect.stringContaining('oauth=yahoo'),
    });
    await expect(createTransport(`${googleUrl()}&bogus=1`)).rejects.toMatchObject({ message: expect.stringContaining('"bogus"') });
  });
});

describe('SMTP XOAUTH2 by URL: oauth=microsoft', () => {
  let sandbox: Sandbox;
  beforeAll(async () => {
    sandbox = await startSandbox();
  });
  afterAll(() => sandbox.close());

  it('sends as a mailbox with an app-only Microsoft token (Microsoft 365 SMTP with OAuth)', async () => {
    const microsoft = sandbox.accounts.microsoft;
    const url =
      `smtp://sender%40contoso.example@127.0.0.1:${sandbox.smtpPort}?oauth=microsoft&tenant=${microsoft.tenantId}` +
      `&client_id=${microsoft.clientId}&client_secret=${encodeURIComponent(microsoft.clientSecret)}` +
      `&authority_host=${encodeURIComponent(sandbox.httpsUrl)}&ca_file=${encodeURIComponent(sandbox.caFile)}`;
    await using mailer = createMailer({ transport: url, defaults: { from: 'sender@contoso.example' } });
    const receipt = await mailer.send({ to: 'ana@example.org', subject: 'via M365 SMTP', text: 'x' });
    expect(sandbox.store.last()?.metadata.user).toBe('sender@contoso.example');
    expect(sandbox.requests.count('microsoft.token')).toBe(1);
    expect(String(await createTransport(url))).not.toContain(microsoft.clientSecret);
    expect(receipt.accepted).toEqual(['ana@example.org']);
  });
});
