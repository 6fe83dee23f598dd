import type { Address } from './address.js';
import { dkimProblem } from './dkim/dkim-plan.js';
import { MailError } from './errors.js';
import type { EmailMessage } from './message.js';
import { renderMimeParts } from './mime.js';
import type { HeaderRule, Transport, TransportCapabilities } from './transport.js';

/** The capabilities a message is checked against (`concurrency` is a preference, not a limit). */
export type CapabilityName = 'maxRecipients' | 'smtpUtf8' | 'customHeaders' | 'envelope' | 'dkim' | 'maxMessageSize';

/** Why a transport cannot carry a message, as {@link checkCapabilities} finds it. */
export interface CapabilityProblem {
  /** `invalid-message` for a size or recipient limit, `unsupported` for a feature the transport lacks. */
  readonly code: 'invalid-message' | 'unsupported';
  /** The capability the message needs. */
  readonly capability: CapabilityName;
  /** The message field at fault: `to`, `body`, `envelope`, `headers.X-Tag`, `to[2]`, ... */
  readonly field: string | undefined;
  /** What does not fit, in words: `51 recipients, more than the 50 ses://eu-west-1 accepts`. */
  readonly reason: string;
  /** What to do, when the transport says (a DKIM refusal names the provider's own setting). Default: one per capability. */
  readonly remediation?: string | undefined;
}

/** Options of {@link checkCapabilities}. */
export interface CapabilityCheckOptions {
  /**
   * Capabilities not to check, because the transport checks them itself on what it really sends
   * (the Gmail API measures its own rendering, which keeps the Bcc header). Default none.
   */
  readonly skip?: readonly CapabilityName[] | undefined;
}

/** Who is checked: a transport, or anything with its id and capabilities. */
export type CapabilityHolder = Pick<Transport, 'id' | 'capabilities'>;

/**
 * Why `transport` cannot carry `message`, or undefined when it can. Checks in a fixed order, so a
 * message has one answer: recipients, SMTPUTF8, custom headers, envelope, DKIM, then size. The message
 * is rendered (once, cached) only when the transport has a size limit and a cheap upper bound of
 * the size does not fit under it; only then is the answer a promise. `await` it either way.
 *
 * @example
 * ```ts
 * const problem = await checkCapabilities(message, transport);
 * if (problem !== undefined) throw capabilityError(problem, transport.id);
 * // problem: { code: 'invalid-message', capability: 'maxRecipients', field: 'to', reason: '51 recipients, more than the 50 ses://eu-west-1 accepts' }
 * ```
 */
export function checkCapabilities(
  message: EmailMessage,
  transport: CapabilityHolder,
  options?: CapabilityCheckOptions,
): CapabilityProblem | undefined | Promise<CapabilityProblem | undefined> {
  const capabilities: TransportCapabilities = transport.capabilities;
  const skip = options?.skip;
  const id = transport.id;
  const max = capabilities.maxRecipients;
  if (max !== undefined && message.envelope.to.length > max && skip?.includes('maxRecipients') !== true) {
    return {
      code: 'invalid-message',
      capability: 'maxRecipients',
      field: 'to',
      reason: `${message.envelope.to.length} recipients, more than the ${max} ${id} accepts`,
    };
  }
  if (message.requiresSmtpUtf8 && capabilities.smtpUtf8 === false && skip?.includes('smtpUtf8') !== true) {
    return {
      code: 'unsupported',
      capability: 'smtpUtf8',
      field: nonAsciiField(message),
      reason: `a non-ASCII address needs SMTPUTF8, which ${id} does not support`,
    };
  }
  if (message.headers.length > 0 && capabilities.customHeaders !== true && skip?.includes('customHeaders') !== true) {
    const problem = headerProblem(message, capabilities.customHeaders, id);
    if (problem !== undefined) return problem;
  }
  if (message.hasCustomEnvelope && !capabilities.envelope && skip?.includes('envelope') !== true) {
    return { code: 'unsupported', capability: 'envelope', field: 'envelope', reason: `a separate envelope, which ${id} cannot set` };
  }
  if (skip?.includes('dkim') !== true) {
    const problem = dkimProblem(message, capabilities.dkim, id);
    if (problem !== undefined) return problem;
  }
  const maxSize = capabilities.maxMessageSize;
  if (maxSize === undefined || skip?.includes('maxMessageSize') === true) return undefined;
  // Rendering only to learn the size costs more than some transports' whole send: skip it when
  // even a generous upper bound fits.
  const bound = mimeSizeBound(message);
  if (bound !== undefined && bound <= maxSize) return undefined;
  return renderMimeParts(message).then((mime) => sizeProblem(mime.size, transport));
}

/**
 * The problem of a rendered message of `size` bytes, or undefined when it fits: for a transport
 * that skips `maxMessageSize` in {@link checkCapabilities} and measures what it sends itself.
 *
 * @example
 * ```ts
 * const mime = await renderMimeParts(message, { keepBcc: true });
 * const problem = sizeProblem(mime.size, transport);
 * if (problem !== undefined) throw capabilityError(problem, transport.id);
 * ```
 */
export function sizeProblem(size: number, transport: CapabilityHolder): CapabilityProblem | undefined {
  const max = transport.capabilities.maxMessageSize;
  if (max === undefined || size <= max) return undefined;
  return {
    code: 'invalid-message',
    capability: 'maxMessageSize',
    field: 'body',
    reason: `${formatBytes(size)}, more than the ${formatBytes(max)} ${transport.id} accepts`,
  };
}

const remediations: Readonly<Record<CapabilityName, string>> = {
  maxRecipients:
    'Split the recipients over several messages, or route the message to a transport that takes more, for example with failover().',
  maxMessageSize:
    'Make the message smaller (link large files instead of attaching them), or route it to a transport with a higher limit, for example with failover().',
  smtpUtf8: 'Use ASCII addresses (domains may be internationalised), or route the message to a transport with SMTPUTF8.',
  customHeaders: 'Route this message to a transport that passes custom headers through, for example with failover().',
  envelope: 'Route this message to a transport that can set a separate envelope (SMTP, SES), or leave the envelope out.',
  dkim: 'Route DKIM-signed mail to a transport that carries the signature (SMTP, SES, file, memory), or leave dkim out.',
};

/**
 * The `MailError` for a {@link CapabilityProblem}: `<transport> cannot send this message: <reason>`,
 * with the problem's code and field and a remediation for its capability.
 */
export function capabilityError(problem: CapabilityProblem, transport: string): MailError {
  return new MailError(problem.code, `${transport} cannot send this message: ${problem.reason}`, {
    transport,
    field: problem.field,
    remediation: problem.remediation ?? remediations[problem.capability],
  });
}

/**
 * Throws the {@link capabilityError} when `transport` cannot carry `message`, before any network
 * traffic. The mailer calls it before the first attempt.
 */
export async function assertCapabilities(message: EmailMessage, transport: CapabilityHolder): Promise<void> {
  const problem = await checkCapabilities(message, transport);
  if (problem !== undefined) throw capabilityError(problem, transport.id);
}

/** Why the custom headers of `message` do not fit `rule` (`false`: none at all), or undefined when they do. */
function headerProblem(message: EmailMessage, rule: false | HeaderRule, id: string): CapabilityProblem | undefined {
  const problem = (field: string, reason: string): CapabilityProblem => ({
    code: 'unsupported',
    capability: 'customHeaders',
    field,
    reason,
  });
  if (rule === false) return problem(`headers.${message.headers[0]?.name}`, `custom headers, which ${id} does not pass through`);
  const names = rule.names;
  const foreign = names === undefined ? undefined : message.headers.find((header) => !names.test(header.name));
  if (foreign !== undefined) {
    return problem(
      `headers.${foreign.name}`,
      `the header ${foreign.name}, which ${id} does not pass through (it takes ${rule.description})`,
    );
  }
  if (rule.max !== undefined && message.headers.length > rule.max) {
    return problem(
      `headers.${message.headers[rule.max]?.name}`,
      `${message.headers.length} custom headers, which ${id} does not pass through (it takes ${rule.description})`,
    );
  }
  return undefined;
}

/** The first field with an address only SMTPUTF8 can carry; called only when there is one. */
function nonAsciiField(message: EmailMessage): string | undefined {
  const nonAscii = (address: string): boolean => /[^\x00-\x7f]/.test(address.slice(0, address.lastIndexOf('@')));
  const lists: [string, readonly Address[]][] = [
    ['to', message.to],
    ['cc', message.cc],
    ['bcc', message.bcc],
    ['replyTo', message.replyTo],
  ];
  if (nonAscii(message.from.address)) return 'from';
  if (message.sender !== undefined && nonAscii(message.sender.address)) return 'sender';
  for (const [name, list] of lists) {
    const index = list.findIndex((address) => nonAscii(address.address));
    if (index !== -1) return `${name}[${index}]`;
  }
  if (nonAscii(message.envelope.from)) return 'envelope.from';
  const index = message.envelope.to.findIndex(nonAscii);
  return index === -1 ? undefined : `envelope.to[${index}]`;
}

/**
 * An upper bound of the rendered size of `message`, without rendering it; undefined when an
 * attachment's length is not known before it is read (a stream, a file, a URL). Text is counted
 * at four times its UTF-8 length (quoted-printable or encoded-words at worst triple it, folding
 * adds a little), attachments at their base64 size with line breaks, plus room for the headers,
 * boundaries and part headers mailport writes. Allocates nothing: it runs on every send.
 */
export function mimeSizeBound(message: EmailMessage): number | undefined {
  let attachments = 0;
  for (const attachment of message.attachments) {
    if (attachment.source.kind !== 'bytes') return undefined;
    // base64: 4 bytes per 3, and CRLF after every 76 characters; plus the part's own headers.
    attachments += Math.ceil(attachment.source.bytes.length / 3) * 4 * (78 / 76) + 1024 + 4 * Buffer.byteLength(attachment.filename ?? '');
  }
  // Each text part counts with 8 bytes of room for its header name and separators.
  let text = textBytes(message.subject) + textBytes(message.text) + textBytes(message.html);
  for (const header of message.headers) text += textBytes(header.name) + textBytes(header.value);
  text += addressBytes(message.from) + (message.sender === undefined ? 0 : addressBytes(message.sender));
  for (const address of message.to) text += addressBytes(address);
  for (const address of message.cc) text += addressBytes(address);
  for (const address of message.bcc) text += addressBytes(address);
  for (const address of message.replyTo) text += addressBytes(address);
  text += textBytes(message.inReplyTo);
  for (const reference of message.references) text += textBytes(reference);
  text += textBytes(message.listUnsubscribe?.url) + textBytes(message.listUnsubscribe?.mailto);
  return Math.ceil(4 * text + attachments + 64 * 1024);
}

function textBytes(value: string | undefined): number {
  return (value === undefined ? 0 : Buffer.byteLength(value)) + 8;
}

function addressBytes(address: Address): number {
  return textBytes(address.name) + textBytes(address.address);
}

/** `12.3 MB`, `512 KB`, `900 B`: decimal units, as providers state their limits. */
export function formatBytes(bytes: number): string {
  if (bytes >= 1_000_000) return `${Number((bytes / 1_000_000).toFixed(1))} MB`;
  if (bytes >= 1_000) return `${Number((bytes / 1_000).toFixed(1))} KB`;
  return `${bytes} B`;
}
