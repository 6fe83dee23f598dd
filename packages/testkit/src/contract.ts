import { inspect } from 'node:util';
import {
  createMailer,
  createMessage,
  type EmailMessage,
  MailError,
  type MailErrorCode,
  type MessageInput,
  type SendOutcome,
  type SendReceipt,
  type Transport,
} from '@mailport/core';
import { type AddressObject, type ParsedMail, simpleParser } from 'mailparser';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ContractBackend, ContractHarness, ReceivedMail } from './harness.js';

/** The case names of the contract, usable as keys of {@link ContractHarness.skip}. */
export const contractCases: readonly string[] = Object.freeze([
  'minimal message',
  'to, cc and bcc',
  'html and text',
  'utf-8 subject and names',
  'attachments',
  'inline images',
  'reply-to',
  'custom headers',
  'abort before sending',
  'abort while in flight',
  'auth failure',
  'rate limit',
  'transient failure',
  'permanent rejection',
  'connection refused',
  'sendMany',
  'close twice',
  'no credentials shown',
]);

// A small PNG: one red pixel.
const pixel = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==', 'base64');

const base: MessageInput = {
  from: 'Contract Sender <sender@example.com>',
  to: 'recipient@example.org',
  subject: 'mailport contract',
  text: 'Hello from the contract suite.',
};

/**
 * Runs the mailport transport contract against one transport, as a vitest suite: call it at the
 * top level of a test file. The harness starts the backend and tells the suite how to reach it,
 * how to stage faults, and what it received; the suite sends real messages and checks what
 * arrived with mailparser.
 *
 * The From of every message is `sender@example.com` and recipients are `@example.org` and
 * `@example.net` addresses: a backend must accept them.
 *
 * @example
 * ```ts
 * import { describeTransportContract } from '@mailport/testkit';
 *
 * describeTransportContract({
 *   name: 'my-provider',
 *   async setup() {
 *     const server = await startMyFakeProvider();
 *     return {
 *       transport: () => createMyTransport({ endpoint: server.url, apiKey: 'key-123' }),
 *       transportWithBadCredentials: () => createMyTransport({ endpoint: server.url, apiKey: 'wrong' }),
 *       transportToNowhere: () => createMyTransport({ endpoint: 'http://127.0.0.1:9', apiKey: 'key-123' }),
 *       received: async () => server.messages.map((m) => ({ recipients: m.to, raw: m.raw })),
 *       clear: async () => server.clear(),
 *       inject: async (fault, count) => server.fail(fault, count),
 *       secrets: ['key-123'],
 *       close: () => server.close(),
 *     };
 *   },
 * });
 * ```
 */
export function describeTransportContract(harness: ContractHarness): void {
  describe(`transport contract: ${harness.name}`, () => {
    let backend: ContractBackend;
    const opened: Transport[] = [];
    const shownErrors: unknown[] = [];
    const shownTransports: Transport[] = [];

    beforeAll(async () => {
      backend = await harness.setup();
    }, 120_000);
    afterAll(async () => {
      await backend?.close();
    });
    beforeEach(async () => {
      await backend.clear();
    });
    afterEach(async () => {
      for (const transport of opened.splice(0)) await transport.close?.();
    });

    const open = async (make: () => Transport | Promise<Transport>): Promise<Transport> => {
      const transport = await make();
      opened.push(transport);
      shownTransports.push(transport);
      return transport;
    };
    const transport = (): Promise<Transport> => open(() => backend.transport());
    const failure = async (promise: Promise<unknown>): Promise<MailError> => {
      const error = await promise.then(
        () => {
          throw new Error('expected the send to fail');
        },
        (caught: unknown) => caught,
      );
      shownErrors.push(error);
      expect(MailError.isInstance(error), `expected a MailError, got ${inspect(error)}`).toBe(true);
      return error as MailError;
    };
    const sendOne = async (
      input: Partial<MessageInput> = {},
    ): Promise<{ message: EmailMessage; receipt: SendReceipt; received: ReceivedMail; parsed: ParsedMail }> => {
      const message = createMessage({ ...base, ...input } as MessageInput);
      const receipt = await (await transport()).send(message);
      const received = await backend.received();
      expect(received, 'the backend should have received exactly one message').toHaveLength(1);
      const first = received[0] as ReceivedMail;
      return { message, receipt, received: first, parsed: await parse(first.raw) };
    };
    const contractCase = (name: string, run: () => Promise<void>, timeoutMs = 60_000): void => {
      const reason = harness.skip?.[name];
      if (reason !== undefined) it.skip(`${name} (skipped: ${reason})`, run);
      else it(name, run, timeoutMs);
    };
    const oneOf = (error: MailError, codes: readonly MailErrorCode[]): void => {
      expect(codes, `code ${error.code}: ${error.message}`).toContain(error.code);
    };

    contractCase('minimal message', async () => {
      const { receipt, received, parsed } = await sendOne();
      expect(parsed.messageId).toBe(receipt.messageId);
      expect(receipt.transport).toBe((opened[0] as Transport).id);
      expect(receipt.accepted.map((address) => address.toLowerCase())).toContain('recipient@example.org');
      expect(receipt.attempts).toBeGreaterThanOrEqual(1);
      expect(receipt.elapsedMs).toBeGreaterThanOrEqual(0);
      expect(received.recipients.map((address) => address.toLowerCase())).toEqual(['recipient@example.org']);
      expect(parsed.subject).toBe('mailport contract');
      expect(parsed.text?.trim()).toBe('Hello from the contract suite.');
      expect(addresses(parsed.from)).toEqual(['sender@example.com']);
    });

    contractCase('to, cc and bcc', async () => {
      const { received, parsed } = await sendOne({
        to: ['to-one@example.org', 'to-two@example.org'],
        cc: 'copy@example.net',
        bcc: 'blind@example.net',
      });
      expect([...received.recipients].map((address) => address.toLowerCase()).sort()).toEqual(
        ['blind@example.net', 'copy@example.net', 'to-one@example.org', 'to-two@example.org'].sort(),
      );
      expect(addresses(parsed.to)).toEqual(['to-one@example.org', 'to-two@example.org']);
      expect(addresses(parsed.cc)).toEqual(['copy@example.net']);
      expect(parsed.bcc, 'no recipient may see the Bcc').toBeUndefined();
      expect(received.raw.toString('latin1')).not.toMatch(/^bcc:/im);
      expect(received.raw.toString('latin1')).not.toContain('blind@example.net');
    });

    contractCase('html and text', async () => {
      const { parsed } = await sendOne({ text: 'Plain version', html: '<p>HTML <b>version</b></p>' });
      expect(parsed.text?.trim()).toBe('Plain version');
      expect(parsed.html).toContain('<p>HTML <b>version</b></p>');
    });

    contractCase('utf-8 subject and names', async () => {
      const { parsed } = await sendOne({
        from: { name: 'Zoë Łukasiewicz', address: 'sender@example.com' },
        to: { name: 'Ана Нуньес', address: 'recipient@example.org' },
        subject: 'Grüße ✓ — 你好',
        text: 'Schöne Grüße, 你好 👋',
      });
      expect(parsed.subject).toBe('Grüße ✓ — 你好');
      expect(parsed.from?.value[0]?.name).toBe('Zoë Łukasiewicz');
      expect(first(parsed.to)?.name).toBe('Ана Нуньес');
      expect(parsed.text?.trim()).toBe('Schöne Grüße, 你好 👋');
    });

    contractCase('attachments', async () => {
      const binary = Buffer.from(Array.from({ length: 70_000 }, (_, index) => (index * 7 + 3) % 256));
      const { parsed } = await sendOne({
        attachments: [
          { filename: 'data.bin', content: binary, contentType: 'application/octet-stream' },
          { filename: 'résumé.txt', content: 'Ünïcödé text\n', contentType: 'text/plain' },
        ],
      });
      const data = parsed.attachments.find((attachment) => attachment.filename === 'data.bin');
      expect(data?.content.equals(binary)).toBe(true);
      const text = parsed.attachments.find((attachment) => attachment.filename === 'résumé.txt');
      expect(text?.content.toString('utf8')).toBe('Ünïcödé text\n');
    });

    contractCase('inline images', async () => {
      const { parsed } = await sendOne({
        html: '<p>Logo: <img src="cid:logo@contract.example"></p>',
        attachments: [{ filename: 'logo.png', content: pixel, contentType: 'image/png', contentId: 'logo@contract.example' }],
      });
      const logo = parsed.attachments.find((attachment) => attachment.contentId === '<logo@contract.example>');
      expect(logo?.content.equals(pixel)).toBe(true);
      expect(logo?.contentDisposition).toBe('inline');
      expect(parsed.html).toContain('cid:logo@contract.example');
    });

    contractCase('reply-to', async () => {
      const { parsed } = await sendOne({ replyTo: 'Support <support@example.net>' });
      expect(addresses(parsed.replyTo)).toEqual(['support@example.net']);
    });

    contractCase('custom headers', async () => {
      const active = await transport();
      const message = createMessage({ ...base, headers: { 'X-Contract-Id': 'c-42', 'X-Campaign': 'spring' } });
      if (!active.capabilities.customHeaders) {
        // A transport that cannot carry them must say so before sending anything.
        oneOf(await failure(active.send(message)), ['unsupported', 'invalid-message']);
        expect(await backend.received()).toHaveLength(0);
        return;
      }
      await active.send(message);
      const [received] = await backend.received();
      const parsed = await parse((received as ReceivedMail).raw);
      expect(parsed.headers.get('x-contract-id')).toBe('c-42');
      expect(parsed.headers.get('x-campaign')).toBe('spring');
    });

    contractCase('abort before sending', async () => {
      const active = await transport();
      const controller = new AbortController();
      const reason = new Error('the caller gave up');
      controller.abort(reason);
      await expect(active.send(createMessage(base), { signal: controller.signal })).rejects.toBe(reason);
      expect(await backend.received()).toHaveLength(0);
    });

    contractCase('abort while in flight', async () => {
      const active = await transport();
      await backend.inject({ kind: 'stall' });
      const controller = new AbortController();
      const reason = new Error('the caller gave up mid-send');
      setTimeout(() => controller.abort(reason), 150);
      await expect(active.send(createMessage(base), { signal: controller.signal })).rejects.toBe(reason);
      expect(await backend.received()).toHaveLength(0);
    });

    contractCase('auth failure', async () => {
      const refused = await open(() => backend.transportWithBadCredentials());
      const error = await failure(refused.send(createMessage(base)));
      expect(error.code, error.message).toBe('auth');
      expect(error.retryable).toBe(false);
      expect(error.remediation).toMatch(/\w/);
      expect(await backend.received()).toHaveLength(0);
    });

    contractCase('rate limit', async () => {
      const active = await transport();
      await backend.inject({ kind: 'rate-limit', retryAfterSeconds: 2 });
      const error = await failure(active.send(createMessage(base)));
      expect(error.code, error.message).toBe('rate-limited');
      expect(error.retryable).toBe(true);
      expect(error.retryAfterMs, 'a rate-limit error says how long to wait').toBeGreaterThan(0);
      expect(await backend.received()).toHaveLength(0);
    });

    contractCase('transient failure', async () => {
      const active = await transport();
      await backend.inject({ kind: 'transient' });
      const error = await failure(active.send(createMessage(base)));
      oneOf(error, ['transient', 'timeout']);
      expect(error.retryable).toBe(true);
      expect(await backend.received()).toHaveLength(0);
      // And the next attempt goes through.
      await active.send(createMessage(base));
      expect(await backend.received()).toHaveLength(1);
    });

    contractCase('permanent rejection', async () => {
      const active = await transport();
      await backend.inject({ kind: 'permanent' });
      const error = await failure(active.send(createMessage(base)));
      oneOf(error, ['message-rejected', 'recipient-rejected', 'sender-rejected']);
      expect(error.retryable).toBe(false);
      expect(await backend.received()).toHaveLength(0);
    });

    contractCase('connection refused', async () => {
      const nowhere = await open(() => backend.transportToNowhere());
      const error = await failure(nowhere.send(createMessage(base)));
      oneOf(error, ['transient', 'timeout']);
      expect(error.retryable).toBe(true);
      expect(error.remediation).toMatch(/\w/);
    });

    contractCase('sendMany', async () => {
      const mailer = createMailer({ transport: await transport(), retry: false });
      await backend.inject({ kind: 'permanent' });
      const inputs = ['first', 'second', 'third'].map((subject) => ({ ...base, subject }));
      const outcomes: SendOutcome[] = [];
      for await (const outcome of mailer.sendMany(inputs, { concurrency: 1 })) outcomes.push(outcome);
      expect(outcomes.map((outcome) => outcome.index)).toEqual([0, 1, 2]);
      expect(outcomes.map((outcome) => outcome.ok)).toEqual([false, true, true]);
      const received = await backend.received();
      const subjects = await Promise.all(received.map(async (mail) => (await parse(mail.raw)).subject));
      expect(subjects).toEqual(['second', 'third']);
      for (const outcome of outcomes) if (!outcome.ok) shownErrors.push(outcome.error);
    });

    contractCase('close twice', async () => {
      const active = await backend.transport();
      await active.send(createMessage(base));
      await active.close?.();
      await active.close?.();
    });

    contractCase('no credentials shown', async () => {
      // Make one more error of each kind the suite can make, then look at everything it saw.
      shownErrors.push(
        await (await open(() => backend.transportWithBadCredentials())).send(createMessage(base)).catch((error: unknown) => error),
      );
      for (const shown of shownTransports)
        expectNoSecret(backend.secrets, [String(shown), inspect(shown, { depth: 10, showHidden: true }), safeJson(shown)]);
      for (const shown of shownErrors) {
        expectNoSecret(backend.secrets, [String(shown), safeJson(shown), inspect(shown, { depth: 10, showHidden: true })]);
      }
    });
  });
}

/** mailparser, keeping `cid:` links in the HTML as they arrived. */
function parse(raw: Buffer): Promise<ParsedMail> {
  return simpleParser(raw, { keepCidLinks: true });
}

function expectNoSecret(secrets: readonly string[], texts: readonly string[]): void {
  for (const secret of secrets) {
    if (secret === '') continue;
    for (const text of texts) expect(text.includes(secret), `a credential appeared in: ${text.slice(0, 300)}`).toBe(false);
  }
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? '';
  } catch {
    return '';
  }
}

function addresses(field: AddressObject | AddressObject[] | undefined): string[] {
  const list = field === undefined ? [] : Array.isArray(field) ? field : [field];
  return list.flatMap((entry) => entry.value.map((address) => (address.address ?? '').toLowerCase()));
}

function first(field: AddressObject | AddressObject[] | undefined): { name: string; address?: string | undefined } | undefined {
  const list = field === undefined ? [] : Array.isArray(field) ? field : [field];
  return list[0]?.value[0];
}
