import { randomBytes } from 'node:crypto';
import {
  createMailer,
  createMessage,
  createTransport,
  MailError,
  type MessageInput,
  parseTransportUrl,
  Secret,
  type SendOutcome,
  type Transport,
} from '@mailport/core';
import { type Sandbox, startSandbox } from '@mailport/sandbox';
import { simpleParser } from 'mailparser';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createGraphTransport, createTransportFromUrl } from './index.js';
import { microsoftAppOnly } from './oauth/microsoft-app-only.js';

let sandbox: Sandbox;
const opened: Transport[] = [];

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
  for (const transport of opened.splice(0)) await transport.close?.();
});

const fromUrl = (url: string = sandbox.urls.graph): Transport => {
  const transport = createTransportFromUrl(parseTransportUrl(url), { env: {}, options: {}, tokenProvider: undefined }) as Transport;
  opened.push(transport);
  return transport;
};
const base: MessageInput = { from: 'Sender <sender@contoso.example>', to: 'ana@example.org', subject: 'Hello', text: 'Hi Ana' };
const failureOf = async (promise: Promise<unknown>): Promise<MailError> => {
  const error = await promise.then(
    () => {
      throw new Error('expected a failure');
    },
    (caught: unknown) => caught,
  );
  expect(MailError.isInstance(error), String(error)).toBe(true);
  return error as MailError;
};
const graphRequests = (): number => sandbox.requests.count('graph.*');

describe('graph transport: large messages', () => {
  it('sends a 3.1 MB and a 20 MB attachment through upload sessions, byte for byte, keeping every header and both bodies', async () => {
    const medium = randomBytes(3_100_000);
    const large = randomBytes(20 * 1024 * 1024);
    const receipt = await createMailer({ transport: fromUrl() }).send({
      ...base,
      html: '<p>Hi <b>Ana</b></p>',
      headers: { 'X-Campaign': 'large', 'List-Id': '<reports.contoso.example>' },
      attachments: [
        { filename: 'small.txt', content: 'a small one' },
        { filename: 'medium.bin', content: medium },
        { filename: 'large.bin', content: large },
      ],
    });
    expect(receipt.details).toMatchObject({ mode: 'mime', path: 'draft+upload' });
    const stored = sandbox.store.last();
    expect(stored?.providerMessageId).toBe(receipt.providerMessageId);
    expect(stored?.metadata).toMatchObject({ mode: 'mime', path: 'draft+upload', mailbox: 'sender@contoso.example' });
    expect(sandbox.requests.count('graph.createUploadSession')).toBe(2);
    // 3.1 MB in one range, 20 MB in five ranges of at most 4 MB.
    expect(sandbox.requests.count('graph.uploadChunk')).toBe(6);
    expect(sandbox.requests.count('graph.sendMail')).toBe(0);
    const parsed = await simpleParser(stored?.raw ?? Buffer.alloc(0));
    expect(parsed.messageId).toBe(receipt.messageId);
    expect(parsed.text?.trim()).toBe('Hi Ana');
    expect(parsed.html).toContain('<p>Hi <b>Ana</b></p>');
    expect(parsed.headers.get('x-campaign')).toBe('large');
    expect(stored?.raw.toString('latin1')).toMatch(/^List-Id: <reports\.contoso\.example>\r$/im);
    const byName = new Map(parsed.attachments.map((attachment) => [attachment.filename, attachment.content]));
    expect(byName.get('small.txt')?.toString()).toBe('a small one');
    expect(byName.get('medium.bin')?.equals(medium)).toBe(true);
    expect(byName.get('large.bin')?.equals(large)).toBe(true);
  });

  it('posts small attachments one by one when together they do not fit in the draft', async () => {
    const parts = [randomBytes(1_500_000), randomBytes(1_600_000), randomBytes(1_700_000)];
    const receipt = await fromUrl().send(
      createMessage({ ...base, attachments: parts.map((content, index) => ({ filename: `part-${index}.bin`, content })) }),
    );
    expect(receipt.details).toMatchObject({ path: 'draft' });
    expect(sandbox.requests.count('graph.addAttachment')).toBeGreaterThan(0);
    expect(sandbox.requests.count('graph.createUploadSession')).toBe(0);
    const parsed = await simpleParser(sandbox.store.last()?.raw ?? Buffer.alloc(0));
    for (const [index, content] of parts.entries()) {
      expect(parsed.attachments.find((attachment) => attachment.filename === `part-${index}.bin`)?.content.equals(content)).toBe(true);
    }
  });

  it('refuses a message over 150 MB before any request', async () => {
    const error = await failureOf(
      fromUrl().send(createMessage({ ...base, attachments: [{ filename: 'huge.bin', content: Buffer.alloc(151 * 1024 * 1024) }] })),
    );
    expect(error.code).toBe('invalid-message');
    expect(graphRequests()).toBe(0);
  });

  it('leaves no draft behind when preparing it fails, and a retry sends the message once', async () => {
    sandbox.faults.inject({ endpoint: 'graph.createUploadSession', status: 503, code: 'ErrorServerBusy' });
    const receipt = await createMailer({ transport: fromUrl(), retry: { initialDelayMs: 1 } }).send({
      ...base,
      attachments: [{ filename: 'big.bin', content: randomBytes(3_200_000) }],
    });
    expect(receipt.attempts).toBe(2);
    expect(sandbox.store.size).toBe(1);
    expect(sandbox.requests.entries.filter((entry) => entry.method === 'DELETE')).toHaveLength(1);
  });
});

describe('graph transport: throttling and concurrency', () => {
  it('waits for Retry-After on a 429 and then sends', async () => {
    sandbox.faults.inject({ endpoint: 'graph.sendMail', status: 429, code: 'ApplicationThrottled', retryAfter: 1 });
    const started = Date.now();
    const receipt = await createMailer({ transport: fromUrl() }).send(base);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    expect(receipt.attempts).toBe(2);
    expect(sandbox.store.size).toBe(1);
  });

  it('reports a Retry-After given as an HTTP date', async () => {
    sandbox.faults.inject({
      endpoint: 'graph.sendMail',
      status: 429,
      code: 'ApplicationThrottled',
      retryAfter: new Date(Date.now() + 120_000).toUTCString(),
    });
    const error = await failureOf(createMailer({ transport: fromUrl() }).send(base));
    expect(error.code).toBe('rate-limited');
    expect(error.retryAfterMs).toBeGreaterThan(100_000);
    // Longer than the mailer's maxRetryAfterMs (60 s): returned for the caller to schedule, not waited for.
    expect(sandbox.requests.count('graph.sendMail')).toBe(1);
  });

  it('never has more than 4 requests in flight to the mailbox', async () => {
    const mailer = createMailer({ transport: fromUrl() });
    const inputs = Array.from({ length: 10 }, (_, index) => ({ ...base, subject: `batch ${index}` }));
    const outcomes: SendOutcome[] = [];
    for await (const outcome of mailer.sendMany(inputs, { concurrency: 10 })) outcomes.push(outcome);
    expect(outcomes.every((outcome) => outcome.ok)).toBe(true);
    expect(sandbox.store.size).toBe(10);
    expect(sandbox.requests.entries.filter((entry) => entry.outcome === 429)).toEqual([]);
  });

  it('refreshes an expired token once for a whole batch', async () => {
    const mailer = createMailer({ transport: fromUrl() });
    await mailer.send(base);
    const fetched = sandbox.requests.count('microsoft.token');
    sandbox.tokens.expireAll();
    const outcomes: SendOutcome[] = [];
    for await (const outcome of mailer.sendMany(
      Array.from({ length: 8 }, () => base),
      { concurrency: 8 },
    ))
      outcomes.push(outcome);
    expect(outcomes.every((outcome) => outcome.ok)).toBe(true);
    expect(sandbox.requests.count('microsoft.token') - fetched).toBe(1);
    expect(sandbox.requests.entries.filter((entry) => entry.outcome === 401).length).toBeGreaterThan(0);
  });
});

describe('graph transport: failures', () => {
  it('a connection dropped after sendMail was sent is an unknown outcome, not retried', async () => {
    sandbox.faults.inject({ endpoint: 'graph.sendMail', action: 'drop' });
    const error = await failureOf(createMailer({ transport: fromUrl() }).send(base));
    expect(error.code).toBe('unknown-outcome');
    expect(error.retryable).toBe(false);
    expect(sandbox.requests.count('graph.sendMail')).toBe(1);
    expect(sandbox.store.size).toBe(1);
  });

  it('a 503 to sendMail is an unknown outcome; a 503 while preparing a draft is transient', async () => {
    sandbox.faults.inject({ endpoint: 'graph.sendMail', status: 503, code: 'ErrorServerBusy' });
    const error = await failureOf(createMailer({ transport: fromUrl() }).send(base));
    expect(error).toMatchObject({ code: 'unknown-outcome', retryable: false, statusCode: 503, providerCode: 'ErrorServerBusy' });
    expect(sandbox.requests.count('graph.sendMail')).toBe(1);

    sandbox.faults.inject({ endpoint: 'graph.createMessage', status: 503, code: 'ErrorServerBusy' });
    const receipt = await createMailer({ transport: fromUrl(), retry: { initialDelayMs: 1 } }).send({
      ...base,
      attachments: [{ filename: 'big.bin', content: randomBytes(3_500_000) }],
    });
    expect(receipt.attempts).toBe(2);
  });

  it('a dropped draft send is an unknown outcome too', async () => {
    sandbox.faults.inject({ endpoint: 'graph.send', action: 'drop' });
    const error = await failureOf(
      createMailer({ transport: fromUrl() }).send({ ...base, attachments: [{ filename: 'big.bin', content: randomBytes(3_100_000) }] }),
    );
    expect(error.code).toBe('unknown-outcome');
    expect(sandbox.requests.count('graph.send')).toBe(1);
    expect(sandbox.store.size).toBe(1);
  });

  it('refuses a From the mailbox may not send as, with a remediation', async () => {
    const error = await failureOf(createMailer({ transport: fromUrl() }).send({ ...base, from: 'ceo@contoso.example' }));
    expect(error).toMatchObject({ code: 'sender-rejected', retryable: false, statusCode: 403, providerCode: 'ErrorSendAsDenied' });
    expect(error.remediation).toMatch(/Send As/);
    expect(sandbox.store.size).toBe(0);
  });

  it('an unknown mailbox is a configuration error', async () => {
    const error = await failureOf(
      fromUrl(sandbox.urls.graph.replace('graph://sender@', 'graph://nobody@')).send(
        createMessage({ ...base, from: 'nobody@contoso.example' }),
      ),
    );
    expect(error).toMatchObject({ code: 'configuration', statusCode: 404, providerCode: 'ErrorInvalidUser' });
  });

  it('a wrong client secret is auth, with the token endpoint named and no secret shown', async () => {
    const error = await failureOf(
      fromUrl(sandbox.urls.graph.replace(/client_secret=[^&]+/, 'client_secret=wrong')).send(createMessage(base)),
    );
    expect(error).toMatchObject({ code: 'auth', retryable: false, providerCode: 'AADSTS7000215', statusCode: 401 });
    expect(JSON.stringify(error)).not.toContain('wrong');
  });
});

describe('graph transport: JSON mode', () => {
  const jsonUrl = (): string => `${sandbox.urls.graph}&mode=json`;

  it('sends the HTML body, 5 x- headers, Bcc, reply-to, attachments and core Message-ID', async () => {
    const headers = Object.fromEntries(Array.from({ length: 5 }, (_, index) => [`X-Tag-${index}`, `value ${index}`]));
    const pixel = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==', 'base64');
    const receipt = await fromUrl(`${jsonUrl()}&save_to_sent_items=false`).send(
      createMessage({
        ...base,
        html: '<p>Hi <img src="cid:logo@contoso.example"></p>',
        bcc: 'audit@example.net',
        replyTo: 'help@contoso.example',
        headers,
        attachments: [
          { filename: 'notes.txt', content: 'notes' },
          { filename: 'logo.png', content: pixel, contentType: 'image/png', contentId: 'logo@contoso.example' },
        ],
      }),
    );
    const stored = sandbox.store.last();
    expect(stored?.metadata).toMatchObject({ mode: 'json', path: 'sendMail', saveToSentItems: false });
    expect(stored?.envelope.to).toEqual(['ana@example.org', 'audit@example.net']);
    const parsed = await simpleParser(stored?.raw ?? Buffer.alloc(0), { keepCidLinks: true });
    expect(parsed.messageId).toBe(receipt.messageId);
    expect(parsed.html).toContain('cid:logo@contoso.example');
    // Graph's body is one part: the HTML wins and the text alternative is not sent.
    expect(parsed.text?.trim()).not.toBe('Hi Ana');
    expect(parsed.bcc).toBeUndefined();
    expect(parsed.replyTo?.value[0]?.address).toBe('help@contoso.example');
    for (let index = 0; index < 5; index++) expect(parsed.headers.get(`x-tag-${index}`)).toBe(`value ${index}`);
    expect(parsed.attachments.find((attachment) => attachment.filename === 'notes.txt')?.content.toString()).toBe('notes');
    expect(parsed.attachments.find((attachment) => attachment.contentId === '<logo@contoso.example>')?.content.equals(pixel)).toBe(true);
  });

  it('refuses 6 x- headers, or any other header, before sending', async () => {
    const transport = fromUrl(jsonUrl());
    expect(transport.capabilities.customHeaders).toMatchObject({ max: 5 });
    const six = Object.fromEntries(Array.from({ length: 6 }, (_, index) => [`X-Tag-${index}`, 'v']));
    expect(await failureOf(transport.send(createMessage({ ...base, headers: six })))).toMatchObject({ code: 'unsupported' });
    expect(await failureOf(transport.send(createMessage({ ...base, headers: { 'Auto-Submitted': 'auto-generated' } })))).toMatchObject({
      code: 'unsupported',
    });
    expect(await failureOf(transport.send(createMessage({ ...base, inReplyTo: '<a@b.example>' })))).toMatchObject({ code: 'unsupported' });
    expect(graphRequests()).toBe(0);
  });

  it('sends a large message as a JSON draft with an upload session', async () => {
    const big = randomBytes(3_300_000);
    const receipt = await fromUrl(jsonUrl()).send(createMessage({ ...base, attachments: [{ filename: 'big.bin', content: big }] }));
    expect(receipt.details).toMatchObject({ mode: 'json', path: 'draft+upload' });
    const parsed = await simpleParser(sandbox.store.last()?.raw ?? Buffer.alloc(0));
    expect(parsed.messageId).toBe(receipt.messageId);
    expect(parsed.attachments[0]?.content.equals(big)).toBe(true);
  });
});

describe('graph transport: setup', () => {
  it('is created by core from its URL, and verify() reads the mailbox', async () => {
    const transport = await createTransport(sandbox.urls.graph, { env: {} });
    opened.push(transport);
    expect(transport.id).toBe('graph://sender@contoso.example');
    const report = await transport.verify?.();
    expect(report?.details).toMatchObject({ mailbox: 'sender@contoso.example', displayName: 'Sender' });
    expect(report?.checks.every((check) => check.ok)).toBe(true);
    expect(sandbox.requests.count('graph.getUser')).toBe(1);
  });

  it('sends through /me with delegated tokens and hands each rotated refresh token over', async () => {
    const stored: string[] = [];
    const transport = createGraphTransport({
      sender: 'sender@contoso.example',
      auth: {
        kind: 'delegated',
        clientId: sandbox.accounts.microsoft.clientId,
        tenantId: sandbox.accounts.microsoft.tenantId,
        refreshToken: sandbox.accounts.microsoft.refreshToken,
        onRefreshToken: (token) => {
          stored.push(token);
        },
        authorityHost: sandbox.httpsUrl,
      },
      ca: sandbox.ca,
      endpoint: `${sandbox.httpUrl}/v1.0`,
    });
    opened.push(transport);
    await transport.send(createMessage(base));
    expect(sandbox.store.last()?.metadata).toMatchObject({ auth: 'delegated', mailbox: 'sender@contoso.example' });
    expect(sandbox.requests.entries.some((entry) => entry.path === '/v1.0/me/sendMail')).toBe(true);
    expect(stored).toHaveLength(1);
  });

  it('takes a token provider directly', async () => {
    const microsoft = sandbox.accounts.microsoft;
    const transport = createGraphTransport({
      sender: 'sender@contoso.example',
      tokenProvider: microsoftAppOnly({
        tenantId: microsoft.tenantId,
        clientId: microsoft.clientId,
        clientSecret: new Secret(microsoft.clientSecret),
        authorityHost: sandbox.httpsUrl,
        ca: sandbox.ca,
      }),
      endpoint: `${sandbox.httpUrl}/v1.0`,
    });
    opened.push(transport);
    await transport.send(createMessage(base));
    expect(sandbox.store.last()?.metadata).toMatchObject({ auth: 'app-only' });
  });
});
