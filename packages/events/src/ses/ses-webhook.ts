import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { MailEvent } from '../model.js';
import { nodeListener, readBodyUpTo } from '../node-handler.js';
import { parseSesRecords } from './ses-records.js';
import {
  allowedSnsUrl,
  boundedGet,
  readSnsEnvelope,
  type SnsCertificateOptions,
  type SnsRejection,
  verifySnsEnvelope,
} from './sns-verify.js';

/** Options of {@link createSesWebhook}. */
export interface SesWebhookOptions {
  /** The SNS topic ARNs accepted; required, non-empty. Anything else gets 403 before a certificate is fetched. */
  readonly topics: readonly string[];
  /**
   * Takes the events of one notification (one SES record: one event per recipient). The webhook
   * answers 200 only once it has resolved; when it throws, 500, and SNS delivers the message again
   * (the events keep their ids, so deduplicate on `id`).
   */
  onEvents(events: readonly MailEvent[]): void | Promise<void>;
  /**
   * Requires HTTP basic auth (put it in the subscription's endpoint URL,
   * `https://user:password@host/path`). A request without it gets 401 and the
   * `WWW-Authenticate` challenge SNS waits for before it sends credentials. Default none.
   */
  readonly basicAuth?: { readonly username: string; readonly password: string } | undefined;
  /** Oldest SNS `Timestamp` accepted, in ms. Default 3 600 000 (SNS stops retrying HTTP within 3600 s). */
  readonly maxAgeMs?: number | undefined;
  /**
   * The largest request body, in bytes. Default 1 MiB: an SNS message is at most 256 KiB, and in the
   * envelope it is a JSON string, so escaping can make it grow.
   */
  readonly maxBodyBytes?: number | undefined;
  /** Extra hosts and a CA for signing certificates and SubscribeURLs (the sandbox), and the fetch timeout. */
  readonly certificates?: SnsCertificateOptions | undefined;
}

/** An SNS webhook for SES events: a Fetch handler and the same as a Node `http` listener. */
export interface SesWebhook {
  /** Answers one request: any framework with `Request`/`Response` (Hono, Next.js route handlers, Bun, Deno). */
  handle(request: Request): Promise<Response>;
  /** The same for `http.createServer(webhook.node)` or `app.post('/ses', webhook.node)` in Express. */
  readonly node: (request: IncomingMessage, response: ServerResponse) => void;
}

const defaultMaxBodyBytes = 1024 * 1024;

const statusByRejection: Readonly<Record<SnsRejection, number>> = {
  malformed: 400,
  'topic-not-allowed': 403,
  // A genuine message past its age is indistinguishable from a replay: refuse it like a forgery.
  stale: 403,
  'certificate-url': 403,
  certificate: 403,
  // The certificate host did not answer: SNS retries 5xx, so the event is not lost.
  'certificate-unavailable': 503,
  signature: 403,
};

function answer(status: number, text: string, headers: Record<string, string> = {}): Response {
  return new Response(text, { status, headers: { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', ...headers } });
}

const digest = (value: string): Buffer => createHash('sha256').update(value, 'utf8').digest();

/**
 * The webhook an SNS topic posts SES events to (configuration-set event publishing or identity
 * notifications), as a Fetch handler plus a Node listener. It answers:
 *
 * - 405 to anything but POST; 401 without the configured basic auth (with the challenge), or with
 *   the wrong one (compared in constant time);
 * - 413 past `maxBodyBytes`; 400 to malformed JSON, to raw message delivery (no SNS envelope, or
 *   `x-amz-sns-rawdelivery: true`: it cannot be verified, so turn raw delivery off), and when the
 *   `x-amz-sns-message-type` or `x-amz-sns-topic-arn` header disagrees with the body;
 * - 403 to a topic not in `topics` (before any certificate is fetched), a bad certificate URL or
 *   certificate, a signature that does not verify, and a `Timestamp` older than `maxAgeMs` or more
 *   than 5 minutes ahead (a possible replay); 503 when the certificate could not be fetched;
 * - `SubscriptionConfirmation`: GETs its SubscribeURL (same host rules as the certificate), 200
 *   once SNS confirmed, else 502; `UnsubscribeConfirmation`: 200 and nothing else;
 * - `Notification`: parses the SES record, awaits `onEvents(events)`, 200; 500 when it throws.
 *
 * Answers are short plain text and never repeat credentials. Throws at creation when `topics` is
 * empty or an option is out of range.
 *
 * @example
 * ```ts
 * const webhook = createSesWebhook({
 *   topics: ['arn:aws:sns:eu-west-1:123456789012:ses-events'],
 *   basicAuth: { username: 'sns', password: process.env.SNS_WEBHOOK_PASSWORD ?? '' },
 *   onEvents: (events) => pipeline.handle(events),
 * });
 * http.createServer(webhook.node).listen(8080);
 * ```
 */
export function createSesWebhook(options: SesWebhookOptions): SesWebhook {
  const topics = Array.isArray(options.topics) ? options.topics.filter((topic) => typeof topic === 'string' && topic !== '') : [];
  if (topics.length === 0) throw new TypeError('createSesWebhook: topics must list at least one SNS topic ARN');
  if (typeof options.onEvents !== 'function') throw new TypeError('createSesWebhook: onEvents must be a function');
  const maxBodyBytes = options.maxBodyBytes ?? defaultMaxBodyBytes;
  if (!Number.isSafeInteger(maxBodyBytes) || maxBodyBytes <= 0)
    throw new RangeError('createSesWebhook: maxBodyBytes must be a positive integer');
  const maxAgeMs = options.maxAgeMs;
  if (maxAgeMs !== undefined && !(Number.isFinite(maxAgeMs) && maxAgeMs > 0))
    throw new RangeError('createSesWebhook: maxAgeMs must be a positive number');
  const auth = options.basicAuth;
  if (auth !== undefined && (typeof auth.username !== 'string' || typeof auth.password !== 'string' || auth.username.includes(':')))
    throw new TypeError('createSesWebhook: basicAuth needs a username without ":" and a password');
  const expectedAuth = auth === undefined ? undefined : digest(`${auth.username}:${auth.password}`);
  const certificates = options.certificates ?? {};
  const timeoutMs = certificates.timeoutMs ?? 5000;
  // setTimeout takes anything past 2^31 - 1 ms (Infinity included) as 1 ms: every fetch would time out.
  if (!(Number.isFinite(timeoutMs) && timeoutMs > 0 && timeoutMs <= 2 ** 31 - 1))
    throw new RangeError('createSesWebhook: certificates.timeoutMs must be a positive number of ms, at most 2147483647');
  const frozenTopics = Object.freeze([...topics]);
  const onEvents = options.onEvents;

  const handle = async (request: Request): Promise<Response> => {
    if (request.method !== 'POST') return answer(405, 'Method Not Allowed', { allow: 'POST' });
    if (expectedAuth !== undefined) {
      const header = request.headers.get('authorization') ?? '';
      const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
      if (match?.[1] === undefined) return answer(401, 'Unauthorized', { 'www-authenticate': 'Basic realm="mailport"' });
      const given = digest(Buffer.from(match[1], 'base64').toString('utf8'));
      if (!timingSafeEqual(given, expectedAuth)) return answer(401, 'Unauthorized', { 'www-authenticate': 'Basic realm="mailport"' });
    }
    let body: Uint8Array | undefined;
    try {
      body = await readBodyUpTo(request, maxBodyBytes);
    } catch {
      return answer(400, 'Bad Request: body not readable');
    }
    if (body === undefined) return answer(413, 'Payload Too Large');
    if (request.headers.get('x-amz-sns-rawdelivery')?.trim().toLowerCase() === 'true')
      return answer(400, 'Bad Request: raw message delivery cannot be verified; turn it off');
    let parsed: unknown;
    try {
      parsed = JSON.parse(Buffer.from(body).toString('utf8'));
    } catch {
      return answer(400, 'Bad Request: not JSON');
    }
    const envelope = readSnsEnvelope(parsed);
    if (envelope === undefined) return answer(400, 'Bad Request: not an SNS envelope (raw message delivery is not accepted)');
    const typeHeader = request.headers.get('x-amz-sns-message-type');
    if (typeHeader !== null && typeHeader !== envelope.Type) return answer(400, 'Bad Request: message type header disagrees with the body');
    const topicHeader = request.headers.get('x-amz-sns-topic-arn');
    if (topicHeader !== null && topicHeader !== envelope.TopicArn) return answer(400, 'Bad Request: topic header disagrees with the body');

    // The topic is checked first, before any certificate is fetched.
    const verification = await verifySnsEnvelope(envelope, { topics: frozenTopics, maxAgeMs, certificates });
    if (!verification.valid) {
      const status = statusByRejection[verification.reason];
      return answer(status, status === 503 ? 'Service Unavailable: certificate not reachable' : `Forbidden: ${verification.reason}`);
    }
    const message = verification.message;

    if (message.Type === 'UnsubscribeConfirmation') return answer(200, 'OK');
    if (message.Type === 'SubscriptionConfirmation') {
      const confirm = allowedSnsUrl(message.SubscribeURL ?? '', message.TopicArn, certificates.hosts);
      if (confirm === undefined) return answer(403, 'Forbidden: SubscribeURL not allowed');
      const topicParameter = confirm.url.searchParams.get('TopicArn');
      if (topicParameter !== null && topicParameter !== message.TopicArn) return answer(403, 'Forbidden: SubscribeURL names another topic');
      const confirmed = await boundedGet(confirm.url, { ca: confirm.extra ? certificates.ca : undefined, timeoutMs, maxBytes: 64 * 1024 });
      if ('error' in confirmed || confirmed.status !== 200) return answer(502, 'Bad Gateway: subscription not confirmed');
      return answer(200, 'OK: subscription confirmed');
    }

    let record: unknown;
    try {
      record = JSON.parse(message.Message);
    } catch {
      // Signed by an allowed topic, but not an SES record: nothing to retry.
      return answer(200, 'OK: not an SES record');
    }
    const events = parseSesRecords(record);
    if (events.length > 0) {
      try {
        await onEvents(Object.freeze(events));
      } catch {
        return answer(500, 'Internal Server Error: events not taken; retry');
      }
    }
    return answer(200, 'OK');
  };

  return Object.freeze({ handle, node: nodeListener(handle, { maxBodyBytes }) });
}
