import { createHash, createVerify, X509Certificate } from 'node:crypto';
import { request as httpsRequest } from 'node:https';

// Amazon SNS message signatures, as AWS documents them:
// https://docs.aws.amazon.com/sns/latest/dg/sns-verify-signature-of-message.html
// https://docs.aws.amazon.com/sns/latest/dg/http-notification-json.html (the envelope's fields)

/** An SNS envelope as posted to an HTTP/S subscriber. */
export interface SnsMessage {
  readonly Type: 'Notification' | 'SubscriptionConfirmation' | 'UnsubscribeConfirmation';
  readonly MessageId: string;
  readonly TopicArn: string;
  readonly Message: string;
  readonly Timestamp: string;
  readonly SignatureVersion: '1' | '2';
  readonly Signature: string;
  readonly SigningCertURL: string;
  /** Notifications only, when the publisher set one. */
  readonly Subject?: string | undefined;
  /** Confirmations only. */
  readonly Token?: string | undefined;
  /** Confirmations only: GET it to confirm the subscription. */
  readonly SubscribeURL?: string | undefined;
  /** Notifications only. */
  readonly UnsubscribeURL?: string | undefined;
}

/** Where signing certificates (and SubscribeURLs) may come from, besides `sns.<region>.amazonaws.com`. */
export interface SnsCertificateOptions {
  /** Extra `host` or `host:port` values allowed (the sandbox: `127.0.0.1:${sandbox.httpsPort}`). Default none. */
  readonly hosts?: readonly string[] | undefined;
  /** CA certificates (PEM) trusted for the extra `hosts` only; AWS's hosts always use the system's roots. */
  readonly ca?: string | readonly string[] | undefined;
  /** Longest wait for a certificate or a SubscribeURL answer, in ms. Default 5000. */
  readonly timeoutMs?: number | undefined;
}

/** Options of {@link verifySnsMessage}. */
export interface SnsVerifyOptions {
  /** The topic ARNs accepted; required and non-empty, because a valid signature proves only that *some* SNS topic sent it. */
  readonly topics: readonly string[];
  /** Oldest `Timestamp` accepted, in ms. Default 3 600 000 (an hour: SNS's HTTP retries end within 3600 s). */
  readonly maxAgeMs?: number | undefined;
  readonly certificates?: SnsCertificateOptions | undefined;
}

/** Why a message was refused. */
export type SnsRejection =
  /** Not an SNS envelope: a missing or non-string field, an unknown Type or SignatureVersion. */
  | 'malformed'
  /** The TopicArn is not in `topics`. */
  | 'topic-not-allowed'
  /** `Timestamp` older than `maxAgeMs`, or more than 5 minutes ahead. */
  | 'stale'
  /** SigningCertURL is not https, not an SNS host of the topic's region, or not a `.pem`. */
  | 'certificate-url'
  /** The certificate could not be used: a redirect or an error status, not PEM, expired or not yet valid. */
  | 'certificate'
  /** The certificate could not be fetched (network, timeout): worth a retry. */
  | 'certificate-unavailable'
  /** The signature does not verify. */
  | 'signature';

/** What {@link verifySnsMessage} found. */
export type SnsVerification =
  | { readonly valid: true; readonly message: SnsMessage }
  | { readonly valid: false; readonly reason: SnsRejection; readonly detail: string };

const futureSkewMs = 5 * 60 * 1000;
const defaultMaxAgeMs = 60 * 60 * 1000;
const defaultTimeoutMs = 5000;
/** An SNS signing certificate is about 2 KB of PEM. */
const maxCertificateBytes = 64 * 1024;
const cacheSize = 50;

const notificationKeys = ['Message', 'MessageId', 'Subject', 'Timestamp', 'TopicArn', 'Type'] as const;
const confirmationKeys = ['Message', 'MessageId', 'SubscribeURL', 'Timestamp', 'Token', 'TopicArn', 'Type'] as const;

/**
 * The text SNS signs: `Key\nvalue\n` for each field in byte order (Message, MessageId, Subject
 * when present, Timestamp, TopicArn, Type for a notification; Message, MessageId, SubscribeURL,
 * Timestamp, Token, TopicArn, Type for a confirmation). For a signer and a verifier; the sandbox signs
 * with its own copy (sns-signing.ts), so that the two cannot share a mistake.
 */
export function snsStringToSign(
  message: Pick<SnsMessage, 'Type' | 'Message' | 'MessageId' | 'Timestamp' | 'TopicArn'> & Partial<SnsMessage>,
): string {
  const keys = message.Type === 'Notification' ? notificationKeys : confirmationKeys;
  let out = '';
  for (const key of keys) {
    const value = message[key];
    if (value === undefined || value === null) continue;
    out += `${key}\n${value}\n`;
  }
  return out;
}

type Json = Record<string, unknown>;

/** The envelope's fields, checked; or why not. */
export function readSnsEnvelope(value: unknown): SnsMessage | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const fields = value as Json;
  const type = fields.Type;
  if (type !== 'Notification' && type !== 'SubscriptionConfirmation' && type !== 'UnsubscribeConfirmation') return undefined;
  const required = ['MessageId', 'TopicArn', 'Message', 'Timestamp', 'SignatureVersion', 'Signature', 'SigningCertURL'];
  if (type !== 'Notification') required.push('Token', 'SubscribeURL');
  for (const key of required) if (typeof fields[key] !== 'string') return undefined;
  for (const key of ['Subject', 'Token', 'SubscribeURL', 'UnsubscribeURL'])
    if (fields[key] !== undefined && fields[key] !== null && typeof fields[key] !== 'string') return undefined;
  if (fields.SignatureVersion !== '1' && fields.SignatureVersion !== '2') return undefined;
  const optional = (key: string): string | undefined => (typeof fields[key] === 'string' ? (fields[key] as string) : undefined);
  const message: SnsMessage = {
    Type: type,
    MessageId: fields.MessageId as string,
    TopicArn: fields.TopicArn as string,
    Message: fields.Message as string,
    Timestamp: fields.Timestamp as string,
    SignatureVersion: fields.SignatureVersion,
    Signature: fields.Signature as string,
    SigningCertURL: fields.SigningCertURL as string,
    ...(optional('Subject') === undefined ? {} : { Subject: optional('Subject') }),
    ...(optional('Token') === undefined ? {} : { Token: optional('Token') }),
    ...(optional('SubscribeURL') === undefined ? {} : { SubscribeURL: optional('SubscribeURL') }),
    ...(optional('UnsubscribeURL') === undefined ? {} : { UnsubscribeURL: optional('UnsubscribeURL') }),
  };
  return Object.freeze(message);
}

/** `arn:aws:sns:eu-west-1:123456789012:name` -> the SNS host of its region, or undefined. */
function snsHostOf(topicArn: string): string | undefined {
  const match = /^arn:(aws|aws-cn|aws-us-gov):sns:([a-z]{2}(?:-[a-z]+)+-\d):\d{12}:[A-Za-z0-9_.-]{1,256}$/.exec(topicArn);
  if (match === null) return undefined;
  return match[1] === 'aws-cn' ? `sns.${match[2]}.amazonaws.com.cn` : `sns.${match[2]}.amazonaws.com`;
}

/**
 * A URL SNS gave (SigningCertURL, SubscribeURL) that may be fetched: https, no credentials, and the
 * host exactly the SNS host of the topic's region or one of `extraHosts`. Returns the URL and
 * whether it is one of the extra hosts (whose CA is `certificates.ca`).
 */
export function allowedSnsUrl(
  value: string,
  topicArn: string,
  extraHosts: readonly string[] = [],
): { url: URL; extra: boolean } | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'https:' || url.username !== '' || url.password !== '') return undefined;
  if (url.host === snsHostOf(topicArn)) return { url, extra: false };
  // A string here (a caller without types) would be matched as a substring: `not-127.0.0.1:8443` would allow `127.0.0.1:8443`.
  if (Array.isArray(extraHosts) && extraHosts.includes(url.host)) return { url, extra: true };
  return undefined;
}

/** One GET with no redirects followed, a deadline and a size cap; never rejects. */
export function boundedGet(
  url: URL,
  options: { ca?: string | readonly string[] | undefined; timeoutMs: number; maxBytes: number },
): Promise<{ status: number; body: Buffer } | { error: string }> {
  return new Promise((resolve) => {
    let done = false;
    let timer: NodeJS.Timeout | undefined;
    const finish = (value: { status: number; body: Buffer } | { error: string }): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve(value);
    };
    let outgoing: ReturnType<typeof httpsRequest>;
    try {
      outgoing = httpsRequest(url, {
        method: 'GET',
        agent: false,
        headers: { accept: '*/*' },
        ...(options.ca === undefined ? {} : { ca: typeof options.ca === 'string' ? options.ca : [...options.ca] }),
      });
    } catch (error) {
      // Node refuses a `ca` that is not text or bytes here, synchronously.
      finish({ error: (error as NodeJS.ErrnoException).code ?? 'request failed' });
      return;
    }
    timer = setTimeout(() => {
      outgoing.destroy();
      finish({ error: 'timed out' });
    }, options.timeoutMs);
    outgoing.on('error', (error: NodeJS.ErrnoException) => finish({ error: error.code ?? 'request failed' }));
    outgoing.on('response', (response) => {
      const chunks: Buffer[] = [];
      let size = 0;
      response.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > options.maxBytes) {
          outgoing.destroy();
          finish({ status: response.statusCode ?? 0, body: Buffer.alloc(0) });
          return;
        }
        chunks.push(chunk);
      });
      response.on('end', () => finish({ status: response.statusCode ?? 0, body: Buffer.concat(chunks) }));
      response.on('error', () => finish({ error: 'response broken' }));
      response.on('aborted', () => finish({ error: 'response aborted' }));
    });
    outgoing.end();
  });
}

/**
 * Whether a certificate's subject names SNS, as AWS's signing certificates do
 * (`CN=sns.amazonaws.com`, issued by an Amazon CA): AWS asks verifiers to check that the
 * certificate is SNS's, not only where it came from. Applied to certificates from AWS's hosts only;
 * `certificates.hosts` (the sandbox) are trusted by their CA instead.
 */
export function isSnsCertificateSubject(subject: string): boolean {
  const commonNames = subject
    .split('\n')
    .filter((line) => line.startsWith('CN='))
    .map((line) => line.slice(3));
  return commonNames.length === 1 && /^sns(?:\.[a-z0-9-]+)*\.amazonaws\.com(?:\.cn)?$/.test(commonNames[0] as string);
}

type CertificateResult = { certificate: X509Certificate } | { reason: 'certificate' | 'certificate-unavailable'; detail: string };

/** Fetched certificates by URL (and CA), most recently used last; failures are not kept. */
const certificateCache = new Map<string, Promise<CertificateResult>>();

/**
 * The cache key part of a CA option: its SHA-256, computed once per option value (a webhook passes
 * the same string or array with every notification; hashing the PEM each time was a tenth of the
 * webhook's time in `npm run bench -- events`).
 */
const caKeysByString = new Map<string, string>();
const caKeysByList = new WeakMap<readonly string[], string>();

function caKeyOf(ca: string | readonly string[] | undefined): string {
  if (ca === undefined) return '';
  const known = typeof ca === 'string' ? caKeysByString.get(ca) : caKeysByList.get(ca);
  if (known !== undefined) return known;
  const key = createHash('sha256')
    .update(typeof ca === 'string' ? ca : ca.join('\n'))
    .digest('hex');
  if (typeof ca === 'string') {
    if (caKeysByString.size >= 16) caKeysByString.clear();
    caKeysByString.set(ca, key);
  } else caKeysByList.set(ca, key);
  return key;
}

function fetchCertificate(url: URL, ca: string | readonly string[] | undefined, timeoutMs: number): Promise<CertificateResult> {
  const key = `${caKeyOf(ca)} ${url.href}`;
  const cached = certificateCache.get(key);
  if (cached !== undefined) {
    certificateCache.delete(key);
    certificateCache.set(key, cached);
    return cached;
  }
  const pending = boundedGet(url, { ca, timeoutMs, maxBytes: maxCertificateBytes }).then((answer): CertificateResult => {
    if ('error' in answer) return { reason: 'certificate-unavailable', detail: `certificate not fetched (${answer.error})` };
    if (answer.status >= 300 && answer.status < 400)
      return { reason: 'certificate', detail: 'certificate URL redirects; redirects are not followed' };
    if (answer.status !== 200) return { reason: 'certificate', detail: `certificate URL answered ${answer.status}` };
    if (answer.body.length === 0) return { reason: 'certificate', detail: 'certificate empty or too large' };
    try {
      return { certificate: new X509Certificate(answer.body) };
    } catch {
      return { reason: 'certificate', detail: 'certificate is not a PEM X.509 certificate' };
    }
  });
  certificateCache.set(key, pending);
  while (certificateCache.size > cacheSize) {
    const oldest = certificateCache.keys().next().value;
    if (oldest === undefined) break;
    certificateCache.delete(oldest);
  }
  void pending.then((result) => {
    if (!('certificate' in result)) certificateCache.delete(key);
  });
  return pending;
}

const reject = (reason: SnsRejection, detail: string): SnsVerification => ({ valid: false, reason, detail });

/**
 * Verifies an SNS envelope (parsed JSON) as AWS documents it, and never throws:
 *
 * 1. the fields are present and strings, `Type` and `SignatureVersion` (`1`: SHA1withRSA, `2`:
 *    SHA256withRSA) known;
 * 2. `TopicArn` is in `topics` (checked before any certificate is fetched);
 * 3. `Timestamp` is at most `maxAgeMs` old (default an hour) and at most 5 minutes ahead;
 * 4. `SigningCertURL` is https, its host exactly `sns.<the topic's region>.amazonaws.com` (or
 *    `.amazonaws.com.cn` for `arn:aws-cn`) or one of `certificates.hosts`, its path ending `.pem`;
 * 5. the certificate is fetched with no redirect followed, a timeout (`certificates.timeoutMs`,
 *    default 5 s) and a 64 KiB cap, kept in a cache of 50 by URL, and must be within its validity
 *    dates now; from an AWS host, its subject must be `CN=sns.amazonaws.com` (or another `sns.`
 *    name under `amazonaws.com` / `amazonaws.com.cn`);
 * 6. the signature verifies over {@link snsStringToSign}.
 *
 * @example
 * ```ts
 * const result = await verifySnsMessage(JSON.parse(body), { topics: ['arn:aws:sns:eu-west-1:123456789012:ses-events'] });
 * if (!result.valid) console.warn(result.reason);
 * ```
 */
export async function verifySnsMessage(envelope: unknown, options: SnsVerifyOptions): Promise<SnsVerification> {
  try {
    const message = readSnsEnvelope(envelope);
    if (message === undefined) return reject('malformed', 'not an SNS envelope');
    return await verifySnsEnvelope(message, options);
  } catch {
    return reject('malformed', 'message could not be read');
  }
}

/**
 * Steps 2 to 6 of {@link verifySnsMessage}, for an envelope {@link readSnsEnvelope} already read
 * (the webhook reads it first, to compare the `x-amz-sns-*` headers with it). Throws only for
 * options that are not {@link SnsVerifyOptions}.
 */
export async function verifySnsEnvelope(message: SnsMessage, options: SnsVerifyOptions): Promise<SnsVerification> {
  if (!Array.isArray(options.topics) || !options.topics.includes(message.TopicArn)) return reject('topic-not-allowed', 'topic not allowed');
  const sent = Date.parse(message.Timestamp);
  if (Number.isNaN(sent)) return reject('malformed', 'Timestamp is not a date');
  const now = Date.now();
  if (now - sent > (options.maxAgeMs ?? defaultMaxAgeMs)) return reject('stale', 'Timestamp too old');
  if (sent - now > futureSkewMs) return reject('stale', 'Timestamp in the future');
  const certificates = options.certificates ?? {};
  const allowed = allowedSnsUrl(message.SigningCertURL, message.TopicArn, certificates.hosts);
  if (allowed === undefined || !allowed.url.pathname.endsWith('.pem')) return reject('certificate-url', 'SigningCertURL not allowed');
  const fetched = await fetchCertificate(
    allowed.url,
    allowed.extra ? certificates.ca : undefined,
    certificates.timeoutMs ?? defaultTimeoutMs,
  );
  if (!('certificate' in fetched)) return reject(fetched.reason, fetched.detail);
  const certificate = fetched.certificate;
  const from = Date.parse(certificate.validFrom);
  const to = Date.parse(certificate.validTo);
  if (Number.isNaN(from) || Number.isNaN(to) || now < from || now > to)
    return reject('certificate', 'certificate expired or not yet valid');
  if (!allowed.extra && !isSnsCertificateSubject(certificate.subject)) return reject('certificate', 'certificate is not issued to SNS');
  const signature = Buffer.from(message.Signature, 'base64');
  if (signature.length === 0) return reject('signature', 'signature missing');
  const verifier = createVerify(message.SignatureVersion === '1' ? 'RSA-SHA1' : 'RSA-SHA256');
  verifier.update(snsStringToSign(message), 'utf8');
  let good = false;
  try {
    good = verifier.verify(certificate.publicKey, signature);
  } catch {
    good = false;
  }
  return good ? { valid: true, message } : reject('signature', 'signature does not verify');
}
