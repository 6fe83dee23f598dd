import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { rootCertificates } from 'node:tls';
import type { EmulatorContext } from '../../context.js';
import { type AcceptedSesMessage, type SesEventRecord, sandboxAccountId, sesEventRecords } from './sns-records.js';
import { type SnsMessageFields, snsSignature, snsSigningIdentity } from './sns-signing.js';

/**
 * One SES event destination: an SNS topic with an HTTP(S) subscription to the application's
 * webhook. As with SNS, the subscription starts pending: the sandbox posts a
 * `SubscriptionConfirmation`, and delivers nothing until its `SubscribeURL` is fetched.
 */
export interface SesEventDestination {
  /**
   * The application's webhook, `http(s)://host:port/path`. With `user:pass@`, the first request of
   * each delivery goes without credentials and, after a 401 with a `WWW-Authenticate: Basic`
   * challenge, again with them (as SNS does).
   */
  readonly endpoint: string;
  /** Default `arn:aws:sns:<the SES region>:123456789012:mailport-sandbox-events`. */
  readonly topicArn?: string | undefined;
  /** `1` (SHA1withRSA, SNS's default) or `2` (SHA256withRSA). Default `1`. */
  readonly signatureVersion?: '1' | '2' | undefined;
  /** Only messages sent with this `ConfigurationSetName`; default every message the SES emulator accepts. */
  readonly configurationSet?: string | undefined;
  /** Waits before each retry of a post that failed (non-2xx, timeout, network error), in ms. Default `[200, 1000, 3000]`. */
  readonly retryDelaysMs?: readonly number[] | undefined;
  /** How long one POST may take, in ms. Default 5000. */
  readonly timeoutMs?: number | undefined;
}

/** A subscription's state, as SNS has it: pending until confirmed, then confirmed until unsubscribed. */
export type SnsSubscriptionState = 'pending' | 'confirmed' | 'unsubscribed';

/** One subscription as {@link SandboxSns.subscriptions} reports it. */
export interface SnsSubscription {
  readonly subscriptionArn: string;
  readonly topicArn: string;
  /** The endpoint without credentials and query. */
  readonly endpoint: string;
  readonly signatureVersion: '1' | '2';
  readonly configurationSet: string | undefined;
  readonly state: SnsSubscriptionState;
  /** Notifications the endpoint took (2xx). */
  readonly delivered: number;
  /** Notifications given up after the last retry. */
  readonly failed: number;
  /** Notifications not sent: the subscription was not confirmed (SNS does not queue them either), or 10,000 posts were already waiting. */
  readonly dropped: number;
  /** Posts queued or in flight, confirmations and retries included. */
  readonly queued: number;
}

/** The sandbox's SNS side: SES event destinations and their subscriptions. */
export interface SandboxSns {
  /** Every subscription, in the order they were made. */
  subscriptions(): readonly SnsSubscription[];
  /** Adds an event destination now; its `SubscriptionConfirmation` is posted at once. Throws a TypeError for a malformed destination. */
  subscribe(destination: SesEventDestination): SnsSubscription;
  /** Resolves once nothing is queued or in flight: every confirmation, notification and retry posted. */
  idle(): Promise<void>;
  /** Where the certificate that verifies every `Signature` is served: `${httpsUrl}/SimpleNotificationService-<hash>.pem`. */
  readonly signingCertUrl: string;
}

/** The publisher behind {@link SandboxSns}, with what the sandbox itself calls. */
export interface SnsHub extends SandboxSns {
  /** The signing certificate's path, `/SimpleNotificationService-<hash>.pem`. */
  readonly certificatePath: string;
  /** Posts the confirmations of destinations given before the listeners were up. */
  start(): void;
  /** Queues the event records of one message the SES emulator accepted. Never throws. */
  publish(message: AcceptedSesMessage): void;
  /** Confirms the subscription a SubscribeURL names; its ARN, or undefined for an unknown topic or token. */
  confirm(topicArn: string, token: string): string | undefined;
  /** Unsubscribes (UnsubscribeURL); whether the ARN named a subscription. */
  unsubscribe(subscriptionArn: string): boolean;
  /** Stops retries and in-flight posts. */
  close(): Promise<void>;
}

interface Subscription {
  readonly arn: string;
  readonly topicArn: string;
  readonly url: URL;
  readonly shown: string;
  readonly version: '1' | '2';
  readonly configurationSet: string | undefined;
  readonly retryDelaysMs: readonly number[];
  readonly timeoutMs: number;
  readonly token: string;
  /** `Basic ...` from the endpoint's `user:pass@`, sent only after a challenge. */
  readonly authorization: string | undefined;
  state: SnsSubscriptionState;
  delivered: number;
  failed: number;
  dropped: number;
  queued: number;
  chain: Promise<void>;
  confirmationSent: boolean;
}

const topicArnPattern = /^arn:aws(?:-[a-z]+)*:sns:[a-z0-9-]{1,32}:\d{12}:[A-Za-z0-9_-]{1,256}$/;
const maxResponseBytes = 64 * 1024;
const maxRetries = 10;
// A dead endpoint and a busy test must not grow the queue without end: past this, a record is dropped.
const maxQueued = 10_000;
const maxDelayMs = 60_000;

/** `http://host:port/path`: no credentials, no query (either may hold a secret). */
function shownEndpoint(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname}${url.search === '' ? '' : '?…'}`;
}

/** The Basic credentials an endpoint URL carries, as an Authorization value, or undefined. */
function basicAuthorization(url: URL): string | undefined {
  if (url.username === '' && url.password === '') return undefined;
  try {
    const user = decodeURIComponent(url.username);
    const password = decodeURIComponent(url.password);
    return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
  } catch {
    throw new TypeError('sesEvents: the credentials in endpoint are not well-formed percent-encoding');
  }
}

function checkDestination(destination: SesEventDestination, region: string): Omit<Subscription, 'state' | 'chain'> {
  if (destination === null || typeof destination !== 'object')
    throw new TypeError('sesEvents: each destination is an object with an endpoint');
  let url: URL;
  try {
    url = new URL(String(destination.endpoint));
  } catch {
    throw new TypeError('sesEvents: endpoint is not a URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new TypeError(`sesEvents: endpoint must be http: or https:, not ${url.protocol}`);
  const topicArn = destination.topicArn ?? `arn:aws:sns:${region}:${sandboxAccountId}:mailport-sandbox-events`;
  if (typeof topicArn !== 'string' || !topicArnPattern.test(topicArn)) {
    throw new TypeError('sesEvents: topicArn must be an SNS topic ARN, arn:aws:sns:REGION:ACCOUNT:NAME');
  }
  const version = destination.signatureVersion ?? '1';
  if (version !== '1' && version !== '2') throw new TypeError('sesEvents: signatureVersion must be "1" or "2"');
  const configurationSet = destination.configurationSet;
  if (configurationSet !== undefined && (typeof configurationSet !== 'string' || configurationSet.length === 0)) {
    throw new TypeError('sesEvents: configurationSet must be a non-empty string');
  }
  const retryDelaysMs = destination.retryDelaysMs ?? [200, 1000, 3000];
  if (
    !Array.isArray(retryDelaysMs) ||
    retryDelaysMs.length > maxRetries ||
    retryDelaysMs.some((delay) => typeof delay !== 'number' || !Number.isFinite(delay) || delay < 0 || delay > maxDelayMs)
  ) {
    throw new TypeError(`sesEvents: retryDelaysMs must be at most ${maxRetries} delays of 0 to ${maxDelayMs} ms`);
  }
  const timeoutMs = destination.timeoutMs ?? 5000;
  if (typeof timeoutMs !== 'number' || !Number.isFinite(timeoutMs) || timeoutMs <= 0 || timeoutMs > maxDelayMs) {
    throw new TypeError(`sesEvents: timeoutMs must be above 0 and at most ${maxDelayMs}`);
  }
  return {
    arn: `${topicArn}:${randomUUID()}`,
    topicArn,
    url,
    shown: shownEndpoint(url),
    version,
    configurationSet,
    retryDelaysMs: [...retryDelaysMs],
    timeoutMs,
    token: randomBytes(64).toString('hex'),
    authorization: basicAuthorization(url),
    delivered: 0,
    failed: 0,
    dropped: 0,
    queued: 0,
    confirmationSent: false,
  };
}

type Outcome = { readonly status: number; readonly challenged: boolean } | { readonly error: string };

/** One POST, bounded in time and in what it reads back; never rejects. */
function post(
  url: URL,
  body: string,
  headers: Record<string, string>,
  options: { timeoutMs: number; ca: string; signal: AbortSignal },
): Promise<Outcome> {
  return new Promise((resolve) => {
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    const finish = (outcome: Outcome): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(outcome);
    };
    const target = `${url.protocol}//${url.host}${url.pathname}${url.search}`;
    const requestOptions = {
      method: 'POST',
      headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
      agent: false as const,
      signal: options.signal,
      ...(url.protocol === 'https:' ? { ca: [...rootCertificates, options.ca] } : {}),
    };
    const onResponse = (response: IncomingMessage): void => {
      let read = 0;
      response.on('data', (chunk: Buffer) => {
        read += chunk.length;
        if (read > maxResponseBytes) response.destroy();
      });
      const status = response.statusCode ?? 0;
      const challenge = response.headers['www-authenticate'];
      const challenged = status === 401 && /^\s*basic\b/i.test(Array.isArray(challenge) ? (challenge[0] ?? '') : (challenge ?? ''));
      response.on('end', () => finish({ status, challenged }));
      response.on('close', () => finish({ status, challenged }));
      response.on('error', () => finish({ status, challenged }));
    };
    let outgoing: ReturnType<typeof httpRequest>;
    try {
      outgoing = (url.protocol === 'https:' ? httpsRequest : httpRequest)(target, requestOptions, onResponse);
    } catch (error) {
      finish({ error: (error as Error).message });
      return;
    }
    timer = setTimeout(() => {
      outgoing.destroy();
      finish({ error: `no answer within ${options.timeoutMs} ms` });
    }, options.timeoutMs);
    outgoing.on('error', (error: NodeJS.ErrnoException) => finish({ error: error.code ?? error.message }));
    outgoing.end(body);
  });
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

function publicView(subscription: Subscription): SnsSubscription {
  return Object.freeze({
    subscriptionArn: subscription.arn,
    topicArn: subscription.topicArn,
    endpoint: subscription.shown,
    signatureVersion: subscription.version,
    configurationSet: subscription.configurationSet,
    state: subscription.state,
    delivered: subscription.delivered,
    failed: subscription.failed,
    dropped: subscription.dropped,
    queued: subscription.queued,
  });
}

/**
 * The sandbox's SNS: topics with HTTP(S) subscriptions that receive SES's event-publishing
 * records for every message the SES emulator accepts, signed as SNS signs them (versions 1 and
 * 2) with a certificate the sandbox serves, retried with the same MessageId, in order per
 * subscription. Publishing never blocks or fails an SES send.
 */
export function createSnsHub(
  context: EmulatorContext,
  options: { destinations: readonly SesEventDestination[]; ca: string; maxQueued?: number | undefined },
): SnsHub {
  const queueLimit = options.maxQueued ?? maxQueued;
  const certificatePath = `/SimpleNotificationService-${randomBytes(16).toString('hex')}.pem`;
  const subscriptions: Subscription[] = [];
  const controller = new AbortController();
  let started = false;
  let closed = false;
  const region = (): string => context.accounts.ses.region;
  const certUrl = (): string => `${context.urls.https}${certificatePath}`;

  const enqueue = (subscription: Subscription, task: () => Promise<void>): void => {
    if (closed) return;
    subscription.queued += 1;
    subscription.chain = subscription.chain
      .then(() => (closed ? undefined : task()))
      .catch(() => undefined)
      .finally(() => {
        subscription.queued -= 1;
      });
  };

  const headersFor = (subscription: Subscription, fields: SnsMessageFields): Record<string, string> => ({
    'x-amz-sns-message-type': fields.Type,
    'x-amz-sns-message-id': fields.MessageId,
    'x-amz-sns-topic-arn': fields.TopicArn,
    ...(fields.Type === 'SubscriptionConfirmation' ? {} : { 'x-amz-sns-subscription-arn': subscription.arn }),
    'content-type': 'text/plain; charset=UTF-8',
    'user-agent': 'Amazon Simple Notification Service Agent',
  });

  /** The JSON body SNS posts, in SNS's field order. */
  const envelope = async (subscription: Subscription, fields: SnsMessageFields): Promise<string> => {
    const { key } = await snsSigningIdentity();
    const signature = snsSignature(fields, subscription.version, key);
    const unsubscribeUrl = `${context.urls.https}/sns/unsubscribe?Action=Unsubscribe&SubscriptionArn=${encodeURIComponent(subscription.arn)}`;
    return JSON.stringify(
      {
        Type: fields.Type,
        MessageId: fields.MessageId,
        ...(fields.Token === undefined ? {} : { Token: fields.Token }),
        TopicArn: fields.TopicArn,
        ...(fields.Subject === undefined ? {} : { Subject: fields.Subject }),
        Message: fields.Message,
        ...(fields.SubscribeURL === undefined ? {} : { SubscribeURL: fields.SubscribeURL }),
        Timestamp: fields.Timestamp,
        SignatureVersion: subscription.version,
        Signature: signature,
        SigningCertURL: certUrl(),
        ...(fields.Type === 'Notification' ? { UnsubscribeURL: unsubscribeUrl } : {}),
      },
      null,
      2,
    );
  };

  /**
   * Posts one message until the endpoint takes it or the retries run out, always with the same
   * body (and so the same MessageId). `report` hears every attempt; the result says whether it was taken.
   */
  const deliver = async (subscription: Subscription, fields: SnsMessageFields, report: (detail: string) => void): Promise<boolean> => {
    const body = await envelope(subscription, fields);
    const headers = headersFor(subscription, fields);
    const authorization = subscription.authorization;
    const attempts = subscription.retryDelaysMs.length + 1;
    for (let attempt = 1; attempt <= attempts && !closed; attempt++) {
      const postOptions = { timeoutMs: subscription.timeoutMs, ca: options.ca, signal: controller.signal };
      let outcome = await post(subscription.url, body, headers, postOptions);
      let said = 'error' in outcome ? outcome.error : String(outcome.status);
      if (!('error' in outcome) && outcome.challenged && authorization !== undefined && !closed) {
        outcome = await post(subscription.url, body, { ...headers, authorization }, postOptions);
        said += `, with credentials -> ${'error' in outcome ? outcome.error : String(outcome.status)}`;
      }
      report(`POST ${subscription.shown} -> ${said} (attempt ${attempt})`);
      if (!('error' in outcome) && outcome.status >= 200 && outcome.status < 300) return true;
      const delay = subscription.retryDelaysMs[attempt - 1];
      if (delay !== undefined) await sleep(delay, controller.signal);
    }
    return false;
  };

  const sendConfirmation = (subscription: Subscription): void => {
    if (subscription.confirmationSent) return;
    subscription.confirmationSent = true;
    enqueue(subscription, async () => {
      const subscribeUrl =
        `${context.urls.https}/sns/confirm?Action=ConfirmSubscription` +
        `&TopicArn=${encodeURIComponent(subscription.topicArn)}&Token=${subscription.token}`;
      await deliver(
        subscription,
        {
          Type: 'SubscriptionConfirmation',
          MessageId: randomUUID(),
          Token: subscription.token,
          TopicArn: subscription.topicArn,
          Message:
            `You have chosen to subscribe to the topic ${subscription.topicArn}.\n` +
            'To confirm the subscription, visit the SubscribeURL included in this message.',
          SubscribeURL: subscribeUrl,
          Timestamp: new Date(context.now()).toISOString(),
        },
        () => undefined,
      );
    });
  };

  /** The sandbox's event log entry about one event record of a message. */
  const report = (message: AcceptedSesMessage, messageId: string | undefined, event: SesEventRecord, detail: string): void => {
    context.events.record({ storeId: message.storeId, messageId, type: event.type, recipient: event.recipient, channel: 'sns', detail });
  };

  const notify = (subscription: Subscription, message: AcceptedSesMessage, event: SesEventRecord, messageId: string | undefined): void => {
    const fields: SnsMessageFields = {
      Type: 'Notification',
      MessageId: randomUUID(),
      TopicArn: subscription.topicArn,
      Message: JSON.stringify(event.record),
      Timestamp: new Date(context.now()).toISOString(),
    };
    enqueue(subscription, async () => {
      // Confirmed when it was published; unsubscribed since: SNS stops delivering.
      if (subscription.state !== 'confirmed') return;
      const record = (detail: string): void => report(message, messageId, event, detail);
      let taken = false;
      try {
        taken = await deliver(subscription, fields, record);
      } catch (error) {
        record(`not posted to ${subscription.shown}: ${error instanceof Error ? error.message : String(error)}`.slice(0, 300));
      }
      if (taken) subscription.delivered += 1;
      else subscription.failed += 1;
    });
  };

  const add = (destination: SesEventDestination): Subscription => {
    const checked = checkDestination(destination, region());
    const subscription: Subscription = { ...checked, state: 'pending', chain: Promise.resolve() };
    subscriptions.push(subscription);
    if (started) sendConfirmation(subscription);
    return subscription;
  };

  for (const destination of options.destinations) add(destination);

  return {
    certificatePath,
    get signingCertUrl() {
      return certUrl();
    },
    subscriptions: () => subscriptions.map(publicView),
    subscribe: (destination) => {
      if (closed) throw new Error('the sandbox is closed');
      return publicView(add(destination));
    },
    async idle() {
      // A finished post can queue nothing new by itself, but a send in between can: look again.
      while (subscriptions.some((subscription) => subscription.queued > 0)) {
        await Promise.all(subscriptions.map((subscription) => subscription.chain));
      }
    },
    start() {
      started = true;
      for (const subscription of subscriptions) sendConfirmation(subscription);
    },
    publish(message) {
      try {
        if (closed || subscriptions.length === 0) return;
        const events = sesEventRecords(message);
        const first = events[0]?.record.mail as { commonHeaders?: { messageId?: unknown } } | undefined;
        const headerId = first?.commonHeaders?.messageId;
        const messageId = typeof headerId === 'string' ? headerId : undefined;
        for (const subscription of subscriptions) {
          if (subscription.configurationSet !== undefined && subscription.configurationSet !== message.configurationSet) continue;
          if (subscription.state !== 'confirmed') {
            if (subscription.state === 'pending') subscription.dropped += events.length;
            continue;
          }
          for (const event of events) {
            if (subscription.queued >= queueLimit) {
              subscription.dropped += 1;
              report(message, messageId, event, `not posted to ${subscription.shown}: ${queueLimit} posts already waiting`);
              continue;
            }
            notify(subscription, message, event, messageId);
          }
        }
      } catch (error) {
        // Publishing is the sandbox's report on a send that already succeeded: it must never fail it.
        try {
          const detail = `not published: ${error instanceof Error ? error.message : String(error)}`.slice(0, 300);
          context.events.record({
            storeId: message.storeId,
            messageId: undefined,
            type: 'unknown',
            recipient: undefined,
            channel: 'sns',
            detail,
          });
        } catch {}
      }
    },
    confirm(topicArn, token) {
      const digest = (text: string): Buffer => createHash('sha256').update(text).digest();
      const presented = digest(token);
      const subscription = subscriptions.find((entry) => entry.topicArn === topicArn && timingSafeEqual(digest(entry.token), presented));
      if (subscription === undefined || subscription.state === 'unsubscribed') return undefined;
      subscription.state = 'confirmed';
      return subscription.arn;
    },
    unsubscribe(subscriptionArn) {
      const subscription = subscriptions.find((entry) => entry.arn === subscriptionArn);
      if (subscription === undefined) return false;
      subscription.state = 'unsubscribed';
      return true;
    },
    async close() {
      closed = true;
      controller.abort();
      await Promise.all(subscriptions.map((subscription) => subscription.chain));
    },
  };
}
