import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { get as httpsGet } from 'node:https';
import { fileURLToPath } from 'node:url';
import { SESv2Client, SendBulkEmailCommand, SendEmailCommand } from '@aws-sdk/client-sesv2';
import { createMailer } from '@mailport/core';
import { refusedPort } from '@mailport/core/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { resolveAccounts } from '../../accounts.js';
import { createSandboxEventLog } from '../../events/event-log.js';
import { type Sandbox, startSandbox } from '../../sandbox.js';
import { createMessageStore } from '../../store.js';
import { createTokenRegistry } from '../../tokens.js';
import { createSnsHub } from './sns-publisher.js';

/** What the application's webhook received. */
interface Received {
  readonly headers: IncomingHttpHeaders;
  readonly url: string;
  readonly body: string;
  readonly json: Record<string, unknown>;
}

type Responder = (request: Received, response: ServerResponse) => void;

/** A plain application endpoint on loopback: records every request, answers with `respond` (default 200). */
async function startApp(): Promise<{
  url: string;
  port: number;
  received: Received[];
  respond: Responder | undefined;
  next(type?: string): Promise<Received>;
  close(): Promise<void>;
  server: Server;
}> {
  const received: Received[] = [];
  const waiters: { type: string | undefined; resolve: (request: Received) => void }[] = [];
  const app = {
    received,
    respond: undefined as Responder | undefined,
    url: '',
    port: 0,
    server: undefined as unknown as Server,
    next(type?: string): Promise<Received> {
      const seen = received.find((request) => type === undefined || request.json.Type === type);
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise((resolve) => waiters.push({ type, resolve }));
    },
    close: async () => {
      app.server.closeAllConnections();
      await new Promise((resolve) => app.server.close(resolve));
    },
  };
  app.server = createServer((incoming: IncomingMessage, response: ServerResponse) => {
    const chunks: Buffer[] = [];
    incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
    incoming.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      let json: Record<string, unknown> = {};
      try {
        json = JSON.parse(body) as Record<string, unknown>;
      } catch {}
      const request: Received = { headers: incoming.headers, url: incoming.url ?? '', body, json };
      received.push(request);
      for (const waiter of [...waiters]) {
        if (waiter.type === undefined || waiter.type === json.Type) {
          waiters.splice(waiters.indexOf(waiter), 1);
          waiter.resolve(request);
        }
      }
      if (app.respond !== undefined) app.respond(request, response);
      else response.writeHead(200).end('ok');
    });
  });
  app.server.listen(0, '127.0.0.1');
  await once(app.server, 'listening');
  app.port = (app.server.address() as { port: number }).port;
  app.url = `http://127.0.0.1:${app.port}/ses-events`;
  return app;
}

type App = Awaited<ReturnType<typeof startApp>>;

/** GETs a URL on the sandbox's https listener, trusting its CA, as the application would. */
function fetchHttps(url: string, ca: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    httpsGet(url, { ca }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
    }).on('error', reject);
  });
}

/** Confirms the subscription the app's first SubscriptionConfirmation names. */
async function confirm(app: App, sandbox: Sandbox): Promise<Received> {
  const confirmation = await app.next('SubscriptionConfirmation');
  const answer = await fetchHttps(confirmation.json.SubscribeURL as string, sandbox.ca);
  expect(answer.status).toBe(200);
  return confirmation;
}

/** The parts of an SES event record the tests read. */
interface SesRecord {
  readonly eventType: string;
  readonly mail: { readonly messageId: string; readonly timestamp: string; readonly tags: Record<string, string[]> };
  readonly delivery?: { readonly recipients: string[] };
  readonly bounce?: { readonly bounceType: string; readonly bounceSubType: string; readonly bouncedRecipients: { emailAddress: string }[] };
  readonly complaint?: { readonly complainedRecipients: { emailAddress: string }[] };
}

function notifications(app: App): { envelope: Received; record: SesRecord }[] {
  return app.received
    .filter((request) => request.json.Type === 'Notification')
    .map((envelope) => ({ envelope, record: JSON.parse(envelope.json.Message as string) as SesRecord }));
}

/** AWS's sns-validator, in a child process that trusts the sandbox's CA. */
async function awsValidator(sandbox: Sandbox, bodies: readonly string[]): Promise<{ ok: boolean; error?: string }[]> {
  const script = fileURLToPath(new URL('./sns-validator-check.cjs', import.meta.url));
  const child = execFile(process.execPath, [script], {
    env: { ...process.env, NODE_EXTRA_CA_CERTS: sandbox.caFile, HOST_PATTERN: `^127\\.0\\.0\\.1:${sandbox.httpsPort}$` },
    timeout: 15_000,
  });
  let output = '';
  child.stdout?.on('data', (chunk: string) => {
    output += chunk;
  });
  child.stdin?.end(`${bodies.map((body) => JSON.stringify(JSON.parse(body))).join('\n')}\n`);
  const [code] = (await once(child, 'exit')) as [number];
  expect(code).toBe(0);
  return output
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { ok: boolean; error?: string });
}

const simulator = (local: string): string => `${local}@simulator.amazonses.com`;

describe('SES event destinations over SNS', () => {
  let app: App;
  let sandbox: Sandbox;

  beforeAll(async () => {
    app = await startApp();
    sandbox = await startSandbox({ sesEvents: [{ endpoint: app.url }] });
  });
  afterAll(async () => {
    await sandbox.close();
    await app.close();
  });

  it('starts with a signed SubscriptionConfirmation and delivers nothing until its SubscribeURL is fetched', async () => {
    const confirmation = await app.next('SubscriptionConfirmation');
    expect(confirmation.url).toBe('/ses-events');
    expect(confirmation.headers['x-amz-sns-message-type']).toBe('SubscriptionConfirmation');
    expect(confirmation.headers['x-amz-sns-message-id']).toBe(confirmation.json.MessageId);
    expect(confirmation.headers['x-amz-sns-topic-arn']).toBe('arn:aws:sns:us-east-1:123456789012:mailport-sandbox-events');
    expect(confirmation.headers['content-type']).toBe('text/plain; charset=UTF-8');
    expect(confirmation.headers['user-agent']).toBe('Amazon Simple Notification Service Agent');
    expect(confirmation.json).toMatchObject({
      Type: 'SubscriptionConfirmation',
      TopicArn: 'arn:aws:sns:us-east-1:123456789012:mailport-sandbox-events',
      SignatureVersion: '1',
      SigningCertURL: sandbox.sns.signingCertUrl,
    });
    const subscribeUrl = new URL(confirmation.json.SubscribeURL as string);
    expect(subscribeUrl.origin).toBe(sandbox.httpsUrl);
    expect(subscribeUrl.searchParams.get('Token')).toBe(confirmation.json.Token);
    expect(sandbox.sns.signingCertUrl).toMatch(new RegExp(`^${sandbox.httpsUrl}/SimpleNotificationService-[0-9a-f]{32}\\.pem$`));
    expect(sandbox.sns.subscriptions()).toMatchObject([{ state: 'pending', endpoint: app.url }]);

    // Pending: a send publishes nothing to the endpoint.
    await using mailer = createMailer({ transport: sandbox.urls.ses, retry: false });
    await mailer.send({ from: 'app@example.com', to: simulator('success'), subject: 'early', text: 'x' });
    await sandbox.sns.idle();
    expect(notifications(app)).toEqual([]);
    expect(sandbox.sns.subscriptions()[0]?.dropped).toBe(2);

    // A wrong token or topic confirms nothing.
    const wrongToken = new URL(subscribeUrl);
    wrongToken.searchParams.set('Token', 'f'.repeat(128));
    expect((await fetchHttps(wrongToken.href, sandbox.ca)).status).toBe(400);
    const wrongTopic = new URL(subscribeUrl);
    wrongTopic.searchParams.set('TopicArn', 'arn:aws:sns:us-east-1:123456789012:other');
    expect((await fetchHttps(wrongTopic.href, sandbox.ca)).status).toBe(400);
    expect(sandbox.sns.subscriptions()[0]?.state).toBe('pending');

    const answer = await fetchHttps(subscribeUrl.href, sandbox.ca);
    expect(answer.status).toBe(200);
    const arn = sandbox.sns.subscriptions()[0]?.subscriptionArn ?? '';
    expect(answer.body).toContain(`<SubscriptionArn>${arn}</SubscriptionArn>`);
    expect(sandbox.sns.subscriptions()[0]?.state).toBe('confirmed');
  });

  it('publishes Send and the mailbox simulator outcome of every recipient, joined to the receipt', async () => {
    await using mailer = createMailer({ transport: sandbox.urls.ses, retry: false });
    const to = ['success', 'bounce', 'complaint', 'ooto', 'suppressionlist'].map(simulator).concat('ana@example.org');
    const receipt = await mailer.send({
      from: 'Shop <app@example.com>',
      to,
      subject: 'events',
      text: 'hello',
      tags: ['welcome'],
      metadata: { plan: 'pro' },
    });
    await sandbox.sns.idle();
    const published = notifications(app).filter(({ record }) => record.mail.messageId === receipt.providerMessageId);
    const summary = published.map(({ record }) => {
      const recipient =
        record.delivery?.recipients?.[0] ??
        record.bounce?.bouncedRecipients?.[0]?.emailAddress ??
        record.complaint?.complainedRecipients?.[0]?.emailAddress;
      const detail = record.bounce === undefined ? '' : ` ${record.bounce.bounceType}/${record.bounce.bounceSubType}`;
      return `${record.eventType}${detail} ${recipient ?? '*'}`;
    });
    expect(summary).toEqual([
      'Send *',
      `Delivery ${simulator('success')}`,
      `Bounce Permanent/General ${simulator('bounce')}`,
      `Delivery ${simulator('complaint')}`,
      `Complaint ${simulator('complaint')}`,
      `Delivery ${simulator('ooto')}`,
      `Bounce Permanent/OnAccountSuppressionList ${simulator('suppressionlist')}`,
      'Delivery ana@example.org',
    ]);
    for (const { envelope, record } of published) {
      expect(envelope.headers['x-amz-sns-message-type']).toBe('Notification');
      expect(envelope.headers['x-amz-sns-message-id']).toBe(envelope.json.MessageId);
      expect(envelope.headers['x-amz-sns-subscription-arn']).toBe(sandbox.sns.subscriptions()[0]?.subscriptionArn);
      expect(envelope.json.MessageId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(new Date(envelope.json.Timestamp as string).toISOString()).toBe(envelope.json.Timestamp);
      expect(envelope.json.UnsubscribeURL).toMatch(
        new RegExp(`^${sandbox.httpsUrl}/sns/unsubscribe\\?Action=Unsubscribe&SubscriptionArn=`),
      );
      expect(record.mail).toMatchObject({
        messageId: receipt.providerMessageId,
        source: 'app@example.com',
        destination: to,
        sendingAccountId: '123456789012',
        headersTruncated: false,
        commonHeaders: { messageId: receipt.messageId, subject: 'events', from: ['Shop <app@example.com>'], to },
      });
      expect(record.mail.tags).toMatchObject({
        welcome: ['true'],
        plan: ['pro'],
        'ses:from-domain': ['example.com'],
        'ses:operation': [expect.stringMatching(/^Send(Raw)?Email$/)],
      });
      expect(new Date(record.mail.timestamp).toISOString()).toBe(record.mail.timestamp);
    }
    const bounce = published.find(({ record }) => record.eventType === 'Bounce')?.record.bounce;
    expect(bounce?.bouncedRecipients).toEqual([
      { emailAddress: simulator('bounce'), action: 'failed', status: '5.1.1', diagnosticCode: 'smtp; 550 5.1.1 user unknown' },
    ]);
    const complaint = published.find(({ record }) => record.eventType === 'Complaint')?.record.complaint;
    expect(complaint).toMatchObject({ complaintFeedbackType: 'abuse', complainedRecipients: [{ emailAddress: simulator('complaint') }] });

    // The sandbox's event log: one entry per delivered record, with mailport's type.
    const logged = sandbox.events.list({ messageId: receipt.messageId });
    expect(logged.map((event) => `${event.type} ${event.recipient}`)).toEqual([
      `sent ${to.join(', ')}`,
      `delivered ${simulator('success')}`,
      `bounced ${simulator('bounce')}`,
      `delivered ${simulator('complaint')}`,
      `complained ${simulator('complaint')}`,
      `delivered ${simulator('ooto')}`,
      `bounced ${simulator('suppressionlist')}`,
      'delivered ana@example.org',
    ]);
    const storeId = sandbox.store.list({ api: 'ses' }).find((message) => message.providerMessageId === receipt.providerMessageId)?.id;
    for (const event of logged) {
      expect(event).toMatchObject({ channel: 'sns', storeId, detail: `POST ${app.url} -> 200 (attempt 1)` });
    }
  });

  it("signs with versions 1 and 2 so that AWS's own sns-validator accepts every message, and rejects a tampered one", async () => {
    const second = await startApp();
    try {
      const added = sandbox.sns.subscribe({
        endpoint: second.url,
        signatureVersion: '2',
        topicArn: 'arn:aws:sns:eu-west-1:123456789012:v2-topic',
      });
      expect(added).toMatchObject({ state: 'pending', signatureVersion: '2', topicArn: 'arn:aws:sns:eu-west-1:123456789012:v2-topic' });
      const confirmation = await confirm(second, sandbox);
      expect(confirmation.json.SignatureVersion).toBe('2');
      await using mailer = createMailer({ transport: sandbox.urls.ses, retry: false });
      await mailer.send({ from: 'app@example.com', to: [simulator('bounce'), simulator('complaint')], subject: 'v2', text: 'x' });
      await sandbox.sns.idle();
      const v2 = second.received.filter((request) => request.json.Type === 'Notification');
      expect(v2).toHaveLength(4);
      expect(v2.every((request) => request.json.SignatureVersion === '2')).toBe(true);
      const v1 = notifications(app)
        .slice(-4)
        .map(({ envelope }) => envelope);
      expect(v1.every((request) => request.json.SignatureVersion === '1')).toBe(true);
      const v1Confirmation = await app.next('SubscriptionConfirmation');

      const tampered = JSON.parse(v2[0]?.body ?? '{}') as Record<string, unknown>;
      tampered.Message = (tampered.Message as string).replace('"Send"', '"Bounce"');
      const results = await awsValidator(sandbox, [
        v1Confirmation.body,
        confirmation.body,
        ...v1.map((request) => request.body),
        ...v2.map((request) => request.body),
        JSON.stringify(tampered),
      ]);
      expect(results.slice(0, -1)).toEqual(results.slice(0, -1).map(() => ({ ok: true })));
      expect(results.at(-1)).toEqual({ ok: false, error: 'The message signature is invalid.' });
    } finally {
      await second.close();
    }
  });
});

describe('delivery', () => {
  const apps: App[] = [];
  const sandboxes: Sandbox[] = [];
  afterEach(async () => {
    await Promise.all(sandboxes.splice(0).map((sandbox) => sandbox.close()));
    await Promise.all(apps.splice(0).map((app) => app.close()));
  });

  async function setUp(
    destination: { endpoint?: string; retryDelaysMs?: readonly number[]; timeoutMs?: number; configurationSet?: string } = {},
  ) {
    const app = await startApp();
    apps.push(app);
    const sandbox = await startSandbox({ sesEvents: [{ endpoint: app.url, retryDelaysMs: [20, 20], ...destination }] });
    sandboxes.push(sandbox);
    await confirm(app, sandbox);
    return { app, sandbox };
  }

  it('retries a non-2xx with the same MessageId, in order, and the endpoint gets each record once it answers 200', async () => {
    const { app, sandbox } = await setUp();
    let failures = 1;
    app.respond = (request, response) => {
      if (request.json.Type === 'Notification' && failures-- > 0) response.writeHead(500).end('try later');
      else response.writeHead(200).end();
    };
    await using mailer = createMailer({ transport: sandbox.urls.ses, retry: false });
    const receipt = await mailer.send({ from: 'app@example.com', to: simulator('bounce'), subject: 'retry', text: 'x' });
    await sandbox.sns.idle();
    const posted = app.received.filter((request) => request.json.Type === 'Notification');
    expect(posted.map((request) => JSON.parse(request.json.Message as string).eventType)).toEqual(['Send', 'Send', 'Bounce']);
    expect(posted[1]?.body).toBe(posted[0]?.body);
    expect(posted[1]?.headers['x-amz-sns-message-id']).toBe(posted[0]?.headers['x-amz-sns-message-id']);
    expect(sandbox.events.list({ messageId: receipt.messageId }).map((event) => event.detail)).toEqual([
      `POST ${app.url} -> 500 (attempt 1)`,
      `POST ${app.url} -> 200 (attempt 2)`,
      `POST ${app.url} -> 200 (attempt 1)`,
    ]);
    expect(sandbox.sns.subscriptions()[0]).toMatchObject({ delivered: 2, failed: 0, queued: 0 });
  });

  it('answers a Basic challenge with the credentials of the endpoint URL, which never show in the log', async () => {
    const app = await startApp();
    apps.push(app);
    const expected = `Basic ${Buffer.from('hook-user:p@ss:word').toString('base64')}`;
    app.respond = (request, response) => {
      if (request.headers.authorization === expected) response.writeHead(200).end();
      else response.writeHead(401, { 'www-authenticate': 'Basic realm="events"' }).end();
    };
    const endpoint = `http://hook-user:${encodeURIComponent('p@ss:word')}@127.0.0.1:${app.port}/ses-events`;
    const sandbox = await startSandbox({ sesEvents: [{ endpoint, retryDelaysMs: [] }] });
    sandboxes.push(sandbox);
    const first = await app.next('SubscriptionConfirmation');
    expect(first.headers.authorization).toBeUndefined();
    await sandbox.sns.idle();
    const confirmations = app.received.filter((request) => request.json.Type === 'SubscriptionConfirmation');
    expect(confirmations.map((request) => request.headers.authorization)).toEqual([undefined, expected]);
    await fetchHttps(first.json.SubscribeURL as string, sandbox.ca);
    await using mailer = createMailer({ transport: sandbox.urls.ses, retry: false });
    const receipt = await mailer.send({ from: 'app@example.com', to: simulator('success'), subject: 'auth', text: 'x' });
    await sandbox.sns.idle();
    const details = sandbox.events.list({ messageId: receipt.messageId }).map((event) => event.detail);
    expect(details).toEqual([
      `POST ${app.url} -> 401, with credentials -> 200 (attempt 1)`,
      `POST ${app.url} -> 401, with credentials -> 200 (attempt 1)`,
    ]);
    expect(JSON.stringify(sandbox.sns.subscriptions())).not.toContain('p%40ss');
    expect(JSON.stringify(sandbox.sns.subscriptions())).not.toContain('hook-user');
  });

  it('sends no credentials after a 401 without a Basic challenge, and gives up after the retries', async () => {
    const app = await startApp();
    apps.push(app);
    app.respond = (_request, response) => response.writeHead(401, { 'www-authenticate': 'Bearer' }).end();
    const sandbox = await startSandbox({ sesEvents: [{ endpoint: `http://u:secret@127.0.0.1:${app.port}/x`, retryDelaysMs: [10] }] });
    sandboxes.push(sandbox);
    await sandbox.sns.idle();
    expect(app.received.map((request) => request.headers.authorization)).toEqual([undefined, undefined]);
  });

  it('only publishes messages of its configuration set when it names one', async () => {
    const { app, sandbox } = await setUp({ configurationSet: 'default' });
    await using plain = createMailer({ transport: sandbox.urls.ses, retry: false });
    await using withSet = createMailer({ transport: `${sandbox.urls.ses}&configuration_set=default`, retry: false });
    await plain.send({ from: 'app@example.com', to: simulator('success'), subject: 'no set', text: 'x' });
    const receipt = await withSet.send({ from: 'app@example.com', to: simulator('success'), subject: 'set', text: 'x' });
    await sandbox.sns.idle();
    const records = notifications(app).map(({ record }) => record);
    expect(records.map((record) => record.mail.messageId)).toEqual([receipt.providerMessageId, receipt.providerMessageId]);
    expect(records[0]?.mail.tags['ses:configuration-set']).toEqual(['default']);
  });

  it('never lets a dead, silent, redirecting or refusing endpoint fail or hold up a send', async () => {
    const { app, sandbox } = await setUp({ retryDelaysMs: [], timeoutMs: 200 });
    await using mailer = createMailer({ transport: sandbox.urls.ses, retry: false });
    // Silent: the request is read and never answered.
    app.respond = () => undefined;
    const silent = await mailer.send({ from: 'app@example.com', to: simulator('success'), subject: 'silent', text: 'x' });
    expect(silent.providerMessageId).toBeDefined();
    await sandbox.sns.idle();
    expect(sandbox.events.list({ messageId: silent.messageId }).map((event) => event.detail)).toEqual([
      `POST ${app.url} -> no answer within 200 ms (attempt 1)`,
      `POST ${app.url} -> no answer within 200 ms (attempt 1)`,
    ]);
    // A redirect is not followed: it is a failure like any non-2xx.
    app.respond = (_request, response) => response.writeHead(302, { location: 'http://127.0.0.1:1/elsewhere' }).end();
    const redirected = await mailer.send({ from: 'app@example.com', to: simulator('success'), subject: 'redirect', text: 'x' });
    await sandbox.sns.idle();
    expect(sandbox.events.list({ messageId: redirected.messageId }).map((event) => event.detail)[0]).toBe(
      `POST ${app.url} -> 302 (attempt 1)`,
    );
    // A huge answer is not read past a bound.
    app.respond = (_request, response) => {
      response.writeHead(200);
      response.end(Buffer.alloc(4 * 1024 * 1024, 'x'));
    };
    const huge = await mailer.send({ from: 'app@example.com', to: simulator('success'), subject: 'huge', text: 'x' });
    await sandbox.sns.idle();
    expect(sandbox.events.list({ messageId: huge.messageId })).toHaveLength(2);
    // Refused connections.
    const refused = `http://127.0.0.1:${await refusedPort()}/hook`;
    sandbox.sns.subscribe({ endpoint: refused, retryDelaysMs: [] });
    await sandbox.sns.idle();
    expect(sandbox.sns.subscriptions()[1]).toMatchObject({ state: 'pending', endpoint: refused });
    expect(sandbox.sns.subscriptions()[0]).toMatchObject({ failed: 4, queued: 0 });
  });

  it('retries an unanswered SubscriptionConfirmation with the same MessageId', async () => {
    const app = await startApp();
    apps.push(app);
    let failures = 1;
    app.respond = (_request, response) => response.writeHead(failures-- > 0 ? 503 : 200).end();
    const sandbox = await startSandbox({ sesEvents: [{ endpoint: app.url, retryDelaysMs: [20] }] });
    sandboxes.push(sandbox);
    await sandbox.sns.idle();
    const confirmations = app.received.filter((request) => request.json.Type === 'SubscriptionConfirmation');
    expect(confirmations).toHaveLength(2);
    expect(confirmations[1]?.body).toBe(confirmations[0]?.body);
    expect((await fetchHttps(confirmations[1]?.json.SubscribeURL as string, sandbox.ca)).status).toBe(200);
  });

  it('keeps at most maxQueued posts waiting per subscription; past it, records are dropped and said so', async () => {
    const app = await startApp();
    apps.push(app);
    app.respond = () => undefined; // never answers
    const events = createSandboxEventLog();
    const context = {
      accounts: resolveAccounts(undefined),
      store: createMessageStore({}),
      tokens: createTokenRegistry(3600),
      urls: { http: 'http://127.0.0.1:9', https: 'https://127.0.0.1:9' },
      now: Date.now,
      events,
    };
    const hub = createSnsHub(context, {
      destinations: [{ endpoint: app.url, retryDelaysMs: [], timeoutMs: 60_000 }],
      ca: '',
      maxQueued: 3,
    });
    hub.start();
    const confirmation = await app.next('SubscriptionConfirmation');
    expect(hub.confirm(confirmation.json.TopicArn as string, confirmation.json.Token as string)).toBeDefined();
    const message = {
      storeId: 'm-1',
      sesMessageId: 'id-1',
      operation: 'SendEmail (Simple)',
      raw: Buffer.from('Message-ID: <a@b>\r\n\r\nx'),
      source: 'app@example.com',
      recipients: [simulator('success')],
      tags: [],
      configurationSet: undefined,
      region: 'us-east-1',
      acceptedAt: Date.now(),
      rendered: true,
    };
    hub.publish(message);
    hub.publish(message);
    // The confirmation post still waits for its answer: 1 + 2 + 2 records, 3 kept.
    expect(hub.subscriptions()[0]).toMatchObject({ queued: 3, dropped: 2 });
    expect(events.list().map((event) => event.detail)).toEqual([
      `not posted to ${app.url}: 3 posts already waiting`,
      `not posted to ${app.url}: 3 posts already waiting`,
    ]);
    await hub.close();
    expect(hub.subscriptions()[0]?.queued).toBe(0);
  });

  it('closes promptly with retries still waiting', async () => {
    const { app, sandbox } = await setUp({ retryDelaysMs: [60_000] });
    app.respond = (_request, response) => response.writeHead(503).end();
    await using mailer = createMailer({ transport: sandbox.urls.ses, retry: false });
    await mailer.send({ from: 'app@example.com', to: simulator('success'), subject: 'x', text: 'x' });
    await new Promise((resolve) => setTimeout(resolve, 100));
    const started = Date.now();
    await sandbox.close();
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('refuses malformed destinations with a TypeError before listening', async () => {
    const bad: unknown[] = [
      { endpoint: 'file:///etc/passwd' },
      { endpoint: 'javascript:alert(1)' },
      { endpoint: 'not a url' },
      { endpoint: 'http://127.0.0.1:1/', topicArn: 'arn:aws:sns:us-east-1:1:x' },
      { endpoint: 'http://127.0.0.1:1/', topicArn: 'arn:aws:sqs:us-east-1:123456789012:x' },
      { endpoint: 'http://127.0.0.1:1/', signatureVersion: '3' },
      { endpoint: 'http://127.0.0.1:1/', retryDelaysMs: [Number.POSITIVE_INFINITY] },
      { endpoint: 'http://127.0.0.1:1/', retryDelaysMs: Array.from({ length: 100 }, () => 1) },
      { endpoint: 'http://127.0.0.1:1/', timeoutMs: -1 },
      { endpoint: 'http://127.0.0.1:1/', configurationSet: '' },
      { endpoint: 'http://user:%zz@127.0.0.1:1/' },
      null,
    ];
    for (const destination of bad) {
      await expect(startSandbox({ sesEvents: [destination as never] })).rejects.toThrow(TypeError);
    }
  });
});

describe('the other SES operations, hostile tags and the UnsubscribeURL', () => {
  let app: App;
  let sandbox: Sandbox;
  beforeAll(async () => {
    app = await startApp();
    sandbox = await startSandbox({ sesEvents: [{ endpoint: app.url, retryDelaysMs: [] }] });
    await confirm(app, sandbox);
  });
  afterAll(async () => {
    await sandbox.close();
    await app.close();
  });

  const client = (): SESv2Client => {
    const { region, accessKeyId, secretAccessKey } = sandbox.accounts.ses;
    return new SESv2Client({ region, endpoint: sandbox.httpUrl, credentials: { accessKeyId, secretAccessKey }, maxAttempts: 1 });
  };

  it('SendBulkEmail: each entry its own records, with the default and the entry tags', async () => {
    const output = await client().send(
      new SendBulkEmailCommand({
        FromEmailAddress: 'app@example.com',
        DefaultContent: { Template: { TemplateContent: { Subject: 'Hi {{name}}', Text: 'x' }, TemplateData: '{"name":"you"}' } },
        DefaultEmailTags: [{ Name: 'batch', Value: 'b1' }],
        BulkEmailEntries: [
          { Destination: { ToAddresses: [simulator('bounce')] }, ReplacementTags: [{ Name: 'entry', Value: 'one' }] },
          { Destination: { ToAddresses: [simulator('success')] } },
        ],
      }),
    );
    await sandbox.sns.idle();
    const ids = (output.BulkEmailEntryResults ?? []).map((result) => result.MessageId);
    const records = notifications(app)
      .map(({ record }) => record)
      .filter((record) => ids.includes(record.mail.messageId));
    expect(records.map((record) => `${record.eventType} ${ids.indexOf(record.mail.messageId)}`)).toEqual([
      'Send 0',
      'Bounce 0',
      'Send 1',
      'Delivery 1',
    ]);
    expect(records[0]?.mail.tags).toMatchObject({ batch: ['b1'], entry: ['one'], 'ses:operation': ['SendBulkTemplatedEmail'] });
  });

  it('a template that fails to render: a Rendering Failure, and nothing stored', async () => {
    const output = await client().send(
      new SendEmailCommand({
        FromEmailAddress: 'app@example.com',
        Destination: { ToAddresses: [simulator('success')] },
        Content: { Template: { TemplateContent: { Subject: 'Hi {{name}}', Text: 'x' }, TemplateData: '{}' } },
      }),
    );
    await sandbox.sns.idle();
    const records = notifications(app)
      .map(({ record }) => record)
      .filter((record) => record.mail.messageId === output.MessageId);
    expect(records.map((record) => record.eventType)).toEqual(['Rendering Failure']);
  });

  it('a tag named __proto__ stays a tag', async () => {
    await using mailer = createMailer({ transport: sandbox.urls.ses, retry: false });
    const receipt = await mailer.send({ from: 'app@example.com', to: simulator('success'), subject: 'x', text: 'x', tags: ['__proto__'] });
    await sandbox.sns.idle();
    const published = notifications(app).filter(({ record }) => record.mail.messageId === receipt.providerMessageId);
    expect(published).toHaveLength(2);
    const tags = JSON.parse(published[0]?.envelope.json.Message as string).mail.tags as Record<string, unknown>;
    expect(Object.getOwnPropertyDescriptor(tags, '__proto__')?.value).toEqual(['true']);
  });

  it('its UnsubscribeURL ends the subscription: nothing more is delivered', async () => {
    const unsubscribeUrl = notifications(app)[0]?.envelope.json.UnsubscribeURL as string;
    expect((await fetchHttps(unsubscribeUrl.replace(/SubscriptionArn=[^&]*/, 'SubscriptionArn=nope'), sandbox.ca)).status).toBe(404);
    const answer = await fetchHttps(unsubscribeUrl, sandbox.ca);
    expect(answer).toMatchObject({ status: 200, body: expect.stringContaining('<UnsubscribeResponse') });
    expect(sandbox.sns.subscriptions()[0]?.state).toBe('unsubscribed');
    const before = app.received.length;
    await using mailer = createMailer({ transport: sandbox.urls.ses, retry: false });
    await mailer.send({ from: 'app@example.com', to: simulator('success'), subject: 'after', text: 'x' });
    await sandbox.sns.idle();
    expect(app.received.length).toBe(before);
    // The confirmation link no longer works either.
    const confirmation = await app.next('SubscriptionConfirmation');
    expect((await fetchHttps(confirmation.json.SubscribeURL as string, sandbox.ca)).status).toBe(400);
  });
});
