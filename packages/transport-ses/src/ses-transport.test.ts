import { inspect } from 'node:util';
import { createMailer, createMessage, createTransport, MailError, type MessageInput } from '@mailport/core';
import { type Sandbox, type SandboxAccountOverrides, startSandbox } from '@mailport/sandbox';
import { simpleParser } from 'mailparser';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { sandboxTransport } from '../test/ses-sandbox.js';
import { createSesTransport } from './ses-transport.js';

const base: MessageInput = { from: 'App <app@example.com>', to: 'ana@example.org', subject: 'Order', text: 'Shipped.' };
const cleanup: (() => Promise<unknown>)[] = [];

let sandbox: Sandbox;
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
  while (cleanup.length > 0) await cleanup.pop()?.();
});

function transport(options: Parameters<typeof sandboxTransport>[1] = {}, target: Sandbox = sandbox) {
  const created = sandboxTransport(target, options);
  cleanup.push(() => created.close());
  return created;
}

async function failure(promise: Promise<unknown>): Promise<MailError> {
  const error = await promise.then(
    () => {
      throw new Error('expected the send to fail');
    },
    (caught: unknown) => caught,
  );
  expect(MailError.isInstance(error), inspect(error)).toBe(true);
  return error as MailError;
}

async function otherSandbox(accounts: SandboxAccountOverrides): Promise<Sandbox> {
  const started = await startSandbox({ accounts });
  cleanup.push(() => started.close());
  return started;
}

describe('limits, before any request', () => {
  it('refuses a 41 MB message with invalid-message and sends nothing', async () => {
    // 30 MB of attachment is about 41 MB once base64-encoded (with line breaks) in the MIME, over SES's 40 MB.
    const big = Buffer.alloc(30_000_000, 7);
    const message = createMessage({ ...base, attachments: [{ filename: 'big.bin', content: big }] });
    const error = await failure(transport().send(message));
    expect(error.code).toBe('invalid-message');
    expect(error.field).toBe('body');
    expect(error.message).toMatch(/41(\.\d)? MB, more than the 40 MB/);
    expect(error.retryable).toBe(false);
    const mailer = createMailer({ transport: transport() });
    expect((await failure(mailer.send(message))).code).toBe('invalid-message');
    expect(sandbox.requests.count('ses.*')).toBe(0);
    expect(sandbox.store.size).toBe(0);
  });

  it('refuses 51 recipients and a non-ASCII local part before any request', async () => {
    const many = Array.from({ length: 51 }, (_, index) => `r${index}@example.org`);
    const tooMany = await failure(transport().send(createMessage({ ...base, to: many })));
    expect(tooMany.code).toBe('invalid-message');
    expect(tooMany.field).toBe('to');
    const utf8 = await failure(transport().send(createMessage({ ...base, to: 'jörg@example.org' })));
    expect(utf8.code).toBe('unsupported');
    expect(transport().capabilities).toMatchObject({ maxRecipients: 50, maxMessageSize: 40_000_000, smtpUtf8: false, envelope: true });
    expect(sandbox.requests.count('ses.*')).toBe(0);
  });

  it('refuses tags SES cannot carry, before any request', async () => {
    const error = await failure(transport().send(createMessage({ ...base, metadata: { 'order.id': '42' } })));
    expect(error.code).toBe('invalid-message');
    expect(error.field).toBe('metadata.order.id');
    expect(error.transport).toBe(transport().id);
    expect(sandbox.requests.count('ses.*')).toBe(0);
  });
});

describe('what SES receives', () => {
  it('sends Simple content when it is exact, and Raw otherwise', async () => {
    const active = transport();
    const simple = await active.send(createMessage({ ...base, html: '<p>Shipped.</p>', replyTo: 'help@example.net' }));
    expect(simple.details?.content).toBe('simple');
    expect(sandbox.store.last()?.operation).toBe('SendEmail (Simple)');
    const cases: Partial<MessageInput>[] = [
      { headers: { 'X-Order': '42' } },
      { attachments: [{ filename: 'a.txt', content: 'a' }] },
      { inReplyTo: '<earlier@example.com>' },
      { sender: 'robot@example.com' },
      { priority: 'high' },
      { listUnsubscribe: 'https://example.com/unsubscribe' },
      { from: 'Zoë <app@example.com>' },
      { envelope: { from: 'bounces@example.com' } },
    ];
    for (const extra of cases) {
      const receipt = await active.send(createMessage({ ...base, ...extra } as MessageInput));
      expect(receipt.details?.content, JSON.stringify(extra)).toBe('raw');
      expect(sandbox.store.last()?.operation).toBe('SendEmail (Raw)');
    }
    const forced = transport({ content: 'raw' });
    await forced.send(createMessage(base));
    expect(sandbox.store.last()?.operation).toBe('SendEmail (Raw)');
  });

  it('honours Bcc with no Bcc header, in Simple and in Raw content', async () => {
    for (const extra of [{}, { headers: { 'X-Raw': 'yes' } }]) {
      sandbox.store.clear();
      const receipt = await transport().send(
        createMessage({ ...base, cc: 'copy@example.net', bcc: 'Audit <audit@example.net>', ...extra }),
      );
      const stored = sandbox.store.last();
      expect(stored?.envelope.to).toEqual(['ana@example.org', 'copy@example.net', 'audit@example.net']);
      expect(receipt.accepted).toEqual(['ana@example.org', 'copy@example.net', 'audit@example.net']);
      const raw = stored?.raw.toString('latin1') ?? '';
      expect(raw).not.toMatch(/^bcc:/im);
      expect(raw).not.toContain('audit@example.net');
      const parsed = await simpleParser(stored?.raw ?? Buffer.alloc(0));
      expect(parsed.bcc).toBeUndefined();
      expect(parsed.messageId).toBe(receipt.messageId);
    }
  });

  it('carries a separate envelope in Raw content', async () => {
    await transport().send(createMessage({ ...base, envelope: { from: 'bounces@example.com', to: ['other@example.net'] } }));
    const stored = sandbox.store.last();
    expect(stored?.envelope).toEqual({ from: 'bounces@example.com', to: ['other@example.net'] });
    expect((await simpleParser(stored?.raw ?? Buffer.alloc(0))).to).toMatchObject({ text: 'ana@example.org' });
  });

  it('sends tags and metadata as EmailTags, with the configuration set', async () => {
    await transport({ configurationSet: 'default' }).send(
      createMessage({ ...base, tags: ['welcome'], metadata: { campaign: 'spring-2026' } }),
    );
    expect(sandbox.store.last()?.metadata).toMatchObject({
      emailTags: [
        { Name: 'welcome', Value: 'true' },
        { Name: 'campaign', Value: 'spring-2026' },
      ],
      configurationSet: 'default',
    });
  });

  it('reports SES MessageId and the Message-ID recipients see, with the submitted one in details', async () => {
    const message = createMessage(base);
    const receipt = await transport().send(message);
    expect(receipt.providerMessageId).toMatch(/^[0-9a-f]{16}-[0-9a-f-]{36}-000000$/);
    expect(receipt.messageId).toBe(`<${receipt.providerMessageId}@email.amazonses.com>`);
    expect(receipt.details?.submittedMessageId).toBe(message.messageId);
    expect(sandbox.store.last()?.providerMessageId).toBe(receipt.providerMessageId);

    const europe = await otherSandbox({ ses: { region: 'eu-west-1' } });
    const elsewhere = await transport({}, europe).send(createMessage(base));
    expect(elsewhere.messageId).toBe(`<${elsewhere.providerMessageId}@eu-west-1.amazonses.com>`);
    expect((await simpleParser(europe.store.last()?.raw ?? Buffer.alloc(0))).messageId).toBe(elsewhere.messageId);
    const custom = await transport({ messageIdDomain: 'mail.example.com' }, europe).send(createMessage(base));
    expect(custom.messageId).toBe(`<${custom.providerMessageId}@mail.example.com>`);
  });
});

describe('failures', () => {
  it('throttling: rate-limited and retryable, and the mailer retries and succeeds', async () => {
    for (const code of ['ThrottlingException', 'TooManyRequestsException']) {
      sandbox.faults.inject({ endpoint: 'ses.SendEmail', status: 429, code, message: 'Maximum sending rate exceeded.' });
      const error = await failure(transport().send(createMessage(base)));
      expect(error.code).toBe('rate-limited');
      expect(error.retryable).toBe(true);
      expect(error.providerCode).toBe(code);
      expect(error.statusCode).toBe(429);
      expect(error.retryAfterMs).toBe(1000);
    }
    sandbox.faults.inject({ endpoint: 'ses.SendEmail', status: 429, code: 'ThrottlingException', retryAfter: 0 });
    const mailer = createMailer({ transport: transport(), retry: { initialDelayMs: 1 } });
    const receipt = await mailer.send(base);
    expect(receipt.attempts).toBe(2);
    expect(sandbox.store.size).toBe(1);
  });

  it('daily quota: quota-exceeded, not retried', async () => {
    sandbox.faults.inject({
      endpoint: 'ses.SendEmail',
      status: 429,
      code: 'ThrottlingException',
      message: 'Daily message quota exceeded.',
    });
    const error = await failure(transport().send(createMessage(base)));
    expect(error.code).toBe('quota-exceeded');
    expect(error.retryable).toBe(false);
  });

  it('a connection dropped after the request body: unknown-outcome, no retry, one message stored', async () => {
    sandbox.faults.inject({ endpoint: 'ses.SendEmail', action: 'drop' });
    const mailer = createMailer({ transport: transport(), retry: { initialDelayMs: 1 } });
    const error = await failure(mailer.send(base));
    expect(error.code).toBe('unknown-outcome');
    expect(error.retryable).toBe(false);
    expect(sandbox.requests.count('ses.SendEmail')).toBe(1);
    expect(sandbox.store.size).toBe(1);
  });

  it('the SDK makes exactly one attempt on a 500: no SDK retry', async () => {
    sandbox.faults.inject({ endpoint: 'ses.SendEmail', status: 500, count: 5 });
    const error = await failure(transport().send(createMessage(base)));
    // After the body went out a 5xx may have sent the message (docs/errors.md).
    expect(error.code).toBe('unknown-outcome');
    expect(error.retryable).toBe(false);
    expect(sandbox.requests.count('ses.SendEmail')).toBe(1);
  });

  it('an unverified From: sender-rejected with a remediation about verifying it', async () => {
    const error = await failure(transport().send(createMessage({ ...base, from: 'app@unverified.example' })));
    expect(error.code).toBe('sender-rejected');
    expect(error.providerCode).toBe('MessageRejected');
    expect(error.remediation).toMatch(/[Vv]erify the sending address or its domain/);
    expect(sandbox.store.size).toBe(0);
  });

  it('the SES sandbox refuses unverified recipients: recipient-rejected, naming them', async () => {
    const inSandbox = await otherSandbox({ ses: { productionAccess: false, verifiedIdentities: ['example.com', 'friend@example.org'] } });
    const active = transport({}, inSandbox);
    const error = await failure(active.send(createMessage({ ...base, to: ['friend@example.org', 'stranger@example.org'] })));
    expect(error.code).toBe('recipient-rejected');
    expect(error.recipients.map((recipient) => recipient.address)).toEqual(['stranger@example.org']);
    expect(error.remediation).toMatch(/production access/);
    expect(error.retryable).toBe(false);
    await active.send(createMessage({ ...base, to: ['friend@example.org', 'success@simulator.amazonses.com'] }));
    expect(inSandbox.store.size).toBe(1);
  });

  it('account states and configuration sets', async () => {
    const paused = await otherSandbox({ ses: { sendingEnabled: false } });
    const pausedError = await failure(transport({}, paused).send(createMessage(base)));
    expect([pausedError.code, pausedError.providerCode]).toEqual(['sender-rejected', 'SendingPausedException']);
    const suspended = await otherSandbox({ ses: { enforcementStatus: 'SHUTDOWN' } });
    const suspendedError = await failure(transport({}, suspended).send(createMessage(base)));
    expect([suspendedError.code, suspendedError.providerCode]).toEqual(['sender-rejected', 'AccountSuspendedException']);
    const unknownSet = await failure(transport({ configurationSet: 'missing-set' }).send(createMessage(base)));
    expect([unknownSet.code, unknownSet.statusCode]).toEqual(['configuration', 404]);
    expect(unknownSet.remediation).toMatch(/configuration set/);
  });

  it('credentials: wrong keys are auth errors; none at all names the default chain', async () => {
    const wrong = await failure(
      transport({ credentials: { accessKeyId: 'AKIAUNKNOWNKEY000000', secretAccessKey: 'x' } }).send(createMessage(base)),
    );
    expect([wrong.code, wrong.providerCode, wrong.statusCode]).toEqual(['auth', 'UnrecognizedClientException', 403]);
    const badSecret = await failure(
      transport({ credentials: { accessKeyId: sandbox.accounts.ses.accessKeyId, secretAccessKey: 'not-the-secret' } }).send(
        createMessage(base),
      ),
    );
    expect([badSecret.code, badSecret.providerCode]).toEqual(['auth', 'SignatureDoesNotMatch']);
    const wrongRegion = await failure(transport({ region: 'eu-central-1' }).send(createMessage(base)));
    expect(wrongRegion.code).toBe('configuration');
    expect(wrongRegion.remediation).toMatch(/region/);

    const saved = { ...process.env };
    try {
      for (const name of Object.keys(process.env)) if (name.startsWith('AWS_')) delete process.env[name];
      Object.assign(process.env, {
        AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/mailport/credentials',
        AWS_CONFIG_FILE: '/nonexistent/mailport/config',
        AWS_EC2_METADATA_DISABLED: 'true',
      });
      const none = createSesTransport({ region: 'us-east-1', endpoint: sandbox.httpUrl });
      cleanup.push(() => none.close());
      const error = await failure(none.send(createMessage(base)));
      expect(error.code).toBe('auth');
      expect(error.retryable).toBe(false);
      expect(error.remediation).toMatch(/default chain/);
    } finally {
      for (const name of Object.keys(process.env)) if (!(name in saved)) delete process.env[name];
      Object.assign(process.env, saved);
    }
    expect(sandbox.store.size).toBe(0);
  });

  it('an abort during the request rejects with the reason and stores nothing', async () => {
    sandbox.faults.inject({ endpoint: 'ses.SendEmail', action: 'stall' });
    const controller = new AbortController();
    const reason = new Error('gave up');
    setTimeout(() => controller.abort(reason), 50);
    await expect(transport().send(createMessage(base), { signal: controller.signal })).rejects.toBe(reason);
    expect(sandbox.store.size).toBe(0);
  });
});

describe('verify and rate limits', () => {
  it('verify() reports quota, send rate and SES sandbox status', async () => {
    await transport().send(createMessage({ ...base, cc: 'copy@example.net' }));
    const report = await transport().verify();
    expect(report.details).toMatchObject({
      region: 'us-east-1',
      max24HourSend: 50_000,
      maxSendRate: 14,
      sentLast24Hours: 2,
      productionAccessEnabled: true,
      sandbox: false,
      sendingEnabled: true,
    });
    expect(report.checks.every((check) => check.ok)).toBe(true);

    const inSandbox = await otherSandbox({ ses: { productionAccess: false, max24HourSend: 200, maxSendRate: 1 } });
    const sandboxReport = await transport({}, inSandbox).verify();
    expect(sandboxReport.details).toMatchObject({ sandbox: true, max24HourSend: 200, maxSendRate: 1 });
    expect(sandboxReport.checks.find((check) => check.name === 'production-access')).toMatchObject({ ok: false });
    expect(sandboxReport.checks.find((check) => check.name === 'production-access')?.detail).toMatch(/SES sandbox/);

    const paused = await otherSandbox({ ses: { sendingEnabled: false } });
    expect((await failure(transport({}, paused).verify())).providerCode).toBe('SendingPausedException');
  });

  it('rate_limit=auto reads MaxSendRate once', async () => {
    const active = await createTransport(`${sandbox.urls.ses}&rate_limit=auto`);
    cleanup.push(async () => active.close?.());
    for (let index = 0; index < 3; index++) await active.send(createMessage(base));
    expect(sandbox.requests.count('ses.GetAccount')).toBe(1);
    expect(sandbox.requests.count('ses.SendEmail')).toBe(3);
  });

  it('rate_limit=auto without ses:GetAccount is a configuration error that says what to do', async () => {
    sandbox.faults.inject({ endpoint: 'ses.GetAccount', status: 403, code: 'AccessDeniedException' });
    const active = transport({ rateLimit: 'auto' });
    const error = await failure(active.send(createMessage(base)));
    expect(error.code).toBe('configuration');
    expect(error.remediation).toMatch(/ses:GetAccount|rate_limit/);
    expect(sandbox.requests.count('ses.SendEmail')).toBe(0);
    await active.send(createMessage(base));
    expect(sandbox.requests.count('ses.GetAccount')).toBe(2);
  });
});

describe('the transport object', () => {
  it('shows no credentials and refuses sends after close', async () => {
    const { accessKeyId, secretAccessKey } = sandbox.accounts.ses;
    const active = transport();
    await active.send(createMessage(base));
    for (const shown of [String(active), inspect(active, { depth: 10, showHidden: true }), JSON.stringify(active)]) {
      expect(shown).not.toContain(secretAccessKey);
      expect(shown).not.toContain(accessKeyId);
    }
    await active.close();
    await active.close();
    expect((await failure(active.send(createMessage(base)))).code).toBe('configuration');
  });
});
