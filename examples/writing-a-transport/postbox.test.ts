/**
 * The Postbox transport's own cases, beyond the contract: the error table (pure), the URL
 * factory, OAuth with one refresh after a refused token, and the unknown outcome.
 */
import { inspect } from 'node:util';
import { createMailer, createTransport, MailError, registerTransport } from '@mailport/core';
import { type ErrorTableRow, runErrorTable } from '@mailport/testkit';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type FakePostbox, startFakePostbox } from './fake-postbox.ts';
import { createPostboxTransport, createTransportFromUrl, mapPostboxError, type PostboxFailure, postboxClientCredentials } from './index.ts';

const context = { transport: 'postbox://api.postbox.example' };

describe('mapPostboxError', () => {
  // Each row also meets the rules every MailError follows: a remediation, the transport set,
  // unknown-outcome never retryable, no credential shown. No answer at all is core's noAnswerError, tested there.
  runErrorTable<ErrorTableRow & { failure: PostboxFailure }>(
    (row) => mapPostboxError(row.failure, context),
    [
      { name: '401', failure: { status: 401, code: 'unauthorized', message: 'bad key' }, code: 'auth' },
      { name: '403 sender', failure: { status: 403, code: 'sender_not_allowed', message: 'no' }, code: 'sender-rejected' },
      { name: '403 other', failure: { status: 403, code: 'forbidden', message: 'no' }, code: 'configuration' },
      { name: '404', failure: { status: 404, code: 'not_found', message: 'no route' }, code: 'configuration' },
      { name: '400', failure: { status: 400, code: 'invalid_request', message: 'from is required' }, code: 'invalid-message' },
      { name: '413', failure: { status: 413, code: 'too_large', message: 'over 10 MB' }, code: 'message-rejected' },
      {
        name: '422 recipients',
        failure: { status: 422, code: 'recipient_rejected', message: 'no', recipients: [] },
        code: 'recipient-rejected',
      },
      { name: '422 content', failure: { status: 422, code: 'content_rejected', message: 'spam' }, code: 'message-rejected' },
      {
        name: '429 with Retry-After',
        failure: { status: 429, code: 'rate_limited', message: 'slow down', retryAfter: '3' },
        code: 'rate-limited',
        retryAfterMs: 3000,
      },
      { name: '429 without, a second', failure: { status: 429, message: 'slow down' }, code: 'rate-limited', retryAfterMs: 1000 },
      { name: '429 quota', failure: { status: 429, code: 'daily_quota_exceeded', message: 'quota' }, code: 'quota-exceeded' },
      { name: '503', failure: { status: 503, code: 'unavailable', message: 'later' }, code: 'transient' },
      { name: '500', failure: { status: 500, code: 'internal', message: 'oops' }, code: 'unknown-outcome' },
    ],
    { transport: context.transport },
  );
});

describe('the Postbox transport against its fake', () => {
  let fake: FakePostbox;
  beforeAll(async () => {
    fake = await startFakePostbox();
    registerTransport('postbox', createTransportFromUrl);
  });
  afterAll(() => fake.close());
  beforeEach(() => fake.clear());

  it('is created from a postbox:// URL, and the URL never shows the key', async () => {
    const url = `postbox://${fake.host}?api_key=${fake.apiKey}&tls=false&timeout=5s`;
    await using mailer = createMailer({ transport: url });
    const receipt = await mailer.send({ from: 'shop@example.com', to: 'ana@example.org', subject: 'Hi', text: 'Hello', tags: ['welcome'] });
    expect(receipt.transport).toBe(`postbox://${fake.host}`);
    expect(receipt.providerMessageId).toBe(fake.messages[0]?.id);
    expect(fake.messages[0]?.tags).toEqual(['welcome']);

    const error = await createTransport(`${url}&colour=blue`).catch((caught: unknown) => caught);
    expect(MailError.isInstance(error) && error.code).toBe('configuration');
    expect(String((error as MailError).message)).toContain('api_key=***');
    expect(String((error as MailError).message)).not.toContain(fake.apiKey);
  });

  it('refuses plain http to anything but loopback', () => {
    expect(() => createPostboxTransport({ endpoint: 'http://api.postbox.example', apiKey: 'k' })).toThrow(/not https/);
  });

  it('uses OAuth tokens, and after a refused token refreshes once and sends', async () => {
    const tokenProvider = postboxClientCredentials({
      tokenUrl: `${fake.url}/oauth/token`,
      clientId: fake.clientId,
      clientSecret: fake.clientSecret,
    });
    const transport = createPostboxTransport({ endpoint: fake.url, tokenProvider });
    await using mailer = createMailer({ transport, retry: false });
    await mailer.send({ from: 'shop@example.com', to: 'ana@example.org', subject: 'One', text: '1' });
    fake.expireTokens();
    await mailer.send({ from: 'shop@example.com', to: 'ana@example.org', subject: 'Two', text: '2' });
    expect(fake.messages).toHaveLength(2);
    expect(fake.tokensIssued).toBe(2);
    expect(inspect(transport, { showHidden: true, depth: 10 })).not.toContain(fake.clientSecret);
  });

  it('reports a connection cut after the message was sent as an unknown outcome, and the mailer does not retry it', async () => {
    await using mailer = createMailer({ transport: createPostboxTransport({ endpoint: fake.url, apiKey: fake.apiKey }) });
    fake.fail({ kind: 'drop' });
    const error = await mailer
      .send({ from: 'shop@example.com', to: 'ana@example.org', subject: 'Once', text: '1' })
      .catch((caught: unknown) => caught);
    expect(MailError.isInstance(error) && error.code).toBe('unknown-outcome');
    // Postbox did queue it, once: a retry would have sent it twice.
    expect(fake.messages).toHaveLength(1);
  });

  it('retries a rate limit after Retry-After, then sends', async () => {
    const transport = createPostboxTransport({ endpoint: fake.url, apiKey: fake.apiKey });
    await using mailer = createMailer({ transport, retry: { initialDelayMs: 0 } });
    fake.fail({ kind: 'respond', status: 429, code: 'rate_limited', retryAfter: 0 });
    const receipt = await mailer.send({ from: 'shop@example.com', to: 'ana@example.org', subject: 'Later', text: '1' });
    expect(receipt.attempts).toBe(2);
  });

  it('verifies the account', async () => {
    const transport = createPostboxTransport({ endpoint: fake.url, apiKey: fake.apiKey });
    const report = await transport.verify();
    expect(report.checks.map((check) => check.name)).toEqual(['auth', 'quota']);
    await transport.close();
  });
});
