import { describe, expect, it } from 'vitest';
import { bounceRecord, complaintRecord, deliveryDelayRecord, deliveryRecord } from '../../test/ses/ses-fixtures.js';
import { parseSesEvent } from './ses-event.js';
import { parseSesRecords } from './ses-records.js';

const ids = (record: unknown): string[] => parseSesEvent(record).map((event) => event.id);

/** An EventBridge event as SES sends it (`detail-type` per event type, `detail` = the record). */
function eventBridge(record: unknown, detailType: string) {
  return {
    version: '0',
    id: 'a1b2c3d4-0000-4000-8000-000000000001',
    'detail-type': detailType,
    source: 'aws.ses',
    account: '123456789012',
    time: '2026-12-06T10:00:04Z',
    region: 'us-east-1',
    resources: ['arn:aws:ses:us-east-1:123456789012:configuration-set/transactional'],
    detail: record,
  };
}

function snsEnvelope(record: unknown) {
  return {
    Type: 'Notification',
    MessageId: 'c0ffee00-0000-4000-8000-000000000002',
    TopicArn: 'arn:aws:sns:us-east-1:123456789012:ses-events',
    Message: JSON.stringify(record),
    Timestamp: '2026-12-06T10:00:04.000Z',
    SignatureVersion: '1',
    Signature: 'AAAA',
    SigningCertURL: 'https://sns.us-east-1.amazonaws.com/SimpleNotificationService-x.pem',
    UnsubscribeURL: 'https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe',
  };
}

describe('parseSesRecords', () => {
  it('reads an EventBridge event and a list of them', () => {
    expect(parseSesRecords(eventBridge(bounceRecord, 'Email Bounced')).map((event) => event.id)).toEqual(ids(bounceRecord));
    const both = parseSesRecords([
      eventBridge(deliveryRecord, 'Email Delivered'),
      eventBridge(complaintRecord, 'Email Complaint Received'),
    ]);
    expect(both.map((event) => event.type)).toEqual(['delivered', 'complained']);
  });

  it('reads an SQS batch whose bodies are an SNS envelope, an EventBridge event and a bare record', () => {
    const batch = {
      Records: [
        { messageId: 'm1', receiptHandle: 'h1', body: JSON.stringify(snsEnvelope(bounceRecord)), eventSource: 'aws:sqs' },
        {
          messageId: 'm2',
          receiptHandle: 'h2',
          body: JSON.stringify(eventBridge(deliveryDelayRecord, 'Email Delivery Delayed')),
          eventSource: 'aws:sqs',
        },
        { messageId: 'm3', receiptHandle: 'h3', body: JSON.stringify(complaintRecord), eventSource: 'aws:sqs' },
        { messageId: 'm4', receiptHandle: 'h4', body: 'not json', eventSource: 'aws:sqs' },
      ],
    };
    const events = parseSesRecords(batch);
    expect(events.map((event) => event.type)).toEqual(['bounced', 'bounced', 'deferred', 'complained']);
    expect(events.map((event) => event.id)).toEqual([...ids(bounceRecord), ...ids(deliveryDelayRecord), ...ids(complaintRecord)]);
  });

  it('reads a Lambda SNS event (Records[].Sns.Message, Subject null)', () => {
    const lambda = {
      Records: [
        {
          EventSource: 'aws:sns',
          EventVersion: '1.0',
          EventSubscriptionArn: 'arn:aws:sns:us-east-1:123456789012:ses-events:sub',
          Sns: { ...snsEnvelope(deliveryRecord), Subject: null, MessageAttributes: {} },
        },
      ],
    };
    const events = parseSesRecords(lambda);
    expect(events).toHaveLength(1);
    expect(events[0]?.id).toBe(ids(deliveryRecord)[0]);
  });

  it('a bare record works too; hostile payloads give no event and never throw', () => {
    expect(parseSesRecords(deliveryRecord)).toHaveLength(1);
    const nested: Record<string, unknown> = { Records: [] };
    let inner: Record<string, unknown> = nested;
    for (let depth = 0; depth < 50; depth += 1) {
      const next: Record<string, unknown> = { Records: [] };
      (inner.Records as unknown[]).push({ body: next });
      inner = next;
    }
    const cyclic: Record<string, unknown> = { source: 'aws.ses' };
    cyclic.detail = cyclic;
    for (const payload of [
      null,
      'x',
      42,
      [],
      {},
      { Records: 'x' },
      { Records: [null, 1, { Sns: 'x' }, { body: 7 }] },
      nested,
      cyclic,
      { source: 'aws.ses', detail: null },
    ]) {
      expect(parseSesRecords(payload)).toEqual([]);
    }
  });
});
