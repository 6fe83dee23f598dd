import { randomBytes } from 'node:crypto';
import type { HttpRequest, HttpResponse, Route } from '../http.js';
import type { SandboxAttachment } from './compose.js';
import { graphError, graphHeaders, headerValue } from './errors.js';
import type { Caller, GraphMailContext, UploadSession } from './mail-context.js';
import { graphLimits } from './mail-limits.js';
import { itemId, parseJson, tooBig } from './mail-request.js';

/**
 * Upload sessions for attachments of 3 MB and more: POST .../attachments/createUploadSession, then
 * PUTs of byte ranges, in order, to the pre-authenticated upload URL it answers.
 */
export function uploadRoutes(mail: GraphMailContext): Route[] {
  const { context, drafts, sessions, base, inMailbox, findDraft, mailboxRoute } = mail;

  const createUploadSession = (request: HttpRequest, caller: Caller): HttpResponse => {
    const found = findDraft(request, caller);
    if (!found.ok) return found.response;
    const parsed = parseJson(request);
    if (!parsed.ok) return parsed.response;
    const item = parsed.value.AttachmentItem as Record<string, unknown> | undefined;
    if (typeof item !== 'object' || item === null) {
      return graphError(400, 'ErrorInvalidParameter', "The value of the parameter 'AttachmentItem' is empty.", { request });
    }
    if (item.attachmentType !== 'file') {
      return graphError(
        400,
        'ErrorInvalidParameter',
        `The attachment type '${String(item.attachmentType)}' is not supported; use 'file'.`,
        { request },
      );
    }
    if (typeof item.name !== 'string' || item.name === '')
      return graphError(400, 'ErrorInvalidParameter', "The value of the parameter 'Name' is empty.", { request });
    if (typeof item.size !== 'number' || !Number.isInteger(item.size) || item.size <= 0) {
      return graphError(400, 'ErrorInvalidParameter', "The value of the parameter 'Size' is invalid.", { request });
    }
    if (item.size < graphLimits.minUploadSessionBytes) {
      return graphError(
        400,
        'ErrorAttachmentSizeShouldNotBeLessThanMinimumSize',
        'Attachment size must be greater than the minimum size.',
        { request },
      );
    }
    const draft = found.value;
    if (draft.size + item.size > graphLimits.maxMessageBytes) return tooBig(request);
    const session: UploadSession = {
      id: itemId(),
      token: randomBytes(24).toString('base64url'),
      draftId: draft.id,
      mailbox: caller.mailbox,
      name: item.name,
      size: item.size,
      contentType: typeof item.contentType === 'string' && item.contentType !== '' ? item.contentType : 'application/octet-stream',
      isInline: item.isInline === true,
      contentId: typeof item.contentId === 'string' && item.contentId !== '' ? item.contentId : undefined,
      expiresAt: context.now() + 15 * 60_000,
      chunks: [],
      next: 0,
    };
    sessions.set(session.id, session);
    const uploadUrl = `${base(request)}/api/v2.0/Users/${encodeURIComponent(caller.mailbox)}/Messages/${draft.id}/AttachmentSessions/${session.id}?authtoken=${session.token}`;
    return {
      status: 201,
      headers: graphHeaders(request),
      body: {
        '@odata.context': `${base(request)}/v1.0/$metadata#microsoft.graph.uploadSession`,
        uploadUrl,
        expirationDateTime: new Date(session.expiresAt).toISOString(),
        nextExpectedRanges: ['0-'],
      },
    };
  };

  /** A PUT of one byte range to a pre-authenticated upload URL. */
  const uploadChunk = async (request: HttpRequest): Promise<HttpResponse> => {
    const session = sessions.get(request.params.sessionId ?? '');
    if (headerValue(request, 'authorization') !== undefined) {
      // The URL carries its own token for outlook.office.com; a Graph bearer token there is refused.
      return graphError(
        401,
        'InvalidAudienceForResource',
        'The upload URL is pre-authenticated: do not send an Authorization header with it.',
        {
          request,
        },
      );
    }
    if (
      session === undefined ||
      session.token !== request.url.searchParams.get('authtoken') ||
      session.draftId !== request.params.messageId
    ) {
      return graphError(404, 'ErrorItemNotFound', 'The upload session was not found or its token is not valid.', { request });
    }
    if (session.expiresAt <= context.now()) return graphError(404, 'ErrorItemNotFound', 'The upload session has expired.', { request });
    return inMailbox(request, session.mailbox, () => acceptChunk(request, session));
  };

  const acceptChunk = (request: HttpRequest, session: UploadSession): HttpResponse => {
    const range = /^bytes (\d+)-(\d+)\/(\d+)$/.exec((headerValue(request, 'content-range') ?? '').trim());
    if (range === null)
      return graphError(400, 'InvalidContentRange', 'The Content-Range header is missing or not of the form bytes {start}-{end}/{total}.', {
        request,
      });
    const [start, end, total] = [Number(range[1]), Number(range[2]), Number(range[3])];
    if (total !== session.size) {
      return graphError(400, 'InvalidContentRange', `The total size ${total} does not match the upload session's size ${session.size}.`, {
        request,
      });
    }
    if (start !== session.next) {
      return graphError(416, 'InvalidContentRange', `Bytes must be uploaded in order: expected a range starting at ${session.next}.`, {
        request,
      });
    }
    if (end < start || end >= total || end - start + 1 !== request.body.length) {
      return graphError(400, 'InvalidContentRange', `The range ${start}-${end} does not match the ${request.body.length} bytes sent.`, {
        request,
      });
    }
    session.chunks.push(request.body);
    session.next = end + 1;
    const expiration = new Date(session.expiresAt).toISOString();
    if (session.next < session.size) {
      return {
        status: 200,
        headers: graphHeaders(request),
        body: {
          '@odata.context': `${base(request)}/api/v2.0/$metadata#Users('${session.mailbox}')/Messages('${session.draftId}')/AttachmentSessions/$entity`,
          ExpirationDateTime: expiration,
          // Outlook attachments: "a single value {start}, the location in the file where the next upload should begin".
          nextExpectedRanges: [String(session.next)],
        },
      };
    }
    sessions.delete(session.id);
    const draft = drafts.get(session.draftId);
    if (draft === undefined) return graphError(404, 'ErrorItemNotFound', 'The specified object was not found in the store.', { request });
    const attachment: SandboxAttachment = {
      id: itemId(),
      name: session.name,
      contentType: session.contentType,
      isInline: session.isInline,
      contentId: session.contentId,
      bytes: Buffer.concat(session.chunks, session.size),
    };
    draft.attachments.push(attachment);
    draft.uploads++;
    draft.size += attachment.bytes.length;
    return {
      status: 201,
      headers: {
        ...graphHeaders(request),
        location: `${base(request)}/api/v2.0/Users('${session.mailbox}')/Messages('${draft.id}')/Attachments('${attachment.id}')`,
      },
    };
  };

  return [
    ...mailboxRoute('POST', '/messages/:messageId/attachments/createUploadSession', 'graph.createUploadSession', createUploadSession),
    {
      method: 'PUT',
      path: '/api/v2.0/Users/:user/Messages/:messageId/AttachmentSessions/:sessionId',
      endpoint: 'graph.uploadChunk',
      maxBodyBytes: graphLimits.maxChunkBytes,
      handle: uploadChunk,
    },
  ];
}
