import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { type Address, type EmailMessage, invalidMessage, MailError, type MessageInput, readAttachment } from '@mailport/core';

/** The message as a job holds it: plain JSON, attachments in base64. No transport, no credential. */
export interface SerializedMessage {
  readonly v: 1;
  readonly messageId: string;
  readonly from: Address;
  readonly sender?: Address | undefined;
  readonly to: readonly Address[];
  readonly cc: readonly Address[];
  readonly bcc: readonly Address[];
  readonly replyTo: readonly Address[];
  readonly subject: string;
  readonly text?: string | undefined;
  readonly html?: string | undefined;
  readonly attachments: readonly {
    readonly filename?: string | undefined;
    readonly contentType?: string | undefined;
    readonly contentId?: string | undefined;
    readonly disposition: 'attachment' | 'inline';
    readonly base64: string;
  }[];
  readonly headers: readonly { readonly name: string; readonly value: string }[];
  readonly inReplyTo?: string | undefined;
  readonly references: readonly string[];
  readonly priority?: 'high' | 'normal' | 'low' | undefined;
  readonly tags: readonly string[];
  readonly metadata: Readonly<Record<string, string>>;
  readonly listUnsubscribe?:
    | { readonly url?: string | undefined; readonly mailto?: string | undefined; readonly oneClick: boolean }
    | undefined;
  readonly envelope?: { readonly from: string; readonly to: readonly string[] } | undefined;
  readonly date: string;
}

/** What a job's `data` is: the message in the clear, or sealed with AES-256-GCM; the Message-ID always in the clear (the ledger needs it). */
export interface JobPayload {
  readonly v: 1;
  readonly messageId: string;
  readonly message?: SerializedMessage | undefined;
  readonly sealed?:
    | { readonly alg: 'aes-256-gcm'; readonly keyId: string; readonly iv: string; readonly tag: string; readonly data: string }
    | undefined;
  readonly route?: string | undefined;
  readonly maxAgeMs?: number | undefined;
  /** When the maximum age counts from, if not the job's creation (a requeued dead letter). */
  readonly ageFrom?: number | undefined;
}

/** Default largest job: 10 MiB of JSON (attachments count at their base64 size). */
export const defaultMaxJobBytes: number = 10 * 1024 * 1024;

/**
 * The job id of a message: `m` and the first 32 hex digits of SHA-256 over the Message-ID. The same
 * message enqueued twice gets the same id, so it is one job; the hash keeps `:` (which BullMQ refuses
 * in ids) and the address in the Message-ID out of Redis key names.
 */
export function jobIdFor(messageId: string): string {
  return `m${createHash('sha256').update(messageId).digest('hex').slice(0, 32)}`;
}

/** A short, one-way form of an id for logs and spans: never the Message-ID itself (it names a domain). */
export function hashId(value: string): string {
  return createHash('sha256').update(value).digest('hex').slice(0, 16);
}

/** Reads every attachment and turns the message into plain JSON for a job. */
export async function serializeMessage(message: EmailMessage): Promise<SerializedMessage> {
  const attachments = await Promise.all(
    message.attachments.map(async (attachment) => ({
      filename: attachment.filename,
      contentType: attachment.contentType,
      contentId: attachment.contentId,
      disposition: attachment.disposition,
      base64: (await readAttachment(attachment)).toString('base64'),
    })),
  );
  return {
    v: 1,
    messageId: message.messageId,
    from: plainAddress(message.from),
    sender: message.sender === undefined ? undefined : plainAddress(message.sender),
    to: message.to.map(plainAddress),
    cc: message.cc.map(plainAddress),
    bcc: message.bcc.map(plainAddress),
    replyTo: message.replyTo.map(plainAddress),
    subject: message.subject,
    text: message.text,
    html: message.html,
    attachments,
    headers: message.headers.map(({ name, value }) => ({ name, value })),
    inReplyTo: message.inReplyTo,
    references: [...message.references],
    priority: message.priority,
    tags: [...message.tags],
    metadata: { ...message.metadata },
    listUnsubscribe: message.listUnsubscribe === undefined ? undefined : { ...message.listUnsubscribe },
    envelope: message.hasCustomEnvelope ? { from: message.envelope.from, to: [...message.envelope.to] } : undefined,
    date: message.date.toISOString(),
  };
}

function plainAddress(address: Address): Address {
  return address.name === undefined ? { name: undefined, address: address.address } : { name: address.name, address: address.address };
}

/** The input `createMessage` rebuilds the same message from (same Message-ID, same Date). */
export function deserializeMessage(message: SerializedMessage): MessageInput {
  const headers: Record<string, string[]> = {};
  for (const { name, value } of message.headers) headers[name] = [...(headers[name] ?? []), value];
  const address = (value: Address) => (value.name === undefined ? value.address : { name: value.name, address: value.address });
  return {
    messageId: message.messageId,
    from: address(message.from),
    sender: message.sender === undefined ? undefined : address(message.sender),
    to: message.to.map(address),
    cc: message.cc.map(address),
    bcc: message.bcc.map(address),
    replyTo: message.replyTo.map(address),
    subject: message.subject,
    text: message.text,
    html: message.html,
    attachments: message.attachments.map((attachment) => ({
      filename: attachment.filename,
      contentType: attachment.contentType,
      contentId: attachment.contentId,
      disposition: attachment.disposition,
      content: attachment.base64,
      encoding: 'base64' as const,
    })),
    headers,
    inReplyTo: message.inReplyTo,
    references: message.references,
    priority: message.priority,
    tags: message.tags,
    metadata: message.metadata,
    listUnsubscribe: message.listUnsubscribe,
    envelope: message.envelope,
    date: new Date(message.date),
  };
}

/** An AES-256-GCM key for job data at rest, with an id so keys can be rotated. */
export interface EncryptionKey {
  /** 32 bytes. */
  readonly key: Uint8Array;
  /** Written next to each sealed job so a worker can pick the matching key. Default: a hash of the key. */
  readonly id?: string | undefined;
}

/** An encryption key with its id filled in. */
export interface NormalizedEncryptionKey {
  readonly key: Uint8Array;
  readonly id: string;
}

/** Checks keys once, at creation: a wrong key length is a `configuration` error, never a late surprise. */
export function normalizeKeys(keys: EncryptionKey | readonly EncryptionKey[] | undefined): readonly NormalizedEncryptionKey[] {
  if (keys === undefined) return [];
  const list = Array.isArray(keys) ? (keys as readonly EncryptionKey[]) : [keys as EncryptionKey];
  return list.map((entry, index) => {
    if (!(entry.key instanceof Uint8Array) || entry.key.byteLength !== 32) {
      throw new MailError(
        'configuration',
        `encryption key ${index} must be 32 bytes (AES-256), not ${entry.key?.byteLength ?? 'missing'}`,
        {
          remediation: 'Generate one with `openssl rand -base64 32` and pass Buffer.from(value, "base64").',
        },
      );
    }
    return { key: entry.key, id: entry.id ?? createHash('sha256').update(entry.key).digest('hex').slice(0, 8) };
  });
}

/**
 * Builds the job payload: the message in the clear, or sealed with the first key (AES-256-GCM, a random
 * 96-bit IV, the job id as additional data so a sealed payload cannot be moved to another job).
 * Over `maxJobBytes` it is an `invalid-message` error about the attachments.
 */
export function buildPayload(
  message: SerializedMessage,
  options: {
    readonly jobId: string;
    readonly keys: readonly NormalizedEncryptionKey[];
    readonly maxJobBytes: number;
    readonly route?: string | undefined;
    readonly maxAgeMs?: number | undefined;
  },
): JobPayload {
  const json = JSON.stringify(message);
  const size = Buffer.byteLength(json);
  if (size > options.maxJobBytes) {
    throw invalidMessage(
      'attachments',
      `make the queued job ${(size / 1048576).toFixed(1)} MiB, over the queue's limit of ${(options.maxJobBytes / 1048576).toFixed(1)} MiB`,
      'Link large files instead of attaching them, or raise maxJobBytes (every byte sits in Redis memory until the message is sent).',
    );
  }
  const extra = { messageId: message.messageId, route: options.route, maxAgeMs: options.maxAgeMs };
  const key = options.keys[0];
  if (key === undefined) return { v: 1, ...extra, message };
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key.key, iv);
  cipher.setAAD(Buffer.from(options.jobId));
  const data = Buffer.concat([cipher.update(json), cipher.final()]);
  return {
    v: 1,
    sealed: {
      alg: 'aes-256-gcm',
      keyId: key.id,
      iv: iv.toString('base64'),
      tag: cipher.getAuthTag().toString('base64'),
      data: data.toString('base64'),
    },
    ...extra,
  };
}

/** Reads a job payload back; a sealed one needs its key. */
export function openPayload(payload: JobPayload, jobId: string, keys: readonly NormalizedEncryptionKey[]): SerializedMessage {
  if (payload?.v !== 1) throw new MailError('invalid-message', `Job ${jobId} holds no mailport message (unknown payload version)`);
  if (payload.message !== undefined) return payload.message;
  const sealed = payload.sealed;
  if (sealed === undefined) throw new MailError('invalid-message', `Job ${jobId} holds no message`);
  const key = keys.find((candidate) => candidate.id === sealed.keyId);
  if (key === undefined) {
    throw new MailError('configuration', `Job ${jobId} is encrypted with key ${sealed.keyId}, which this worker does not have`, {
      remediation: 'Give the worker every key still in use (encryptionKey accepts a list, newest first).',
    });
  }
  try {
    const decipher = createDecipheriv('aes-256-gcm', key.key, Buffer.from(sealed.iv, 'base64'));
    decipher.setAAD(Buffer.from(jobId));
    decipher.setAuthTag(Buffer.from(sealed.tag, 'base64'));
    const json = Buffer.concat([decipher.update(Buffer.from(sealed.data, 'base64')), decipher.final()]).toString('utf8');
    return JSON.parse(json) as SerializedMessage;
  } catch {
    throw new MailError('configuration', `Job ${jobId} could not be decrypted with key ${key.id} (wrong key, or the data was altered)`);
  }
}

/** Subject and recipients for a dead letter's summary, without bodies. */
export function summarize(message: SerializedMessage | undefined): { subject: string; to: string[] } {
  if (message === undefined) return { subject: '', to: [] };
  return { subject: message.subject, to: [...message.to, ...message.cc, ...message.bcc].map((address) => address.address) };
}
