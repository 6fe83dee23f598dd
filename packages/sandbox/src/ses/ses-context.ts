import { randomUUID } from 'node:crypto';
import type { SandboxAccounts } from '../accounts.js';
import type { EmulatorContext } from '../context.js';
import type { HttpRequest, HttpResponse } from '../http.js';
import { simulatorDomain } from '../simulator.js';
import { checkSignature } from './ses-auth.js';
import { errorResponse, SesError, sesErrors } from './ses-errors.js';
import { checkAddress, type Destination, type Json, object, parseJson, string, type Tag, tooLong, unique } from './ses-input.js';
import { sesMaxMessageBytes, sesMaxRecipients } from './ses-limits.js';
import { type ComposedAttachment, composeMime, type RawHeader, rfc5322Date } from './ses-mime.js';
import type { TemplateParts } from './ses-template.js';
import type { AcceptedSesMessage } from './sns/sns-records.js';

/** A message ready to store, built from one SendEmail call or one bulk entry. */
export interface Prepared {
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

/** What every SES route group shares: the account's state and checks, the message store, and the route shell. */
export interface SesContext {
  readonly context: EmulatorContext;
  /** The SES account as configured now (tests change it between calls). */
  account(): SandboxAccounts['ses'];
  /** A handler behind a checked SigV4 signature, with a thrown {@link SesError} answered as SES words it. */
  guarded(
    handler: (request: HttpRequest, body: Json) => Promise<HttpResponse> | HttpResponse,
    readBody: boolean,
  ): (request: HttpRequest) => Promise<HttpResponse>;
  /** A 200 JSON answer with a request id. */
  ok(body: object): HttpResponse;
  /** Recipients SES counted against the daily quota: every recipient of every message accepted in the last 24 hours. */
  sentLast24Hours(): number;
  /** Recipients the daily quota still allows. */
  quotaLeft(): number;
  /** MessageRejected for identities that are not verified. */
  notVerified(identities: readonly string[]): SesError;
  /** Refuses to send from a suspended or paused account. */
  checkAccountState(): void;
  /** Refuses a configuration set the account does not have. */
  checkConfigurationSet(name: string | undefined): void;
  /** Refuses what SES refuses about the recipient list: none, more than 50, or an address it cannot send to. */
  checkRecipients(recipients: readonly string[]): void;
  /** The senders that are not verified identities. */
  unverifiedSenders(senders: readonly string[]): string[];
  /** In the SES sandbox every recipient must be verified too, except the mailbox simulator's. */
  unverifiedRecipients(recipients: readonly string[]): string[];
  /** Stores a prepared message under its MessageId, unless its template failed to render. */
  store(prepared: Prepared, messageId: string): void;
  /** A new SES MessageId, as the API answers it and as the Message-ID header carries it, and the Date header. */
  newMessageId(): { id: string; header: string; date: string };
  /** The metadata every stored SES message carries. */
  commonMetadata(body: Json, tags: readonly Tag[]): Record<string, unknown>;
  /** A Template's parts: inline TemplateContent, or the stored template named by TemplateName or TemplateArn. */
  resolveTemplate(template: Json, path: string): TemplateParts;
  /** The MIME message SES builds for Simple or Template content, dated now; over the size limit it is refused. */
  composeContent(input: {
    from: string;
    destination: Destination;
    replyTo: readonly string[];
    parts: TemplateParts;
    headers: readonly RawHeader[];
    attachments: readonly ComposedAttachment[];
    messageId: string;
  }): Promise<Buffer>;
}

/**
 * The SES emulator's shared state and checks over one sandbox's context. `onAccepted` hears every
 * message accepted (the SES event destinations publish its events); it must not throw.
 */
export function createSesContext(context: EmulatorContext, onAccepted?: (message: AcceptedSesMessage) => void): SesContext {
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
    const stored = prepared.deliver
      ? context.store.add({
          api: 'ses',
          operation: prepared.operation,
          envelope: { from: prepared.from, to: prepared.recipients },
          raw: prepared.raw,
          providerMessageId: messageId,
          metadata: prepared.metadata,
        })
      : undefined;
    if (onAccepted === undefined) return;
    const { configurationSet, emailTags } = prepared.metadata;
    onAccepted({
      storeId: stored?.id,
      sesMessageId: messageId,
      operation: prepared.operation,
      raw: prepared.deliver ? prepared.raw : Buffer.alloc(0),
      source: prepared.from,
      recipients: prepared.recipients,
      tags: Array.isArray(emailTags) ? (emailTags as Tag[]) : [],
      configurationSet: typeof configurationSet === 'string' ? configurationSet : undefined,
      region: region(),
      acceptedAt: context.now(),
      rendered: prepared.deliver,
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

  const composeContent: SesContext['composeContent'] = async (input) => {
    const raw = await composeMime({
      from: input.from,
      to: input.destination.to,
      cc: input.destination.cc,
      replyTo: input.replyTo,
      subject: input.parts.subject ?? '',
      text: input.parts.text,
      html: input.parts.html,
      headers: input.headers,
      attachments: input.attachments,
      messageId: input.messageId,
      date: new Date(context.now()),
    });
    if (raw.length > sesMaxMessageBytes) throw tooLong(raw.length);
    return raw;
  };

  return {
    context,
    account,
    guarded,
    ok,
    sentLast24Hours,
    quotaLeft,
    notVerified,
    checkAccountState,
    checkConfigurationSet,
    checkRecipients,
    unverifiedSenders,
    unverifiedRecipients,
    store,
    newMessageId,
    commonMetadata,
    resolveTemplate,
    composeContent,
  };
}
