import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import { createMailer } from '@mailport/core';
import type { MailEvent } from '@mailport/events';
import { createSesWebhook } from '@mailport/events/ses';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Sandbox, startSandbox } from '../../sandbox.js';

// End to end: the sandbox's SES event destination posts to @mailport/events' own SNS webhook,
// which confirms the subscription, verifies every signature against the sandbox's certificate
// and parses the SES records.

const simulator = (local: string): string => `${local}@simulator.amazonses.com`;
const topicV1 = 'arn:aws:sns:us-east-1:123456789012:mailport-sandbox-events';
const topicV2 = 'arn:aws:sns:us-east-1:123456789012:events-v2';

async function listen(server: Server): Promise<number> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as { port: number }).port;
}

describe('the sandbox SES event destination into createSesWebhook', () => {
  let sandbox: Sandbox;
  let server: Server;
  let port: number;
  const events: MailEvent[] = [];
  let failNext = 0;

  beforeAll(async () => {
    server = createServer();
    port = await listen(server);
    sandbox = await startSandbox({
      sesEvents: [{ endpoint: `http://sns:${encodeURIComponent('s3cret:pw')}@127.0.0.1:${port}/ses`, retryDelaysMs: [20, 20] }],
    });
    const webhook = createSesWebhook({
      topics: [topicV1, topicV2],
      basicAuth: { username: 'sns', password: 's3cret:pw' },
      certificates: { hosts: [`127.0.0.1:${sandbox.httpsPort}`], ca: sandbox.ca },
      onEvents: (batch) => {
        if (failNext > 0) {
          failNext -= 1;
          throw new Error('database down');
        }
        events.push(...batch);
      },
    });
    server.on('request', webhook.node);
    await sandbox.sns.idle();
    expect(sandbox.sns.subscriptions()[0]?.state).toBe('confirmed');
  });
  afterAll(async () => {
    await sandbox.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('confirms the subscription by itself (behind basic auth) and gets every simulator outcome, joined to the receipt', async () => {
    const added = sandbox.sns.subscribe({
      endpoint: `http://sns:s3cret%3Apw@127.0.0.1:${port}/ses`,
      topicArn: topicV2,
      signatureVersion: '2',
    });
    await sandbox.sns.idle();
    expect(sandbox.sns.subscriptions().find((entry) => entry.subscriptionArn === added.subscriptionArn)?.state).toBe('confirmed');

    await using mailer = createMailer({ transport: sandbox.urls.ses, retry: false });
    const to = ['success', 'bounce', 'complaint', 'ooto', 'suppressionlist'].map(simulator);
    const receipt = await mailer.send({ from: 'app@example.com', to, subject: 'end to end', text: 'x', tags: ['e2e'] });
    await sandbox.sns.idle();

    const mine = events.filter((event) => event.providerMessageId === receipt.providerMessageId);
    // Two topics (signature versions 1 and 2): each event twice, with the same id.
    const ids = new Set(mine.map((event) => event.id));
    expect(mine).toHaveLength(ids.size * 2);
    const unique = [...new Map(mine.map((event) => [event.id, event])).values()];
    expect(unique.map((event) => `${event.type} ${event.recipient ?? '*'}`).sort()).toEqual(
      [
        ...to.map((recipient) => `sent ${recipient}`),
        `delivered ${simulator('success')}`,
        `bounced ${simulator('bounce')}`,
        `delivered ${simulator('complaint')}`,
        `complained ${simulator('complaint')}`,
        `delivered ${simulator('ooto')}`,
        `bounced ${simulator('suppressionlist')}`,
      ].sort(),
    );
    for (const event of unique) {
      expect(event.source).toBe('ses');
      expect(event.messageId).toBe(receipt.messageId);
    }
    const bounce = unique.find((event) => event.recipient === simulator('bounce') && event.type === 'bounced');
    expect(bounce?.bounce).toMatchObject({ kind: 'hard', status: '5.1.1', diagnostic: 'smtp; 550 5.1.1 user unknown' });
    const suppressed = unique.find((event) => event.recipient === simulator('suppressionlist') && event.type === 'bounced');
    expect(suppressed?.bounce?.kind).toBe('hard');
    expect(unique.find((event) => event.type === 'complained')?.complaint?.feedbackType).toBe('abuse');
    expect(sandbox.sns.subscriptions().every((entry) => entry.failed === 0)).toBe(true);
  });

  it('a 500 from the application is retried with the same MessageId, and the retry yields the same event id', async () => {
    const before = events.length;
    failNext = 1;
    sandbox.events.clear();
    await using mailer = createMailer({ transport: sandbox.urls.ses, retry: false });
    const receipt = await mailer.send({ from: 'app@example.com', to: simulator('success'), subject: 'retry', text: 'x' });
    await sandbox.sns.idle();
    const details = sandbox.events.list({ messageId: receipt.messageId }).map((event) => event.detail);
    expect(details.some((detail) => detail.endsWith('-> 401, with credentials -> 500 (attempt 1)'))).toBe(true);
    expect(details.some((detail) => detail.endsWith('-> 401, with credentials -> 200 (attempt 2)'))).toBe(true);
    const mine = events.slice(before).filter((event) => event.providerMessageId === receipt.providerMessageId);
    // Send and Delivery, on two topics: four events, two distinct ids.
    expect(mine).toHaveLength(4);
    expect(new Set(mine.map((event) => event.id)).size).toBe(2);
  });
});
