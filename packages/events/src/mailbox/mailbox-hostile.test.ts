import { createMailer } from '@mailport/core';
import { createMemorySendLog, type MailEvent } from '@mailport/events';
import { createGmailReportReader } from '@mailport/events/mailbox';
import { type Sandbox, startSandbox } from '@mailport/sandbox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// Anyone can mail the sending mailbox: what lands in its inbox is hostile until joined.
describe('mailbox readers and hostile mail in the inbox', () => {
  let sandbox: Sandbox;
  beforeAll(async () => {
    sandbox = await startSandbox();
  });
  afterAll(() => sandbox.close());

  /** Puts raw bytes into user@example.com's inbox: a message to oneself lands there. */
  const deliver = async (raw: string, target: Sandbox = sandbox): Promise<void> => {
    const token = target.tokens.issue({
      issuer: 'google',
      subject: 'user@example.com',
      clientId: 'test',
      scopes: ['https://mail.google.com/'],
    }).token;
    const response = await fetch(`${target.httpUrl}/gmail/v1/users/me/messages/send`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        raw: Buffer.from(`From: user@example.com\r\nTo: user@example.com\r\n${raw}`, 'latin1').toString('base64url'),
      }),
    });
    expect(response.status).toBe(200);
  };
  const dsn = (about: string, recipient: string, boundary = 'b1'): string =>
    [
      'Subject: Delivery Status Notification (Failure)',
      `Content-Type: multipart/report; report-type=delivery-status; boundary="${boundary}"`,
      '',
      `--${boundary}`,
      'Content-Type: message/delivery-status',
      '',
      'Reporting-MTA: dns; evil.example',
      '',
      `Final-Recipient: rfc822; ${recipient}`,
      'Action: failed',
      'Status: 5.1.1',
      '',
      `--${boundary}`,
      'Content-Type: text/rfc822-headers',
      '',
      `Message-ID: ${about}`,
      '',
      `--${boundary}--`,
      '',
    ].join('\r\n');

  it('a forged bounce for a recipient the message never had gives no event; malformed MIME never throws', async () => {
    const sendLog = createMemorySendLog();
    await using mailer = createMailer({ transport: sandbox.urls.gmail, sendLog });
    const real = await mailer.send({ from: 'user@example.com', to: 'ana@example.org', subject: 'Real', text: 'x' });
    await deliver(dsn(real.messageId, 'victim@example.org'));
    await deliver(dsn('<never-sent@example.com>', 'ana@example.org'));
    await deliver(
      `Subject: unterminated\r\nContent-Type: multipart/report; report-type=delivery-status; boundary="x"\r\n\r\n--x\r\nContent-Type: message/delivery-status\r\n\r\nAction: failed\r\n`,
    );
    await deliver(
      `Subject: deep\r\nContent-Type: multipart/mixed; boundary="a"\r\n\r\n${'--a\r\nContent-Type: multipart/mixed; boundary="a"\r\n\r\n'.repeat(500)}`,
    );
    await deliver(
      `Subject: ${'x'.repeat(60_000)}\r\nAuto-Submitted: auto-replied\r\nIn-Reply-To: ${'<'.repeat(5000)}\r\n\r\n\u00ff\u0000\u00fe`,
    );
    await deliver(
      `Subject: =?UTF-8?B?${'%%%'.repeat(100)}?=\r\nContent-Type: message/delivery-status\r\n\r\nFinal-Recipient: rfc822; ${'a'.repeat(10_000)}@x\r\nAction: failed\r\n`,
    );
    const seen: MailEvent[] = [];
    const reader = createGmailReportReader({ url: sandbox.urls.gmail, sendLog, onEvents: (events) => void seen.push(...events) });
    const result = await reader.poll();
    expect(result.read).toBe(6);
    expect(result.events).toBe(0);
    expect(result.skipped + result.unmatched).toBe(6);
    expect(seen).toEqual([]);
    expect((await reader.poll()).read).toBe(0);
  });

  it('leaves a message over maxMessageBytes alone and does not fetch it again', async () => {
    await using fresh = await startSandbox();
    await deliver(`Subject: big\r\n\r\n${'y'.repeat(20_000)}\r\n`, fresh);
    const reader = createGmailReportReader({
      url: fresh.urls.gmail,
      sendLog: createMemorySendLog(),
      onEvents: () => {},
      maxMessageBytes: 10_000,
    });
    expect(await reader.poll()).toEqual({ read: 1, events: 0, skipped: 1, unmatched: 0 });
    expect(await reader.poll()).toEqual({ read: 0, events: 0, skipped: 0, unmatched: 0 });
  });

  it('stops downloading a message far over maxMessageBytes (the answer is cut at the limit) and leaves it alone', async () => {
    await using fresh = await startSandbox();
    // 400 KB of message is about 530 KB of base64 in Gmail's JSON: past the 10,000-byte limit's allowance.
    await deliver(`Subject: huge\r\n\r\n${'z'.repeat(400_000)}\r\n`, fresh);
    const reader = createGmailReportReader({
      url: fresh.urls.gmail,
      sendLog: createMemorySendLog(),
      onEvents: () => {},
      maxMessageBytes: 10_000,
    });
    expect(await reader.poll()).toEqual({ read: 1, events: 0, skipped: 1, unmatched: 0 });
    expect(await reader.poll()).toEqual({ read: 0, events: 0, skipped: 0, unmatched: 0 });
    await reader.stop();
  });
});
