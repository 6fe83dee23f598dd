import { randomUUID } from 'node:crypto';
import addressparser from 'nodemailer/lib/addressparser';
import type { SandboxAccounts } from '../accounts.js';
import type { EmulatorContext } from '../context.js';
import type { Emulator, HttpRequest, HttpResponse } from '../http.js';
import { checkSignature } from './ses-auth.js';
import { errorResponse, faultResponse, SesError, sesErrors } from './ses-errors.js';
import {
  addressesOf,
  type ComposedAttachment,
  composeMime,
  deliveredRaw,
  headerValues,
  longLine,
  type RawHeader,
  rfc5322Date,
  splitRaw,
} from './ses-mime.js';
import { parseTemplateData, renderTemplate, type TemplateParts } from './ses-template.js';

/**
 * Largest message SES v2 sends: "40 MB per message (after base64 encoding)" (SES quotas),
 * counted on the MIME message as delivered (Raw `Data` decoded from the request's base64).
 * AWS gives no byte count: the emulator takes the lower reading, 40,000,000 bytes, so that
 * whatever it accepts, SES accepts too.
 */
export const sesMaxMessageBytes: number = 40_000_000;
/** Recipients (To, Cc and Bcc together) per message (SES quotas). */
export const sesMaxRecipients: number = 50;
/** Entries per SendBulkEmail call. */
export const sesMaxBulkEntries: number = 50;

// A 40 MB message is about 56 MB once base64-encoded inside the JSON request.
const maxRequestBytes = 64 * 1024 * 1024;

// SES's mailbox simulator: always deliverable, also from the SES sandbox (SES developer guide).
const simulatorDomain = 'simulator.amazonses.com';

// Headers SES sets itself for Simple and Template content, refused as custom headers (SES header-fields documentation).
const reservedHeaders = new Set([
  'bcc',
  'cc',
  'content-disposition',
  'content-type',
  'date',
  'from',
  'message-id',
  'mime-version',
  'reply-to',
  'return-path',
  'subject',
  'to',
]);

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

// Attachment extensions SES refuses (SES developer guide, "Unsupported attachment types").
const blockedExtensions = new Set(
  (
    'ade adp app asp bas bat cer chm cmd com cpl crt csh der exe fxp gadget hlp hta inf ins isp its js jse ksh lib lnk mad maf mag mam ' +
    'maq mar mas mat mau mav maw mda mdb mde mdt mdw mdz msc msh msh1 msh2 mshxml msh1xml msh2xml msi msp mst ops pcd pif plg prf prg ' +
    'reg scf scr sct shb shs sys ps1 ps1xml ps2 ps2xml psc1 psc2 tmp url vb vbe vbs vps vsmacros vss vst vsw vxd ws wsc wsf wsh xnk'
  ).split(' '),
);

// MessageTag: ASCII letters, digits, "_" and "-", at most 256 characters (API_MessageTag).
const tagPattern = /^[A-Za-z0-9_-]{1,256}$/;

type Json = Record<string, unknown>;

/** A message ready to store, built from one SendEmail call or one bulk entry. */
interface Prepared {
  readonly operation: string;
  readonly raw: Buffer;
  readonly from: string;
  /** Addresses SES checks as verified identities: FromEmailAddress, From, Sender, Return-Path. */
  readonly senders: readonly string[];
  readonly recipients: readonly string[];
  /** False after a template rendering failure: SES answers with a MessageId and sends nothing. */
  readonly deliver: boolean;
  readonly metadata: Readonly<Record<string, unknown>>;
}

/**
 * Amazon SES v2 as `@aws-sdk/client-sesv2` calls it: SendEmail (Simple, Raw and Template
 * content), SendBulkEmail and GetAccount, behind a checked SigV4 signature. See README.md
 * next to this file for what is emulated and how strictly. `startSandbox` mounts it.
 *
 * @example
 * ```ts
 * const emulators = [createSesEmulator(context)];
 * ```
 */
export function createSesEmulator(context: EmulatorContext): Emulator {
  const account = (): SandboxAccounts['ses'] => context.accounts.ses;

  const guarded =
    (handler: (request: HttpRequest, body: Json) => Promise<HttpResponse> | HttpResponse, readBody: boolean) =>
    async (request: HttpRequest): Promise<HttpResponse> => {
      const problem = checkSignature(request, account(), context.now());
      if (problem !== undefined) return errorResponse(problem.status, problem.code, problem.message);
      try {
        return await handler(request, readBody ? parseJson(request.body) : {});
      } catch (error) {
        if (error instanceof SesError) return errorResponse(error.status, error.code, error.message);
        throw error;
      }
    };

  const ok = (body: object): HttpResponse => ({
    status: 200,
    headers: { 'x-amzn-RequestId': randomUUID(), 'content-type': 'application/json' },
    body,
  });

  /** Recipients SES counted against the daily quota: every recipient of every message accepted in the last 24 hours. */
  const sentLast24Hours = (): number => {
    const since = context.now() - 24 * 60 * 60 * 1000;
    return context.store
      .list({ api: 'ses' })
      .filter((message) => Date.parse(message.receivedAt) >= since)
      .reduce((sum, message) => sum + message.envelope.to.length, 0);
  };

  const region = (): string => account().region;
  const messageIdDomain = (): string => (region() === 'us-east-1' ? 'email.amazonses.com' : `${region()}.amazonses.com`);

  const isVerified = (address: string): boolean => {
    const lower = address.toLowerCase();
    const domain = lower.slice(lower.lastIndexOf('@') + 1);
    return account().verifiedIdentities.some((identity) => {
      const entry = identity.toLowerCase();
      return entry.includes('@') ? entry === lower : domain === entry || domain.endsWith(`.${entry}`);
    });
  };

  const notVerified = (identities: readonly string[]): SesError =>
    sesErrors.messageRejected(
      `Email address is not verified. The following identities failed the check in region ${region().toUpperCase()}: ${identities.join(', ')}`,
    );

  const checkAccountState = (): void => {
    if (account().enforcementStatus === 'SHUTDOWN') {
      throw new SesError(400, 'AccountSuspendedException', 'Your account has been suspended; it cannot send email.');
    }
    if (!account().sendingEnabled) throw new SesError(400, 'SendingPausedException', 'Sending is paused for this account.');
  };

  const checkConfigurationSet = (name: string | undefined): void => {
    if (name !== undefined && !account().configurationSets.includes(name)) {
      throw sesErrors.notFound(`Configuration set ${name} does not exist.`);
    }
  };

  /** Refuses what SES refuses about the recipient list: none, more than 50, or an address it cannot send to. */
  const checkRecipients = (recipients: readonly string[]): void => {
    if (recipients.length === 0) throw sesErrors.badRequest('Missing required parameter: at least one recipient in Destination.');
    if (recipients.length > sesMaxRecipients) throw sesErrors.badRequest(`Recipient count exceeds ${sesMaxRecipients}.`);
    for (const recipient of recipients) checkAddress(recipient);
  };

  const unverifiedSenders = (senders: readonly string[]): string[] => unique(senders.filter((sender) => !isVerified(sender)));

  // In the SES sandbox every recipient must be verified too, except the mailbox simulator's.
  const unverifiedRecipients = (recipients: readonly string[]): string[] =>
    account().productionAccess
      ? []
      : unique(recipients.filter((recipient) => !recipient.toLowerCase().endsWith(`@${simulatorDomain}`) && !isVerified(recipient)));

  const quotaLeft = (): number => (account().max24HourSend < 0 ? Number.POSITIVE_INFINITY : account().max24HourSend - sentLast24Hours());

  const store = (prepared: Prepared, messageId: string): void => {
    if (!prepared.deliver) return;
    context.store.add({
      api: 'ses',
      operation: prepared.operation,
      envelope: { from: prepared.from, to: prepared.recipients },
      raw: prepared.raw,
      providerMessageId: messageId,
      metadata: prepared.metadata,
    });
  };

  const newMessageId = (): { id: string; header: string; date: string } => {
    const now = context.now();
    const id = `0100${now.toString(16).padStart(12, '0')}-${randomUUID()}-000000`;
    return { id, header: `<${id}@${messageIdDomain()}>`, date: rfc5322Date(now) };
  };

  const commonMetadata = (body: Json, tags: readonly Tag[]): Record<string, unknown> => {
    const metadata: Record<string, unknown> = { region: region(), emailTags: tags };
    const optional: [string, unknown][] = [
      ['configurationSet', body.ConfigurationSetName],
      ['listManagementOptions', body.ListManagementOptions],
      ['feedbackForwardingEmailAddress', body.FeedbackForwardingEmailAddress],
      ['fromEmailAddressIdentityArn', body.FromEmailAddressIdentityArn],
      ['endpointId', body.EndpointId],
      ['tenantName', body.TenantName],
    ];
    for (const [key, value] of optional) if (value !== undefined) metadata[key] = value;
    return metadata;
  };

  const sendEmail = async (_request: HttpRequest, body: Json): Promise<HttpResponse> => {
    const content = object(body.Content, 'content', true);
    const kinds = (['Simple', 'Raw', 'Template'] as const).filter((kind) => content[kind] !== undefined);
    if (kinds.length !== 1) throw sesErrors.badRequest('Content must contain exactly one of Simple, Raw or Template.');
    checkAccountState();
    const configurationSet = string(body.ConfigurationSetName, 'configurationSetName');
    checkConfigurationSet(configurationSet);
    readListManagement(body.ListManagementOptions);
    const tags = readTags(body.EmailTags, 'emailTags');
    const ids = newMessageId();
    const metadata = commonMetadata(body, tags);
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
        const rendered = renderTemplate(resolveTemplate(source, 'content.template'), data);
        deliver = rendered.ok;
        parts = rendered.ok ? rendered.parts : {};
      }
      const path = kinds[0] === 'Simple' ? 'content.simple' : 'content.template';
      const raw = await composeMime({
        from,
        to: destination.to,
        cc: destination.cc,
        replyTo,
        subject: parts.subject ?? '',
        text: parts.text,
        html: parts.html,
        headers: readHeaders(source.Headers, `${path}.headers`),
        attachments: readAttachments(source.Attachments, `${path}.attachments`),
        messageId: ids.header,
        date: new Date(context.now()),
      });
      if (raw.length > sesMaxMessageBytes) throw tooLong(raw.length);
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
    checkRecipients(prepared.recipients);
    const failed = [...unverifiedSenders(prepared.senders), ...unverifiedRecipients(prepared.recipients)];
    if (failed.length > 0) throw notVerified(failed);
    if (prepared.recipients.length > quotaLeft()) throw new SesError(429, 'ThrottlingException', 'Daily message quota exceeded.');
    store(prepared, ids.id);
    return ok({ MessageId: ids.id });
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

  const resolveTemplate = (template: Json, path: string): TemplateParts => {
    if (template.TemplateContent !== undefined) {
      const inline = object(template.TemplateContent, `${path}.templateContent`, true);
      return {
        subject: string(inline.Subject, `${path}.templateContent.subject`),
        text: string(inline.Text, `${path}.templateContent.text`),
        html: string(inline.Html, `${path}.templateContent.html`),
      };
    }
    const arn = string(template.TemplateArn, `${path}.templateArn`);
    const name = string(template.TemplateName, `${path}.templateName`) ?? arn?.slice(arn.lastIndexOf('/') + 1);
    if (name === undefined) throw sesErrors.badRequest('Template must contain TemplateName, TemplateArn or TemplateContent.');
    const stored = Object.hasOwn(account().templates, name) ? account().templates[name] : undefined;
    if (stored === undefined) throw sesErrors.notFound(`Template ${name} does not exist.`);
    return stored;
  };

  const sendBulkEmail = async (_request: HttpRequest, body: Json): Promise<HttpResponse> => {
    const defaults = object(body.DefaultContent, 'defaultContent', true);
    const template = object(defaults.Template, 'defaultContent.template', true);
    if (!Array.isArray(body.BulkEmailEntries)) throw sesErrors.missing('bulkEmailEntries');
    const entries = body.BulkEmailEntries as unknown[];
    if (entries.length === 0) throw sesErrors.badRequest('BulkEmailEntries must contain at least one entry.');
    if (entries.length > sesMaxBulkEntries) {
      throw sesErrors.badRequest(`The number of BulkEmailEntries (${entries.length}) exceeds the maximum of ${sesMaxBulkEntries}.`);
    }
    checkAccountState();
    checkConfigurationSet(string(body.ConfigurationSetName, 'configurationSetName'));
    const defaultTags = readTags(body.DefaultEmailTags, 'defaultEmailTags');
    const from = string(body.FromEmailAddress, 'fromEmailAddress');
    if (from === undefined) throw sesErrors.badRequest('Missing required parameter: FromEmailAddress.');
    const fromAddress = singleAddress(from, 'FromEmailAddress');
    const failedSenders = unverifiedSenders([fromAddress]);
    if (failedSenders.length > 0) throw notVerified(failedSenders);
    const parts = resolveTemplate(template, 'defaultContent.template');
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
        checkRecipients(destination.recipients);
        const unverified = unverifiedRecipients(destination.recipients);
        if (unverified.length > 0) {
          results.push({ Status: 'MESSAGE_REJECTED', Error: notVerified(unverified).message });
          continue;
        }
        if (destination.recipients.length > quotaLeft()) {
          results.push({ Status: 'ACCOUNT_DAILY_QUOTA_EXCEEDED', Error: 'Daily message quota exceeded.' });
          continue;
        }
        const rendered = renderTemplate(parts, data);
        const ids = newMessageId();
        const raw = await composeMime({
          from,
          to: destination.to,
          cc: destination.cc,
          replyTo,
          subject: rendered.ok ? (rendered.parts.subject ?? '') : '',
          text: rendered.ok ? rendered.parts.text : undefined,
          html: rendered.ok ? rendered.parts.html : undefined,
          headers,
          attachments,
          messageId: ids.header,
          date: new Date(context.now()),
        });
        if (raw.length > sesMaxMessageBytes) throw tooLong(raw.length);
        store(
          {
            operation: 'SendBulkEmail',
            raw,
            from: fromAddress,
            senders: [fromAddress],
            recipients: destination.recipients,
            deliver: rendered.ok,
            metadata: { ...commonMetadata(body, tags), bulkEntry: index },
          },
          ids.id,
        );
        results.push({ Status: 'SUCCESS', MessageId: ids.id });
      } catch (error) {
        if (!(error instanceof SesError)) throw error;
        results.push({ Status: error.code === 'MessageRejected' ? 'MESSAGE_REJECTED' : 'INVALID_PARAMETER_VALUE', Error: error.message });
      }
    }
    return ok({ BulkEmailEntryResults: results });
  };

  const getAccount = (): HttpResponse => {
    const ses = account();
    return ok({
      DedicatedIpAutoWarmupEnabled: false,
      EnforcementStatus: ses.enforcementStatus,
      ProductionAccessEnabled: ses.productionAccess,
      SendQuota: { Max24HourSend: ses.max24HourSend, MaxSendRate: ses.maxSendRate, SentLast24Hours: sentLast24Hours() },
      SendingEnabled: ses.sendingEnabled,
      SuppressionAttributes: { SuppressedReasons: ['BOUNCE', 'COMPLAINT'] },
    });
  };

  return {
    name: 'ses',
    routes: [
      {
        method: 'POST',
        path: '/v2/email/outbound-emails',
        endpoint: 'ses.SendEmail',
        maxBodyBytes: maxRequestBytes,
        handle: guarded(sendEmail, true),
      },
      {
        method: 'POST',
        path: '/v2/email/outbound-bulk-emails',
        endpoint: 'ses.SendBulkEmail',
        maxBodyBytes: maxRequestBytes,
        handle: guarded(sendBulkEmail, true),
      },
      { method: 'GET', path: '/v2/email/account', endpoint: 'ses.GetAccount', handle: guarded(getAccount, false) },
    ],
    errorResponse: faultResponse,
    tooLarge: (limit) =>
      errorResponse(413, 'RequestEntityTooLargeException', `The request is larger than the ${limit} bytes this endpoint accepts.`),
  };
}

interface Tag {
  readonly Name: string;
  readonly Value: string;
}

interface Destination {
  readonly to: readonly string[];
  readonly cc: readonly string[];
  /** Plain addresses of To, Cc and Bcc, in that order. */
  readonly recipients: readonly string[];
}

function tooLong(length: number): SesError {
  return sesErrors.messageRejected(`Message length is more than ${sesMaxMessageBytes} bytes long: '${length}'.`);
}

function parseJson(body: Buffer): Json {
  if (body.length === 0) return {};
  try {
    const value: unknown = JSON.parse(body.toString('utf8'));
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Json;
  } catch {
    // Answered below.
  }
  throw sesErrors.serialization('The request body is not a JSON object.');
}

function object(value: unknown, path: string, mandatory: true): Json;
function object(value: unknown, path: string, mandatory: false): Json | undefined;
function object(value: unknown, path: string, mandatory: boolean): Json | undefined {
  if (value === undefined || value === null) {
    if (mandatory) throw sesErrors.missing(path);
    return undefined;
  }
  if (typeof value !== 'object' || Array.isArray(value)) throw sesErrors.serialization(`Expected an object at '${path}'.`);
  return value as Json;
}

function string(value: unknown, path: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw sesErrors.serialization(`Expected a string at '${path}'.`);
  return value;
}

function required<T>(value: T | undefined, path: string): T {
  if (value === undefined) throw sesErrors.missing(path);
  return value;
}

function stringList(value: unknown, path: string): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw sesErrors.serialization(`Expected a list at '${path}'.`);
  return value.map((entry, index) => required(string(entry, `${path}.${index + 1}`), `${path}.${index + 1}`));
}

function blob(value: unknown, path: string): Buffer {
  const text = required(string(value, path), path);
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 === 1) throw sesErrors.serialization(`Invalid base64 at '${path}'.`);
  return Buffer.from(text, 'base64');
}

// SES does not support SMTPUTF8: local parts are 7-bit ASCII, domains in punycode (API_Destination).
function checkAddress(address: string): void {
  const at = address.lastIndexOf('@');
  const local = address.slice(0, at);
  const domain = address.slice(at + 1);
  const validLocal = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/.test(local);
  const validDomain = /^([A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?\.)+[A-Za-z0-9-]{2,}$/.test(domain) || /^\[[0-9.:A-Fa-f]+\]$/.test(domain);
  if (at < 1 || !validLocal || !validDomain) throw sesErrors.badRequest(`Illegal address: ${address}`);
}

function singleAddress(value: string, what: string): string {
  const parsed = addressparser(value, { flatten: true });
  if (parsed.length !== 1 || !parsed[0]?.address) throw sesErrors.badRequest(`Illegal address in ${what}: ${value}`);
  checkAddress(parsed[0].address);
  return parsed[0].address;
}

function readDestination(value: unknown, mandatory: boolean): Destination {
  const destination = mandatory ? object(value, 'destination', true) : (object(value, 'destination', false) ?? {});
  const to = stringList(destination.ToAddresses, 'destination.toAddresses');
  const cc = stringList(destination.CcAddresses, 'destination.ccAddresses');
  const bcc = stringList(destination.BccAddresses, 'destination.bccAddresses');
  const recipients = [...to, ...cc, ...bcc].map((entry) => singleAddress(entry, 'Destination'));
  return { to, cc, recipients };
}

function readTags(value: unknown, path: string): Tag[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw sesErrors.serialization(`Expected a list at '${path}'.`);
  const seen = new Set<string>();
  return value.map((entry, index) => {
    const tag = object(entry, `${path}.${index + 1}`, true);
    const name = required(string(tag.Name, `${path}.${index + 1}.name`), `${path}.${index + 1}.name`);
    const tagValue = required(string(tag.Value, `${path}.${index + 1}.value`), `${path}.${index + 1}.value`);
    if (!tagPattern.test(name)) {
      throw sesErrors.badRequest(
        `Invalid tag name <${name}>: only ASCII letters, numbers, underscores and dashes, at most 256 characters.`,
      );
    }
    if (!tagPattern.test(tagValue)) {
      throw sesErrors.badRequest(
        `Invalid tag value <${tagValue}>: only ASCII letters, numbers, underscores and dashes, at most 256 characters.`,
      );
    }
    if (seen.has(name)) throw sesErrors.badRequest(`Duplicate tag name <${name}>.`);
    seen.add(name);
    return { Name: name, Value: tagValue };
  });
}

function mergeTags(defaults: readonly Tag[], replacements: readonly Tag[]): Tag[] {
  const names = new Set(replacements.map((tag) => tag.Name));
  return [...defaults.filter((tag) => !names.has(tag.Name)), ...replacements];
}

function readListManagement(value: unknown): void {
  const options = object(value, 'listManagementOptions', false);
  if (options !== undefined)
    required(string(options.ContactListName, 'listManagementOptions.contactListName'), 'listManagementOptions.contactListName');
}

// MessageHeader: name of printable ASCII without ":" up to 126 characters, value of printable ASCII up to 995, both up to 996 (API_MessageHeader).
function readHeaders(value: unknown, path: string): RawHeader[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw sesErrors.serialization(`Expected a list at '${path}'.`);
  return value.map((entry, index) => {
    const header = object(entry, `${path}.${index + 1}`, true);
    const name = required(string(header.Name, `${path}.${index + 1}.name`), `${path}.${index + 1}.name`);
    const headerValue = required(string(header.Value, `${path}.${index + 1}.value`), `${path}.${index + 1}.value`);
    if (!/^[\x21-\x39\x3b-\x7e]{1,126}$/.test(name)) throw sesErrors.badRequest(`Invalid header name: ${name}`);
    if (!/^[\x20-\x7e]{0,995}$/.test(headerValue) || name.length + headerValue.length > 996) {
      throw sesErrors.badRequest(`Invalid value for header ${name}: printable ASCII only, at most 995 characters.`);
    }
    if (reservedHeaders.has(name.toLowerCase())) throw sesErrors.badRequest(`Header ${name} is set by SES and cannot be a custom header.`);
    return { name, value: headerValue };
  });
}

function mergeHeaders(defaults: readonly RawHeader[], replacements: readonly RawHeader[]): RawHeader[] {
  const names = new Set(replacements.map((header) => header.name.toLowerCase()));
  return [...defaults.filter((header) => !names.has(header.name.toLowerCase())), ...replacements];
}

function readAttachments(value: unknown, path: string): ComposedAttachment[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw sesErrors.serialization(`Expected a list at '${path}'.`);
  return value.map((entry, index) => {
    const at = `${path}.${index + 1}`;
    const attachment = object(entry, at, true);
    const filename = required(string(attachment.FileName, `${at}.fileName`), `${at}.fileName`);
    const extension = filename.includes('.') ? filename.slice(filename.lastIndexOf('.') + 1).toLowerCase() : '';
    if (blockedExtensions.has(extension)) throw sesErrors.messageRejected(`Attachment file type not supported: ${filename}`);
    const disposition = string(attachment.ContentDisposition, `${at}.contentDisposition`) ?? 'ATTACHMENT';
    if (disposition !== 'ATTACHMENT' && disposition !== 'INLINE') throw sesErrors.badRequest(`Invalid ContentDisposition: ${disposition}`);
    const encoding = string(attachment.ContentTransferEncoding, `${at}.contentTransferEncoding`);
    const encodings: Record<string, ComposedAttachment['transferEncoding']> = {
      BASE64: 'base64',
      QUOTED_PRINTABLE: 'quoted-printable',
      SEVEN_BIT: '7bit',
    };
    if (encoding !== undefined && !(encoding in encodings)) throw sesErrors.badRequest(`Invalid ContentTransferEncoding: ${encoding}`);
    return {
      filename,
      content: blob(attachment.RawContent, `${at}.rawContent`),
      contentType: string(attachment.ContentType, `${at}.contentType`),
      disposition: disposition === 'INLINE' ? 'inline' : 'attachment',
      contentId: string(attachment.ContentId, `${at}.contentId`),
      description: string(attachment.ContentDescription, `${at}.contentDescription`),
      // SES's default is SEVEN_BIT (API_Attachment); base64 is what binary content needs to survive, so keep MailComposer's choice then.
      transferEncoding: encoding === undefined ? undefined : encodings[encoding],
    };
  });
}

function unique(values: readonly string[]): string[] {
  return [...new Set(values)];
}
