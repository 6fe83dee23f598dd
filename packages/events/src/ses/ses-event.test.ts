import { createMessage } from '@mailport/core';
import { describe, expect, it } from 'vitest';
import { sesEmailTags } from '../../../transport-ses/src/ses-request.js';
import {
  bounceRecord,
  clickRecord,
  complaintRecord,
  coreMessageId,
  deliveryDelayRecord,
  deliveryRecord,
  identityBounce,
  identityComplaint,
  identityDelivery,
  mail,
  openRecord,
  optInRecord,
  rejectRecord,
  renderingFailureRecord,
  sendRecord,
  sesMessageId,
  subscriptionRecord,
  transientBounceRecord,
} from '../../test/ses/ses-fixtures.js';
import { eventId, mailEventTypes } from '../model.js';
import { parseSesEvent } from './ses-event.js';

/** The fields a table can compare (no raw, no ids). */
function summary(record: unknown) {
  return parseSesEvent(record).map(({ raw, id, tags, metadata, messageId, providerMessageId, source, ...rest }) => rest);
}

describe('parseSesEvent: every SES type', () => {
  it('Bounce: one event per bounced recipient, hard for Permanent, with status, diagnostic and reporting MTA', () => {
    const events = parseSesEvent(bounceRecord);
    expect(events).toHaveLength(2);
    expect(summary(bounceRecord)).toEqual([
      {
        type: 'bounced',
        timestamp: '2026-12-06T10:00:03.120Z',
        recipient: 'ana@example.org',
        bounce: {
          kind: 'hard',
          providerKind: 'Permanent/General',
          reportingMta: 'a8-1.smtp-out.amazonses.com',
          status: '5.1.1',
          diagnostic: 'smtp; 550 5.1.1 user unknown',
        },
        providerEventType: 'Bounce',
      },
      {
        type: 'bounced',
        timestamp: '2026-12-06T10:00:03.120Z',
        recipient: 'Bo@example.org',
        bounce: {
          kind: 'hard',
          providerKind: 'Permanent/General',
          reportingMta: 'a8-1.smtp-out.amazonses.com',
          status: '5.2.1',
          diagnostic: 'smtp; 550 5.2.1 mailbox disabled',
        },
        providerEventType: 'Bounce',
      },
    ]);
    const [first] = events;
    expect(first?.messageId).toBe(coreMessageId);
    expect(first?.providerMessageId).toBe(sesMessageId);
    expect(first?.source).toBe('ses');
    expect(first?.raw).toBe(bounceRecord);
    expect(first?.id).toBe(eventId(['ses', sesMessageId, 'Bounce', 'ana@example.org', '0100018c0f4f4a11-bounce-feedback-000000']));
    expect(Object.isFrozen(first)).toBe(true);
  });

  it('Bounce: Transient is soft, Undetermined (identity notification) is undetermined', () => {
    expect(summary(transientBounceRecord)[0]?.bounce).toEqual({
      kind: 'soft',
      providerKind: 'Transient/MailboxFull',
      reportingMta: undefined,
      status: '4.2.2',
      diagnostic: undefined,
    });
    expect(summary(identityBounce)[0]).toMatchObject({
      type: 'bounced',
      bounce: { kind: 'undetermined', providerKind: 'Undetermined/Undetermined' },
    });
  });

  it('Complaint, Delivery, DeliveryDelay', () => {
    expect(summary(complaintRecord)).toEqual([
      {
        type: 'complained',
        timestamp: '2026-12-06T12:00:00.000Z',
        recipient: 'ana@example.org',
        complaint: { feedbackType: 'abuse', userAgent: 'Mozilla/5.0 (compatible; feedback-loop)', arrivalDate: '2026-12-06T10:00:01.000Z' },
        providerEventType: 'Complaint',
      },
    ]);
    expect(summary(deliveryRecord)).toEqual([
      { type: 'delivered', timestamp: '2026-12-06T10:00:02.500Z', recipient: 'ana@example.org', providerEventType: 'Delivery' },
    ]);
    expect(summary(deliveryDelayRecord)).toEqual([
      {
        type: 'deferred',
        timestamp: '2026-12-06T10:30:00.000Z',
        recipient: 'ana@example.org',
        delay: {
          providerKind: 'MailboxFull',
          retryUntil: '2026-12-06T22:00:00.000Z',
          reportingMta: 'a8-1.smtp-out.amazonses.com',
          status: '4.2.2',
          diagnostic: 'smtp; 452 4.2.2 mailbox full',
        },
        providerEventType: 'DeliveryDelay',
      },
    ]);
  });

  it('Send, Reject and Rendering Failure: one event per destination, at the send time', () => {
    expect(summary(sendRecord)).toEqual([
      { type: 'sent', timestamp: '2026-12-06T10:00:00.000Z', recipient: 'ana@example.org', providerEventType: 'Send' },
      { type: 'sent', timestamp: '2026-12-06T10:00:00.000Z', recipient: 'bo@example.org', providerEventType: 'Send' },
    ]);
    expect(summary(rejectRecord)).toEqual([
      { type: 'rejected', timestamp: '2026-12-06T10:00:00.000Z', recipient: 'ana@example.org', providerEventType: 'Reject' },
    ]);
    expect(summary(renderingFailureRecord)).toEqual([
      { type: 'failed', timestamp: '2026-12-06T10:00:00.000Z', recipient: 'ana@example.org', providerEventType: 'Rendering Failure' },
    ]);
  });

  it('Open, Click (with the link) and Subscription: one event, recipient only when the message had one', () => {
    expect(summary(openRecord)).toEqual([
      { type: 'opened', timestamp: '2026-12-06T13:00:00.000Z', recipient: 'ana@example.org', providerEventType: 'Open' },
    ]);
    expect(summary(clickRecord)).toEqual([
      {
        type: 'clicked',
        timestamp: '2026-12-06T13:01:00.000Z',
        recipient: 'ana@example.org',
        url: 'https://shop.example/orders/42',
        providerEventType: 'Click',
      },
    ]);
    const openedByOneOfTwo = { ...openRecord, mail: mail(['ana@example.org', 'bo@example.org']) };
    expect(summary(openedByOneOfTwo)).toEqual([
      { type: 'opened', timestamp: '2026-12-06T13:00:00.000Z', recipient: undefined, providerEventType: 'Open' },
    ]);
    expect(summary(subscriptionRecord)).toEqual([
      { type: 'unsubscribed', timestamp: '2026-12-06T14:00:00.000Z', recipient: 'ana@example.org', providerEventType: 'Subscription' },
    ]);
    // Opting in is not an unsubscribe.
    expect(summary(optInRecord)[0]?.type).toBe('unknown');
  });

  it('identity notifications (notificationType) map like event publishing, without tags', () => {
    expect(parseSesEvent(identityComplaint)[0]).toMatchObject({
      type: 'complained',
      providerEventType: 'Complaint',
      complaint: { feedbackType: undefined },
      tags: [],
      metadata: {},
    });
    expect(parseSesEvent(identityDelivery)[0]).toMatchObject({ type: 'delivered', recipient: 'ana@example.org', messageId: coreMessageId });
  });

  it('an unknown type is one unknown event with no recipient; a record without mail.messageId gives none', () => {
    const future = { eventType: 'Teleported', teleport: {}, mail: mail() };
    const events = parseSesEvent(future);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ type: 'unknown', recipient: undefined, providerEventType: 'Teleported', raw: future });
    expect(parseSesEvent({ notificationType: 'AmazonSnsSubscriptionSucceeded', message: 'You have successfully subscribed' })).toEqual([]);
    expect(parseSesEvent({ eventType: 'Bounce', bounce: {}, mail: { messageId: 'x' } })).toEqual([]);
  });

  it('ids are stable across deliveries and differ by recipient, type and feedback', () => {
    const again = structuredClone(bounceRecord);
    expect(parseSesEvent(again).map((event) => event.id)).toEqual(parseSesEvent(bounceRecord).map((event) => event.id));
    const ids = [bounceRecord, complaintRecord, deliveryRecord, deliveryDelayRecord, sendRecord, openRecord, clickRecord].flatMap(
      (record) => parseSesEvent(record).map((event) => event.id),
    );
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(id).toMatch(/^[A-Za-z0-9_-]{32}$/);
  });
});

describe('parseSesEvent: tags and metadata', () => {
  it('gives back the message’s own tags and metadata from what the SES transport sent, without SES’s own tags', () => {
    const message = createMessage({
      from: 'orders@shop.example',
      to: 'ana@example.org',
      subject: 'Order',
      text: 'Thanks',
      tags: ['welcome', 'receipt'],
      metadata: { plan: 'pro', orderId: 'A-42' },
    });
    // SES publishes each EmailTag as `name: [value]`, next to its own `ses:*` tags.
    const sesTags: Record<string, string[]> = { 'ses:configuration-set': ['transactional'], 'ses:source-ip': ['192.0.2.1'] };
    for (const tag of sesEmailTags(message)) sesTags[tag.Name as string] = [tag.Value as string];
    const record = { ...deliveryRecord, mail: { ...mail(), tags: sesTags } };
    const [event] = parseSesEvent(record);
    expect(event?.tags).toEqual(['welcome', 'receipt']);
    expect(event?.metadata).toEqual({ plan: 'pro', orderId: 'A-42' });
  });

  it('keeps a tag named __proto__ as data', () => {
    const record = { ...deliveryRecord, mail: { ...mail(), tags: JSON.parse('{"__proto__":["evil"],"constructor":["x"]}') } };
    const [event] = parseSesEvent(record);
    expect(Object.getPrototypeOf(event?.metadata)).toBe(Object.prototype);
    expect(Object.keys(event?.metadata ?? {})).toEqual(['__proto__', 'constructor']);
  });
});

describe('parseSesEvent: hostile input', () => {
  const hostile: unknown[] = [
    null,
    undefined,
    0,
    'Bounce',
    [],
    [bounceRecord],
    {},
    { eventType: 'Bounce' },
    { eventType: 'Bounce', mail: null },
    { eventType: 'Bounce', mail: [] },
    { eventType: 'Bounce', mail: { messageId: 42, timestamp: '2026-12-06T10:00:00Z' } },
    { eventType: { toString: null }, mail: mail() },
    { eventType: 'Bounce', bounce: { bouncedRecipients: 'ana@example.org' }, mail: mail() },
    { eventType: 'Bounce', bounce: { bouncedRecipients: [null, 1, 'x', { emailAddress: {} }] }, mail: mail() },
    { eventType: 'Delivery', delivery: { recipients: [{}, 7], timestamp: 'yesterday' }, mail: { ...mail(), timestamp: 'not a date' } },
    { eventType: 'Send', mail: { ...mail(), destination: 'ana@example.org', commonHeaders: 'x', headers: {} } },
    { eventType: 'Click', click: { link: 42 }, mail: { ...mail(), tags: { a: 'b', c: [1, 2], d: null } } },
  ];

  it('never throws and returns only well-formed events', () => {
    for (const value of hostile) {
      const events = parseSesEvent(value);
      for (const event of events) {
        expect(mailEventTypes).toContain(event.type);
        expect(Number.isNaN(Date.parse(event.timestamp))).toBe(false);
        expect(typeof event.id).toBe('string');
      }
    }
  });

  it('a getter that throws or a Proxy does not escape', () => {
    const trap = new Proxy(
      {},
      {
        get() {
          throw new Error('boom');
        },
      },
    );
    expect(parseSesEvent(trap)).toEqual([]);
    expect(parseSesEvent({ eventType: 'Bounce', mail: trap })).toEqual([]);
  });

  it('bounds what one record can produce: at most 100 recipients, long fields cut', () => {
    const many = Array.from({ length: 5000 }, (_, index) => ({
      emailAddress: `r${index}@example.org`,
      diagnosticCode: 'x'.repeat(100_000),
    }));
    const events = parseSesEvent({ ...bounceRecord, bounce: { ...bounceRecord.bounce, bouncedRecipients: many } });
    expect(events).toHaveLength(100);
    expect(events[0]?.bounce?.diagnostic?.length).toBe(2000);
  });

  it('random JSON never throws (fuzz)', () => {
    let seed = 12345;
    const random = (): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed / 0x7fffffff;
    };
    const keys = [
      'eventType',
      'notificationType',
      'mail',
      'bounce',
      'complaint',
      'delivery',
      'deliveryDelay',
      'messageId',
      'timestamp',
      'destination',
      'tags',
      'commonHeaders',
      'bouncedRecipients',
      'emailAddress',
      'recipients',
      'link',
      '__proto__',
    ];
    const strings = [
      'Bounce',
      'Complaint',
      'Delivery',
      'DeliveryDelay',
      'Open',
      'Click',
      'Subscription',
      'Send',
      '',
      '2026-12-06T10:00:00Z',
      'a@b',
      '<x@y>',
      '\u0000',
      'true',
    ];
    const value = (depth: number): unknown => {
      const pick = random();
      if (depth > 4 || pick < 0.3) return strings[Math.floor(random() * strings.length)];
      if (pick < 0.4) return Math.floor(random() * 1000) - 500;
      if (pick < 0.45) return null;
      if (pick < 0.6) return Array.from({ length: Math.floor(random() * 4) }, () => value(depth + 1));
      const out: Record<string, unknown> = {};
      for (let index = Math.floor(random() * 6); index > 0; index -= 1)
        out[keys[Math.floor(random() * keys.length)] as string] = value(depth + 1);
      return out;
    };
    for (let round = 0; round < 3000; round += 1) {
      const record = value(0);
      const withMail =
        typeof record === 'object' && record !== null && !Array.isArray(record)
          ? { ...record, mail: { ...mail(), ...(value(1) as object) } }
          : record;
      expect(() => parseSesEvent(record)).not.toThrow();
      expect(() => parseSesEvent(withMail)).not.toThrow();
    }
  });
});
