// Reading Graph mail requests: bodies, messages and attachments, checked as Graph's OData layer and Exchange check them.
import { randomBytes } from 'node:crypto';
import type { HttpRequest, HttpResponse } from '../http.js';
import type { GraphMessage, GraphRecipient, SandboxAttachment } from './compose.js';
import { graphError, headerValue } from './errors.js';
import { graphLimits } from './mail-limits.js';

const messageProperties = new Set([
  'subject',
  'body',
  'from',
  'sender',
  'toRecipients',
  'ccRecipients',
  'bccRecipients',
  'replyTo',
  'attachments',
  'internetMessageHeaders',
  'internetMessageId',
  'importance',
  'categories',
  'flag',
  'inferenceClassification',
  'isDeliveryReceiptRequested',
  'isReadReceiptRequested',
  'singleValueExtendedProperties',
  'multiValueExtendedProperties',
  'mentions',
]);
const attachmentProperties = new Set([
  'name',
  'contentType',
  'contentBytes',
  'isInline',
  'contentId',
  'contentLocation',
  'size',
  'id',
  'lastModifiedDateTime',
]);

/** A request read, or the answer refusing it. */
export type Parsed<T> = { ok: true; value: T } | { ok: false; response: HttpResponse };

/** The request's media type, lower case, without parameters. */
export function contentType(request: HttpRequest): string {
  return (headerValue(request, 'content-type') ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
}

/** A JSON object body, or Graph's answer to an empty, non-JSON or malformed one. */
export function parseJson(request: HttpRequest): Parsed<Record<string, unknown>> {
  const type = contentType(request);
  if (request.body.length === 0)
    return { ok: false, response: graphError(400, 'BadRequest', 'Empty Payload. JSON content expected.', { request }) };
  if (type !== 'application/json') {
    return {
      ok: false,
      response: graphError(
        415,
        'UnsupportedMediaType',
        `The content type '${type}' is not supported: use application/json, or text/plain for MIME.`,
        {
          request,
        },
      ),
    };
  }
  try {
    const value = JSON.parse(request.body.toString('utf8')) as unknown;
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) return { ok: true, value: value as Record<string, unknown> };
  } catch {
    // Answered below.
  }
  return {
    ok: false,
    response: graphError(
      400,
      'BadRequest',
      'Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.',
      { request },
    ),
  };
}

/** The MIME bytes of a text/plain body: base64, line breaks allowed, anything else refused. */
export function decodeMime(request: HttpRequest): Parsed<Buffer> {
  const text = request.body.toString('latin1').replace(/[\r\n\t ]/g, '');
  if (text === '' || text.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(text)) {
    return {
      ok: false,
      response: graphError(400, 'ErrorMimeContentInvalidBase64String', 'Invalid base64 string for MIME content.', { request }),
    };
  }
  return { ok: true, value: Buffer.from(text, 'base64') };
}

/** OData's answer to a property its type does not have. */
export function unknownProperty(request: HttpRequest, name: string, type: string): HttpResponse {
  return graphError(
    400,
    'RequestBodyRead',
    `The property '${name}' does not exist on type '${type}'. Make sure to only use property names that are defined by the type or mark the type as open type.`,
    { request },
  );
}

/** Validates a JSON `message` the way Graph's OData layer and Exchange do. */
export function checkJsonMessage(request: HttpRequest, message: Record<string, unknown>): Parsed<GraphMessage> {
  const fail = (response: HttpResponse): Parsed<GraphMessage> => ({ ok: false, response });
  const unknown = Object.keys(message).find((key) => !messageProperties.has(key) && !key.startsWith('@odata.'));
  if (unknown !== undefined) return fail(unknownProperty(request, unknown, 'microsoft.graph.message'));
  const body = message.body as { contentType?: unknown; content?: unknown } | undefined;
  if (body !== undefined && body !== null) {
    const kind = body.contentType;
    if (kind !== undefined && (typeof kind !== 'string' || !/^(text|html)$/i.test(kind))) {
      return fail(
        graphError(
          400,
          'RequestBodyRead',
          `Cannot convert the literal '${String(kind)}' to the expected type 'microsoft.graph.bodyType'.`,
          { request },
        ),
      );
    }
    if (body.content !== undefined && typeof body.content !== 'string') {
      return fail(graphError(400, 'RequestBodyRead', "The value of 'content' must be a string.", { request }));
    }
  }
  for (const field of ['toRecipients', 'ccRecipients', 'bccRecipients', 'replyTo'] as const) {
    const list = message[field];
    if (list === undefined) continue;
    if (!Array.isArray(list) || list.some((entry) => typeof (entry as GraphRecipient)?.emailAddress?.address !== 'string')) {
      return fail(
        graphError(400, 'ErrorInvalidRecipients', `At least one recipient isn't valid., '${field}' has a recipient without an address.`, {
          request,
        }),
      );
    }
  }
  const headers = message.internetMessageHeaders;
  if (headers !== undefined) {
    if (!Array.isArray(headers) || headers.length === 0 || headers.length > graphLimits.maxCustomHeaders) {
      // Graph refuses an empty collection with the same error as an over-long one (msgraph-sdk-dotnet#2208).
      return fail(
        graphError(
          400,
          'InvalidInternetMessageHeaderCollection',
          'Maximum number of headers in one message should be less than or equal to 5.',
          {
            request,
          },
        ),
      );
    }
    for (const header of headers as { name?: unknown; value?: unknown }[]) {
      const name = typeof header?.name === 'string' ? header.name : '';
      if (!/^x-/i.test(name)) {
        return fail(
          graphError(400, 'InvalidInternetMessageHeader', `The internet message header name '${name}' should start with 'x-' or 'X-'.`, {
            request,
          }),
        );
      }
      if (typeof header.value !== 'string') {
        return fail(graphError(400, 'InvalidInternetMessageHeader', `The internet message header '${name}' has no value.`, { request }));
      }
    }
  }
  const id = message.internetMessageId;
  if (id !== undefined && (typeof id !== 'string' || !/^<[^<>\s@]+@[^<>\s@]+>$/.test(id))) {
    return fail(graphError(400, 'ErrorInvalidInternetMessageId', `The internet message id '${String(id)}' is not valid.`, { request }));
  }
  return { ok: true, value: message as GraphMessage };
}

/** Reads `fileAttachment`s with their base64 `contentBytes`. */
export function readJsonAttachments(request: HttpRequest, list: unknown): Parsed<SandboxAttachment[]> {
  if (list === undefined || list === null) return { ok: true, value: [] };
  if (!Array.isArray(list))
    return { ok: false, response: graphError(400, 'RequestBodyRead', "The value of 'attachments' must be an array.", { request }) };
  const attachments: SandboxAttachment[] = [];
  for (const entry of list as Record<string, unknown>[]) {
    const type = entry?.['@odata.type'];
    if (type !== '#microsoft.graph.fileAttachment' && type !== '#Microsoft.Graph.FileAttachment') {
      return {
        ok: false,
        response: graphError(
          400,
          'ErrorInvalidParameter',
          `The attachment type '${String(type)}' is not supported here; use #microsoft.graph.fileAttachment.`,
          {
            request,
          },
        ),
      };
    }
    const unknown = Object.keys(entry).find((key) => !attachmentProperties.has(key) && !key.startsWith('@odata.'));
    if (unknown !== undefined) return { ok: false, response: unknownProperty(request, unknown, 'microsoft.graph.fileAttachment') };
    if (typeof entry.name !== 'string' || entry.name === '') {
      return { ok: false, response: graphError(400, 'ErrorInvalidParameter', "The value of the parameter 'Name' is empty.", { request }) };
    }
    const bytes = typeof entry.contentBytes === 'string' ? entry.contentBytes.replace(/\s/g, '') : '';
    if (bytes.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(bytes)) {
      return { ok: false, response: graphError(400, 'RequestBodyRead', "The value of 'contentBytes' is not valid base64.", { request }) };
    }
    attachments.push({
      id: itemId(),
      name: entry.name,
      contentType: typeof entry.contentType === 'string' && entry.contentType !== '' ? entry.contentType : 'application/octet-stream',
      isInline: entry.isInline === true,
      contentId: typeof entry.contentId === 'string' && entry.contentId !== '' ? entry.contentId : undefined,
      bytes: Buffer.from(bytes, 'base64'),
    });
  }
  return { ok: true, value: attachments };
}

/** Exchange's answer to a message over {@link graphLimits}.maxMessageBytes. */
export function tooBig(request: HttpRequest): HttpResponse {
  return graphError(
    400,
    'ErrorMessageSizeExceeded',
    'The message exceeds the maximum supported size., Cannot save changes made to an item to store.',
    {
      request,
    },
  );
}

/** An Exchange-looking item id: `AAMkAD...=`, URL-safe. */
export function itemId(): string {
  return `AAMkAD${randomBytes(30).toString('base64url')}`;
}
