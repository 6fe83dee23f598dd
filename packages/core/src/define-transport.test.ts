import { inspect } from 'node:util';
import { describe, expect, it, vi } from 'vitest';
import { defineTransport, type SendResult, type TransportDefinition } from './define-transport.js';
import { MailError } from './errors.js';
import { createMessage, type EmailMessage, type MessageInput } from './message.js';
import type { TransportCapabilities } from './transport.js';

const everything: TransportCapabilities = {
  maxMessageSize: undefined,
  maxRecipients: undefined,
  customHeaders: true,
  envelope: true,
  smtpUtf8: true,
  concurrency: 2,
};

const message = (input: Partial<MessageInput> = {}): EmailMessage =>
  createMessage({ from: 'shop@example.com', to: ['ana@example.org', 'bo@example.net'], subject: 'Hi', text: 'Hello', ...input });

const define = (overrides: Partial<TransportDefinition> = {}) => {
  const send = vi.fn(async (): Promise<SendResult> => ({ providerMessageId: 'p-1' }));
  const close = vi.fn(async () => {});
  const transport = defineTransport({ id: 'kit://test', name: 'KitTransport', capabilities: everything, send, close, ...overrides });
  return { transport, send, close };
};

const rejection = (promise: Promise<unknown>): Promise<unknown> =>
  promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error: unknown) => error,
  );

describe('defineTransport: the receipt', () => {
  it('fills in what the send left out, and freezes it', async () => {
    const { transport } = define();
    const sent = message();
    const receipt = await transport.send(sent);
    expect(receipt).toMatchObject({
      messageId: sent.messageId,
      transport: 'kit://test',
      providerMessageId: 'p-1',
      accepted: ['ana@example.org', 'bo@example.net'],
      rejected: [],
      attempts: 1,
    });
    expect(receipt.elapsedMs).toBeGreaterThanOrEqual(0);
    expect(Object.isFrozen(receipt)).toBe(true);
    expect(Object.isFrozen(receipt.accepted)).toBe(true);
  });

  it("keeps what the send said: the provider's Message-ID, refused recipients, details", async () => {
    const { transport } = define({
      send: async () => ({
        messageId: '<0100abc@email.amazonses.com>',
        accepted: ['ana@example.org'],
        rejected: [{ address: 'bo@example.net', message: '550 no such user', statusCode: 550, retryable: false }],
        response: '250 ok',
        details: { region: 'eu-west-1' },
      }),
    });
    const receipt = await transport.send(message());
    expect(receipt).toMatchObject({
      messageId: '<0100abc@email.amazonses.com>',
      accepted: ['ana@example.org'],
      rejected: [{ address: 'bo@example.net' }],
      response: '250 ok',
      details: { region: 'eu-west-1' },
    });
    expect(Object.isFrozen(receipt.details)).toBe(true);
  });

  it('hands every receipt to onSent before resolving', async () => {
    const seen: string[] = [];
    const { transport } = define({ onSent: (receipt, sent) => seen.push(`${receipt.providerMessageId} ${sent.subject}`) });
    await transport.send(message({ subject: 'One' }));
    expect(seen).toEqual(['p-1 One']);
  });
});

describe('defineTransport: before sending', () => {
  it("rejects with the caller's reason when the signal has already aborted, calling nothing", async () => {
    const { transport, send } = define();
    const reason = new Error('gave up');
    await expect(transport.send(message(), { signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
    await expect(transport.verify({ signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
    expect(send).not.toHaveBeenCalled();
  });

  it("rejects with the caller's reason however the send reported the abort", async () => {
    const controller = new AbortController();
    const reason = new Error('gave up mid-send');
    const { transport } = define({
      send: async () => {
        controller.abort(reason);
        throw Object.assign(new Error('The operation was aborted'), { name: 'AbortError', code: 'ABORT_ERR' });
      },
    });
    await expect(transport.send(message(), { signal: controller.signal })).rejects.toBe(reason);
  });

  it('checks the capabilities before the send, with the problem as a MailError', async () => {
    const { transport, send } = define({ capabilities: { ...everything, maxRecipients: 1, customHeaders: false } });
    const error = await rejection(transport.send(message()));
    expect(error).toMatchObject({
      code: 'invalid-message',
      field: 'to',
      transport: 'kit://test',
      message: 'kit://test cannot send this message: 2 recipients, more than the 1 kit://test accepts',
    });
    expect((error as MailError).remediation).toMatch(/\w/);
    expect(await rejection(transport.send(message({ to: 'ana@example.org', headers: { 'X-Tag': 'a' } })))).toMatchObject({
      code: 'unsupported',
      field: 'headers.X-Tag',
    });
    expect(send).not.toHaveBeenCalled();
  });

  it('leaves the skipped capabilities to the send, but declares them all', async () => {
    const { transport, send } = define({ capabilities: { ...everything, maxMessageSize: 10 }, skip: ['maxMessageSize'] });
    await transport.send(message());
    expect(send).toHaveBeenCalledTimes(1);
    expect(transport.capabilities.maxMessageSize).toBe(10);
  });
});

describe('defineTransport: errors', () => {
  it('tags a MailError without a transport, keeps one that has it, and lets anything else through', async () => {
    const untagged = new MailError('auth', 'token refused');
    const tagged = new MailError('transient', 'member failed', { transport: 'kit://member' });
    const bug = new TypeError('undefined is not a function');
    const errors = [untagged, tagged, bug];
    const { transport } = define({
      send: async () => {
        throw errors.shift();
      },
    });
    expect(await rejection(transport.send(message()))).toMatchObject({ code: 'auth', message: 'token refused', transport: 'kit://test' });
    expect(await rejection(transport.send(message()))).toBe(tagged);
    expect(await rejection(transport.send(message()))).toBe(bug);
  });
});

describe('defineTransport: close', () => {
  it("runs the definition's close once, however often it is called, and refuses sends afterwards", async () => {
    const { transport, close, send } = define();
    await Promise.all([transport.close(), transport.close()]);
    await transport.close();
    expect(close).toHaveBeenCalledTimes(1);
    for (const attempt of [transport.send(message()), transport.verify()]) {
      expect(await rejection(attempt)).toMatchObject({ code: 'configuration', message: 'kit://test was closed', transport: 'kit://test' });
    }
    expect(send).not.toHaveBeenCalled();
  });

  it('keeps a transport that is not closable working after close', async () => {
    const { transport } = define({ closable: false });
    await transport.close();
    await transport.close();
    await expect(transport.send(message())).resolves.toMatchObject({ transport: 'kit://test' });
  });
});

describe('defineTransport: the object', () => {
  it('is frozen and shows its name, id and state, nothing else', () => {
    let count = 0;
    const { transport } = define({ describe: () => `${count} sent` });
    count = 3;
    expect(Object.isFrozen(transport)).toBe(true);
    expect(Object.isFrozen(transport.capabilities)).toBe(true);
    expect(String(transport)).toBe('kit://test');
    expect(inspect(transport)).toBe('KitTransport(kit://test, 3 sent)');
  });

  it('adds members, keeping getters live', () => {
    const log: string[] = [];
    const transport = defineTransport(
      { id: 'kit://members', capabilities: everything, send: async () => ({}) },
      {
        get size() {
          return log.length;
        },
        add(entry: string) {
          log.push(entry);
        },
      },
    );
    transport.add('one');
    expect(transport.size).toBe(1);
    expect(inspect(transport)).toBe('Transport(kit://members)');
  });

  it('verifies through the definition, or reports that there is nothing to verify', async () => {
    const verified = define({
      verify: async () => ({ transport: 'kit://test', checks: [{ name: 'auth', ok: true, detail: 'fine' }], details: {} }),
    });
    expect((await verified.transport.verify()).checks[0]?.name).toBe('auth');
    expect((await define().transport.verify()).checks[0]?.detail).toBe('this transport has nothing to verify');
  });
});
