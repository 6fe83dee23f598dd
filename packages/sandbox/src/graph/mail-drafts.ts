import { randomBytes } from 'node:crypto';
import type { HttpRequest, HttpResponse, Route } from '../http.js';
import {
  addressesOf,
  exchangeMessageId,
  type GraphMessage,
  type GraphRecipient,
  headerOf,
  type SandboxAttachment,
  splitMessage,
} from './compose.js';
import { graphHeaders } from './errors.js';
import { type Caller, type Draft, displayName, type GraphMailContext } from './mail-context.js';
import { deliverJson, deliverMime } from './mail-delivery.js';
import { graphLimits } from './mail-limits.js';
import { checkJsonMessage, contentType, decodeMime, itemId, parseJson, readJsonAttachments, tooBig } from './mail-request.js';

/**
 * Drafts: POST /messages (JSON or MIME), POST /messages/{id}/attachments (small attachments),
 * POST /messages/{id}/send and DELETE /messages/{id}. Large attachments come in through upload sessions.
 */
export function draftRoutes(mail: GraphMailContext): Route[] {
  const { context, drafts, sessions, base, findDraft, mailboxRoute } = mail;

  const createMessage = async (request: HttpRequest, caller: Caller): Promise<HttpResponse> => {
    const id = itemId();
    let draft: Draft;
    if (contentType(request) === 'text/plain') {
      const decoded = decodeMime(request);
      if (!decoded.ok) return decoded.response;
      const { headers } = splitMessage(decoded.value);
      draft = {
        id,
        mailbox: caller.mailbox,
        mode: 'mime',
        json: undefined,
        mime: decoded.value,
        internetMessageId: headerOf(headers, 'message-id') ?? exchangeMessageId(),
        attachments: [],
        uploads: 0,
        size: decoded.value.length,
      };
    } else {
      const parsed = parseJson(request);
      if (!parsed.ok) return parsed.response;
      const message = checkJsonMessage(request, parsed.value);
      if (!message.ok) return message.response;
      const attachments = readJsonAttachments(request, parsed.value.attachments);
      if (!attachments.ok) return attachments.response;
      draft = {
        id,
        mailbox: caller.mailbox,
        mode: 'json',
        json: message.value,
        mime: undefined,
        internetMessageId: message.value.internetMessageId ?? exchangeMessageId(),
        attachments: attachments.value,
        uploads: 0,
        size: request.body.length,
      };
    }
    drafts.set(id, draft);
    return {
      status: 201,
      headers: { ...graphHeaders(request), location: `${base(request)}/v1.0/users('${caller.mailbox}')/messages('${id}')` },
      body: draftResource(request, draft),
    };
  };

  const addAttachment = (request: HttpRequest, caller: Caller): HttpResponse => {
    const found = findDraft(request, caller);
    if (!found.ok) return found.response;
    const parsed = parseJson(request);
    if (!parsed.ok) return parsed.response;
    const read = readJsonAttachments(request, [parsed.value]);
    if (!read.ok) return read.response;
    const attachment = read.value[0] as SandboxAttachment;
    const draft = found.value;
    if (draft.size + attachment.bytes.length > graphLimits.maxMessageBytes) return tooBig(request);
    draft.attachments.push(attachment);
    draft.size += attachment.bytes.length;
    return { status: 201, headers: graphHeaders(request), body: attachmentResource(request, draft, attachment) };
  };

  const sendDraft = async (request: HttpRequest, caller: Caller): Promise<HttpResponse> => {
    const found = findDraft(request, caller);
    if (!found.ok) return found.response;
    const draft = found.value;
    if (draft.size > graphLimits.maxMessageBytes) return tooBig(request);
    const meta = {
      operation: `send (draft, ${draft.mode === 'mime' ? 'MIME' : 'JSON'})`,
      path: draft.uploads > 0 ? 'draft+upload' : 'draft',
      saveToSentItems: true,
      messageId: draft.internetMessageId,
      providerMessageId: draft.id,
    };
    const response =
      draft.mode === 'mime'
        ? await deliverMime(context, request, caller, draft.mime as Buffer, { ...meta, attachments: draft.attachments })
        : await deliverJson(context, request, caller, draft.json as GraphMessage, draft.attachments, meta);
    // Sent: the draft leaves Drafts for Sent Items and its id is no longer valid.
    if (response.status === 202) drafts.delete(draft.id);
    return response;
  };

  const deleteDraft = (request: HttpRequest, caller: Caller): HttpResponse => {
    const found = findDraft(request, caller);
    if (!found.ok) return found.response;
    drafts.delete(found.value.id);
    for (const [id, session] of sessions) if (session.draftId === found.value.id) sessions.delete(id);
    return { status: 204, headers: graphHeaders(request) };
  };

  return [
    ...mailboxRoute('POST', '/messages', 'graph.createMessage', createMessage),
    ...mailboxRoute('POST', '/messages/:messageId/attachments', 'graph.addAttachment', addAttachment),
    ...mailboxRoute('POST', '/messages/:messageId/send', 'graph.send', sendDraft),
    // Deleting a draft is not a fault endpoint: clients do it to clean up after a failure.
    ...mailboxRoute('DELETE', '/messages/:messageId', undefined, deleteDraft),
  ];
}

/** The message resource Graph answers a draft's creation with. */
function draftResource(request: HttpRequest, draft: Draft): Record<string, unknown> {
  const now = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
  const base = request.secure ? 'https' : 'http';
  let summary: Record<string, unknown>;
  if (draft.mode === 'json') {
    const json = draft.json as GraphMessage;
    summary = {
      subject: json.subject ?? '',
      body: { contentType: json.body?.contentType?.toLowerCase() === 'html' ? 'html' : 'text', content: json.body?.content ?? '' },
      toRecipients: json.toRecipients ?? [],
      ccRecipients: json.ccRecipients ?? [],
      bccRecipients: json.bccRecipients ?? [],
      replyTo: json.replyTo ?? [],
    };
  } else {
    const { headers } = splitMessage(draft.mime as Buffer);
    const recipients = (name: string): GraphRecipient[] =>
      addressesOf(headers, name).map((address) => ({ emailAddress: { address, name: address } }));
    summary = {
      subject: headerOf(headers, 'subject') ?? '',
      toRecipients: recipients('to'),
      ccRecipients: recipients('cc'),
      bccRecipients: recipients('bcc'),
      replyTo: recipients('reply-to'),
    };
  }
  const sender = { emailAddress: { name: displayName(draft.mailbox), address: draft.mailbox } };
  return {
    '@odata.context': `${base}://graph/v1.0/$metadata#users('${draft.mailbox}')/messages/$entity`,
    '@odata.etag': `W/"${randomBytes(12).toString('base64')}"`,
    id: draft.id,
    createdDateTime: now,
    lastModifiedDateTime: now,
    changeKey: randomBytes(12).toString('base64'),
    categories: [],
    receivedDateTime: now,
    sentDateTime: now,
    hasAttachments: draft.attachments.length > 0,
    internetMessageId: draft.internetMessageId,
    importance: 'normal',
    parentFolderId: 'drafts',
    conversationId: randomBytes(16).toString('base64url'),
    isDeliveryReceiptRequested: false,
    isReadReceiptRequested: false,
    isRead: true,
    isDraft: true,
    webLink: `https://outlook.office365.com/owa/?ItemID=${encodeURIComponent(draft.id)}&exvsurl=1&viewmodel=ReadMessageItem`,
    inferenceClassification: 'focused',
    sender,
    from: sender,
    flag: { flagStatus: 'notFlagged' },
    ...summary,
  };
}

/** The fileAttachment resource Graph answers an added attachment with. */
function attachmentResource(request: HttpRequest, draft: Draft, attachment: SandboxAttachment): Record<string, unknown> {
  return {
    '@odata.context': `${request.secure ? 'https' : 'http'}://graph/v1.0/$metadata#users('${draft.mailbox}')/messages('${draft.id}')/attachments/$entity`,
    '@odata.type': '#microsoft.graph.fileAttachment',
    '@odata.mediaContentType': attachment.contentType,
    id: attachment.id,
    lastModifiedDateTime: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
    name: attachment.name,
    contentType: attachment.contentType,
    size: attachment.bytes.length,
    isInline: attachment.isInline,
    contentId: attachment.contentId ?? null,
    contentLocation: null,
  };
}
