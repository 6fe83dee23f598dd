import { createTestTransport } from '@mailport/core/testing';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { registerTransport, type TransportFactory } from './config.js';
import { MailError, type MailErrorCode } from './errors.js';
import { createMailer, type SendErrorEvent, type SendOutcome } from './mailer.js';
import { createMemoryTransport, memoryTransport } from './memory-transport.js';
import { createMessage, type EmailMessage, type MessageInput } from './message.js';
import type { SendOptions, SendReceipt, Transport, TransportCapabilities } from './transport.js';

const input = (overrides: Partial<MessageInput> = {}): MessageInput => ({
  from: 'Shop <orders@shop.example>',
  to: 'ana@example.com',
  subject: 'Hello',
  text: 'Hi',
  ...overrides,
});

/** Lets pending promise callbacks run without moving the fake clock. */
async function flush(): Promise<void> {
  await vi.advanceTimersByTimeAsync(0);
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection, but the promise resolved');
}

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of iterable) items.push(item);
  return items;
}

const capabilities: TransportCapabilities = {
  maxMessageSize: undefined,
  maxRecipients: undefined,
  customHeaders: true,
  envelope: true,
  smtpUtf8: true,
  concurrency: 4,
};

function receiptFor(message: EmailMessage, transport: string): SendReceipt {
  return {
    messageId: message.messageId,
    transport,
    providerMessageId: undefined,
    accepted: message.envelope.to,
    rejected: [],
    attempts: 1,
    elapsedMs: 0,
  };
}

/** A transport built from a send function, for cases the memory transport cannot stage. */
function customTransport(
  send: (message: EmailMessage, options?: SendOptions) => Promise<SendReceipt>,
  extra: Partial<Transport> = {},
): Transport {
  return { id: 'custom://test', capabilities, send, ...extra };
}

beforeEach(() => {
  // Only the timers the mailer uses: nodemailer's rendering runs on the real event loop.
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
});

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

describe('createMailer: retries', () => {
  it('retries a transient failure with growing backoff, then succeeds', async () => {
    const transport = createTestTransport();
    const send = vi.spyOn(transport, 'send');
    const events: SendErrorEvent[] = [];
    const mailer = createMailer({
      transport,
      retry: { initialDelayMs: 1000, random: () => 0.5 },
      hooks: { onError: (event) => void events.push(event) },
    });
    transport.failNext(2, 'transient');

    const pending = mailer.send(input());
    await vi.advanceTimersByTimeAsync(499);
    expect(send).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(send).toHaveBeenCalledTimes(2);
    await vi.advanceTimersByTimeAsync(999);
    expect(send).toHaveBeenCalledTimes(2);
    await vi.advanceTimersByTimeAsync(1);
    const receipt = await pending;

    expect(send).toHaveBeenCalledTimes(3);
    expect(receipt.attempts).toBe(3);
    expect(receipt.transport).toBe('memory://test');
    expect(Object.isFrozen(receipt)).toBe(true);
    expect(transport.sent).toHaveLength(1);
    expect(
      events.map(({ attempt, willRetry, delayMs, transport: id, error }) => ({ attempt, willRetry, delayMs, id, code: error.code })),
    ).toEqual([
      { attempt: 1, willRetry: true, delayMs: 500, id: 'memory://test', code: 'transient' },
      { attempt: 2, willRetry: true, delayMs: 1000, id: 'memory://test', code: 'transient' },
    ]);
    expect(events[0]?.message?.messageId).toBe(receipt.messageId);
  });

  it('makes no attempt before the Retry-After has elapsed', async () => {
    const transport = createTestTransport();
    const send = vi.spyOn(transport, 'send');
    const mailer = createMailer({ transport, retry: { random: () => 0 } });
    transport.failNext(1, new MailError('rate-limited', 'Slow down', { retryAfterMs: 5000 }));

    const pending = mailer.send(input());
    await vi.advanceTimersByTimeAsync(4999);
    expect(send).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(1);
    expect((await pending).attempts).toBe(2);
  });

  it('returns a Retry-After longer than maxRetryAfterMs to the caller instead of waiting', async () => {
    const transport = createTestTransport();
    const mailer = createMailer({ transport, retry: { maxRetryAfterMs: 10_000 } });
    transport.failNext(1, new MailError('rate-limited', 'Come back tomorrow', { retryAfterMs: 3_600_000 }));
    const error = await rejection(mailer.send(input()));
    expect(error).toMatchObject({ code: 'rate-limited', retryAfterMs: 3_600_000 });
    expect(vi.getTimerCount()).toBe(0);
  });

  it('gives up after maxAttempts and reports the last attempt as final', async () => {
    const transport = createTestTransport();
    const send = vi.spyOn(transport, 'send');
    const events: SendErrorEvent[] = [];
    const mailer = createMailer({ transport, hooks: { onError: (event) => void events.push(event) } });
    transport.failNext(5, 'timeout');
    const outcome = rejection(mailer.send(input()));
    await vi.runAllTimersAsync();
    expect(await outcome).toMatchObject({ code: 'timeout', transport: 'memory://test' });
    expect(send).toHaveBeenCalledTimes(3);
    expect(events.map((event) => [event.attempt, event.willRetry])).toEqual([
      [1, true],
      [2, true],
      [3, false],
    ]);
    expect(transport.sent).toHaveLength(0);
  });

  it.each<MailErrorCode>([
    'invalid-message',
    'configuration',
    'auth',
    'sender-rejected',
    'recipient-rejected',
    'message-rejected',
    'quota-exceeded',
    'unsupported',
  ])('does not retry %s', async (code) => {
    const transport = createTestTransport();
    const send = vi.spyOn(transport, 'send');
    const mailer = createMailer({ transport });
    transport.failNext(1, code);
    expect(await rejection(mailer.send(input()))).toMatchObject({ code });
    expect(send).toHaveBeenCalledTimes(1);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('does not retry unknown-outcome by default', async () => {
    const transport = createTestTransport();
    const send = vi.spyOn(transport, 'send');
    transport.failNext(1, 'unknown-outcome');
    expect(await rejection(createMailer({ transport }).send(input()))).toMatchObject({ code: 'unknown-outcome' });
    expect(send).toHaveBeenCalledTimes(1);
  });

  it('treats an unexpected exception from the transport as unknown-outcome, not retried', async () => {
    const transport = createTestTransport();
    const cause = new TypeError('cannot read properties of undefined');
    transport.failNext(1, () => cause);
    const error = await rejection(createMailer({ transport }).send(input()));
    expect(error).toMatchObject({ code: 'unknown-outcome', transport: 'memory://test' });
    expect((error as MailError).cause).toBe(cause);
    expect(transport.sent).toHaveLength(0);
  });

  it('retries unknown-outcome with retryUnknownOutcome', async () => {
    const transport = createTestTransport();
    transport.failNext(1, 'unknown-outcome');
    const mailer = createMailer({ transport, retry: { retryUnknownOutcome: true, random: () => 0 } });
    const pending = mailer.send(input());
    await flush();
    expect((await pending).attempts).toBe(2);
  });

  it('makes one attempt with retry: false', async () => {
    const transport = createTestTransport();
    const send = vi.spyOn(transport, 'send');
    transport.failNext(1, 'transient');
    expect(await rejection(createMailer({ transport, retry: false }).send(input()))).toMatchObject({ code: 'transient' });
    expect(send).toHaveBeenCalledTimes(1);
  });

  it('refuses a message the transport cannot carry before any attempt', async () => {
    const transport = createMemoryTransport({ capabilities: { maxRecipients: 1 } });
    const send = vi.spyOn(transport, 'send');
    const events: SendErrorEvent[] = [];
    const mailer = createMailer({ transport, hooks: { onError: (event) => void events.push(event) } });
    const error = await rejection(mailer.send(input({ to: ['a@example.com', 'b@example.com'] })));
    expect(error).toMatchObject({ code: 'invalid-message', field: 'to' });
    expect(send).not.toHaveBeenCalled();
    expect(events.map((event) => [event.attempt, event.willRetry])).toEqual([[0, false]]);
  });
});

describe('createMailer: hooks', () => {
  it('lets beforeSend replace the message with new input, defaults applied', async () => {
    const transport = createTestTransport();
    const seen: string[] = [];
    const mailer = createMailer({
      transport,
      defaults: { from: 'App <noreply@app.example>' },
      hooks: {
        beforeSend: ({ message, transport: id }) => {
          seen.push(`${id} ${message.subject}`);
          // The hook type asks for a full MessageInput, but the mailer applies its defaults to it too.
          return { to: 'other@example.com', subject: `[test] ${message.subject}`, text: 'changed' } as MessageInput;
        },
      },
    });
    const receipt = await mailer.send({ to: 'ana@example.com', subject: 'Original' });
    expect(seen).toEqual(['memory://test Original']);
    const sent = transport.last()?.message;
    expect(sent?.subject).toBe('[test] Original');
    expect(sent?.from.address).toBe('noreply@app.example');
    expect(sent?.envelope.to).toEqual(['other@example.com']);
    expect(receipt.messageId).toBe(sent?.messageId);
  });

  it('lets beforeSend replace the message with a built message', async () => {
    const transport = createTestTransport();
    const replacement = createMessage(input({ subject: 'Replacement' }));
    const mailer = createMailer({ transport, hooks: { beforeSend: async () => replacement } });
    await mailer.send(input());
    expect(transport.last()?.message).toBe(replacement);
  });

  it('sends the message unchanged when beforeSend returns nothing', async () => {
    const transport = createTestTransport();
    const message = createMessage(input());
    await createMailer({ transport, hooks: { beforeSend: () => undefined } }).send(message);
    expect(transport.last()?.message).toBe(message);
  });

  it('cancels the send when beforeSend returns false', async () => {
    const transport = createTestTransport();
    const events: SendErrorEvent[] = [];
    const mailer = createMailer({ transport, hooks: { beforeSend: () => false, onError: (event) => void events.push(event) } });
    const error = await rejection(mailer.send(input()));
    expect(MailError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ code: 'message-rejected', providerCode: 'cancelled', retryable: false });
    expect(transport.sent).toHaveLength(0);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ attempt: 0, willRetry: false, transport: 'memory://test' });
  });

  it('refuses an invalid replacement from beforeSend', async () => {
    const transport = createTestTransport();
    const mailer = createMailer({ transport, hooks: { beforeSend: () => ({ from: 'broken', to: 'ana@example.com' }) } });
    expect(await rejection(mailer.send(input()))).toMatchObject({ code: 'invalid-message', field: 'from' });
    expect(transport.sent).toHaveLength(0);
  });

  it('gives afterSend the message and the receipt the caller gets', async () => {
    const transport = createTestTransport();
    const afterSend = vi.fn();
    const receipt = await createMailer({ transport, hooks: { afterSend } }).send(input());
    expect(afterSend).toHaveBeenCalledTimes(1);
    expect(afterSend.mock.calls[0]?.[0].receipt).toBe(receipt);
    expect(afterSend.mock.calls[0]?.[0].message).toBe(transport.last()?.message);
  });

  it('does not fail the send when afterSend throws, and warns instead', async () => {
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
    const transport = createTestTransport();
    const mailer = createMailer({
      transport,
      hooks: {
        afterSend: () => {
          throw new Error('metrics are down');
        },
      },
    });
    const receipt = await mailer.send(input());
    expect(receipt.attempts).toBe(1);
    expect(transport.sent).toHaveLength(1);
    expect(warn).toHaveBeenCalledWith(expect.stringContaining('afterSend hook threw: metrics are down'), { type: 'MailportHookWarning' });
  });

  it('keeps retrying when onError throws', async () => {
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
    const transport = createTestTransport();
    transport.failNext(1, 'transient');
    const mailer = createMailer({
      transport,
      retry: { random: () => 0 },
      hooks: {
        onError: async () => {
          throw new Error('logger offline');
        },
      },
    });
    const pending = mailer.send(input());
    await flush();
    expect((await pending).attempts).toBe(2);
    expect(warn).toHaveBeenCalledWith(expect.stringContaining('onError hook threw: logger offline'), { type: 'MailportHookWarning' });
  });

  it('reports invalid input to onError with no message and no attempt', async () => {
    const transport = createTestTransport();
    const send = vi.spyOn(transport, 'send');
    const events: SendErrorEvent[] = [];
    const mailer = createMailer({ transport, hooks: { onError: (event) => void events.push(event) } });
    expect(await rejection(mailer.send(input({ to: 'not an address' })))).toMatchObject({ code: 'invalid-message', field: 'to[0]' });
    expect(events).toEqual([expect.objectContaining({ message: undefined, attempt: 0, willRetry: false, transport: undefined })]);
    expect(send).not.toHaveBeenCalled();
  });
});

describe('createMailer: abort', () => {
  it('rejects with the reason of an already aborted signal, sending nothing', async () => {
    const transport = createTestTransport();
    const send = vi.spyOn(transport, 'send');
    const reason = new Error('request cancelled');
    const error = await rejection(createMailer({ transport }).send(input(), { signal: AbortSignal.abort(reason) }));
    expect(error).toBe(reason);
    expect(send).not.toHaveBeenCalled();
    expect(transport.sent).toHaveLength(0);
  });

  it('rejects with the signal own AbortError when aborted without a reason', async () => {
    const transport = createTestTransport();
    const controller = new AbortController();
    controller.abort();
    const error = await rejection(createMailer({ transport }).send(input(), { signal: controller.signal }));
    expect(error).toBe(controller.signal.reason);
    expect(MailError.isInstance(error)).toBe(false);
  });

  it('stops waiting between attempts when aborted, with the same reason object', async () => {
    const transport = createTestTransport();
    const send = vi.spyOn(transport, 'send');
    const onError = vi.fn();
    transport.failNext(1, 'transient');
    const controller = new AbortController();
    const reason = { why: 'shutdown' };
    const outcome = rejection(createMailer({ transport, hooks: { onError } }).send(input(), { signal: controller.signal }));
    await flush();
    expect(vi.getTimerCount()).toBe(1);
    controller.abort(reason);
    expect(await outcome).toBe(reason);
    await vi.runAllTimersAsync();
    expect(send).toHaveBeenCalledTimes(1);
    expect(onError).toHaveBeenCalledTimes(1);
    expect(transport.sent).toHaveLength(0);
  });

  it('passes the signal to the transport and does not wrap or report its abort', async () => {
    const onError = vi.fn();
    const transport = customTransport(
      (_message, options) =>
        new Promise((_resolve, reject) => {
          options?.signal?.addEventListener('abort', () => reject(options.signal?.reason), { once: true });
        }),
    );
    const controller = new AbortController();
    const reason = new Error('user navigated away');
    const outcome = rejection(createMailer({ transport, hooks: { onError } }).send(input(), { signal: controller.signal }));
    await flush();
    controller.abort(reason);
    expect(await outcome).toBe(reason);
    expect(onError).not.toHaveBeenCalled();
  });
});

describe('createMailer: defaults', () => {
  it('merges defaults under the input, headers and metadata by key', async () => {
    const transport = createTestTransport();
    const mailer = createMailer({
      transport,
      defaults: {
        from: 'App <noreply@app.example>',
        replyTo: 'support@app.example',
        headers: { 'X-App': 'shop', 'X-Env': 'prod' },
        metadata: { app: 'shop', env: 'prod' },
      },
    });
    await mailer.send({ to: 'ana@example.com', subject: 'Hi', headers: { 'X-Env': 'test' }, metadata: { env: 'test', user: '7' } });
    const message = transport.last()?.message;
    expect(message?.from).toEqual({ name: 'App', address: 'noreply@app.example' });
    expect(message?.replyTo.map((address) => address.address)).toEqual(['support@app.example']);
    expect(message?.headers).toEqual([
      { name: 'X-App', value: 'shop' },
      { name: 'X-Env', value: 'test' },
    ]);
    expect(message?.metadata).toEqual({ app: 'shop', env: 'test', user: '7' });
  });

  it('lets the input override a default field', async () => {
    const transport = createTestTransport();
    await createMailer({ transport, defaults: { from: 'noreply@app.example' } }).send(input({ from: 'ceo@app.example' }));
    expect(transport.last()?.message.from.address).toBe('ceo@app.example');
  });

  it('does not apply defaults to a message that is already built', async () => {
    const transport = createTestTransport();
    const message = createMessage(input());
    await createMailer({ transport, defaults: { headers: { 'X-App': 'shop' } } }).send(message);
    expect(transport.last()?.message).toBe(message);
    expect(transport.last()?.message.headers).toEqual([]);
  });
});

describe('createMailer: sendMany', () => {
  /** A transport whose sends take `delayFor(message)` ms of fake time; it tracks how many run at once. */
  function slowTransport(delayFor: (message: EmailMessage) => number, transportCapabilities: Partial<TransportCapabilities> = {}) {
    let active = 0;
    let maxActive = 0;
    const transport: Transport = {
      id: 'slow://test',
      capabilities: { ...capabilities, ...transportCapabilities },
      async send(message) {
        active++;
        maxActive = Math.max(maxActive, active);
        try {
          await new Promise((resolve) => setTimeout(resolve, delayFor(message)));
          if (message.subject === 'fail') throw new MailError('recipient-rejected', 'No such user');
          return receiptFor(message, 'slow://test');
        } finally {
          active--;
        }
      },
    };
    return { transport, maxActive: () => maxActive };
  }

  it('yields one outcome per input in input order, with at most `concurrency` sends at once', async () => {
    // Later messages finish first, so any reordering would show.
    const { transport, maxActive } = slowTransport((message) => 1000 - Number(message.subject) * 100);
    const mailer = createMailer({ transport });
    const messages = Array.from({ length: 7 }, (_, index) => createMessage(input({ subject: String(index) })));
    const outcomes = collect(mailer.sendMany(messages, { concurrency: 2 }));
    await vi.runAllTimersAsync();
    const results = await outcomes;
    expect(results.map((outcome) => outcome.index)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(results.map((outcome) => outcome.messageId)).toEqual(messages.map((message) => message.messageId));
    expect(results.every((outcome) => outcome.ok)).toBe(true);
    expect(maxActive()).toBe(2);
  });

  it('one slow message does not hold back the others: free slots keep sending', async () => {
    const started: string[] = [];
    const transport = customTransport(async (message) => {
      started.push(message.subject);
      // Message 0 takes 10 s; every other one 10 ms.
      await new Promise((resolve) => setTimeout(resolve, message.subject === '0' ? 10_000 : 10));
      return receiptFor(message, 'custom://test');
    });
    const outcomes = collect(
      createMailer({ transport }).sendMany(
        Array.from({ length: 20 }, (_, index) => input({ subject: String(index) })),
        { concurrency: 2 },
      ),
    );
    await vi.advanceTimersByTimeAsync(1_000);
    // While message 0 is still in flight, the second slot has gone through all the rest.
    expect(started).toHaveLength(20);
    await vi.runAllTimersAsync();
    expect((await outcomes).map((outcome) => outcome.index)).toEqual(Array.from({ length: 20 }, (_, index) => index));
  });

  it('defaults the concurrency to the transport capability', async () => {
    const { transport, maxActive } = slowTransport(() => 100, { concurrency: 3 });
    const outcomes = collect(createMailer({ transport }).sendMany(Array.from({ length: 10 }, () => input())));
    await vi.runAllTimersAsync();
    expect(await outcomes).toHaveLength(10);
    expect(maxActive()).toBe(3);
  });

  it('goes on after invalid input and transport failures', async () => {
    const { transport } = slowTransport(() => 10);
    const onError = vi.fn();
    const failing = createMessage(input({ subject: 'fail' }));
    const outcomes = collect(
      createMailer({ transport, hooks: { onError } }).sendMany([input(), input({ to: 'broken' }), failing, input({ subject: 'last' })], {
        concurrency: 2,
      }),
    );
    await vi.runAllTimersAsync();
    const results = await outcomes;
    expect(results.map((outcome) => [outcome.index, outcome.ok])).toEqual([
      [0, true],
      [1, false],
      [2, false],
      [3, true],
    ]);
    const [first, invalid, refused, last] = results as [SendOutcome, SendOutcome, SendOutcome, SendOutcome];
    expect(first.messageId).toMatch(/^<.+@shop\.example>$/);
    expect(invalid).toMatchObject({ ok: false, messageId: undefined, error: { code: 'invalid-message', field: 'to[0]' } });
    expect(refused).toMatchObject({
      ok: false,
      messageId: failing.messageId,
      error: { code: 'recipient-rejected', transport: 'slow://test' },
    });
    expect(last.ok && last.receipt.messageId).toBe(last.messageId);
    expect(onError).toHaveBeenCalledTimes(2);
  });

  it('reads an async iterable lazily', async () => {
    const transport = createTestTransport();
    let pulled = 0;
    async function* source(): AsyncGenerator<MessageInput> {
      for (let index = 0; index < 5; index++) {
        pulled++;
        yield input({ subject: `#${index}` });
      }
    }
    const results: SendOutcome[] = [];
    for await (const outcome of createMailer({ transport }).sendMany(source(), { concurrency: 1 })) {
      results.push(outcome);
      if (results.length === 2) break;
    }
    expect(results.map((outcome) => outcome.ok)).toEqual([true, true]);
    expect(pulled).toBeLessThanOrEqual(3);
  });

  it('ends the iteration by throwing the abort reason', async () => {
    const transport = createTestTransport();
    const reason = new Error('batch cancelled');
    const error = await rejection(collect(createMailer({ transport }).sendMany([input(), input()], { signal: AbortSignal.abort(reason) })));
    expect(error).toBe(reason);
    expect(transport.sent).toHaveLength(0);
  });
});

describe('createMailer: lifecycle and transports', () => {
  it('closes the transport once, however often close() is called', async () => {
    const close = vi.fn(async () => {});
    const transport = customTransport(async (message) => receiptFor(message, 'custom://test'), { close });
    const mailer = createMailer({ transport });
    await mailer.close();
    await mailer.close();
    expect(close).toHaveBeenCalledTimes(1);
  });

  it('refuses to send after close with a configuration error', async () => {
    const transport = createTestTransport();
    const mailer = createMailer({ transport });
    await mailer.send(input());
    await mailer.close();
    const error = await rejection(mailer.send(input()));
    expect(MailError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ code: 'configuration' });
    expect(transport.sent).toHaveLength(1);
  });

  it('closes the transport at the end of an `await using` block', async () => {
    const close = vi.fn(async () => {});
    const transport = customTransport(async (message) => receiptFor(message, 'custom://test'), { close });
    {
      await using mailer = createMailer({ transport });
      await mailer.send(input());
      expect(close).not.toHaveBeenCalled();
    }
    expect(close).toHaveBeenCalledTimes(1);
  });

  it('creates a transport given as a URL on first use, once', async () => {
    const created = createMemoryTransport({ id: 'lazy://created' });
    const close = vi.spyOn(created, 'close');
    const factory = vi.fn<TransportFactory>(() => created);
    registerTransport('lazy', factory);
    const mailer = createMailer({ transport: 'lazy://host?x=1' });
    expect(factory).not.toHaveBeenCalled();
    await mailer.send(input());
    await mailer.send(input());
    expect(factory).toHaveBeenCalledTimes(1);
    expect(factory.mock.calls[0]?.[0]).toMatchObject({ scheme: 'lazy', host: 'host' });
    expect(created.sent).toHaveLength(2);
    await mailer.close();
    expect(close).toHaveBeenCalledTimes(1);
  });

  it('does not create a URL transport just to close it', async () => {
    const factory = vi.fn<TransportFactory>(() => createMemoryTransport());
    registerTransport('neverused', factory);
    await createMailer({ transport: 'neverused://' }).close();
    expect(factory).not.toHaveBeenCalled();
  });

  it('tries a URL transport that failed to load again on the next send', async () => {
    let calls = 0;
    registerTransport('flaky', () => {
      calls++;
      if (calls === 1) throw new MailError('configuration', 'not yet');
      return createMemoryTransport({ id: 'flaky://ok' });
    });
    const mailer = createMailer({ transport: 'flaky://' });
    expect(await rejection(mailer.send(input()))).toMatchObject({ code: 'configuration', message: 'not yet' });
    expect((await mailer.send(input())).transport).toBe('flaky://ok');
  });

  it('sends through memory://NAME to the shared memory transport of that name', async () => {
    const mailer = createMailer({ transport: 'memory://mailer-test' });
    const receipt = await mailer.send(input());
    expect(memoryTransport('mailer-test').last()?.receipt.messageId).toBe(receipt.messageId);
    expect(receipt.transport).toBe('memory://mailer-test');
  });

  it('verifies through the transport, or reports nothing to verify', async () => {
    expect((await createMailer({ transport: createTestTransport() }).verify()).checks[0]).toMatchObject({ name: 'memory', ok: true });
    const bare = customTransport(async (message) => receiptFor(message, 'custom://test'));
    expect(await createMailer({ transport: bare }).verify()).toEqual({
      transport: 'custom://test',
      checks: [{ name: 'verify', ok: true, detail: 'this transport has nothing to verify' }],
      details: {},
    });
  });
});
