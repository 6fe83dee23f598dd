/**
 * The fixture corpus (packages/events/test/fixtures/reports): real reports from the sisimai
 * project's set-of-emails and the RFCs' own examples, each with a .json of the report fields and
 * the events it must give once the send log knows the message. mailparser reads the MIME; the
 * expected values were checked by hand against each .eml.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { verpAddress } from '@mailport/core/verp';
import { createMemorySendLog } from '@mailport/events';
import { joinReport, parseReport, reportEvents } from '@mailport/events/reports';
import { describe, expect, it } from 'vitest';

const directory = new URL('../../test/fixtures/reports/', import.meta.url);
const verp = { domain: 'bounces.shop.example', secret: 'corpus-verp-secret-0123456789' };

interface Fixture {
  readonly origin: string;
  readonly description: string;
  readonly sent?: { readonly messageId: string; readonly recipients: readonly string[]; readonly verp?: boolean };
  readonly report: Record<string, unknown>;
  readonly events: readonly Record<string, unknown>[];
  readonly reason?: string;
}

const names = readdirSync(directory)
  .filter((name) => name.endsWith('.eml'))
  .map((name) => name.slice(0, -4))
  .sort();

function load(name: string): { raw: Buffer; fixture: Fixture } {
  return {
    raw: readFileSync(new URL(`${name}.eml`, directory)),
    fixture: JSON.parse(readFileSync(new URL(`${name}.json`, directory), 'utf8')) as Fixture,
  };
}

/** What JSON keeps of a value (undefined fields dropped), for comparing with the .json files. */
const plain = (value: unknown): unknown => JSON.parse(JSON.stringify(value));

function sendLogFor(name: string, fixture: Fixture) {
  const sendLog = createMemorySendLog();
  if (fixture.sent !== undefined) {
    sendLog.record({
      messageId: fixture.sent.messageId,
      providerMessageId: `provider-${name}`,
      transport: 'smtp',
      recipients: fixture.sent.recipients,
      tags: ['corpus'],
      metadata: { fixture: name },
      sentAt: '2026-01-01T00:00:00.000Z',
    });
  }
  return sendLog;
}

describe('report corpus', () => {
  it('has a .json for every .eml and a README line for each', () => {
    const readme = readFileSync(new URL('README.md', directory), 'utf8');
    expect(names.length).toBeGreaterThanOrEqual(20);
    for (const name of names) {
      expect(() => load(name), name).not.toThrow();
      expect(readme, name).toContain(`${name}.eml`);
    }
  });

  it.each(names)('%s: parses to the expected report and events', async (name) => {
    const { raw, fixture } = load(name);
    const report = await parseReport(raw);
    const { raw: source, sourceHash, warnings: _warnings, ...fields } = report;
    expect(plain(fields)).toEqual(fixture.report);
    expect(Object.isFrozen(report)).toBe(true);
    expect(source.length).toBeLessThanOrEqual(65_536);
    expect(sourceHash).toMatch(/^[A-Za-z0-9_-]{43}$/);

    const sendLog = sendLogFor(name, fixture);
    const envelopeTo = fixture.sent?.verp === true ? verpAddress(fixture.sent.messageId, verp) : undefined;
    const joined = await joinReport(report, { sendLog, source: 'smtp', verp, ...(envelopeTo === undefined ? {} : { envelopeTo }) });
    expect(
      joined.events.map((event) => ({
        type: event.type,
        recipient: event.recipient ?? null,
        joinedBy: event.joinedBy,
        ...(event.bounce === undefined ? {} : { bounce: plain(event.bounce) }),
        ...(event.delay === undefined ? {} : { delay: plain(event.delay) }),
        ...(event.complaint === undefined ? {} : { complaint: plain(event.complaint) }),
      })),
    ).toEqual(fixture.events);
    expect(joined.reason).toBe(fixture.reason);
    for (const event of joined.events) {
      const entry = await sendLog.get(fixture.sent?.messageId ?? '');
      expect(event.messageId).toBe(entry?.messageId);
      expect(event.providerMessageId).toBe(`provider-${name}`);
      expect(event.source).toBe('smtp');
      expect(event.tags).toEqual(['corpus']);
      expect(event.metadata).toEqual({ fixture: name });
      expect(event.raw).toBe(source);
      expect(Number.isFinite(Date.parse(event.timestamp))).toBe(true);
      expect(Object.isFrozen(event)).toBe(true);
    }

    // The same report read again (a mailbox polled twice, an SMTP retry) gives the same ids.
    const again = await reportEvents(raw, { sendLog, source: 'smtp', verp, ...(envelopeTo === undefined ? {} : { envelopeTo }) });
    expect(again.events.map((event) => event.id)).toEqual(joined.events.map((event) => event.id));
    expect(new Set(joined.events.map((event) => event.id)).size).toBe(joined.events.length);
  });

  it('never files a delay notice or an auto-reply as a bounce', async () => {
    for (const name of names) {
      const { raw, fixture } = load(name);
      const report = await parseReport(raw);
      const joined = await joinReport(report, {
        sendLog: sendLogFor(name, fixture),
        source: 'smtp',
        verp,
        ...(fixture.sent?.verp === true ? { envelopeTo: verpAddress(fixture.sent.messageId, verp) } : {}),
      });
      if (report.kind === 'auto-reply')
        expect(
          joined.events.every((event) => event.type === 'auto-replied'),
          name,
        ).toBe(true);
      for (const recipient of report.recipients) {
        if (recipient.action !== 'delayed') continue;
        const event = joined.events.find((candidate) => candidate.recipient === (recipient.originalRecipient ?? recipient.finalRecipient));
        expect(event?.type, name).toBe('deferred');
      }
    }
  });
});
