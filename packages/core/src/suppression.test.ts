import { simpleParser } from 'mailparser';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { defineTransport } from './define-transport.js';
import { MailError } from './errors.js';
import { createMailer } from './mailer.js';
import { createMemoryTransport } from './memory-transport.js';
import type { EmailMessage } from './message.js';
import type { RecipientBlock, RecipientFilter, SendLogRecord } from './suppression.js';

// A filter over a fixed list, keyed as core passes the addresses (as given), compared lower-cased.
function blockList(
  blocked: Record<string, RecipientBlock>,
  calls: { recipients: readonly string[]; message: EmailMessage }[] = [],
): RecipientFilter {
  return {
    async check(recipients, message) {
      calls.push({ recipients, message });
      const found = new Map<string, RecipientBlock>();
      for (const address of recipients) {
        const block = blocked[address.toLowerCase()];
        if (block !== undefined) found.set(address, block);
      }
      return found;
    },
  };
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('createMailer({ suppression })', () => {
  it('removes suppressed To, Cc and Bcc recipients from the headers and the envelope, and lists them as rejected', async () => {
    const transport = createMemoryTransport();
    const calls: { recipients: readonly string[]; message: EmailMessage }[] = [];
    const mailer = createMailer({
      transport,
      suppression: blockList(
        {
          'ana@example.org': { reason: 'hard-bounce', scope: '*' },
          'dan@example.org': { reason: 'complaint', scope: 'news\r\nX-Injected: 1' },
        },
        calls,
      ),
    });
    const receipt = await mailer.send({
      from: 'shop@shop.example',
      to: ['Ana <ANA@example.org>', 'bob@example.org'],
      cc: 'carl@example.org',
      bcc: ['dan@example.org'],
      subject: 'Hi',
      text: 'Hello',
    });
    expect(calls[0]?.recipients).toEqual(['ANA@example.org', 'bob@example.org', 'carl@example.org', 'dan@example.org']);
    expect(receipt.accepted).toEqual(['bob@example.org', 'carl@example.org']);
    expect(receipt.rejected).toEqual([
      { address: 'ANA@example.org', code: 'suppressed', retryable: false, message: 'Suppressed (hard-bounce): not sent to this recipient' },
      {
        address: 'dan@example.org',
        code: 'suppressed',
        retryable: false,
        message: 'Suppressed (complaint, stream news  X-Injected: 1): not sent to this recipient',
      },
    ]);
    const sent = transport.sent[0];
    expect(sent?.envelope.to).toEqual(['bob@example.org', 'carl@example.org']);
    expect(sent?.message.messageId).toBe(receipt.messageId);
    const parsed = await simpleParser(sent?.mime ?? Buffer.alloc(0));
    expect(parsed.to).toMatchObject({ value: [{ address: 'bob@example.org' }] });
    expect(parsed.cc).toMatchObject({ value: [{ address: 'carl@example.org' }] });
    expect(sent?.mime.toString('latin1').toLowerCase()).not.toContain('ana@example.org');
  });

  it('filters a custom envelope too, and refuses a message with no recipient left before any request', async () => {
    const transport = createMemoryTransport();
    const mailer = createMailer({ transport, suppression: blockList({ 'ana@example.org': { reason: 'unsubscribe' } }) });
    const receipt = await mailer.send({
      from: 'shop@shop.example',
      to: 'list@shop.example',
      envelope: { to: ['ana@example.org', 'bob@example.org'] },
      text: 'x',
    });
    expect(transport.sent[0]?.envelope.to).toEqual(['bob@example.org']);
    expect(receipt.rejected.map((rejected) => rejected.address)).toEqual(['ana@example.org']);

    const refused = await mailer
      .send({ from: 'shop@shop.example', to: 'ana@example.org', bcc: 'ANA@EXAMPLE.ORG', text: 'x' })
      .catch((error: unknown) => error);
    expect(MailError.isInstance(refused)).toBe(true);
    const error = refused as MailError;
    expect(error.code).toBe('recipient-rejected');
    expect(error.retryable).toBe(false);
    expect(error.recipients.map((recipient) => [recipient.address, recipient.code])).toEqual([
      ['ana@example.org', 'suppressed'],
      ['ANA@example.org', 'suppressed'],
    ]);
    expect(transport.sent).toHaveLength(1);
  });

  it('fails transient, with no request, when the check itself fails or answers nonsense', async () => {
    const transport = createMemoryTransport();
    const onError = vi.fn();
    const mailer = createMailer({
      transport,
      retry: false,
      hooks: { onError },
      suppression: {
        check: async () => {
          throw new Error('database password=hunter2 is down');
        },
      },
    });
    const error = (await mailer
      .send({ from: 'shop@shop.example', to: 'bob@example.org', text: 'x' })
      .catch((caught: unknown) => caught)) as MailError;
    expect(error.code).toBe('transient');
    expect(error.retryable).toBe(true);
    expect(error.message).not.toContain('hunter2');
    expect(onError).toHaveBeenCalledWith(expect.objectContaining({ attempt: 0, willRetry: false }));

    const nonsense = createMailer({ transport, suppression: { check: async () => 'yes' as never } });
    const second = (await nonsense
      .send({ from: 'shop@shop.example', to: 'bob@example.org', text: 'x' })
      .catch((caught: unknown) => caught)) as MailError;
    expect(second.code).toBe('transient');
    expect(transport.sent).toHaveLength(0);
  });

  it("rejects with the caller's abort reason, unwrapped, while the check hangs", async () => {
    const transport = createMemoryTransport();
    const mailer = createMailer({ transport, suppression: { check: () => new Promise(() => {}) } });
    const controller = new AbortController();
    const reason = new Error('user went away');
    const sending = mailer.send({ from: 'shop@shop.example', to: 'bob@example.org', text: 'x' }, { signal: controller.signal });
    setTimeout(() => controller.abort(reason), 10);
    await expect(sending).rejects.toBe(reason);
    expect(transport.sent).toHaveLength(0);
  });

  it('checks every message of sendMany, and the message a beforeSend hook returns', async () => {
    const transport = createMemoryTransport();
    const mailer = createMailer({
      transport,
      defaults: { from: 'shop@shop.example' },
      suppression: blockList({ 'ana@example.org': { reason: 'manual' } }),
      hooks: { beforeSend: ({ message }) => (message.subject === 'swap' ? { to: 'ana@example.org', text: 'swapped' } : undefined) },
    });
    const outcomes = [];
    for await (const outcome of mailer.sendMany([
      { to: 'ana@example.org', text: '1' },
      { to: ['ana@example.org', 'bob@example.org'], text: '2' },
      { to: 'bob@example.org', subject: 'swap', text: '3' },
    ])) {
      outcomes.push(outcome);
    }
    expect(outcomes.map((outcome) => (outcome.ok ? outcome.receipt.accepted : outcome.error.code))).toEqual([
      'recipient-rejected',
      ['bob@example.org'],
      'recipient-rejected',
    ]);
    expect(transport.sent).toHaveLength(1);
  });
});

describe('createMailer({ sendLog })', () => {
  it('records each accepted message with the envelope sender the transport reports, and the Message-ID the provider replaced', async () => {
    const records: SendLogRecord[] = [];
    const transport = defineTransport({
      id: 'verp-test',
      capabilities: createMemoryTransport().capabilities,
      send: async (message) => ({
        messageId: '<provider-1@provider.example>',
        providerMessageId: 'provider-1',
        accepted: [...message.envelope.to],
        details: { envelopeFrom: 'bounces+abc-def@bounces.shop.example' },
      }),
    });
    const mailer = createMailer({ transport, sendLog: { record: (entry) => void records.push(entry) } });
    await mailer.send({
      from: 'shop@shop.example',
      to: 'bob@example.org',
      text: 'x',
      messageId: '<built@shop.example>',
      tags: ['welcome'],
      metadata: { stream: 'onboarding', user: '42' },
    });
    expect(records).toEqual([
      {
        messageId: '<provider-1@provider.example>',
        submittedMessageId: '<built@shop.example>',
        providerMessageId: 'provider-1',
        transport: 'verp-test',
        recipients: ['bob@example.org'],
        tags: ['welcome'],
        metadata: { stream: 'onboarding', user: '42' },
        envelopeFrom: 'bounces+abc-def@bounces.shop.example',
        sentAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      },
    ]);
  });

  it('keeps the receipt when the send log fails, and says so in a process warning', async () => {
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
    const transport = createMemoryTransport();
    const mailer = createMailer({
      transport,
      sendLog: {
        record: async () => {
          throw new Error('disk full');
        },
      },
    });
    const receipt = await mailer.send({ from: 'shop@shop.example', to: 'bob@example.org', text: 'x' });
    expect(receipt.accepted).toEqual(['bob@example.org']);
    expect(transport.sent).toHaveLength(1);
    expect(warn).toHaveBeenCalledWith(expect.stringContaining(`did not record ${receipt.messageId}: disk full`), {
      type: 'MailportSendLogWarning',
    });
  });

  it('records nothing for a send that failed', async () => {
    const record = vi.fn();
    const transport = createMemoryTransport();
    transport.failNext(1, 'message-rejected');
    const mailer = createMailer({ transport, retry: false, sendLog: { record } });
    await mailer.send({ from: 'shop@shop.example', to: 'bob@example.org', text: 'x' }).catch(() => undefined);
    expect(record).not.toHaveBeenCalled();
  });
});
