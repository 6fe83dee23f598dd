import { AssertionError } from 'node:assert';
import { formatAddress } from '../address.js';
import { createMemoryTransport, type MemoryTransport, type MemoryTransportOptions, type SentMessage } from '../memory-transport.js';
import type { EmailMessage } from '../message.js';

export { refusedPort } from './refused-port.js';
export { createMemoryTransport, type MemoryTransport, type MemoryTransportOptions, type SentMessage };

/**
 * A memory transport for tests: records every message with its rendered MIME, and
 * `failNext(n, error)` makes the next sends fail.
 *
 * @example
 * ```ts
 * const transport = createTestTransport();
 * transport.failNext(1, 'transient');
 * const mailer = createMailer({ transport, retry: { initialDelayMs: 0 } });
 * await mailer.send(input);
 * assertSent(transport, { to: 'ana@example.com', subject: /order/ });
 * ```
 */
export function createTestTransport(options: MemoryTransportOptions = {}): MemoryTransport {
  return createMemoryTransport({ id: 'memory://test', ...options });
}

/** What to look for in a sent message; every given property must match. */
export interface SentMatch {
  /** Each of these must be among the To addresses. */
  to?: string | readonly string[];
  cc?: string | readonly string[];
  /** Each of these must be among the Bcc addresses (they are in the envelope, not the headers). */
  bcc?: string | readonly string[];
  from?: string;
  subject?: string | RegExp;
  text?: string | RegExp;
  html?: string | RegExp;
  /** Custom header values by name (case-insensitive). */
  headers?: Readonly<Record<string, string | RegExp>>;
  /** Attachment file names that must be present. */
  attachments?: readonly string[];
}

/** The sent messages that match, oldest first. */
export function findSent(transport: MemoryTransport, match: SentMatch = {}): SentMessage[] {
  return transport.sent.filter((sent) => mismatch(sent.message, match) === undefined);
}

/**
 * Asserts that exactly one sent message matches (or `count` of them) and returns the first.
 * On failure the error lists what was sent and why each message did not match.
 */
export function assertSent(transport: MemoryTransport, match: SentMatch = {}, count = 1): SentMessage {
  const found = findSent(transport, match);
  if (found.length !== count || found[0] === undefined) {
    throw new AssertionError({
      message: `expected ${count} sent message(s) matching ${describe(match)}, found ${found.length}.\n${summarise(transport, match)}`,
    });
  }
  return found[0];
}

/** Asserts that nothing was sent. */
export function assertNothingSent(transport: MemoryTransport): void {
  if (transport.sent.length > 0) {
    throw new AssertionError({ message: `expected no sent messages, found ${transport.sent.length}.\n${summarise(transport, {})}` });
  }
}

/**
 * Matchers for `expect.extend(mailportMatchers)` in vitest or jest:
 * `expect(transport).toHaveSent({ to: 'ana@example.com' })`.
 */
export const mailportMatchers: {
  toHaveSent(received: MemoryTransport, match?: SentMatch): { pass: boolean; message: () => string };
} = {
  toHaveSent(received: MemoryTransport, match: SentMatch = {}) {
    const found = findSent(received, match);
    return {
      pass: found.length > 0,
      message: () =>
        found.length > 0
          ? `expected no message matching ${describe(match)}, found ${found.length}`
          : `expected a message matching ${describe(match)}.\n${summarise(received, match)}`,
    };
  },
};

function list(value: string | readonly string[] | undefined): readonly string[] {
  return value === undefined ? [] : typeof value === 'string' ? [value] : value;
}

function matches(actual: string | undefined, expected: string | RegExp): boolean {
  if (actual === undefined) return false;
  return typeof expected === 'string' ? actual === expected : expected.test(actual);
}

function mismatch(message: EmailMessage, match: SentMatch): string | undefined {
  const addresses = (field: 'to' | 'cc' | 'bcc'): string | undefined => {
    const have = message[field].map((address) => address.address.toLowerCase());
    const missing = list(match[field]).filter((address) => !have.includes(address.toLowerCase()));
    return missing.length > 0 ? `${field} lacks ${missing.join(', ')}` : undefined;
  };
  const problems = [
    addresses('to'),
    addresses('cc'),
    addresses('bcc'),
    match.from !== undefined && message.from.address.toLowerCase() !== match.from.toLowerCase()
      ? `from is ${message.from.address}`
      : undefined,
    match.subject !== undefined && !matches(message.subject, match.subject) ? `subject is ${JSON.stringify(message.subject)}` : undefined,
    match.text !== undefined && !matches(message.text?.replace(/\r\n/g, '\n'), match.text) ? 'text differs' : undefined,
    match.html !== undefined && !matches(message.html?.replace(/\r\n/g, '\n'), match.html) ? 'html differs' : undefined,
    ...Object.entries(match.headers ?? {}).map(([name, expected]) => {
      const values = message.headers.filter((header) => header.name.toLowerCase() === name.toLowerCase());
      return values.some((header) => matches(header.value, expected))
        ? undefined
        : `header ${name} is ${values.map((h) => JSON.stringify(h.value)).join(', ') || 'absent'}`;
    }),
    ...(match.attachments ?? []).map((name) =>
      message.attachments.some((attachment) => attachment.filename === name) ? undefined : `no attachment ${name}`,
    ),
  ].filter((problem) => problem !== undefined);
  return problems.length > 0 ? problems.join('; ') : undefined;
}

function describe(match: SentMatch): string {
  return JSON.stringify(match, (_key, value: unknown) => (value instanceof RegExp ? String(value) : value));
}

function summarise(transport: MemoryTransport, match: SentMatch): string {
  if (transport.sent.length === 0) return 'Nothing was sent.';
  return transport.sent
    .map(
      (sent, index) =>
        `  #${index + 1} ${sent.message.messageId} from ${formatAddress(sent.message.from)} to ${sent.message.envelope.to.join(', ')} ` +
        `subject ${JSON.stringify(sent.message.subject)}: ${mismatch(sent.message, match) ?? 'matches'}`,
    )
    .join('\n');
}
