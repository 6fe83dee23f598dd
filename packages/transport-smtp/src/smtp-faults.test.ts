import { inspect } from 'node:util';
import { createMailer, createMessage, MailError, type MessageInput } from '@mailport/core';
import { refusedPort } from '@mailport/core/testing';
import { simpleParser } from 'mailparser';
import { afterEach, describe, expect, it } from 'vitest';
import { type Faults, startSilentServer, startTestSmtpServer, type TestSmtpServer } from '../test/smtp-test-server.js';
import { createSmtpTransport } from './smtp-transport.js';

const message: MessageInput = { from: 'app@shop.example', to: 'ana@example.com', subject: 'Order', text: 'Shipped.' };
const cleanup: (() => Promise<unknown>)[] = [];

afterEach(async () => {
  while (cleanup.length > 0) await cleanup.pop()?.();
});

async function server(options: Parameters<typeof startTestSmtpServer>[0] = {}): Promise<TestSmtpServer> {
  const started = await startTestSmtpServer(options);
  cleanup.push(() => started.close());
  return started;
}

function transportFor(target: TestSmtpServer, options: Partial<Parameters<typeof createSmtpTransport>[0]> = {}) {
  const transport = createSmtpTransport({
    host: target.host,
    port: target.port,
    ca: target.ca,
    connectionTimeoutMs: 2_000,
    greetingTimeoutMs: 1_000,
    socketTimeoutMs: 2_000,
    ...options,
  });
  cleanup.push(() => transport.close());
  return transport;
}

async function failure(promise: Promise<unknown>): Promise<MailError> {
  const error = await promise.then(
    () => {
      throw new Error('expected the send to fail');
    },
    (caught: unknown) => caught,
  );
  expect(MailError.isInstance(error)).toBe(true);
  return error as MailError;
}

describe('connection faults', () => {
  it('connection refused: transient, retryable', async () => {
    const port = await refusedPort();
    const transport = createSmtpTransport({ host: '127.0.0.1', port });
    cleanup.push(() => transport.close());
    const error = await failure(transport.send(createMessage(message)));
    expect(error.code).toBe('transient');
    expect(error.retryable).toBe(true);
    expect(error.message).toMatch(/refused/);
    expect(error.remediation).toMatch(/server is running/);
  });

  it('no greeting: timeout within the greeting timeout, retryable', async () => {
    const silent = await startSilentServer();
    cleanup.push(() => silent.close());
    const transport = createSmtpTransport({ host: '127.0.0.1', port: silent.port, greetingTimeoutMs: 200 });
    cleanup.push(() => transport.close());
    const error = await failure(transport.send(createMessage(message)));
    expect(error.code).toBe('timeout');
    expect(error.retryable).toBe(true);
    expect(error.message).toMatch(/no greeting/);
  });

  it('STARTTLS missing when required: configuration, not retryable, nothing sent', async () => {
    const target = await server({ tls: false });
    const error = await failure(transportFor(target, { requireTls: true }).send(createMessage(message)));
    expect(error.code).toBe('configuration');
    expect(error.retryable).toBe(false);
    expect(error.remediation).toMatch(/STARTTLS|smtps/);
    expect(target.received).toHaveLength(0);
  });

  it('STARTTLS is required by default for a non-loopback host', () => {
    const transport = createSmtpTransport({ host: 'smtp.example.com' });
    expect(transport.id).toBe('smtp://smtp.example.com:587');
    // The resolved default is checked through the options module; see smtp-options.test.ts.
  });

  it('untrusted certificate: configuration, not retryable', async () => {
    const target = await server();
    const error = await failure(transportFor(target, { ca: undefined, requireTls: true }).send(createMessage(message)));
    expect(error.code).toBe('configuration');
    expect(error.retryable).toBe(false);
    expect(error.remediation).toMatch(/ca_file/);
    expect(target.received).toHaveLength(0);
  });

  it('535: auth, not retryable, and the password appears nowhere in the error', async () => {
    const target = await server({ password: { user: 'app', pass: 'right' } });
    const transport = transportFor(target, { auth: { user: 'app', pass: 'hunter2-wrong' } });
    const error = await failure(transport.send(createMessage(message)));
    expect(error.code).toBe('auth');
    expect(error.retryable).toBe(false);
    expect(error.statusCode).toBe(535);
    for (const shown of [
      String(error),
      JSON.stringify(error),
      inspect(error, { depth: 10, showHidden: true }),
      inspect(transport, { depth: 10 }),
    ]) {
      expect(shown).not.toContain('hunter2');
      expect(shown).not.toContain(Buffer.from('\0app\0hunter2-wrong').toString('base64'));
    }
  });

  it('a server that stalls before the message is handed over: timeout, retryable', async () => {
    const target = await server({ faults: { rcptTo: () => 'stall' } });
    const error = await failure(transportFor(target, { socketTimeoutMs: 200 }).send(createMessage(message)));
    expect(error.code).toBe('timeout');
    expect(error.retryable).toBe(true);
    expect(target.received).toHaveLength(0);
  });

  it('a server that stalls after the final dot: unknown-outcome, not retried', async () => {
    const target = await server({ faults: { data: () => 'stall' } });
    const mailer = createMailer({ transport: transportFor(target, { socketTimeoutMs: 200 }), retry: { initialDelayMs: 1 } });
    const error = await failure(mailer.send(message));
    expect(error.code).toBe('unknown-outcome');
    expect(error.retryable).toBe(false);
    expect(target.received).toHaveLength(1);
  });
});

describe('SMTP replies at each stage', () => {
  const cases: { stage: keyof Faults; code: number; text: string; expected: string; retryable: boolean }[] = [
    { stage: 'mailFrom', code: 421, text: '4.7.0 Try again later, closing connection', expected: 'transient', retryable: true },
    { stage: 'rcptTo', code: 421, text: '4.7.0 Try again later, closing connection', expected: 'transient', retryable: true },
    { stage: 'data', code: 421, text: '4.7.0 Try again later, closing connection', expected: 'transient', retryable: true },
    { stage: 'mailFrom', code: 451, text: '4.3.0 Temporary local problem', expected: 'transient', retryable: true },
    { stage: 'rcptTo', code: 450, text: '4.2.1 Mailbox busy', expected: 'recipient-rejected', retryable: true },
    { stage: 'data', code: 451, text: '4.3.0 Queue full', expected: 'transient', retryable: true },
    {
      stage: 'mailFrom',
      code: 553,
      text: '5.7.1 Sender address rejected: not owned by user',
      expected: 'sender-rejected',
      retryable: false,
    },
    { stage: 'rcptTo', code: 550, text: '5.1.1 User unknown', expected: 'recipient-rejected', retryable: false },
    { stage: 'data', code: 554, text: '5.7.1 Message rejected as spam', expected: 'message-rejected', retryable: false },
    { stage: 'data', code: 552, text: '5.3.4 Message size exceeds fixed limit', expected: 'message-rejected', retryable: false },
    { stage: 'mailFrom', code: 550, text: '5.4.5 Daily user sending quota exceeded', expected: 'quota-exceeded', retryable: false },
    {
      stage: 'mailFrom',
      code: 454,
      text: '4.7.0 Throttling failure: Maximum sending rate exceeded',
      expected: 'rate-limited',
      retryable: true,
    },
  ];

  it.each(cases)('$code at $stage: $expected', async ({ stage, code, text, expected, retryable }) => {
    const target = await server({ faults: { [stage]: () => ({ code, message: text }) } });
    const error = await failure(transportFor(target).send(createMessage(message)));
    expect(error.code).toBe(expected);
    expect(error.retryable).toBe(retryable);
    expect(error.statusCode).toBe(code);
    expect(target.received).toHaveLength(0);
  });

  it('421 at DATA: the mailer retries on a new connection and the server gets the message once', async () => {
    let refusals = 1;
    const target = await server({
      faults: { data: () => (refusals-- > 0 ? { code: 421, message: '4.3.2 Service shutting down' } : undefined) },
    });
    const mailer = createMailer({ transport: transportFor(target), retry: { initialDelayMs: 1 } });
    const receipt = await mailer.send(message);
    expect(receipt.attempts).toBe(2);
    expect(target.received).toHaveLength(1);
    expect(target.connections()).toBe(2);
  });

  it('some recipients refused: sent to the rest, refused ones listed with their errors', async () => {
    const target = await server({
      faults: { rcptTo: (address) => (address.startsWith('nobody') ? { code: 550, message: '5.1.1 No such user' } : undefined) },
    });
    const receipt = await transportFor(target).send(
      createMessage({ ...message, to: ['ana@example.com', 'nobody@example.com'], cc: 'bob@example.com' }),
    );
    expect(receipt.accepted).toEqual(['ana@example.com', 'bob@example.com']);
    expect(receipt.rejected).toEqual([
      expect.objectContaining({ address: 'nobody@example.com', statusCode: 550, providerCode: '5.1.1', retryable: false }),
    ]);
    expect(target.received.map((received) => received.to)).toEqual([['ana@example.com', 'bob@example.com']]);
  });

  it('every recipient refused: recipient-rejected with each recipient and its error', async () => {
    const target = await server({ faults: { rcptTo: () => ({ code: 550, message: '5.1.1 No such user' }) } });
    const error = await failure(transportFor(target).send(createMessage({ ...message, to: ['a@example.com', 'b@example.com'] })));
    expect(error.code).toBe('recipient-rejected');
    expect(error.recipients.map((recipient) => recipient.address)).toEqual(['a@example.com', 'b@example.com']);
    expect(error.recipients.every((recipient) => recipient.statusCode === 550)).toBe(true);
  });

  it('452 too many recipients: the rest go in a new transaction', async () => {
    let perTransaction = 0;
    let session = '';
    const target = await server({
      faults: {
        rcptTo: (_address, current) => {
          if (current.id !== session || current.envelope.rcptTo.length === 0) {
            session = current.id;
            perTransaction = 0;
          }
          perTransaction++;
          return perTransaction > 2 ? { code: 452, message: '4.5.3 Too many recipients' } : undefined;
        },
      },
    });
    const to = ['a@example.com', 'b@example.com', 'c@example.com', 'd@example.com', 'e@example.com'];
    const receipt = await transportFor(target, { pool: false }).send(createMessage({ ...message, to }));
    expect(receipt.accepted).toEqual(to);
    expect(receipt.rejected).toEqual([]);
    expect(target.received.map((received) => received.to)).toEqual([
      ['a@example.com', 'b@example.com'],
      ['c@example.com', 'd@example.com'],
      ['e@example.com'],
    ]);
  });
});

describe('unknown outcome', () => {
  it('connection dropped after DATA: unknown-outcome, no retry, the server has exactly one copy', async () => {
    const target = await server({ faults: { data: () => 'drop' } });
    const mailer = createMailer({ transport: transportFor(target), retry: { initialDelayMs: 1, maxAttempts: 5 } });
    const error = await failure(mailer.send(message));
    expect(error.code).toBe('unknown-outcome');
    expect(error.retryable).toBe(false);
    expect(error.remediation).toMatch(/arrived/);
    expect(target.received).toHaveLength(1);
  });

  it('a pooled batch survives connections dropped mid-batch: each message sent once or failed', async () => {
    let mails = 0;
    let datas = 0;
    const target = await server({
      faults: {
        // Drop the connection at the 3rd MAIL FROM (nothing sent yet: safe to retry) ...
        mailFrom: () => (++mails === 3 ? 'drop' : undefined),
        // ... and after the 6th message's data (it arrived, but the client cannot know).
        data: () => (++datas === 6 ? 'drop' : undefined),
      },
    });
    const mailer = createMailer({ transport: transportFor(target, { maxConnections: 2 }), retry: { initialDelayMs: 1 } });
    const inputs = Array.from({ length: 12 }, (_, index) => ({ ...message, subject: `Batch ${index}` }));
    const outcomes = [];
    for await (const outcome of mailer.sendMany(inputs, { concurrency: 2 })) outcomes.push(outcome);

    expect(outcomes.map((outcome) => outcome.index)).toEqual(inputs.map((_, index) => index));
    // Exactly one message (whichever carried the 6th DATA) ends as unknown-outcome; the drop at MAIL FROM was retried.
    const failed = outcomes.flatMap((outcome) => (outcome.ok ? [] : [outcome.error.code]));
    expect(failed).toEqual(['unknown-outcome']);

    const receivedIds = await Promise.all(target.received.map(async (received) => (await simpleParser(received.raw)).messageId));
    expect(new Set(receivedIds).size).toBe(receivedIds.length);
    for (const outcome of outcomes) {
      expect(receivedIds.filter((id) => id === outcome.messageId)).toHaveLength(1);
    }
    expect(target.connections()).toBeGreaterThan(2);
  });
});

describe('SMTPUTF8', () => {
  const international: MessageInput = { ...message, to: 'José.Müller@example.com', from: 'app@shop.example' };
  const utf8: MessageInput = { ...message, to: 'jöse@example.com' };

  it('an ASCII message with an IDN domain goes out as A-labels without SMTPUTF8', async () => {
    const target = await server({ server: { hideSMTPUTF8: true } });
    await transportFor(target).send(createMessage({ ...international, to: 'ana@bücher.example' }));
    expect(target.received[0]?.smtpUtf8).toBe(false);
    expect(target.received[0]?.raw.toString('latin1')).toMatch(/^To: ana@xn--bcher-kva\.example\r$/m);
  });

  it('refuses a non-ASCII local part before sending when the server lacks SMTPUTF8', async () => {
    const target = await server({ server: { hideSMTPUTF8: true } });
    const error = await failure(transportFor(target).send(createMessage(utf8)));
    expect(error.code).toBe('unsupported');
    expect(error.message).toMatch(/SMTPUTF8/);
    expect(target.received).toHaveLength(0);
  });

  it('sends a non-ASCII local part with SMTPUTF8 when offered', async () => {
    const target = await server();
    await transportFor(target).send(createMessage(utf8));
    expect(target.received[0]?.to).toEqual(['jöse@example.com']);
    expect(target.received[0]?.smtpUtf8).toBe(true);
  });
});

describe('bad input never reaches the server', () => {
  const injections: [string, MessageInput][] = [
    ['subject', { ...message, subject: 'Hi\r\nBcc: victim@example.com' }],
    ['subject (bare LF)', { ...message, subject: 'Hi\nBcc: victim@example.com' }],
    ['from name', { ...message, from: { name: 'Shop\r\nBcc: victim@example.com', address: 'app@shop.example' } }],
    ['to address', { ...message, to: 'ana@example.com\r\nRCPT TO:<victim@example.com>' }],
    ['cc', { ...message, cc: 'a@example.com>\r\nDATA' }],
    ['replyTo', { ...message, replyTo: 'reply@example.com\u0000' }],
    ['header value', { ...message, headers: { 'X-Tag': 'a\r\nBcc: victim@example.com' } }],
    ['header name', { ...message, headers: { 'X-Tag\r\nBcc': 'victim@example.com' } }],
    ['attachment filename', { ...message, attachments: [{ filename: 'a.txt\r\nContent-Type: text/html', content: 'x' }] }],
    ['envelope', { ...message, envelope: { to: ['ana@example.com\r\nDATA'] } }],
    ['inReplyTo', { ...message, inReplyTo: '<a@b>\r\nBcc: victim@example.com' }],
    ['doubled @', { ...message, to: 'ana@evil.example@example.com' }],
    ['comment', { ...message, to: 'ana@example.com(comment)' }],
    ['encoded-word', { ...message, to: '=?utf-8?B?YUBiLmM=?= <ana@example.com>' }],
    ['empty domain', { ...message, to: 'ana@' }],
  ];

  it.each(injections)('%s: invalid-message, no connection made', async (_name, input) => {
    const target = await server();
    const mailer = createMailer({ transport: transportFor(target) });
    const error = await failure(mailer.send(input));
    expect(error.code).toBe('invalid-message');
    expect(error.field).toBeDefined();
    expect(target.connections()).toBe(0);
  });

  it('SMTP smuggling sequences in the body are neutralised: one message, body intact', async () => {
    const target = await server();
    const smuggled = [
      'Line one',
      '\n.\nMAIL FROM:<evil@example.com>\nRCPT TO:<victim@example.com>\nDATA\nSmuggled',
      '\r.\rstill the same message',
      '\r\n.\r\nafter a real dot line',
    ].join('');
    const receipt = await transportFor(target).send(createMessage({ ...message, text: smuggled }));
    expect(target.received).toHaveLength(1);
    const raw = target.received[0]?.raw ?? Buffer.alloc(0);
    // CRLF only on the wire: no bare CR or LF anywhere.
    expect(raw.toString('latin1').replace(/\r\n/g, '')).not.toMatch(/[\r\n]/);
    const parsed = await simpleParser(raw);
    expect(parsed.messageId).toBe(receipt.messageId);
    expect(parsed.text).toContain('MAIL FROM:<evil@example.com>');
    expect(parsed.text).toContain('after a real dot line');
    expect(parsed.text?.split('\n')).toContain('.');
  });
});

describe('XOAUTH2 with a loopback token endpoint', () => {
  it('a refused token is refreshed once and AUTH retried once', async () => {
    const { startTokenEndpoint } = await import('../test/token-endpoint.js');
    const endpoint = await startTokenEndpoint();
    cleanup.push(() => endpoint.close());
    // The server accepts only the second token: the first has "expired".
    const target = await server({ acceptToken: (user, token) => user === 'app@shop.example' && token === 'token-2' });
    const transport = transportFor(target, { auth: { user: 'app@shop.example', tokenProvider: endpoint.provider } });
    const receipt = await createMailer({ transport }).send(message);
    expect(receipt.accepted).toEqual(['ana@example.com']);
    expect(endpoint.issued()).toBe(2);
    expect(target.authAttempts.map((attempt) => attempt.secret)).toEqual(['token-1', 'token-2']);
  });

  it('a token refused twice is an auth error, not retried, after exactly one refresh', async () => {
    const { startTokenEndpoint } = await import('../test/token-endpoint.js');
    const endpoint = await startTokenEndpoint();
    cleanup.push(() => endpoint.close());
    const target = await server({ acceptToken: () => false });
    const transport = transportFor(target, { auth: { user: 'app@shop.example', tokenProvider: endpoint.provider } });
    const error = await failure(createMailer({ transport, retry: { initialDelayMs: 1 } }).send(message));
    expect(error.code).toBe('auth');
    expect(error.retryable).toBe(false);
    expect(error.remediation).toMatch(/scope/);
    expect(endpoint.issued()).toBe(2);
    for (const shown of [String(error), inspect(error, { depth: 10 })]) expect(shown).not.toContain('token-');
  });

  it("a token endpoint failure surfaces as the provider's own MailError", async () => {
    const target = await server({ acceptToken: () => true });
    const tokenProvider = {
      getAccessToken: async () => {
        throw new MailError('auth', 'invalid_grant: the refresh token expired', { remediation: 'Consent again.' });
      },
    };
    const transport = transportFor(target, { auth: { user: 'app@shop.example', tokenProvider } });
    const error = await failure(transport.send(createMessage(message)));
    expect(error.code).toBe('auth');
    expect(error.message).toMatch(/invalid_grant/);
    expect(error.remediation).toBe('Consent again.');
  });
});

describe('verify()', () => {
  it('connects, negotiates STARTTLS, authenticates and reports the extensions', async () => {
    const target = await server({ password: { user: 'app', pass: 'pw' }, server: { size: 10_000_000 } });
    const report = await transportFor(target, { auth: { user: 'app', pass: 'pw' }, requireTls: true }).verify();
    expect(report.checks.map((check) => check.name)).toEqual(['connect', 'tls', 'auth']);
    expect(report.checks.every((check) => check.ok)).toBe(true);
    expect(report.details).toMatchObject({
      starttls: true,
      size: 10_000_000,
      smtpUtf8: true,
      pipelining: true,
      authMethods: ['PLAIN', 'LOGIN', 'XOAUTH2'],
    });
    expect(String(report.details.tlsProtocol)).toMatch(/^TLSv1\.[23]$/);
    expect(target.received).toHaveLength(0);
  });

  it('reports a wrong password as an auth error', async () => {
    const target = await server({ password: { user: 'app', pass: 'pw' } });
    const error = await failure(transportFor(target, { auth: { user: 'app', pass: 'nope' } }).verify());
    expect(error.code).toBe('auth');
  });
});
