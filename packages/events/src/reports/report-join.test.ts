/**
 * joinReport: the join order (VERP, ENVID, returned Message-ID, In-Reply-To), a forged VERP
 * address refused, a report about a message never sent dropped, recipients the message was not
 * sent to dropped, and stable ids. Send logs are @mailport/events' memory send log, and an
 * asynchronous one written here against the SendLog interface.
 */
import { verpAddress } from '@mailport/core/verp';
import { createMemorySendLog, type SendLog, type SendLogEntry } from '@mailport/events';
import { joinReport, parseReport, reportEvents } from '@mailport/events/reports';
import { describe, expect, it } from 'vitest';

const verp = { domain: 'bounces.shop.example', secret: 'join-test-verp-secret-0123456789' };

function entry(messageId: string, recipients: readonly string[] = ['ana@example.org']): SendLogEntry {
  return {
    messageId,
    providerMessageId: `p-${messageId}`,
    transport: 'smtp',
    recipients,
    tags: ['welcome'],
    metadata: { user: '42' },
    sentAt: '2026-10-01T10:00:00.000Z',
  };
}

/** A Postfix-shaped DSN; each identifier only when given. */
function dsn(options: {
  reportId?: string;
  envid?: string;
  originalId?: string;
  inReplyTo?: string;
  recipients?: readonly { address: string; action?: string; status?: string; diagnostic?: string }[];
}): string {
  const recipients = options.recipients ?? [
    { address: 'ana@example.org', action: 'failed', status: '5.1.1', diagnostic: 'smtp; 550 5.1.1 no such user' },
  ];
  return [
    'From: MAILER-DAEMON@mx.example.net (Mail Delivery System)',
    'To: bounces@shop.example',
    'Subject: Undelivered Mail Returned to Sender',
    'Date: Wed, 1 Oct 2026 10:05:00 +0000',
    ...(options.reportId === undefined ? [] : [`Message-ID: ${options.reportId}`]),
    ...(options.inReplyTo === undefined ? [] : [`In-Reply-To: ${options.inReplyTo}`]),
    'MIME-Version: 1.0',
    'Content-Type: multipart/report; report-type=delivery-status; boundary="b1"',
    '',
    '--b1',
    'Content-Type: text/plain',
    '',
    'Your message could not be delivered.',
    '--b1',
    'Content-Type: message/delivery-status',
    '',
    'Reporting-MTA: dns; mx.example.net',
    ...(options.envid === undefined ? [] : [`Original-Envelope-Id: ${options.envid}`]),
    '',
    ...recipients.flatMap((recipient) => [
      `Final-Recipient: rfc822; ${recipient.address}`,
      `Action: ${recipient.action ?? 'failed'}`,
      `Status: ${recipient.status ?? '5.1.1'}`,
      ...(recipient.diagnostic === undefined ? [] : [`Diagnostic-Code: ${recipient.diagnostic}`]),
      '',
    ]),
    '--b1',
    'Content-Type: text/rfc822-headers',
    '',
    ...(options.originalId === undefined ? ['Subject: hello'] : [`Message-ID: ${options.originalId}`, 'Subject: hello']),
    '',
    '--b1--',
    '',
  ].join('\r\n');
}

describe('joinReport', () => {
  it('joins by VERP first, then ENVID, then the returned Message-ID, then In-Reply-To', async () => {
    const sendLog = createMemorySendLog();
    for (const id of ['<by-verp@shop.example>', '<by-envid@shop.example>', '<by-original@shop.example>', '<by-reply@shop.example>']) {
      sendLog.record(entry(id));
    }
    const all = { envid: '<by-envid@shop.example>', originalId: '<by-original@shop.example>', inReplyTo: '<by-reply@shop.example>' };
    const envelopeTo = verpAddress('<by-verp@shop.example>', verp);

    const cases: [Parameters<typeof dsn>[0], string | undefined, string, string][] = [
      [all, envelopeTo, 'verp', '<by-verp@shop.example>'],
      [all, undefined, 'envid', '<by-envid@shop.example>'],
      [{ originalId: all.originalId, inReplyTo: all.inReplyTo }, undefined, 'message-id', '<by-original@shop.example>'],
      [{ inReplyTo: all.inReplyTo }, undefined, 'in-reply-to', '<by-reply@shop.example>'],
    ];
    for (const [fields, to, method, messageId] of cases) {
      const joined = await reportEvents(dsn(fields), { sendLog, source: 'smtp', verp, ...(to === undefined ? {} : { envelopeTo: to }) });
      expect(joined.joinedBy).toBe(method);
      expect(joined.events).toHaveLength(1);
      expect(joined.events[0]).toMatchObject({
        type: 'bounced',
        messageId,
        providerMessageId: `p-${messageId}`,
        recipient: 'ana@example.org',
        joinedBy: method,
        tags: ['welcome'],
        metadata: { user: '42' },
        bounce: { kind: 'hard', status: '5.1.1', diagnostic: 'smtp; 550 5.1.1 no such user', reportingMta: 'mx.example.net' },
      });
    }
  });

  it('refuses a report sent to a VERP address whose MAC does not verify, whatever else it names', async () => {
    const sendLog = createMemorySendLog();
    sendLog.record(entry('<real@shop.example>'));
    const genuine = verpAddress('<real@shop.example>', verp);
    const forgedMac = genuine.replace(/-([a-z2-7]{16})@/, (_, mac: string) => `-${mac.startsWith('a') ? 'b' : 'a'}${mac.slice(1)}@`);
    const otherSecret = verpAddress('<real@shop.example>', { ...verp, secret: 'someone-elses-secret-0123456789' });
    for (const envelopeTo of [forgedMac, otherSecret, forgedMac.toUpperCase()]) {
      const joined = await reportEvents(dsn({ originalId: '<real@shop.example>' }), { sendLog, source: 'smtp', verp, envelopeTo });
      expect(joined.events, envelopeTo).toEqual([]);
      expect(joined.joinedBy).toBeUndefined();
      expect(joined.reason).toMatch(/does not verify/);
    }
    // The genuine address joins; a non-VERP envelope recipient falls through to the other methods.
    expect((await reportEvents(dsn({}), { sendLog, source: 'smtp', verp, envelopeTo: genuine })).joinedBy).toBe('verp');
    const plain = await reportEvents(dsn({ originalId: '<real@shop.example>' }), {
      sendLog,
      source: 'smtp',
      verp,
      envelopeTo: 'postmaster@shop.example',
    });
    expect(plain.joinedBy).toBe('message-id');
  });

  it('drops a report about a message that was never sent, with a reason', async () => {
    const sendLog = createMemorySendLog();
    sendLog.record(entry('<sent@shop.example>'));
    const joined = await reportEvents(
      dsn({ originalId: '<never-sent@elsewhere.example>', envid: 'nope', inReplyTo: '<nor-this@x.example>' }),
      {
        sendLog,
        source: 'smtp',
      },
    );
    expect(joined.events).toEqual([]);
    expect(joined.joinedBy).toBeUndefined();
    expect(joined.reason).toMatch(/not in the send log/);
    // A VERP token that verifies but names nothing in the log is not enough either.
    const unknown = await reportEvents(dsn({}), {
      sendLog,
      source: 'smtp',
      verp,
      envelopeTo: verpAddress('<forgotten@shop.example>', verp),
    });
    expect(unknown.events).toEqual([]);
  });

  it('takes an ENVID as written or xtext-decoded, with or without brackets', async () => {
    const sendLog = createMemorySendLog();
    sendLog.record(entry('<a+b=c@shop.example>'));
    sendLog.record(entry('<bare@shop.example>'));
    const encoded = await reportEvents(dsn({ envid: '<a+2Bb+3Dc@shop.example>' }), { sendLog, source: 'smtp' });
    expect(encoded).toMatchObject({ joinedBy: 'envid', events: [{ messageId: '<a+b=c@shop.example>' }] });
    const bare = await reportEvents(dsn({ envid: 'bare@shop.example' }), { sendLog, source: 'smtp' });
    expect(bare).toMatchObject({ joinedBy: 'envid', events: [{ messageId: '<bare@shop.example>' }] });

    // Decoded, as RFC 3461 §6.3 and Postfix write it: a Message-ID holding "+2B" is not decoded again.
    sendLog.record(entry('<order+2B1@shop.example>'));
    const decoded = await reportEvents(dsn({ envid: '<order+2B1@shop.example>' }), { sendLog, source: 'smtp' });
    expect(decoded).toMatchObject({ joinedBy: 'envid', events: [{ messageId: '<order+2B1@shop.example>' }] });
  });

  it('leaves out recipients the message was not sent to (a forged bounce for someone else)', async () => {
    const sendLog = createMemorySendLog();
    sendLog.record(entry('<two@shop.example>', ['Ana@Example.org', 'ben@example.org']));
    const joined = await reportEvents(
      dsn({
        originalId: '<two@shop.example>',
        recipients: [
          { address: 'ana@EXAMPLE.ORG' },
          { address: 'carol@example.org' },
          { address: 'ben@example.org', action: 'delayed', status: '4.4.7' },
        ],
      }),
      { sendLog, source: 'smtp' },
    );
    expect(joined.events.map((event) => [event.type, event.recipient])).toEqual([
      ['bounced', 'ana@example.org'],
      ['deferred', 'ben@example.org'],
    ]);
    expect(joined.reason).toMatch(/1 recipient/);
  });

  it('classifies by status: 5.x.x hard, 4.x.x on a failure soft, none undetermined; delays are never bounces', async () => {
    const sendLog = createMemorySendLog();
    const recipients = ['a@x.example', 'b@x.example', 'c@x.example', 'd@x.example', 'e@x.example', 'f@x.example'];
    sendLog.record(entry('<classes@shop.example>', recipients));
    const joined = await reportEvents(
      dsn({
        originalId: '<classes@shop.example>',
        recipients: [
          { address: 'a@x.example', status: '5.2.2' },
          { address: 'b@x.example', status: '4.2.2' },
          { address: 'c@x.example', status: 'unknown' },
          { address: 'd@x.example', status: '5.0.0', action: 'delayed' },
          { address: 'e@x.example', status: '2.0.0', action: 'delivered' },
          { address: 'f@x.example', status: 'x', diagnostic: 'smtp; 452 mailbox full' },
        ],
      }),
      { sendLog, source: 'gmail' },
    );
    expect(joined.events.map((event) => [event.recipient, event.type, event.bounce?.kind])).toEqual([
      ['a@x.example', 'bounced', 'hard'],
      ['b@x.example', 'bounced', 'soft'],
      ['c@x.example', 'bounced', 'undetermined'],
      ['d@x.example', 'deferred', undefined],
      ['e@x.example', 'delivered', undefined],
      ['f@x.example', 'bounced', 'soft'],
    ]);
    expect(joined.events.every((event) => event.source === 'gmail')).toBe(true);
  });

  it('takes an event time only from a date that parses, not from one that merely looks like ISO 8601', async () => {
    const sendLog = createMemorySendLog();
    sendLog.record(entry('<timed@shop.example>'));
    const raw = dsn({ originalId: '<timed@shop.example>' });
    const lastAttempt = (value: string) => raw.replace('Action: failed', `Action: failed\r\nLast-Attempt-Date: ${value}`);
    const timestamp = async (source: string) => (await reportEvents(source, { sendLog, source: 'smtp' })).events[0]?.timestamp;
    expect(await timestamp(lastAttempt('Wed, 1 Oct 2026 10:04:00 +0000'))).toBe('2026-10-01T10:04:00.000Z');
    // Not a date: the report's own Date is used instead.
    expect(await timestamp(lastAttempt('2026-99-99T99:99:99Z'))).toBe('2026-10-01T10:05:00.000Z');
    const report = await parseReport(raw.replace('Date: Wed, 1 Oct 2026 10:05:00 +0000', 'Date: 2026-13-45T00:00:00Z'));
    expect(report.date).toBeUndefined();
  });

  it('gives stable ids: the same report twice, per source, and by hash when the report has no Message-ID', async () => {
    const sendLog = createMemorySendLog();
    sendLog.record(entry('<stable@shop.example>'));
    const withId = dsn({ reportId: '<report-1@mx.example.net>', originalId: '<stable@shop.example>' });
    const ids = async (raw: string, source: string) => (await reportEvents(raw, { sendLog, source })).events.map((event) => event.id);
    expect(await ids(withId, 'smtp')).toEqual(await ids(withId, 'smtp'));
    expect(await ids(withId, 'smtp')).not.toEqual(await ids(withId, 'gmail'));
    const noId = dsn({ originalId: '<stable@shop.example>' });
    expect(await ids(noId, 'smtp')).toEqual(await ids(noId, 'smtp'));
    expect(await ids(noId, 'smtp')).not.toEqual(await ids(`${noId}\r\n`, 'smtp'));
    expect((await ids(noId, 'smtp'))[0]).toMatch(/^[A-Za-z0-9_-]{32}$/);
  });

  it('works with an asynchronous send log, and does not consult it for a message that is no report', async () => {
    const calls: string[] = [];
    const stored = entry('<async@shop.example>');
    const sendLog: SendLog = {
      record: async () => {},
      get: async (id) => {
        calls.push(`get ${id}`);
        return id === stored.messageId ? stored : undefined;
      },
      getByProviderId: async () => undefined,
      getByVerpToken: async (token) => {
        calls.push(`verp ${token}`);
        return undefined;
      },
    };
    const joined = await reportEvents(dsn({ originalId: '<async@shop.example>' }), { sendLog, source: 'smtp' });
    expect(joined.joinedBy).toBe('message-id');
    calls.length = 0;
    const human = await reportEvents('From: a@b.example\r\nSubject: hi\r\nIn-Reply-To: <async@shop.example>\r\n\r\nthanks', {
      sendLog,
      source: 'smtp',
    });
    expect(human).toEqual({ events: [], joinedBy: undefined, reason: expect.stringMatching(/not a report/) });
    expect(calls).toEqual([]);
  });

  it('makes a not-spam or auth-failure feedback report an unknown event, not a complaint', async () => {
    const sendLog = createMemorySendLog();
    sendLog.record(entry('<fb@shop.example>'));
    for (const [feedbackType, type] of [
      ['abuse', 'complained'],
      ['not-spam', 'unknown'],
      ['auth-failure', 'unknown'],
    ] as const) {
      const raw = [
        'From: fbl@isp.example',
        'Content-Type: multipart/report; report-type=feedback-report; boundary="f"',
        '',
        '--f',
        'Content-Type: message/feedback-report',
        '',
        `Feedback-Type: ${feedbackType}`,
        'User-Agent: test/1',
        'Version: 1',
        'Original-Rcpt-To: <ana@example.org>',
        '',
        '--f',
        'Content-Type: text/rfc822-headers',
        '',
        'Message-ID: <fb@shop.example>',
        '',
        '--f--',
      ].join('\r\n');
      const joined = await reportEvents(raw, { sendLog, source: 'smtp' });
      expect(joined.events.map((event) => [event.type, event.recipient, event.complaint?.feedbackType])).toEqual([
        [type, 'ana@example.org', feedbackType],
      ]);
    }
  });

  it('caps the raw report an event carries at 64 KB', async () => {
    const sendLog = createMemorySendLog();
    sendLog.record(entry('<big@shop.example>'));
    const raw = dsn({ originalId: '<big@shop.example>' }).replace('Your message could not be delivered.', 'x'.repeat(200_000));
    const report = await parseReport(raw);
    const joined = await joinReport(report, { sendLog, source: 'smtp' });
    expect(joined.events).toHaveLength(1);
    expect(String(joined.events[0]?.raw).length).toBe(65_536);
  });
});

describe('joinReport with a feedback loop', () => {
  it('joins a complaint by the VERP address in Original-Mail-From when it reaches a feedback mailbox, and ignores a forged one', async () => {
    const sendLog = createMemorySendLog();
    sendLog.record(entry('<fbl@shop.example>'));
    const arf = (mailFrom: string) =>
      [
        'From: feedback@isp.example',
        'Content-Type: multipart/report; report-type=feedback-report; boundary="f"',
        '',
        '--f',
        'Content-Type: message/feedback-report',
        '',
        'Feedback-Type: abuse',
        'Version: 1',
        `Original-Mail-From: <${mailFrom}>`,
        'Original-Rcpt-To: <ana@example.org>',
        '',
        '--f--',
      ].join('\r\n');
    const genuine = await reportEvents(arf(verpAddress('<fbl@shop.example>', verp)), {
      sendLog,
      source: 'smtp',
      verp,
      envelopeTo: 'fbl@shop.example',
    });
    expect(genuine).toMatchObject({
      joinedBy: 'verp',
      events: [{ type: 'complained', recipient: 'ana@example.org', messageId: '<fbl@shop.example>' }],
    });
    const forged = verpAddress('<fbl@shop.example>', { ...verp, secret: 'a-different-secret-0123456789' });
    expect(await reportEvents(arf(forged), { sendLog, source: 'smtp', verp })).toMatchObject({
      events: [],
      reason: expect.stringMatching(/not in the send log/),
    });
  });

  it('rejects a VERP secret under 16 bytes (configuration, not the report)', async () => {
    await expect(
      joinReport(await parseReport('Auto-Submitted: auto-replied\r\n\r\nx'), {
        sendLog: createMemorySendLog(),
        source: 'smtp',
        verp: { domain: 'b.example', secret: 'short' },
        envelopeTo: 'x@b.example',
      }),
    ).rejects.toThrow(TypeError);
  });
});
