import type { MailEvent } from '../model.js';
import { object, parseSesEvent } from './ses-event.js';

/** A string that holds JSON (an SQS body, an SNS `Message`), parsed; undefined when it is not JSON. */
function parsed(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value);
  } catch {
    return undefined;
  }
}

/** SQS delivers at most 10 messages per batch by default and 10,000 with batching windows; more is not a real payload. */
const maxRecords = 10_000;

/**
 * SES records that arrive through AWS itself rather than over an SNS webhook, as mailport events:
 *
 * - an EventBridge event (`source: 'aws.ses'`, `detail-type` such as `Email Bounced`, the SES
 *   record in `detail`), or an array of them;
 * - an SQS batch (`Records[].body`: an SNS envelope, an EventBridge event or a bare SES record, as
 *   JSON text);
 * - a Lambda SNS event (`Records[].Sns.Message`: the SES record as JSON text);
 * - a bare SES record, or an SNS envelope parsed from JSON.
 *
 * No signature is checked: these payloads reach your code through AWS IAM (the EventBridge rule,
 * the queue's or the function's resource policy), not over the internet. Do not feed it what an
 * HTTP endpoint received; use `createSesWebhook` there, which verifies the SNS signature. Never
 * throws: a record it cannot read gives no event, an SES type it does not know an `unknown` one
 * (see `parseSesEvent`).
 *
 * @example
 * ```ts
 * export const handler = async (event: unknown) => {
 *   await pipeline.handle(parseSesRecords(event));
 * };
 * ```
 */
export function parseSesRecords(payload: unknown): MailEvent[] {
  try {
    const events: MailEvent[] = [];
    collect(payload, events, 0);
    return events;
  } catch {
    return [];
  }
}

function collect(payload: unknown, into: MailEvent[], depth: number): void {
  // An SQS body holding an SNS envelope holding a record is three levels; more is a loop or an attack.
  if (depth > 4) return;
  if (Array.isArray(payload)) {
    for (const item of payload.slice(0, maxRecords)) collect(item, into, depth + 1);
    return;
  }
  const top = object(payload);
  if (top === undefined) return;
  if (Array.isArray(top.Records)) {
    for (const item of top.Records.slice(0, maxRecords)) {
      const record = object(item);
      if (record === undefined) continue;
      const sns = object(record.Sns);
      if (sns !== undefined) collect(parsed(sns.Message), into, depth + 1);
      else if ('body' in record) collect(parsed(record.body), into, depth + 1);
    }
    return;
  }
  if (top.source === 'aws.ses' && 'detail' in top) {
    collect(top.detail, into, depth + 1);
    return;
  }
  // An SNS envelope that came through SQS: the SES record is its Message.
  if (top.Type === 'Notification' && typeof top.Message === 'string') {
    collect(parsed(top.Message), into, depth + 1);
    return;
  }
  into.push(...parseSesEvent(top));
}
