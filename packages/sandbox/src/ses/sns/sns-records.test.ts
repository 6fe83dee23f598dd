import { createVerify } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { type AcceptedSesMessage, sesEventRecords, simulatorScenario } from './sns-records.js';
import { snsSignature, snsSigningIdentity, snsStringToSign } from './sns-signing.js';

const base: AcceptedSesMessage = {
  storeId: 'm-000001',
  sesMessageId: '0100018c-aaaa-000000',
  operation: 'SendEmail (Raw)',
  raw: Buffer.from(
    'From: Shop <app@example.com>\r\nTo: a@example.org, "B, Bee" <b@example.org>\r\nSubject: hi\r\nMessage-ID: <x@email.amazonses.com>\r\n\r\nbody\r\n',
  ),
  source: 'app@example.com',
  recipients: ['a@example.org', 'b@example.org'],
  tags: [],
  configurationSet: undefined,
  region: 'eu-west-1',
  acceptedAt: Date.UTC(2026, 0, 2, 3, 4, 5, 678),
  rendered: true,
};

describe('simulatorScenario', () => {
  it.each([
    ['success@simulator.amazonses.com', 'success'],
    ['SUCCESS+label@Simulator.AmazonSES.com', 'success'],
    ['bounce@simulator.amazonses.com', 'bounce'],
    ['complaint+x+y@simulator.amazonses.com', 'complaint'],
    ['ooto@simulator.amazonses.com', 'ooto'],
    ['suppressionlist@simulator.amazonses.com', 'suppressionlist'],
    ['bounce@example.com', 'none'],
    ['bounce@simulator.amazonses.com.evil.test', 'none'],
    ['bounce@evil-simulator.amazonses.com', 'none'],
    ['@simulator.amazonses.com', 'none'],
    ['"bounce@x"@simulator.amazonses.com', 'none'],
    ['constructor@simulator.amazonses.com', 'none'],
    ['no-at-sign', 'none'],
    ['', 'none'],
  ])('%s -> %s', (address, scenario) => {
    expect(simulatorScenario(address)).toBe(scenario);
  });
});

describe('sesEventRecords', () => {
  it('builds the mail object as SES documents it: ISO times, tags by name, commonHeaders with display names', () => {
    const records = sesEventRecords({
      ...base,
      tags: [
        { Name: 'campaign', Value: 'spring' },
        { Name: 'campaign', Value: 'again' },
      ],
      configurationSet: 'default',
    });
    expect(records.map((record) => `${record.type} ${record.recipient}`)).toEqual([
      'sent a@example.org, b@example.org',
      'delivered a@example.org',
      'delivered b@example.org',
    ]);
    expect(records[0]?.record).toEqual({
      eventType: 'Send',
      send: {},
      mail: {
        timestamp: '2026-01-02T03:04:05.678Z',
        source: 'app@example.com',
        sourceArn: 'arn:aws:ses:eu-west-1:123456789012:identity/example.com',
        sendingAccountId: '123456789012',
        messageId: '0100018c-aaaa-000000',
        destination: ['a@example.org', 'b@example.org'],
        headersTruncated: false,
        headers: [
          { name: 'From', value: 'Shop <app@example.com>' },
          { name: 'To', value: 'a@example.org, "B, Bee" <b@example.org>' },
          { name: 'Subject', value: 'hi' },
          { name: 'Message-ID', value: '<x@email.amazonses.com>' },
        ],
        commonHeaders: {
          from: ['Shop <app@example.com>'],
          to: ['a@example.org', 'B, Bee <b@example.org>'],
          subject: 'hi',
          messageId: '<x@email.amazonses.com>',
        },
        tags: {
          campaign: ['spring', 'again'],
          'ses:operation': ['SendRawEmail'],
          'ses:configuration-set': ['default'],
          'ses:source-ip': ['127.0.0.1'],
          'ses:from-domain': ['example.com'],
          'ses:caller-identity': ['mailport-sandbox'],
        },
      },
    });
    expect(records[1]?.record.delivery).toEqual({
      timestamp: '2026-01-02T03:04:05.928Z',
      processingTimeMillis: 250,
      recipients: ['a@example.org'],
      smtpResponse: '250 2.6.0 Message received',
      reportingMTA: 'a8-70.smtp-out.amazonses.com',
      remoteMtaIp: '127.0.0.1',
    });
  });

  it('caps the headers it carries and says so; reads 8-bit headers as UTF-8', () => {
    const long = `X-Long: ${'a'.repeat(20_000)}\r\n`;
    const raw = Buffer.from(`Subject: caf\u00e9 \u2603\r\nFrom: a@example.com\r\n${long}Message-ID: <m@x>\r\n\r\nbody`, 'utf8');
    const [send] = sesEventRecords({ ...base, raw });
    const mail = send?.record.mail as { headersTruncated: boolean; headers: unknown[]; commonHeaders: Record<string, unknown> };
    expect(mail.headersTruncated).toBe(true);
    expect(mail.headers).toHaveLength(2);
    expect(mail.commonHeaders).toMatchObject({ subject: 'caf\u00e9 \u2603', messageId: '<m@x>' });
  });

  it('never throws on what it cannot read: no header section, an empty message, hostile names', () => {
    for (const raw of [
      Buffer.from('no blank line at all'),
      Buffer.alloc(0),
      Buffer.from('\u0000\u0001: x\r\n\r\n'),
      Buffer.from('\r\n\r\n'),
    ]) {
      const records = sesEventRecords({ ...base, raw });
      expect(records[0]?.record.eventType).toBe('Send');
    }
    const hostile = sesEventRecords({
      ...base,
      source: 'x',
      recipients: ['__proto__@simulator.amazonses.com', 'constructor@example.org'],
      tags: [{ Name: '__proto__', Value: 'polluted' }],
    });
    expect(hostile.map((record) => record.type)).toEqual(['sent', 'delivered', 'delivered']);
    const tags = JSON.parse(JSON.stringify(hostile[0]?.record.mail)).tags as Record<string, unknown>;
    expect(Object.getOwnPropertyDescriptor(tags, '__proto__')?.value).toEqual(['polluted']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('a template that failed to render: one Rendering Failure and nothing else', () => {
    const records = sesEventRecords({ ...base, raw: Buffer.alloc(0), rendered: false, operation: 'SendEmail (Template)' });
    expect(records.map((record) => [record.type, record.record.eventType])).toEqual([['failed', 'Rendering Failure']]);
  });
});

describe('SNS signing', () => {
  const notification = {
    Type: 'Notification' as const,
    MessageId: '22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324',
    TopicArn: 'arn:aws:sns:us-west-2:123456789012:MyTopic',
    Subject: 'My First Message',
    Message: 'Hello world!',
    Timestamp: '2012-05-02T00:54:06.655Z',
  };

  it("builds AWS's string to sign: the documented fields, in order, Subject only when present", () => {
    expect(snsStringToSign(notification)).toBe(
      'Message\nHello world!\nMessageId\n22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324\nSubject\nMy First Message\n' +
        'Timestamp\n2012-05-02T00:54:06.655Z\nTopicArn\narn:aws:sns:us-west-2:123456789012:MyTopic\nType\nNotification\n',
    );
    const { Subject: _, ...withoutSubject } = notification;
    expect(snsStringToSign(withoutSubject)).not.toContain('Subject');
    expect(
      snsStringToSign({ ...withoutSubject, Type: 'SubscriptionConfirmation', Token: 't0k', SubscribeURL: 'https://127.0.0.1/sns/confirm' }),
    ).toBe(
      'Message\nHello world!\nMessageId\n22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324\nSubscribeURL\nhttps://127.0.0.1/sns/confirm\n' +
        'Timestamp\n2012-05-02T00:54:06.655Z\nToken\nt0k\nTopicArn\narn:aws:sns:us-west-2:123456789012:MyTopic\nType\nSubscriptionConfirmation\n',
    );
  });

  it('signs v1 with SHA1withRSA and v2 with SHA256withRSA, verifiable with the served certificate alone', async () => {
    const { key, cert } = await snsSigningIdentity();
    for (const [version, algorithm, other] of [
      ['1', 'RSA-SHA1', 'RSA-SHA256'],
      ['2', 'RSA-SHA256', 'RSA-SHA1'],
    ] as const) {
      const signature = snsSignature(notification, version, key);
      const verify = (name: string, text: string): boolean => createVerify(name).update(text).verify(cert, signature, 'base64');
      expect(verify(algorithm, snsStringToSign(notification))).toBe(true);
      expect(verify(other, snsStringToSign(notification))).toBe(false);
      expect(verify(algorithm, snsStringToSign({ ...notification, Message: 'Hello world?' }))).toBe(false);
    }
  });
});
