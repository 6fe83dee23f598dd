import { once } from 'node:events';
import { createMailer } from '@mailport/core';
import { parseVerpAddress, verpAddress, verpToken } from '@mailport/core/verp';
import { createMemorySendLog, type MailEvent } from '@mailport/events';
import { createBounceReceiver } from '@mailport/events/smtp';
import { type Sandbox, startSandbox } from '@mailport/sandbox';
import nodemailer from 'nodemailer';
import { afterEach, describe, expect, it } from 'vitest';

// The "SMTP loop": the application sends through the sandbox's SMTP server with VERP and
// DSN; the sandbox plays the MTA that cannot deliver and mails a Postfix report back to the VERP
// address, at the application's bounce receiver; the receiver joins it to the send log.

const domain = 'bounces.shop.example';
const secret = 'loop-verp-secret-0123456789abcdef';
const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  while (cleanup.length > 0) await cleanup.pop()?.();
});

interface Loop {
  readonly sandbox: Sandbox;
  readonly receiverPort: number;
  readonly sendLog: ReturnType<typeof createMemorySendLog>;
  /** Resolves with the next batch onEvents receives. */
  nextEvents(): Promise<readonly MailEvent[]>;
  mailer(parameters?: string): ReturnType<typeof createMailer>;
}

async function loop(): Promise<Loop> {
  const sendLog = createMemorySendLog();
  const waiting: ((events: readonly MailEvent[]) => void)[] = [];
  const receiver = await createBounceReceiver({
    domain,
    verp: { secret },
    sendLog,
    onEvents: (events) => waiting.shift()?.(events),
    port: 0,
  });
  cleanup.push(() => receiver.close());
  const sandbox = await startSandbox({ bounces: { smtp: `smtp://127.0.0.1:${receiver.port}` } });
  cleanup.push(() => sandbox.close());
  return {
    sandbox,
    receiverPort: receiver.port,
    sendLog,
    nextEvents: () => new Promise((resolve) => waiting.push(resolve)),
    mailer(parameters = '') {
      const mailer = createMailer({
        transport: `${sandbox.urls.smtp}&verp_domain=${domain}&verp_secret=${secret}&dsn=failure,delay&dsn_return=headers${parameters}`,
        sendLog,
      });
      cleanup.push(() => mailer.close());
      return mailer;
    },
  };
}

describe('the SMTP loop: sandbox bounces to the application receiver', () => {
  it('a send to bounce@ comes back as one bounced event with the receipt Message-ID, joined by VERP', async () => {
    const { sandbox, sendLog, nextEvents, mailer } = await loop();
    const arrived = nextEvents();
    const receipt = await mailer().send({
      from: 'shop@shop.example',
      to: 'bounce@simulator.amazonses.com',
      subject: 'Your order',
      text: 'Shipped.',
      tags: ['orders'],
      metadata: { order: '42' },
    });
    // The envelope sender was the VERP address, and the send log has it.
    const envelopeFrom = receipt.details?.envelopeFrom as string;
    expect(parseVerpAddress(envelopeFrom, { domain, secret })).toBe(verpToken(receipt.messageId));
    expect(sandbox.store.last()?.envelope.from).toBe(envelopeFrom);
    expect((await sendLog.get(receipt.messageId))?.envelopeFrom).toBe(envelopeFrom);

    const events = await arrived;
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      type: 'bounced',
      source: 'smtp',
      messageId: receipt.messageId,
      recipient: 'bounce@simulator.amazonses.com',
      joinedBy: 'verp',
      tags: ['orders'],
      metadata: { order: '42' },
      bounce: { kind: 'hard', status: '5.1.1', reportingMta: 'sandbox.mailport.test' },
    });
    // The sandbox records the report once the receiver has answered it.
    if (sandbox.events.list({ messageId: receipt.messageId }).length === 0) await once(sandbox.events.emitter, 'event');
    expect(sandbox.events.list({ messageId: receipt.messageId })).toMatchObject([
      { type: 'bounced', channel: 'smtp', recipient: 'bounce@simulator.amazonses.com' },
    ]);
  });

  it('delay@ comes back as deferred (4.4.7) and ooto@ as auto-replied, never as bounces', async () => {
    const { nextEvents, mailer } = await loop();
    const delayed = nextEvents();
    const first = await mailer().send({ from: 'shop@shop.example', to: 'delay@simulator.amazonses.com', text: 'x' });
    expect(await delayed).toMatchObject([{ type: 'deferred', messageId: first.messageId, joinedBy: 'verp', delay: { status: '4.4.7' } }]);
    const replied = nextEvents();
    const second = await mailer().send({ from: 'shop@shop.example', to: 'ooto@simulator.amazonses.com', subject: 'Hello', text: 'x' });
    expect(await replied).toMatchObject([{ type: 'auto-replied', messageId: second.messageId, joinedBy: 'verp' }]);
  });

  it('a bounce to a forged VERP address is refused at RCPT', async () => {
    const { receiverPort, nextEvents } = await loop();
    let delivered = false;
    void nextEvents().then(() => {
      delivered = true;
    });
    const forged = verpAddress('<order-1@shop.example>', { domain, secret: 'not-the-applications-secret' });
    const transporter = nodemailer.createTransport({ host: '127.0.0.1', port: receiverPort, secure: false, ignoreTLS: true });
    cleanup.push(async () => transporter.close());
    const error = await transporter.sendMail({ envelope: { from: '', to: [forged] }, raw: 'Subject: x\r\n\r\nx\r\n' }).then(
      () => undefined,
      (caught: unknown) => caught as { responseCode?: number; command?: string },
    );
    expect(error).toMatchObject({ responseCode: 550, command: 'RCPT TO' });
    expect(delivered).toBe(false);
  });
});
