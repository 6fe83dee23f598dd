import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createMailer } from '@mailport/core';
import type { MailEvent } from '@mailport/events';
import { createSesWebhook } from '@mailport/events/ses';
import { type Sandbox, startSandbox } from '@mailport/sandbox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// Through the public doors only: a message with tags and metadata sent by the SES transport to the
// sandbox, whose SES event destination posts signed SNS messages (signature version 2) to the
// application's webhook; the events must carry the message's own Message-ID, tags and metadata.

const topic = 'arn:aws:sns:us-east-1:123456789012:mailport-sandbox-events';

describe('SES events from the sandbox through createSesWebhook', () => {
  let sandbox: Sandbox;
  let server: Server;
  const events: MailEvent[] = [];

  beforeAll(async () => {
    server = createServer();
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const port = (server.address() as AddressInfo).port;
    sandbox = await startSandbox({ sesEvents: [{ endpoint: `http://127.0.0.1:${port}/hooks/ses`, signatureVersion: '2' }] });
    const webhook = createSesWebhook({
      topics: [topic],
      certificates: { hosts: [`127.0.0.1:${sandbox.httpsPort}`], ca: sandbox.ca },
      onEvents: (batch) => {
        events.push(...batch);
      },
    });
    server.on('request', webhook.node);
    await sandbox.sns.idle();
    expect(sandbox.sns.subscriptions()[0]?.state).toBe('confirmed');
  });

  afterAll(async () => {
    await sandbox?.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('gives back the message’s Message-ID, provider id, tags and metadata, and what the sandbox says it reported', async () => {
    await using mailer = createMailer({ transport: sandbox.urls.ses, retry: false });
    const receipt = await mailer.send({
      from: 'shop@example.com',
      to: ['bounce@simulator.amazonses.com', 'success@simulator.amazonses.com'],
      subject: 'Your order',
      text: 'Thanks',
      tags: ['welcome', 'receipt'],
      metadata: { plan: 'pro', orderId: 'A-42' },
    });
    await sandbox.sns.idle();
    const mine = events.filter((event) => event.messageId === receipt.messageId);
    expect(mine.map((event) => `${event.type} ${event.recipient}`).sort()).toEqual([
      'bounced bounce@simulator.amazonses.com',
      'delivered success@simulator.amazonses.com',
      'sent bounce@simulator.amazonses.com',
      'sent success@simulator.amazonses.com',
    ]);
    for (const event of mine) {
      expect(event.providerMessageId).toBe(receipt.providerMessageId);
      expect(event.tags).toEqual(['welcome', 'receipt']);
      expect(event.metadata).toEqual({ plan: 'pro', orderId: 'A-42' });
    }
    // The sandbox's own record of what it posted names the same outcomes.
    const reported = sandbox.events
      .list({ messageId: receipt.messageId })
      .filter((event) => event.channel === 'sns' && event.type !== 'sent')
      .map((event) => `${event.type} ${event.recipient}`)
      .sort();
    expect(reported).toEqual(['bounced bounce@simulator.amazonses.com', 'delivered success@simulator.amazonses.com']);
  });
});
