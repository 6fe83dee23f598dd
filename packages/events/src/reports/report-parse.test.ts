/**
 * parseReport's decisions, table by table: what is an auto-reply (and what is not), the
 * plain-text bounce readers, and the field readers against RFC 3464's own syntax.
 */
import { parseReport } from '@mailport/events/reports';
import { describe, expect, it } from 'vitest';
import { readDeliveryStatus } from './report-dsn.js';
import { addressOf, decodeXtext, messageIdOf, readFields, statusIn, statusOf } from './report-fields.js';

const message = (headers: readonly string[], body = 'Hello.'): string => [...headers, '', body].join('\r\n');

describe('auto-replies', () => {
  it.each([
    [['Auto-Submitted: auto-replied'], 'rfc3834', 'Auto-Submitted: auto-replied'],
    [['Auto-Submitted: auto-generated; owner-email="x@y.example"'], 'rfc3834', 'Auto-Submitted: auto-generated'],
    [['X-Autoreply: yes'], 'auto-reply-header', 'x-autoreply: yes'],
    [['X-Autorespond: Out of office'], 'auto-reply-header', 'x-autorespond: Out of office'],
    [['Precedence: auto_reply'], 'auto-reply-header', 'Precedence: auto_reply'],
    [['X-Apple-Action: VACATION'], 'auto-reply-header', 'X-Apple-Action: VACATION'],
    [
      ['X-Auto-Response-Suppress: All', 'Subject: Automatic reply: Your order'],
      'auto-reply-subject',
      'X-Auto-Response-Suppress and the subject',
    ],
    [
      ['X-MS-Exchange-Inbox-Rules-Loop: ana@example.org', 'Subject: Out of Office: Your order'],
      'auto-reply-subject',
      'X-MS-Exchange-Inbox-Rules-Loop and the subject',
    ],
    [['Precedence: junk', 'Subject: Autoreply: hi'], 'auto-reply-subject', 'Precedence: junk and the subject'],
  ])('%j is an auto-reply (%s)', async (headers, format, marker) => {
    const report = await parseReport(message(['From: Ana <ana@example.org>', 'Message-ID: <r@example.org>', ...headers]));
    expect(report).toMatchObject({ kind: 'auto-reply', format, autoReply: { from: 'ana@example.org', marker } });
  });

  it.each([
    [['Auto-Submitted: no', 'X-Autoreply: yes']],
    [['X-Auto-Response-Suppress: OOF, AutoReply', 'Subject: Your invoice']],
    [['X-MS-Exchange-Inbox-Rules-Loop: ana@example.org', 'Subject: FW: meeting']],
    [['Precedence: bulk', 'Subject: Weekly digest']],
    [['Precedence: list', 'Subject: Automatic reply: not from a header that says so']],
    [['Subject: Out of office', 'In-Reply-To: <m@shop.example>']],
    [['X-Autoreply: no']],
  ])('%j is not', async (headers) => {
    expect((await parseReport(message(['From: ana@example.org', ...headers]))).kind).toBe('unrecognised');
  });

  it('never calls a mailer daemon auto-reply, even with Auto-Submitted (an unreadable bounce stays unrecognised)', async () => {
    const report = await parseReport(
      message(['From: Mail Delivery System <MAILER-DAEMON@mx.example.net>', 'Auto-Submitted: auto-replied'], 'Something went wrong.'),
    );
    expect(report.kind).toBe('unrecognised');
    expect(report.warnings).toEqual(['the message comes from a mail system but names no recipient that failed']);
  });
});

describe('plain-text bounces', () => {
  it('reads an Exim delay warning as delayed, with the address and its reason', async () => {
    const report = await parseReport(
      message(
        [
          'From: Mail Delivery System <Mailer-Daemon@mx.example.net>',
          'Subject: Warning: message 1abcDE-000123-Xy delayed 24 hours',
          'Auto-Submitted: auto-replied',
        ],
        [
          'This message was created automatically by mail delivery software.',
          'A message that you sent has not yet been delivered to one or more of its',
          'recipients after more than 24 hours on the queue on mx.example.net.',
          '',
          'The message identifier is:     1abcDE-000123-Xy',
          '',
          'The address to which the message has not yet been delivered is:',
          '',
          '  slow@example.org',
          '    host mx.example.org [192.0.2.7]: 451 4.7.1 Greylisted, try later',
          '',
          'No action is required on your part.',
        ].join('\r\n'),
      ),
    );
    expect(report).toMatchObject({ kind: 'delivery-status', format: 'exim', origin: 'exim' });
    expect(report.recipients).toEqual([
      {
        finalRecipient: 'slow@example.org',
        originalRecipient: undefined,
        action: 'delayed',
        status: '4.7.1',
        diagnosticCode: 'host mx.example.org [192.0.2.7]: 451 4.7.1 Greylisted, try later',
        remoteMta: 'mx.example.org',
        willRetryUntil: undefined,
        lastAttemptDate: undefined,
      },
    ]);
  });

  it('falls back to X-Failed-Recipients, and finds the returned Message-ID in the text', async () => {
    const report = await parseReport(
      message(
        ['From: postmaster@mx.example.net', 'X-Failed-Recipients: a@example.org, <B@Example.ORG>, not an address'],
        'Delivery failed.\r\n\r\nMessage-ID: <orig@shop.example>\r\nSubject: hi',
      ),
    );
    expect(report).toMatchObject({
      kind: 'delivery-status',
      format: 'x-failed-recipients',
      original: { messageId: '<orig@shop.example>' },
    });
    expect(report.recipients.map((recipient) => [recipient.finalRecipient, recipient.action])).toEqual([
      ['a@example.org', 'failed'],
      ['B@example.org', 'failed'],
    ]);
  });

  it('does not read DSN-like lines in a person’s message', async () => {
    const report = await parseReport(
      message(['From: ana@example.org'], 'Final-Recipient: rfc822; x@y.example\r\nAction: failed\r\nStatus: 5.1.1'),
    );
    expect(report.kind).toBe('unrecognised');
  });
});

describe('internationalised reports (RFC 6533)', () => {
  it('reads message/global-delivery-status with a utf-8 address type and message/global-headers', async () => {
    const report = await parseReport(
      [
        'From: MAILER-DAEMON@mx.example.net',
        'Content-Type: multipart/report; report-type=global-delivery-status; boundary="g"',
        '',
        '--g',
        'Content-Type: message/global-delivery-status',
        '',
        'Reporting-MTA: dns; mx.example.net',
        '',
        'Final-Recipient: utf-8; ñandú@example.org',
        'Action: failed',
        'Status: 5.1.1',
        '',
        '--g',
        'Content-Type: message/global-headers',
        '',
        'Message-ID: <intl@shop.example>',
        'Subject: ¡Hola!',
        '',
        '--g--',
      ].join('\r\n'),
    );
    expect(report).toMatchObject({
      kind: 'delivery-status',
      format: 'rfc3464',
      original: { messageId: '<intl@shop.example>', subject: '¡Hola!' },
    });
    expect(report.recipients.map((recipient) => [recipient.finalRecipient, recipient.status])).toEqual([['ñandú@example.org', '5.1.1']]);
  });
});

describe('field readers', () => {
  it('reads the RFC 3464 §2 syntax: groups, folding, typed values, comments after the status', () => {
    const { message: perMessage, recipients } = readDeliveryStatus(
      readFields(
        [
          'Reporting-MTA: dns; cs.utk.edu',
          'Original-Envelope-Id: QQ314159+2B2',
          'Arrival-Date: Thu, 7 Jul 1994 17:15:49 -0400',
          '',
          'Original-Recipient: rfc822;louisl@larry.slip.umd.edu',
          'Final-Recipient: rfc822;louisl@larry.slip.umd.edu',
          'Action: failed',
          'Status: 4.0.0 (connection timed out)',
          'Diagnostic-Code: smtp; 426 connection timed out',
          '  after three tries',
          'Last-Attempt-Date: Thu, 7 Jul 1994 17:15:49 -0400',
          'Will-Retry-Until: Fri, 8 Jul 1994 17:15:49 -0400 (EDT)',
          'Remote-MTA: dns; larry.slip.umd.edu',
        ].join('\r\n'),
      ),
    );
    expect(perMessage).toEqual({
      reportingMta: 'cs.utk.edu',
      arrivalDate: '1994-07-07T21:15:49.000Z',
      // As written: joinReport tries it as is and xtext-decoded ('QQ314159+2').
      originalEnvelopeId: 'QQ314159+2B2',
      originalMessageId: undefined,
    });
    expect(recipients).toEqual([
      {
        finalRecipient: 'louisl@larry.slip.umd.edu',
        originalRecipient: 'louisl@larry.slip.umd.edu',
        action: 'failed',
        status: '4.0.0',
        diagnosticCode: 'smtp; 426 connection timed out after three tries',
        remoteMta: 'larry.slip.umd.edu',
        willRetryUntil: '1994-07-08T21:15:49.000Z',
        lastAttemptDate: '1994-07-07T21:15:49.000Z',
      },
    ]);
  });

  it('splits recipients without blank lines where a field repeats', () => {
    const { recipients } = readDeliveryStatus(
      readFields('Final-Recipient: rfc822; a@x.example\nAction: failed\nFinal-Recipient: rfc822; b@x.example\nAction: delayed'),
    );
    expect(recipients.map((recipient) => [recipient.finalRecipient, recipient.action])).toEqual([
      ['a@x.example', 'failed'],
      ['b@x.example', 'delayed'],
    ]);
  });

  it.each([
    ['rfc822; Ana@Example.ORG', 'Ana@example.org'],
    ['RFC822; <ana@example.org>', 'ana@example.org'],
    ['rfc/822;ana@example.org', 'ana@example.org'],
    ['x400; /G=ana/S=x/', undefined],
    ['rfc822; not an address', undefined],
    ['rfc822; a@', undefined],
  ])('addressOf(%j) is %j', (value, expected) => {
    expect(addressOf(value)).toBe(expected);
  });

  it('reads status codes, xtext and Message-IDs', () => {
    expect(statusOf('5.1.10 (RESOLVER)')).toBe('5.1.10');
    expect(statusOf('2.0.0')).toBe('2.0.0');
    expect(statusOf('6.1.1')).toBeUndefined();
    expect(statusOf('5.1.1234')).toBeUndefined();
    expect(statusIn('smtp; 550-5.1.1 The email account does not exist')).toBe('5.1.1');
    expect(statusIn('host 10.0.0.1 said 550 no')).toBeUndefined();
    expect(decodeXtext('<a+2Bb+3Dc@x>+ZZ+2')).toBe('<a+b=c@x>+ZZ+2');
    expect(messageIdOf(' <a@b> <c@d>')).toBe('<a@b>');
    expect(messageIdOf('8787KJKJ.mail@example.net')).toBe('<8787KJKJ.mail@example.net>');
    expect(messageIdOf('no id here')).toBeUndefined();
  });
});
