// Sending a message as Exchange does: the checks on sender and recipients, the MIME, and the store.
import type { EmulatorContext } from '../context.js';
import type { HttpRequest, HttpResponse } from '../http.js';
import {
  addressesOf,
  appendAttachments,
  composeJsonMessage,
  exchangeMessageId,
  type GraphMessage,
  headerOf,
  rebuildMessage,
  rfc5322Date,
  type SandboxAttachment,
  splitMessage,
} from './compose.js';
import { graphError, graphHeaders } from './errors.js';
import { type Caller, displayName } from './mail-context.js';
import { graphLimits } from './mail-limits.js';
import { tooBig } from './mail-request.js';

/** Where a delivered message came from, for the store's metadata. */
interface DeliveryMeta {
  readonly operation: string;
  readonly path: string;
  readonly saveToSentItems: boolean;
  readonly providerMessageId?: string | undefined;
  readonly messageId?: string | undefined;
}

/** Sends a JSON message (sendMail or a JSON draft): sender and recipient checks, then Exchange's MIME rendering, stored. */
export async function deliverJson(
  context: EmulatorContext,
  request: HttpRequest,
  caller: Caller,
  message: GraphMessage,
  attachments: readonly SandboxAttachment[],
  meta: DeliveryMeta,
): Promise<HttpResponse> {
  const refused = checkSender(request, caller, [message.from?.emailAddress?.address, message.sender?.emailAddress?.address]);
  if (refused !== undefined) return refused;
  const recipients = [...(message.toRecipients ?? []), ...(message.ccRecipients ?? []), ...(message.bccRecipients ?? [])].map(
    (recipient) => recipient.emailAddress?.address ?? '',
  );
  const invalid = checkRecipients(request, recipients);
  if (invalid !== undefined) return invalid;
  const raw = await composeJsonMessage(message, {
    mailbox: { name: displayName(caller.mailbox), address: caller.mailbox },
    messageId: meta.messageId ?? exchangeMessageId(),
    attachments,
    date: new Date(context.now()),
  });
  if (raw.length > graphLimits.maxMessageBytes) return tooBig(request);
  store(context, caller, raw, recipients, { ...meta, mode: 'json' });
  return { status: 202, headers: graphHeaders(request) };
}

/** Sends a MIME message (sendMail or a MIME draft, with the draft's attachments appended), as Exchange submits it. */
export async function deliverMime(
  context: EmulatorContext,
  request: HttpRequest,
  caller: Caller,
  mime: Buffer,
  meta: DeliveryMeta & { readonly attachments?: readonly SandboxAttachment[] | undefined },
): Promise<HttpResponse> {
  const { headers, body } = splitMessage(mime);
  const refused = checkSender(request, caller, [...addressesOf(headers, 'from'), ...addressesOf(headers, 'sender')]);
  if (refused !== undefined) return refused;
  if (addressesOf(headers, 'from').length === 0) {
    return graphError(400, 'ErrorMimeContentInvalid', 'The MIME content has no From header.', { request });
  }
  const recipients = ['to', 'cc', 'bcc'].flatMap((name) => addressesOf(headers, name));
  const invalid = checkRecipients(request, recipients);
  if (invalid !== undefined) return invalid;
  // Exchange adds the Message-ID and Date a submitted message lacks, and recipients never see Bcc.
  const add: string[] = [];
  if (headerOf(headers, 'message-id') === undefined) add.push(`Message-ID: ${meta.messageId ?? exchangeMessageId()}`);
  if (headerOf(headers, 'date') === undefined) add.push(`Date: ${rfc5322Date(new Date(context.now()))}`);
  const delivered = await appendAttachments(rebuildMessage(headers, body, { drop: ['bcc'], add }), meta.attachments ?? []);
  if (delivered.length > graphLimits.maxMessageBytes) return tooBig(request);
  store(context, caller, delivered, recipients, { ...meta, mode: 'mime' });
  return { status: 202, headers: graphHeaders(request) };
}

/** Stores what was sent, each recipient once, with how it was sent. */
function store(
  context: EmulatorContext,
  caller: Caller,
  raw: Buffer,
  recipients: readonly string[],
  meta: DeliveryMeta & { readonly mode: 'json' | 'mime' },
): void {
  const seen = new Set<string>();
  const to = recipients.filter((address) => {
    const key = address.toLowerCase();
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  context.store.add({
    api: 'graph',
    operation: meta.operation,
    envelope: { from: caller.mailbox, to },
    raw,
    providerMessageId: meta.providerMessageId,
    metadata: {
      mode: meta.mode,
      path: meta.path,
      saveToSentItems: meta.saveToSentItems,
      mailbox: caller.mailbox,
      auth: caller.delegated ? 'delegated' : 'app-only',
      clientId: caller.token.clientId,
    },
  });
}

function checkSender(request: HttpRequest, caller: Caller, addresses: readonly (string | undefined)[]): HttpResponse | undefined {
  const foreign = addresses.find((address) => address !== undefined && address.toLowerCase() !== caller.mailbox.toLowerCase());
  if (foreign === undefined) return undefined;
  return graphError(
    403,
    'ErrorSendAsDenied',
    'The user account which was used to submit this request does not have the right to send mail on behalf of the specified sending account., Cannot submit message.',
    { request },
  );
}

function checkRecipients(request: HttpRequest, recipients: readonly string[]): HttpResponse | undefined {
  if (recipients.length === 0) {
    return graphError(400, 'ErrorInvalidRecipients', 'At least one recipient is required, but none were found.', { request });
  }
  const bad = recipients.find((address) => !/^[^\s@<>(),;:"]+@[^\s@<>(),;:"]+\.[^\s@<>(),;:"]+$/.test(address));
  if (bad !== undefined) {
    return graphError(
      400,
      'ErrorInvalidRecipients',
      `At least one recipient isn't valid., Recipient '${bad}' isn't resolved. All recipients must be resolved before a message can be submitted.`,
      { request },
    );
  }
  if (recipients.length > graphLimits.maxRecipients) {
    return graphError(
      400,
      'ErrorTooManyRecipients',
      `The message has ${recipients.length} recipients, more than the ${graphLimits.maxRecipients} a message may have.`,
      { request },
    );
  }
  return undefined;
}
