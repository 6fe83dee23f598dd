import type { HttpRequest, HttpResponse, Route } from '../http.js';
import type { SesContext } from './ses-context.js';
import { SesError, sesErrors } from './ses-errors.js';
import {
  type Json,
  mergeHeaders,
  mergeTags,
  object,
  readAttachments,
  readDestination,
  readHeaders,
  readTags,
  singleAddress,
  string,
  stringList,
} from './ses-input.js';
import { sesMaxBulkEntries, sesMaxRequestBytes } from './ses-limits.js';
import { parseTemplateData, renderTemplate } from './ses-template.js';

/**
 * SendBulkEmail (POST /v2/email/outbound-bulk-emails): one template, up to 50 entries, and one
 * result per entry; an entry that fails does not stop the others.
 */
export function sendBulkEmailRoutes(ses: SesContext): Route[] {
  const sendBulkEmail = async (_request: HttpRequest, body: Json): Promise<HttpResponse> => {
    const defaults = object(body.DefaultContent, 'defaultContent', true);
    const template = object(defaults.Template, 'defaultContent.template', true);
    if (!Array.isArray(body.BulkEmailEntries)) throw sesErrors.missing('bulkEmailEntries');
    const entries = body.BulkEmailEntries as unknown[];
    if (entries.length === 0) throw sesErrors.badRequest('BulkEmailEntries must contain at least one entry.');
    if (entries.length > sesMaxBulkEntries) {
      throw sesErrors.badRequest(`The number of BulkEmailEntries (${entries.length}) exceeds the maximum of ${sesMaxBulkEntries}.`);
    }
    ses.checkAccountState();
    ses.checkConfigurationSet(string(body.ConfigurationSetName, 'configurationSetName'));
    const defaultTags = readTags(body.DefaultEmailTags, 'defaultEmailTags');
    const from = string(body.FromEmailAddress, 'fromEmailAddress');
    if (from === undefined) throw sesErrors.badRequest('Missing required parameter: FromEmailAddress.');
    const fromAddress = singleAddress(from, 'FromEmailAddress');
    const failedSenders = ses.unverifiedSenders([fromAddress]);
    if (failedSenders.length > 0) throw ses.notVerified(failedSenders);
    const parts = ses.resolveTemplate(template, 'defaultContent.template');
    const defaultData = string(template.TemplateData, 'defaultContent.template.templateData');
    const templateHeaders = readHeaders(template.Headers, 'defaultContent.template.headers');
    const attachments = readAttachments(template.Attachments, 'defaultContent.template.attachments');
    const replyTo = stringList(body.ReplyToAddresses, 'replyToAddresses');

    const results: Json[] = [];
    for (const [index, value] of entries.entries()) {
      const path = `bulkEmailEntries.${index + 1}`;
      try {
        const entry = object(value, path, true);
        const destination = readDestination(entry.Destination, true);
        const tags = mergeTags(defaultTags, readTags(entry.ReplacementTags, `${path}.replacementTags`));
        const replacement =
          entry.ReplacementEmailContent === undefined
            ? undefined
            : object(
                object(entry.ReplacementEmailContent, `${path}.replacementEmailContent`, true).ReplacementTemplate,
                `${path}.replacementTemplate`,
                false,
              );
        const dataText = string(replacement?.ReplacementTemplateData, `${path}.replacementTemplateData`) ?? defaultData;
        const data = parseTemplateData(dataText, 'ReplacementTemplateData');
        if (typeof data === 'string') throw sesErrors.badRequest(data);
        const headers = mergeHeaders(templateHeaders, readHeaders(entry.ReplacementHeaders, `${path}.replacementHeaders`));
        ses.checkRecipients(destination.recipients);
        const unverified = ses.unverifiedRecipients(destination.recipients);
        if (unverified.length > 0) {
          results.push({ Status: 'MESSAGE_REJECTED', Error: ses.notVerified(unverified).message });
          continue;
        }
        if (destination.recipients.length > ses.quotaLeft()) {
          results.push({ Status: 'ACCOUNT_DAILY_QUOTA_EXCEEDED', Error: 'Daily message quota exceeded.' });
          continue;
        }
        const rendered = renderTemplate(parts, data);
        const ids = ses.newMessageId();
        const raw = await ses.composeContent({
          from,
          destination,
          replyTo,
          parts: rendered.ok ? rendered.parts : {},
          headers,
          attachments,
          messageId: ids.header,
        });
        ses.store(
          {
            operation: 'SendBulkEmail',
            raw,
            from: fromAddress,
            senders: [fromAddress],
            recipients: destination.recipients,
            deliver: rendered.ok,
            metadata: { ...ses.commonMetadata(body, tags), bulkEntry: index },
          },
          ids.id,
        );
        results.push({ Status: 'SUCCESS', MessageId: ids.id });
      } catch (error) {
        if (!(error instanceof SesError)) throw error;
        results.push({ Status: error.code === 'MessageRejected' ? 'MESSAGE_REJECTED' : 'INVALID_PARAMETER_VALUE', Error: error.message });
      }
    }
    return ses.ok({ BulkEmailEntryResults: results });
  };

  return [
    {
      method: 'POST',
      path: '/v2/email/outbound-bulk-emails',
      endpoint: 'ses.SendBulkEmail',
      maxBodyBytes: sesMaxRequestBytes,
      handle: ses.guarded(sendBulkEmail, true),
    },
  ];
}
