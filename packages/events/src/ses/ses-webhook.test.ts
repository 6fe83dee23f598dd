import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { bounceRecord, complaintRecord, deliveryRecord } from '../../test/ses/ses-fixtures.js';
import { type SnsTestServer, startSnsTestServer } from '../../test/ses/sns-test-server.js';
import type { MailEvent } from '../model.js';
import { parseSesEvent } from './ses-event.js';
import { createSesWebhook, type SesWebhookOptions } from './ses-webhook.js';
import { isSnsCertificateSubject, verifySnsMessage } from './sns-verify.js';

const topic = 'arn:aws:sns:us-east-1:123456789012:ses-events';
const otherTopic = 'arn:aws:sns:us-east-1:999999999999:someone-elses-topic';

let sns: SnsTestServer;
let caDirectory: string;
let caFile: string;
const servers: Server[] = [];
let received: MailEvent[][] = [];

async function serveWebhook(options: Partial<SesWebhookOptions> = {}): Promise<string> {
  const webhook = createSesWebhook({
    topics: [topic],
    certificates: { hosts: [sns.host], ca: sns.ca },
    onEvents: (events) => {
      received.push([...events]);
    },
    ...options,
  });
  const server = createServer(webhook.node);
  servers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/ses`;
}

let url: string;

beforeAll(async () => {
  sns = await startSnsTestServer();
  caDirectory = await mkdtemp(join(tmpdir(), 'mailport-sns-'));
  caFile = join(caDirectory, 'ca.pem');
  await writeFile(caFile, sns.ca);
  url = await serveWebhook();
});

afterAll(async () => {
  for (const server of servers) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
  await sns.close();
  await rm(caDirectory, { recursive: true, force: true });
});

beforeEach(() => {
  received = [];
});

async function post(
  target: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; text: string; headers: Headers }> {
  const type = typeof body === 'object' && body !== null ? (body as { Type?: string }).Type : undefined;
  const answer = await fetch(target, {
    method: 'POST',
    headers: { 'content-type': 'text/plain; charset=UTF-8', ...(type === undefined ? {} : { 'x-amz-sns-message-type': type }), ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: answer.status, text: await answer.text(), headers: answer.headers };
}

/** AWS's own validator (sns-validator) in a child process that trusts the test CA. */
async function awsValidator(envelope: unknown): Promise<string> {
  const script = fileURLToPath(new URL('../../test/ses/sns-validator-check.mjs', import.meta.url));
  const child = spawn(process.execPath, [script], {
    env: { ...process.env, NODE_EXTRA_CA_CERTS: caFile },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    output += chunk;
  });
  child.stdin.end(JSON.stringify(envelope));
  await once(child, 'close');
  return output;
}

describe('createSesWebhook: notifications', () => {
  it.each(['1', '2'] as const)('accepts a signature version %s notification, hands the events over, answers 200', async (version) => {
    const envelope = sns.sign({ TopicArn: topic, Message: JSON.stringify(bounceRecord) }, { version });
    const answer = await post(url, envelope);
    expect(answer.status).toBe(200);
    expect(received).toHaveLength(1);
    expect(received[0]?.map((event) => event.id)).toEqual(parseSesEvent(bounceRecord).map((event) => event.id));
    expect(received[0]?.map((event) => event.type)).toEqual(['bounced', 'bounced']);
  });

  it('signs Subject when the notification has one', async () => {
    const envelope = sns.sign({ TopicArn: topic, Message: JSON.stringify(deliveryRecord), Subject: 'Amazon SES Email Event Notification' });
    expect((await post(url, envelope)).status).toBe(200);
    const changed = { ...envelope, Subject: 'Something else' };
    expect((await post(url, changed)).status).toBe(403);
    expect(received).toHaveLength(1);
  });

  it('AWS’s sns-validator accepts what the test signer signs (v1, v2, with a Subject, a confirmation) and refuses a tampered one', async () => {
    const messages = [
      sns.sign({ TopicArn: topic, Message: JSON.stringify(bounceRecord) }, { version: '1' }),
      sns.sign({ TopicArn: topic, Message: JSON.stringify(bounceRecord), Subject: 'subject' }, { version: '2' }),
      sns.sign({ Type: 'SubscriptionConfirmation', TopicArn: topic, Message: 'You have chosen to subscribe' }),
    ];
    const results = await Promise.all(messages.map(awsValidator));
    expect(results).toEqual(['valid', 'valid', 'valid']);
    const tampered = await awsValidator({ ...messages[0], Message: JSON.stringify(complaintRecord) });
    expect(tampered).toMatch(/^invalid/);
  });

  it('after a 500 from onEvents, the retry gives the same event ids', async () => {
    let calls = 0;
    const seen: string[][] = [];
    const flaky = await serveWebhook({
      onEvents: (events) => {
        calls += 1;
        seen.push(events.map((event) => event.id));
        if (calls === 1) throw new Error('database down: password=hunter2');
      },
    });
    const envelope = sns.sign({ TopicArn: topic, Message: JSON.stringify(complaintRecord) });
    const first = await post(flaky, envelope);
    expect(first.status).toBe(500);
    expect(first.text).not.toContain('hunter2');
    const second = await post(flaky, envelope);
    expect(second.status).toBe(200);
    expect(seen).toHaveLength(2);
    expect(seen[1]).toEqual(seen[0]);
    expect(new Set(seen.flat()).size).toBe(1);
  });

  it('a signed message from an allowed topic that is not an SES record is taken with no event', async () => {
    expect((await post(url, sns.sign({ TopicArn: topic, Message: 'hello' }))).status).toBe(200);
    expect((await post(url, sns.sign({ TopicArn: topic, Message: '{"eventType":"Bounce"}' }))).status).toBe(200);
    expect(received).toEqual([]);
  });
});

describe('createSesWebhook: subscriptions', () => {
  it('confirms a subscription to an allowed topic by GETting its SubscribeURL', async () => {
    const before = sns.confirmations.length;
    const envelope = sns.sign({ Type: 'SubscriptionConfirmation', TopicArn: topic, Message: 'You have chosen to subscribe to the topic' });
    const answer = await post(url, envelope);
    expect(answer.status).toBe(200);
    expect(sns.confirmations.slice(before)).toEqual([
      `/?Action=ConfirmSubscription&TopicArn=${encodeURIComponent(topic)}&Token=token-1234`,
    ]);
    expect(received).toEqual([]);
  });

  it('never confirms a topic that is not allowed, nor a SubscribeURL on another host or naming another topic', async () => {
    const before = sns.confirmations.length;
    const stranger = sns.sign({ Type: 'SubscriptionConfirmation', TopicArn: otherTopic, Message: 'subscribe' });
    expect((await post(url, stranger)).status).toBe(403);
    const elsewhere = sns.sign(
      { Type: 'SubscriptionConfirmation', TopicArn: topic, Message: 'subscribe' },
      { subscribeUrl: 'https://attacker.example/?Action=ConfirmSubscription' },
    );
    expect((await post(url, elsewhere)).status).toBe(403);
    const otherTopicUrl = sns.sign(
      { Type: 'SubscriptionConfirmation', TopicArn: topic, Message: 'subscribe' },
      { subscribeUrl: `https://${sns.host}/?Action=ConfirmSubscription&TopicArn=${encodeURIComponent(otherTopic)}&Token=t` },
    );
    expect((await post(url, otherTopicUrl)).status).toBe(403);
    expect(sns.confirmations.length).toBe(before);
  });

  it('answers 200 to an UnsubscribeConfirmation and does nothing else', async () => {
    const before = sns.confirmations.length;
    const envelope = sns.sign({ Type: 'UnsubscribeConfirmation', TopicArn: topic, Message: 'You have unsubscribed' });
    expect((await post(url, envelope)).status).toBe(200);
    expect(sns.confirmations.length).toBe(before);
    expect(received).toEqual([]);
  });
});

describe('createSesWebhook: every rejection is a 4xx and no event', () => {
  const message = JSON.stringify(bounceRecord);

  it('tampered message, subject, topic, timestamp or signature -> 403', async () => {
    const envelope = sns.sign({ TopicArn: topic, Message: message });
    const cases = [
      { ...envelope, Message: JSON.stringify(complaintRecord) },
      { ...envelope, MessageId: 'another-id' },
      { ...envelope, Subject: 'added' },
      { ...envelope, Timestamp: new Date(Date.parse(envelope.Timestamp as string) + 1000).toISOString() },
      { ...envelope, Signature: `${(envelope.Signature as string).slice(0, -8)}AAAAAAA=` },
      { ...envelope, SignatureVersion: envelope.SignatureVersion === '1' ? '2' : '1' },
      { ...envelope, Signature: '' },
    ];
    for (const body of cases) expect((await post(url, body)).status).toBe(403);
    expect(received).toEqual([]);
  });

  it('an unlisted TopicArn -> 403, before any certificate is fetched', async () => {
    const envelope = sns.sign({ TopicArn: otherTopic, Message: message }, { certificate: '/fresh-unlisted-topic.pem' });
    const answer = await post(url, envelope);
    expect(answer.status).toBe(403);
    expect(sns.certificateRequests).not.toContain('/fresh-unlisted-topic.pem');
    // The same message to a webhook that lists the topic is fine: only the allowlist refused it.
    const allowing = await serveWebhook({ topics: [otherTopic] });
    expect((await post(allowing, envelope)).status).toBe(200);
    expect(received).toHaveLength(1);
  });

  it('certificate URLs: another host, a look-alike host, another region, over http, no .pem, credentials -> 403', async () => {
    const plainHost = new URL(sns.plainBase).host;
    const lenient = await serveWebhook({ certificates: { hosts: [sns.host, plainHost], ca: sns.ca } });
    const urls = [
      'https://attacker.example/SimpleNotificationService-x.pem',
      'https://sns.us-east-1.amazonaws.com.attacker.example/SimpleNotificationService-x.pem',
      'https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-x.pem',
      'https://attacker.example/sns.us-east-1.amazonaws.com/x.pem',
      `${sns.plainBase}/SimpleNotificationService-test.pem`,
      `https://${sns.host}/SimpleNotificationService-test.txt`,
      `https://user:pw@${sns.host}/SimpleNotificationService-test.pem`,
      'not a url',
    ];
    for (const certificate of urls) {
      const envelope = sns.sign({ TopicArn: topic, Message: message }, { certificate });
      expect({ certificate, status: (await post(lenient, envelope)).status }).toEqual({ certificate, status: 403 });
    }
    expect(sns.certificateRequests.filter((path) => path.includes('SimpleNotificationService-test.txt'))).toEqual([]);
    expect(received).toEqual([]);
  });

  it('a certificate behind a redirect, expired, not yet valid, not PEM, missing or oversized -> 403', async () => {
    for (const certificate of ['/redirect.pem', '/expired.pem', '/future.pem', '/not-a-cert.pem', '/missing.pem', '/huge.pem']) {
      const envelope = sns.sign({ TopicArn: topic, Message: message }, { certificate });
      expect({ certificate, status: (await post(url, envelope)).status }).toEqual({ certificate, status: 403 });
    }
    expect(received).toEqual([]);
  });

  it('a certificate host that does not answer in time -> 503 (SNS retries), within the timeout', async () => {
    const impatient = await serveWebhook({ certificates: { hosts: [sns.host], ca: sns.ca, timeoutMs: 200 } });
    const envelope = sns.sign({ TopicArn: topic, Message: message }, { certificate: '/slow.pem' });
    expect((await post(impatient, envelope)).status).toBe(503);
    expect(received).toEqual([]);
  });

  it('a stale timestamp (older than maxAgeMs) or one from the future -> 403', async () => {
    const old = sns.sign({ TopicArn: topic, Message: message, Timestamp: new Date(Date.now() - 2 * 3600_000).toISOString() });
    expect((await post(url, old)).status).toBe(403);
    const ahead = sns.sign({ TopicArn: topic, Message: message, Timestamp: new Date(Date.now() + 10 * 60_000).toISOString() });
    expect((await post(url, ahead)).status).toBe(403);
    const strict = await serveWebhook({ maxAgeMs: 60_000 });
    const twoMinutes = sns.sign({ TopicArn: topic, Message: message, Timestamp: new Date(Date.now() - 120_000).toISOString() });
    expect((await post(strict, twoMinutes)).status).toBe(403);
    expect((await post(url, twoMinutes)).status).toBe(200);
    expect(received).toHaveLength(1);
  });

  it('raw message delivery, malformed JSON, a non-envelope, a disagreeing header, an unknown SignatureVersion -> 400', async () => {
    const envelope = sns.sign({ TopicArn: topic, Message: message });
    const cases: [unknown, Record<string, string>][] = [
      [bounceRecord, {}],
      [envelope, { 'x-amz-sns-rawdelivery': 'true' }],
      ['{"Type": "Notification", ', {}],
      ['', {}],
      ['null', {}],
      ['[1,2]', {}],
      [{ ...envelope, Signature: undefined }, {}],
      [{ ...envelope, Message: { eventType: 'Bounce' } }, {}],
      [{ ...envelope, Type: 'Teleport' }, {}],
      [envelope, { 'x-amz-sns-message-type': 'SubscriptionConfirmation' }],
      [envelope, { 'x-amz-sns-topic-arn': otherTopic }],
      [{ ...envelope, SignatureVersion: '3' }, {}],
      [{ ...envelope, Timestamp: 'yesterday' }, {}],
    ];
    for (const [body, headers] of cases) expect((await post(url, body, headers)).status).toBe(400);
    expect(received).toEqual([]);
  });

  it('a body over maxBodyBytes -> 413, by Content-Length and through the Fetch handler', async () => {
    const big = sns.sign({ TopicArn: topic, Message: JSON.stringify({ ...bounceRecord, padding: 'x'.repeat(1_100_000) }) });
    expect((await post(url, big)).status).toBe(413);
    const webhook = createSesWebhook({ topics: [topic], maxBodyBytes: 1000, onEvents: () => {} });
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let index = 0; index < 10; index += 1) controller.enqueue(new Uint8Array(200));
        controller.close();
      },
    });
    const answer = await webhook.handle(new Request('http://localhost/', { method: 'POST', body: stream, duplex: 'half' } as RequestInit));
    expect(answer.status).toBe(413);
    expect(received).toEqual([]);
  });

  it('anything but POST -> 405', async () => {
    const answer = await fetch(url);
    expect(answer.status).toBe(405);
    expect(answer.headers.get('allow')).toBe('POST');
  });
});

describe('createSesWebhook: basic auth', () => {
  it('challenges a request without credentials, refuses wrong ones, accepts the right ones', async () => {
    const guarded = await serveWebhook({ basicAuth: { username: 'sns', password: 's3cret-Pa55' } });
    const envelope = sns.sign({ TopicArn: topic, Message: JSON.stringify(deliveryRecord) });
    const missing = await post(guarded, envelope);
    expect(missing.status).toBe(401);
    expect(missing.headers.get('www-authenticate')).toBe('Basic realm="mailport"');
    const basic = (user: string, password: string): string => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
    for (const authorization of [
      basic('sns', 'wrong'),
      basic('other', 's3cret-Pa55'),
      basic('sns', 's3cret-Pa55x'),
      'Bearer x',
      'Basic !!!',
    ]) {
      const wrong = await post(guarded, envelope, { authorization });
      expect(wrong.status).toBe(401);
      expect(wrong.text).not.toContain('s3cret');
    }
    expect(received).toEqual([]);
    const right = await post(guarded, envelope, { authorization: basic('sns', 's3cret-Pa55') });
    expect(right.status).toBe(200);
    expect(received).toHaveLength(1);
  });
});

describe('createSesWebhook: options', () => {
  it('refuses to be created without topics or with nonsense limits', () => {
    const onEvents = (): void => {};
    expect(() => createSesWebhook({ topics: [], onEvents })).toThrow(/topics/);
    expect(() => createSesWebhook({ topics: [''], onEvents })).toThrow(/topics/);
    expect(() => createSesWebhook({ topics: undefined as unknown as string[], onEvents })).toThrow(/topics/);
    expect(() => createSesWebhook({ topics: [topic], onEvents, maxBodyBytes: 0 })).toThrow(RangeError);
    expect(() => createSesWebhook({ topics: [topic], onEvents, maxAgeMs: -1 })).toThrow(RangeError);
    expect(() => createSesWebhook({ topics: [topic], onEvents, basicAuth: { username: 'a:b', password: 'x' } })).toThrow(TypeError);
    for (const timeoutMs of [0, -1, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 31]) {
      expect(() => createSesWebhook({ topics: [topic], onEvents, certificates: { timeoutMs } })).toThrow(RangeError);
    }
  });
});

describe('verifySnsMessage', () => {
  it('says why a message is refused, and never throws', async () => {
    const certificates = { hosts: [sns.host], ca: sns.ca };
    const envelope = sns.sign({ TopicArn: topic, Message: 'x' });
    expect(await verifySnsMessage(envelope, { topics: [topic], certificates })).toMatchObject({
      valid: true,
      message: { TopicArn: topic },
    });
    expect(await verifySnsMessage(envelope, { topics: [], certificates })).toMatchObject({ valid: false, reason: 'topic-not-allowed' });
    expect(await verifySnsMessage(envelope, { topics: [topic] })).toMatchObject({ valid: false, reason: 'certificate-url' });
    expect(await verifySnsMessage({ ...envelope, Message: 'y' }, { topics: [topic], certificates })).toMatchObject({
      valid: false,
      reason: 'signature',
    });
    for (const hostile of [null, 1, 'x', [], {}, { Type: 'Notification' }]) {
      expect(await verifySnsMessage(hostile, { topics: [topic], certificates })).toMatchObject({ valid: false, reason: 'malformed' });
    }
    expect(await verifySnsMessage(envelope, undefined as never)).toMatchObject({ valid: false });
    const because = async (certificate: string) => {
      const result = await verifySnsMessage(sns.sign({ TopicArn: topic, Message: 'x' }, { certificate }), {
        topics: [topic],
        certificates,
      });
      return result.valid ? 'valid' : `${result.reason}: ${result.detail}`;
    };
    expect(await because('/redirect.pem')).toBe('certificate: certificate URL redirects; redirects are not followed');
    expect(await because('/expired.pem')).toBe('certificate: certificate expired or not yet valid');
    expect(await because('/future.pem')).toBe('certificate: certificate expired or not yet valid');
    expect(await because('/huge.pem')).toBe('certificate: certificate empty or too large');
    expect(await because('/missing.pem')).toBe('certificate: certificate URL answered 404');
  });

  it('takes certificates.hosts only as a list: a string is not searched for a substring', async () => {
    const envelope = sns.sign({ TopicArn: topic, Message: 'x' });
    const certificates = { hosts: `not-${sns.host}` as unknown as string[], ca: sns.ca };
    expect(await verifySnsMessage(envelope, { topics: [topic], certificates })).toMatchObject({ valid: false, reason: 'certificate-url' });
  });

  it('a CA option Node refuses is a certificate not fetched, not a rejection left unhandled', async () => {
    // Node throws at request creation for a CA that is not text or bytes (here what `[process.env.UNSET]` gives).
    const certificates = { hosts: [sns.host], ca: [undefined as unknown as string] };
    const envelope = sns.sign({ TopicArn: topic, Message: 'x' }, { certificate: '/unusable-ca.pem' });
    expect(await verifySnsMessage(envelope, { topics: [topic], certificates })).toMatchObject({
      valid: false,
      reason: 'certificate-unavailable',
    });
  });

  it('fetches a certificate once for many messages (the cache), and again for another URL', async () => {
    const certificates = { hosts: [sns.host], ca: sns.ca };
    const results = await Promise.all(
      Array.from({ length: 20 }, () =>
        verifySnsMessage(sns.sign({ TopicArn: topic, Message: 'x' }, { certificate: '/fresh-cached.pem' }), {
          topics: [topic],
          certificates,
        }),
      ),
    );
    expect(results.every((result) => result.valid)).toBe(true);
    expect(sns.certificateRequests.filter((path) => path === '/fresh-cached.pem')).toHaveLength(1);
  });

  it('from AWS’s hosts, takes only a certificate issued to SNS', () => {
    expect(isSnsCertificateSubject('CN=sns.amazonaws.com')).toBe(true);
    expect(isSnsCertificateSubject('C=US\nO=Amazon\nCN=sns.amazonaws.com')).toBe(true);
    expect(isSnsCertificateSubject('CN=sns.cn-north-1.amazonaws.com.cn')).toBe(true);
    for (const subject of [
      'CN=attacker.example',
      'CN=sns.amazonaws.com.attacker.example',
      'CN=s3.amazonaws.com',
      'O=Amazon',
      '',
      'CN=sns.amazonaws.com\nCN=attacker.example',
    ]) {
      expect(isSnsCertificateSubject(subject)).toBe(false);
    }
  });

  it('accepts the China partition’s host for an aws-cn topic only', async () => {
    const cn = 'arn:aws-cn:sns:cn-north-1:123456789012:ses-events';
    // Only the URL rule is exercised here: these hosts are never contacted because the topic or host does not match.
    const mismatched = sns.sign({ TopicArn: cn, Message: 'x' }, { certificate: 'https://sns.cn-north-1.amazonaws.com/x.pem' });
    expect(await verifySnsMessage(mismatched, { topics: [cn] })).toMatchObject({ valid: false, reason: 'certificate-url' });
    const global = sns.sign({ TopicArn: topic, Message: 'x' }, { certificate: 'https://sns.us-east-1.amazonaws.com.cn/x.pem' });
    expect(await verifySnsMessage(global, { topics: [topic] })).toMatchObject({ valid: false, reason: 'certificate-url' });
  });
});
