import { simpleParser } from 'mailparser';
import { describe, expect, it } from 'vitest';
import { exchangeReport, gmailReport, type MailboxScenario, mailboxScenarioOf } from './mailbox-reports.js';

const scenarios: MailboxScenario[] = ['bounce', 'delay', 'ooto'];

describe('mailbox report builders', () => {
  it('knows the scenario recipients, +labels included, and nobody else', () => {
    expect(mailboxScenarioOf('bounce@simulator.amazonses.com')).toBe('bounce');
    expect(mailboxScenarioOf(' Delay+x@SIMULATOR.amazonses.com ')).toBe('delay');
    expect(mailboxScenarioOf('ooto@simulator.amazonses.com')).toBe('ooto');
    for (const other of ['success@simulator.amazonses.com', 'bounce@simulator.amazonses.com.evil.example', 'bounce@example.com', '']) {
      expect(mailboxScenarioOf(other)).toBeUndefined();
    }
  });

  // What a sender can put in its message ends up in the report: it must stay one well-formed message.
  it.each([
    ['no Message-ID, no Subject, no body', 'From: a@example.com\r\nTo: bounce@simulator.amazonses.com\r\n'],
    ['a folded, encoded, 8-bit Subject', 'Subject: =?UTF-8?B?w7w=?= \xff\xfe\r\n\tcontinued\r\nMessage-ID: <a@b>\r\n\r\nbody\r\n'],
    ['header injection attempts', 'Subject: x\r\n\r\nBcc: victim@example.org\r\nMessage-ID: <x@y>\r\n'],
    ['a Message-ID with spaces and no brackets', 'Message-ID: not an id at all\r\nSubject: hi\r\n\r\n.\r\n'],
    ['a boundary-looking body', 'Subject: b\r\nMessage-ID: <b@c>\r\n\r\n----_NmP-0000000000000000-Part_1--\r\n'],
  ])('%s: every report parses as one message to the sender', async (_name, text) => {
    const raw = Buffer.from(text, 'latin1');
    const message = { raw, sender: 'user@example.com', recipient: 'bounce@simulator.amazonses.com', sentAt: new Date(0) };
    for (const build of [gmailReport, exchangeReport]) {
      for (const scenario of scenarios) {
        const report = await build(scenario, message, { now: new Date(1000) });
        const parsed = await simpleParser(report.raw);
        expect([parsed.to ?? []].flat()[0]?.value[0]?.address).toBe('user@example.com');
        expect(parsed.headers.get('bcc')).toBeUndefined();
        expect(parsed.headers.get('auto-submitted')).toBe('auto-replied');
        expect(report.type).toBe(scenario === 'bounce' ? 'bounced' : scenario === 'delay' ? 'deferred' : 'auto-replied');
      }
    }
  });
});
