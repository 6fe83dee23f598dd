import type { HttpRequest, HttpResponse, Route } from '../http.js';
import type { Prepared, SesContext } from './ses-context.js';
import { SesError, sesErrors } from './ses-errors.js';
import {
  blob,
  type Json,
  object,
  readAttachments,
  readDestination,
  readHeaders,
  readListManagement,
  readTags,
  required,
  singleAddress,
  string,
  stringList,
  tooLong,
} from './ses-input.js';
import { sesMaxMessageBytes, sesMaxRequestBytes } from './ses-limits.js';
import { addressesOf, deliveredRaw, headerValues, longLine, splitRaw } from './ses-mime.js';
import { parseTemplateData, renderTemplate, type TemplateParts } from './ses-template.js';

// Header fields that may appear at most once (SES header-fields documentation).
const singleHeaders = new Set(
  [
    'Accept-Language',
    'acceptLanguage',
    'Archived-At',
    'Auto-Submitted',
    'Bounces-to',
    'Comments',
    'Content-Alternative',
    'Content-Base',
    'Content-Class',
    'Content-Description',
    'Content-Disposition',
    'Content-Duration',
    'Content-ID',
    'Content-Language',
    'Content-Length',
    'Content-Location',
    'Content-MD5',
    'Content-Transfer-Encoding',
    'Content-Type',
    'Date',
    'Delivered-To',
    'Disposition-Notification-Options',
    'Disposition-Notification-To',
    'DKIM-Signature',
    'DomainKey-Signature',
    'Errors-To',
    'From',
    'Importance',
    'In-Reply-To',
    'Keywords',
    'List-Archive',
    'List-Help',
    'List-Id',
    'List-Owner',
    'List-Post',
    'List-Subscribe',
    'List-Unsubscribe',
    'List-Unsubscribe-Post',
    'Message-Context',
    'Message-ID',
    'MIME-Version',
    'Organization',
    'Original-From',
    'Original-Message-ID',
    'Original-Recipient',
    'Original-Subject',
    'Precedence',
    'Priority',
    'References',
    'Reply-To',
    'Return-Path',
    'Return-Receipt-To',
    'Sender',
    'Solicitation',
    'Sensitivity',
    'Subject',
    'Thread-Index',
    'Thread-Topic',
    'User-Agent',
    'VBR-Info',
  ].map((name) => name.toLowerCase()),
);

/** SendEmail (POST /v2/email/outbound-emails) with Simple, Raw or Template content. */
export function sendEmailRoutes(ses: SesContext): Route[] {
  const sendEmail = async (_request: HttpRequest, body: Json): Promise<HttpResponse> => {
    const content = object(body.Content, 'content', true);
    const kinds = (['Simple', 'Raw', 'Template'] as const).filter((kind) => content[kind] !== undefined);
    if (kinds.length !== 1) throw sesErrors.badRequest('Content must contain exactly one of Simple, Raw or Template.');
    ses.checkAccountState();
    const configurationSet = string(body.ConfigurationSetName, 'configurationSetName');
    ses.checkConfigurationSet(configurationSet);
    readListManagement(body.ListManagementOptions);
    const tags = readTags(body.EmailTags, 'emailTags');
    const ids = ses.newMessageId();
    const metadata = ses.commonMetadata(body, tags);
    const from = string(body.FromEmailAddress, 'fromEmailAddress');
    const replyTo = stringList(body.ReplyToAddresses, 'replyToAddresses');
    let prepared: Prepared;
    if (kinds[0] === 'Raw') {
      prepared = prepareRaw(object(content.Raw, 'content.raw', true), body, from, ids, metadata);
    } else {
      const destination = readDestination(body.Destination, true);
      if (from === undefined) throw sesErrors.badRequest('Missing required parameter: FromEmailAddress.');
      const fromAddress = singleAddress(from, 'FromEmailAddress');
      let parts: TemplateParts;
      let deliver = true;
      let source: Json;
      if (kinds[0] === 'Simple') {
        source = object(content.Simple, 'content.simple', true);
        const subject = object(source.Subject, 'content.simple.subject', true);
        const bodyContent = object(source.Body, 'content.simple.body', true);
        const text = bodyContent.Text === undefined ? undefined : object(bodyContent.Text, 'content.simple.body.text', true);
        const html = bodyContent.Html === undefined ? undefined : object(bodyContent.Html, 'content.simple.body.html', true);
        if (text === undefined && html === undefined) throw sesErrors.badRequest('The message body must contain Text, Html or both.');
        parts = {
          subject: required(string(subject.Data, 'content.simple.subject.data'), 'content.simple.subject.data'),
          text:
            text === undefined ? undefined : required(string(text.Data, 'content.simple.body.text.data'), 'content.simple.body.text.data'),
          html:
            html === undefined ? undefined : required(string(html.Data, 'content.simple.body.html.data'), 'content.simple.body.html.data'),
        };
      } else {
        source = object(content.Template, 'content.template', true);
        const data = parseTemplateData(string(source.TemplateData, 'content.template.templateData'), 'TemplateData');
        if (typeof data === 'string') throw sesErrors.badRequest(data);
        const rendered = renderTemplate(ses.resolveTemplate(source, 'content.template'), data);
        deliver = rendered.ok;
        parts = rendered.ok ? rendered.parts : {};
      }
      const path = kinds[0] === 'Simple' ? 'content.simple' : 'content.template';
      const raw = await ses.composeContent({
        from,
        destination,
        replyTo,
        parts,
        headers: readHeaders(source.Headers, `${path}.headers`),
        attachments: readAttachments(source.Attachments, `${path}.attachments`),
        messageId: ids.header,
      });
      prepared = {
        operation: kinds[0] === 'Simple' ? 'SendEmail (Simple)' : 'SendEmail (Template)',
        raw,
        from: fromAddress,
        senders: [fromAddress],
        recipients: destination.recipients,
        deliver,
        metadata: replyTo.length === 0 ? metadata : { ...metadata, replyToAddresses: replyTo },
      };
    }
    ses.checkRecipients(prepared.recipients);
    const failed = [...ses.unverifiedSenders(prepared.senders), ...ses.unverifiedRecipients(prepared.recipients)];
    if (failed.length > 0) throw ses.notVerified(failed);
    if (prepared.recipients.length > ses.quotaLeft()) throw new SesError(429, 'ThrottlingException', 'Daily message quota exceeded.');
    ses.store(prepared, ids.id);
    return ses.ok({ MessageId: ids.id });
  };

  const prepareRaw = (
    raw: Json,
    body: Json,
    from: string | undefined,
    ids: { header: string; date: string },
    metadata: Record<string, unknown>,
  ): Prepared => {
    const data = blob(raw.Data, 'content.raw.data');
    if (data.length > sesMaxMessageBytes) throw tooLong(data.length);
    const split = splitRaw(data);
    if (typeof split === 'string') throw sesErrors.badRequest(split);
    const seen = new Set<string>();
    for (const header of split.headers) {
      const name = header.name.toLowerCase();
      if (singleHeaders.has(name) && seen.has(name)) throw sesErrors.badRequest(`Duplicate header '${header.name}'.`);
      seen.add(name);
    }
    const long = longLine(data);
    if (long !== undefined) {
      throw sesErrors.badRequest(`The message has a line of ${long} characters; no line may exceed 1,000 characters (RFC 5321).`);
    }
    const fromHeader = addressesOf(headerValues(split, 'From'));
    if (fromHeader.length === 0 && from === undefined) throw sesErrors.badRequest("Missing required header 'From'.");
    const fromAddress = from === undefined ? (fromHeader[0] as string) : singleAddress(from, 'FromEmailAddress');
    const destination = body.Destination === undefined ? undefined : readDestination(body.Destination, false);
    // Without a Destination, SES sends to the To, Cc and Bcc headers of the raw message.
    const recipients =
      destination?.recipients ?? addressesOf([...headerValues(split, 'To'), ...headerValues(split, 'Cc'), ...headerValues(split, 'Bcc')]);
    const senders = [
      ...(from === undefined ? [] : [fromAddress]),
      ...fromHeader,
      ...addressesOf(headerValues(split, 'Sender')),
      ...addressesOf(headerValues(split, 'Return-Path')),
    ];
    return {
      operation: 'SendEmail (Raw)',
      raw: deliveredRaw(split, { messageId: ids.header, date: ids.date }),
      from: fromAddress,
      senders,
      recipients,
      deliver: true,
      metadata: { ...metadata, submittedMessageId: headerValues(split, 'Message-ID')[0] },
    };
  };

  return [
    {
      method: 'POST',
      path: '/v2/email/outbound-emails',
      endpoint: 'ses.SendEmail',
      maxBodyBytes: sesMaxRequestBytes,
      handle: ses.guarded(sendEmail, true),
    },
  ];
}
