import type { HttpRequest, HttpResponse, Route } from '../http.js';
import { graphError } from './errors.js';
import type { Caller, GraphMailContext } from './mail-context.js';
import { deliverJson, deliverMime } from './mail-delivery.js';
import { checkJsonMessage, contentType, decodeMime, parseJson, readJsonAttachments, unknownProperty } from './mail-request.js';

/** POST /sendMail: a JSON `message`, or a base64 MIME message sent as text/plain. */
export function sendMailRoutes(mail: GraphMailContext): Route[] {
  const { context, mailboxRoute } = mail;

  const sendMail = async (request: HttpRequest, caller: Caller): Promise<HttpResponse> => {
    const type = contentType(request);
    if (type === 'text/plain') {
      const decoded = decodeMime(request);
      if (!decoded.ok) return decoded.response;
      return deliverMime(context, request, caller, decoded.value, {
        operation: 'sendMail (MIME)',
        path: 'sendMail',
        saveToSentItems: true,
      });
    }
    const parsed = parseJson(request);
    if (!parsed.ok) return parsed.response;
    const body = parsed.value;
    const unknown = Object.keys(body).find((key) => key !== 'message' && key !== 'saveToSentItems' && !key.startsWith('@odata.'));
    if (unknown !== undefined) return unknownProperty(request, unknown, 'microsoft.graph.sendMail');
    if (typeof body.message !== 'object' || body.message === null) {
      return graphError(400, 'ErrorInvalidParameter', "The value of the parameter 'Message' is empty.", { request });
    }
    const save = body.saveToSentItems;
    if (save !== undefined && save !== true && save !== false && save !== 'true' && save !== 'false') {
      return graphError(400, 'RequestBodyRead', `Cannot convert the literal '${String(save)}' to the expected type 'Edm.Boolean'.`, {
        request,
      });
    }
    const message = checkJsonMessage(request, body.message as Record<string, unknown>);
    if (!message.ok) return message.response;
    const attachments = readJsonAttachments(request, (body.message as Record<string, unknown>).attachments);
    if (!attachments.ok) return attachments.response;
    return deliverJson(context, request, caller, message.value, attachments.value, {
      operation: 'sendMail (JSON)',
      path: 'sendMail',
      saveToSentItems: save !== false && save !== 'false',
      messageId: message.value.internetMessageId,
      providerMessageId: undefined,
    });
  };

  return mailboxRoute('POST', '/sendMail', 'graph.sendMail', sendMail);
}
