import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createMailer, createMessage, MailError } from '@mailport/core';
import { createSesWebhook } from '@mailport/events/ses';
import { type Sandbox, startSandbox } from '@mailport/sandbox';
import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventId, type MailEvent, type Suppression } from './model.js';
import { createEventPipeline } from './pipeline.js';
import { createMemorySendLog } from './send-log.js';
import { createMemorySuppressionStore, suppressionFilter } from './suppression.js';

const from = 'shop@shop.example';
const now = (): string => new Date().toISOString();

function hardBounce(messageId: string, providerMessageId: string | undefined, recipient: string): MailEvent {
  return {
    id: eventId(['ses', 'feedback-1', 'bounced', recipient]),
    type: 'bounced',
    timestamp: now(),
    messageId,
    providerMessageId,
    source: 'ses',
    recipient,
    bounce: { kind: 'hard', status: '5.1.1', diagnostic: 'smtp; 550 5.1.1 user unknown', reportingMta: 'dns; a.example' },
    tags: [],
    metadata: {},
    raw: {},
  };
}

describe('suppression through the mailer and the SES sandbox', () => {
  let sandbox: Sandbox & AsyncDisposable;
  beforeAll(async () => {
    sandbox = await startSandbox();
  });
  afterAll(async () => {
    await sandbox.close();
  });

  it('after a hard bounce, the next send to that address is refused with no request; a mixed list drops only the suppressed, Bcc included', async () => {
    const sendLog = createMemorySendLog();
    const store = createMemorySuppressionStore();
    const seen: MailEvent[] = [];
    const pipeline = createEventPipeline({ sendLog, suppression: store, onEvent: (event) => void seen.push(event) });
    await using mailer = createMailer({
      transport: sandbox.urls.ses,
      retry: false,
      sendLog,
      suppression: suppressionFilter(store),
      defaults: { from },
    });

    const first = await mailer.send({
      to: 'Ana@Example.org',
      subject: 'Order',
      text: 'Thanks',
      tags: ['orders'],
      metadata: { order: '7' },
    });
    expect(first.providerMessageId).toBeDefined();
    expect(sendLog.get(first.messageId)).toMatchObject({ providerMessageId: first.providerMessageId, recipients: ['Ana@example.org'] });

    // SES reports the bounce by its own id; the pipeline joins it to the message and suppresses everywhere.
    await pipeline.handle([hardBounce(first.messageId, first.providerMessageId, 'ana@example.org')]);
    expect(seen[0]).toMatchObject({ tags: ['orders'], metadata: { order: '7' } });
    expect((await store.check(['ANA@example.org'], 'anything')).get('ANA@example.org')).toMatchObject({
      reason: 'hard-bounce',
      scope: '*',
    });

    const requestsBefore = sandbox.requests.count('ses.*');
    const storedBefore = sandbox.store.size;
    const refused = await mailer.send({ to: 'ana@example.org', subject: 'Again', text: 'x' }).catch((error: unknown) => error);
    expect(MailError.isInstance(refused) && refused.code).toBe('recipient-rejected');
    expect((refused as MailError).recipients).toEqual([
      expect.objectContaining({ address: 'ana@example.org', code: 'suppressed', retryable: false }),
    ]);
    expect(sandbox.requests.count('ses.*')).toBe(requestsBefore);
    expect(sandbox.store.size).toBe(storedBefore);

    // A built message, through sendMany, with the suppressed address in Bcc and in To under another case.
    const mixed = createMessage({
      from,
      to: ['bob@example.org', 'ANA@example.org'],
      cc: 'carl@example.net',
      bcc: ['ana@example.org', 'dora@example.net'],
      subject: 'Mixed',
      text: 'x',
    });
    const outcomes = [];
    for await (const outcome of mailer.sendMany([mixed])) outcomes.push(outcome);
    const [outcome] = outcomes;
    if (outcome?.ok !== true) throw new Error('the mixed send failed');
    expect(outcome.receipt.rejected.map((rejected) => [rejected.address, rejected.code])).toEqual([
      ['ANA@example.org', 'suppressed'],
      ['ana@example.org', 'suppressed'],
    ]);
    expect(outcome.receipt.details?.submittedMessageId).toBe(mixed.messageId);
    const stored = sandbox.store.last();
    expect(stored?.envelope.to.map((address) => address.toLowerCase()).sort()).toEqual([
      'bob@example.org',
      'carl@example.net',
      'dora@example.net',
    ]);
    const parsed = await simpleParser(stored?.raw ?? Buffer.alloc(0));
    expect(parsed.to).toMatchObject({ value: [{ address: 'bob@example.org' }] });
    expect(stored?.raw.toString('latin1').toLowerCase()).not.toContain('ana@example.org');
  });

  it('a complaint suppresses its stream only; deferred and auto-replied never suppress', async () => {
    const sendLog = createMemorySendLog();
    const store = createMemorySuppressionStore();
    const pipeline = createEventPipeline({ sendLog, suppression: store });
    await using mailer = createMailer({
      transport: sandbox.urls.ses,
      retry: false,
      sendLog,
      suppression: suppressionFilter(store),
      defaults: { from },
    });
    const news = await mailer.send({ to: 'erin@example.org', text: 'news', metadata: { stream: 'newsletter' } });
    const base = { timestamp: now(), providerMessageId: news.providerMessageId, source: 'ses', tags: [], metadata: {}, raw: {} } as const;
    await pipeline.handle([
      {
        ...base,
        id: 'c1',
        type: 'complained',
        messageId: news.messageId,
        recipient: 'erin@example.org',
        complaint: { feedbackType: 'abuse' },
      },
      { ...base, id: 'd1', type: 'deferred', messageId: news.messageId, recipient: 'fay@example.org' },
      { ...base, id: 'o1', type: 'auto-replied', messageId: news.messageId, recipient: 'fay@example.org' },
    ]);
    const all: Suppression[] = [];
    for await (const entry of store.list()) all.push(entry);
    expect(all).toEqual([
      expect.objectContaining({ address: 'erin@example.org', scope: 'newsletter', reason: 'complaint', eventId: 'c1' }),
    ]);

    const refused = await mailer
      .send({ to: 'erin@example.org', text: 'more news', metadata: { stream: 'newsletter' } })
      .catch((error: unknown) => error);
    expect((refused as MailError).code).toBe('recipient-rejected');
    const receipt = await mailer.send({ to: ['erin@example.org', 'fay@example.org'], text: 'your invoice' });
    expect([...receipt.accepted].sort()).toEqual(['erin@example.org', 'fay@example.org']);
    expect(receipt.rejected).toEqual([]);
  });
});

describe('the whole loop: SES events from the sandbox, the webhook, the pipeline, suppression', () => {
  it('a bounce@ and a complaint@ reported over SNS stop the next sends, with no request reaching the sandbox', async () => {
    const server = createServer();
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/ses`;
    await using sandbox = await startSandbox({ sesEvents: [{ endpoint }] });
    try {
      const sendLog = createMemorySendLog();
      const store = createMemorySuppressionStore();
      const seen: MailEvent[] = [];
      const pipeline = createEventPipeline({ sendLog, suppression: store, onEvent: (event) => void seen.push(event) });
      const webhook = createSesWebhook({
        topics: ['arn:aws:sns:us-east-1:123456789012:mailport-sandbox-events'],
        certificates: { hosts: [`127.0.0.1:${sandbox.httpsPort}`], ca: sandbox.ca },
        onEvents: pipeline.handle,
      });
      server.on('request', webhook.node);
      for (let waited = 0; sandbox.sns.subscriptions()[0]?.state !== 'confirmed'; waited += 20) {
        if (waited > 10_000) throw new Error('the subscription was never confirmed');
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      await using mailer = createMailer({
        transport: sandbox.urls.ses,
        retry: false,
        sendLog,
        suppression: suppressionFilter(store),
        defaults: { from },
      });
      const simulator = (name: string): string => `${name}@simulator.amazonses.com`;
      await mailer.send({ to: [simulator('bounce'), simulator('success')], subject: 'Order', text: 'x', metadata: { stream: 'orders' } });
      await mailer.send({ to: simulator('complaint'), subject: 'News', text: 'x', tags: ['week-12'], metadata: { stream: 'newsletter' } });
      await sandbox.sns.idle();

      const all: Suppression[] = [];
      for await (const entry of store.list()) all.push(entry);
      expect(all.map((entry) => [entry.address, entry.scope, entry.reason]).sort()).toEqual([
        [simulator('bounce'), '*', 'hard-bounce'],
        [simulator('complaint'), 'newsletter', 'complaint'],
      ]);
      expect(seen.find((event) => event.type === 'complained')).toMatchObject({ tags: ['week-12'], metadata: { stream: 'newsletter' } });

      const requests = sandbox.requests.count('ses.*');
      const stored = sandbox.store.size;
      for (const input of [
        { to: simulator('bounce'), metadata: { stream: 'orders' } },
        { to: simulator('bounce') },
        { to: simulator('complaint'), metadata: { stream: 'newsletter' } },
      ]) {
        const refused = await mailer.send({ ...input, subject: 'Again', text: 'x' }).catch((error: unknown) => error);
        expect(MailError.isInstance(refused) && refused.code).toBe('recipient-rejected');
      }
      expect(sandbox.requests.count('ses.*')).toBe(requests);
      expect(sandbox.store.size).toBe(stored);
      // A complaint about the newsletter does not stop the receipts.
      const receipt = await mailer.send({ to: simulator('complaint'), subject: 'Receipt', text: 'x', metadata: { stream: 'orders' } });
      expect(receipt.accepted).toEqual([simulator('complaint')]);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe('the memory suppression store', () => {
  it('compares addresses lower-cased, answers by scope, honours expiry, and removes one scope or all', async () => {
    const store = createMemorySuppressionStore();
    const createdAt = now();
    await store.add({ address: 'Ana@Example.org', scope: '*', reason: 'hard-bounce', createdAt });
    await store.add({ address: 'bob@example.org', scope: 'news', reason: 'unsubscribe', createdAt });
    await store.add({
      address: 'carl@example.org',
      scope: '*',
      reason: 'soft-bounces',
      createdAt,
      expiresAt: new Date(Date.now() - 1000).toISOString(),
    });
    const found = await store.check(['ANA@example.org', 'bob@example.org', 'carl@example.org', 'dora@example.org'], 'news');
    expect([...found.keys()]).toEqual(['ANA@example.org', 'bob@example.org']);
    expect(found.get('ANA@example.org')?.address).toBe('ana@example.org');
    expect((await store.check(['bob@example.org'], undefined)).size).toBe(0);
    expect((await store.check(['bob@example.org'], 'receipts')).size).toBe(0);

    await store.add({ address: 'bob@example.org', scope: 'promo', reason: 'complaint', createdAt });
    expect(await store.remove('BOB@example.org', 'news')).toBe(true);
    expect(await store.remove('bob@example.org', 'news')).toBe(false);
    expect((await store.check(['bob@example.org'], 'promo')).size).toBe(1);
    expect(await store.remove('bob@example.org')).toBe(true);
    const listed: string[] = [];
    for await (const entry of store.list()) listed.push(`${entry.address} ${entry.scope}`);
    expect(listed).toEqual(['ana@example.org *']);
  });

  it('refuses entries that are not suppressions, and shrugs at hostile queries', async () => {
    const store = createMemorySuppressionStore();
    const createdAt = now();
    const bad: unknown[] = [
      null,
      'ana@example.org',
      { address: 'no-at-sign', scope: '*', reason: 'manual', createdAt },
      { address: 'ana@example.org', scope: '', reason: 'manual', createdAt },
      { address: 'ana@example.org', scope: '*', reason: 'because', createdAt },
      { address: 'ana@example.org', scope: '*', reason: 'manual', createdAt: 'yesterday-ish' },
      { address: 'ana@example.org', scope: '*', reason: 'manual', createdAt, expiresAt: 42 },
      { address: 'a\r\nb@example.org', scope: '*', reason: 'manual', createdAt },
      { address: `${'a'.repeat(400)}@example.org`, scope: '*', reason: 'manual', createdAt },
    ];
    for (const entry of bad) await expect(store.add(entry as Suppression)).rejects.toThrow(TypeError);
    expect((await store.check([42, null, '__proto__', 'constructor@x'] as never, '__proto__')).size).toBe(0);
    expect((await store.check('ana@example.org' as never, undefined)).size).toBe(0);
    expect(await store.remove(undefined as never)).toBe(false);
  });

  it('suppressionFilter reads the stream from metadata.stream, or from the function given', async () => {
    const store = createMemorySuppressionStore();
    await store.add({ address: 'ana@example.org', scope: 'news', reason: 'unsubscribe', createdAt: now() });
    const news = createMessage({ from, to: 'ana@example.org', metadata: { stream: 'news' } });
    const plain = createMessage({ from, to: 'ana@example.org', tags: ['news'] });
    expect((await suppressionFilter(store).check(['ana@example.org'], news)).size).toBe(1);
    expect((await suppressionFilter(store).check(['ana@example.org'], plain)).size).toBe(0);
    const byTag = suppressionFilter(store, { stream: (message) => message.tags[0] });
    expect((await byTag.check(['ana@example.org'], plain)).get('ana@example.org')).toMatchObject({ reason: 'unsubscribe', scope: 'news' });
  });
});
