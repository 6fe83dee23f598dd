import { simpleParser } from 'mailparser';
import { describe, expect, it } from 'vitest';
import { buildSmtpReport } from './postfix-report.js';

// The reports' shape holds whatever the original looked like; read back with mailparser.

const now = new Date('2026-12-06T23:40:01Z');
const input = (raw: Buffer | string) => ({
  raw: Buffer.from(raw),
  envelopeFrom: 'bounces+abc@bounces.shop.example',
  recipient: 'bounce@simulator.amazonses.com',
  arrivedAt: now,
  now,
});

describe('buildSmtpReport', () => {
  it('writes the Postfix layout: dates as mail_date, the boundary as queue id, time and host', async () => {
    const report = await buildSmtpReport('bounce', {
      ...input('Message-ID: <a@b>\r\nSubject: x\r\n\r\nbody\r\n'),
      envid: 'a+2Bb',
      ret: 'HDRS',
    });
    const text = report.raw.toString('utf8');
    expect(text).toMatch(/^Date: Sun, {2}6 Dec 2026 23:40:01 \+0000 \(UTC\)\r\n/);
    expect(text).toMatch(/boundary="[0-9A-F]{10}\.1796600401\/sandbox\.mailport\.test"/);
    expect(text).toContain('\r\nOriginal-Envelope-Id: a+2Bb\r\n');
    expect(text).toContain('\r\nContent-Description: Undelivered Message Headers\r\n');
    expect(report).toMatchObject({ type: 'bounced', subject: 'Undelivered Mail Returned to Sender', status: '5.1.1' });
    expect(text.endsWith('--\r\n')).toBe(true);
  });

  it('keeps three parts for hostile originals: no header, bare LF, a line that looks like a boundary, binary', async () => {
    const originals = [
      '',
      'no header at all',
      'Subject: x\n\nbare LF\n',
      'Subject: x\r\nX-Boundary: --SANDBOX\r\n\r\n--X.1/sandbox.mailport.test--\r\n',
      Buffer.from([0xff, 0xfe, 0x00, 0x0d, 0x0a, 0x0d, 0x0a, 0x80]),
      `Subject: ${'=?utf-8?B?'.repeat(200)}\r\nMessage-ID: <${'x'.repeat(2000)}@y>\r\n\r\nx`,
    ];
    for (const original of originals) {
      for (const scenario of ['bounce', 'delay'] as const) {
        const report = await buildSmtpReport(scenario, input(original));
        const parsed = await simpleParser(report.raw, { keepDeliveryStatus: true });
        expect(parsed.attachments.map((attachment) => attachment.contentType)).toEqual([
          'message/delivery-status',
          scenario === 'bounce' ? 'message/rfc822' : 'text/rfc822-headers',
        ]);
        expect(parsed.text).toContain('This is the mail system at host sandbox.mailport.test.');
      }
      const reply = await buildSmtpReport('ooto', input(original));
      expect((await simpleParser(reply.raw)).headers.get('auto-submitted')).toBe('auto-replied');
    }
  });
});
