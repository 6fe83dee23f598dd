import { Readable } from 'node:stream';
import { type EmailMessage, invalidMessage, type RenderedMime } from '@mailport/core';

/** The metadata key a caller sets to send a reply into an existing Gmail thread. */
export const threadIdKey = 'gmail.threadId';

/** How a message goes to `users.messages.send`. */
export type GmailUploadType = 'json' | 'media' | 'multipart';

/** One `users.messages.send` request, before the token and the connection are added. */
export interface GmailSendRequest {
  /**
   * `json`: `POST /gmail/v1/users/{userId}/messages/send` with `{ threadId?, raw }`;
   * `media`: the upload endpoint with the message as the body;
   * `multipart`: the upload endpoint with `{ threadId }` and the message.
   */
  readonly uploadType: GmailUploadType;
  readonly threadId: string | undefined;
  /** The Content-Type of the body (`json`) or of the message part (uploads). */
  readonly contentType: 'application/json' | 'message/rfc822';
  /** Bytes of the body (`json`, `media`); of the message part for `multipart`. */
  readonly length: number;
  /** A new stream over the body, or over the message part for `multipart`; one per attempt. */
  body(): Readable;
}

/** Options of {@link gmailSendRequest}. */
export interface GmailSendRequestOptions {
  /**
   * The largest JSON request body (the message base64url-encoded in `raw`, with the JSON around
   * it) sent to the JSON endpoint; a larger one takes the upload endpoint.
   */
  readonly uploadThreshold: number;
  /** `upload`: take the upload endpoint whatever the size (after the JSON endpoint answered 413). */
  readonly endpoint?: 'auto' | 'upload' | undefined;
}

/**
 * The `threadId` of `metadata['gmail.threadId']`, or undefined. Gmail thread ids are hex
 * strings; anything else is refused before sending.
 *
 * @example
 * ```ts
 * threadIdOf(createMessage({ ...reply, metadata: { 'gmail.threadId': '18f3a9c2b4d5e6f7' } })); // '18f3a9c2b4d5e6f7'
 * ```
 */
export function threadIdOf(message: EmailMessage): string | undefined {
  const value = message.metadata[threadIdKey];
  if (value === undefined) return undefined;
  if (!/^[0-9a-fA-F]{1,32}$/.test(value)) {
    throw invalidMessage(
      `metadata.${threadIdKey}`,
      `is "${value.slice(0, 40)}", not a Gmail thread id`,
      'Use the threadId Gmail returned for the original message (receipt.details.threadId), a hex string such as 18f3a9c2b4d5e6f7.',
    );
  }
  return value;
}

/**
 * Chooses the endpoint for a rendered message and describes the request. The choice is made on
 * what would go over the wire: when the JSON body (the message base64url-encoded, a third larger,
 * in `raw`) is at most `uploadThreshold` bytes, the JSON endpoint takes it (Google's front end
 * answers 413 to JSON bodies of a few MB, a figure it does not document); otherwise the upload
 * endpoint takes the bytes as they are, `uploadType=media`, or `multipart` when a `threadId` must
 * go along.
 *
 * @example
 * ```ts
 * const mime = await renderMimeParts(message, { keepBcc: true });
 * const request = gmailSendRequest(mime, threadIdOf(message), { uploadThreshold: 5_000_000 });
 * request.uploadType; // 'json' for a small message
 * ```
 */
export function gmailSendRequest(mime: RenderedMime, threadId: string | undefined, options: GmailSendRequestOptions): GmailSendRequest {
  const prefix = Buffer.from(threadId === undefined ? '{"raw":"' : `{"threadId":${JSON.stringify(threadId)},"raw":"`, 'latin1');
  const suffix = Buffer.from('"}', 'latin1');
  const jsonLength = prefix.length + base64urlLength(mime.size) + suffix.length;
  if (options.endpoint !== 'upload' && jsonLength <= options.uploadThreshold) {
    return {
      uploadType: 'json',
      threadId,
      contentType: 'application/json',
      length: jsonLength,
      body: () => Readable.from(jsonChunks(prefix, mime.chunks, suffix), { objectMode: false }),
    };
  }
  return {
    uploadType: threadId === undefined ? 'media' : 'multipart',
    threadId,
    contentType: 'message/rfc822',
    length: mime.size,
    body: () => mime.stream(),
  };
}

/** Length of unpadded base64url for `size` bytes. */
export function base64urlLength(size: number): number {
  return Math.ceil((size * 4) / 3);
}

// 48 KiB of input, a multiple of 3, so every block but the last encodes without padding.
const blockBytes = 48 * 1024;

/**
 * The JSON body `{"raw":"..."}` in blocks: the message is base64url-encoded as it streams, never
 * held as one string. Gmail decodes `raw` as protobuf bytes, which takes unpadded base64url.
 */
export function* jsonChunks(prefix: Buffer, chunks: readonly Buffer[], suffix: Buffer): Generator<Buffer> {
  yield prefix;
  let pending: Buffer[] = [];
  let pendingSize = 0;
  for (const chunk of chunks) {
    pending.push(chunk);
    pendingSize += chunk.length;
    if (pendingSize < blockBytes) continue;
    const joined = Buffer.concat(pending, pendingSize);
    const usable = pendingSize - (pendingSize % 3);
    yield Buffer.from(joined.subarray(0, usable).toString('base64url'), 'latin1');
    const rest = joined.subarray(usable);
    pending = rest.length > 0 ? [rest] : [];
    pendingSize = rest.length;
  }
  if (pendingSize > 0) yield Buffer.from(Buffer.concat(pending, pendingSize).toString('base64url'), 'latin1');
  yield suffix;
}

/**
 * Whether `from` is one of `allowed` (compared without case, as Gmail does), and the allowed
 * address it matched.
 */
export function matchSendAs(from: string, allowed: readonly string[]): string | undefined {
  const lower = from.toLowerCase();
  return allowed.find((address) => address.toLowerCase() === lower);
}
