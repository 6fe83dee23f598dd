import { inspect } from 'node:util';
import { describe, expect, it, vi } from 'vitest';
import { failover, isFailoverError, roundRobin } from './composite.js';
import { MailError, type MailErrorCode } from './errors.js';
import { createMemoryTransport, type MemoryTransport } from './memory-transport.js';
import { createMessage, type MessageInput } from './message.js';
import type { Transport, TransportCapabilities, VerifyReport } from './transport.js';

const message = (overrides: Partial<MessageInput> = {}) =>
  createMessage({ from: 'orders@shop.example', to: 'ana@example.com', subject: 'Hi', text: 'Hello', ...overrides });

function member(name: string, capabilities: Partial<TransportCapabilities> = {}): MemoryTransport {
  return createMemoryTransport({ id: `memory://${name}`, capabilities });
}

/** A clock the test moves by hand. */
function clock(start = 1_700_000_000_000) {
  let now = start;
  return {
    now: () => now,
    advance: (ms: number): void => {
      now += ms;
    },
  };
}

async function rejection(promise: Promise<unknown>): Promise<MailError> {
  try {
    await promise;
  } catch (error) {
    if (MailError.isInstance(error)) return error;
    throw error;
  }
  throw new Error('expected a MailError, but the promise resolved');
}

describe('failover: which errors move on', () => {
  it.each<MailErrorCode>([
    'transient',
    'auth',
    'timeout',
    'rate-limited',
    'configuration',
    'unsupported',
    'sender-rejected',
    'quota-exceeded',
  ])('moves on to the next transport after %s', async (code) => {
    const [a, b] = [member('a'), member('b')];
    a.failNext(1, code);
    const receipt = await failover([a, b]).send(message());
    expect(receipt.transport).toBe('memory://b');
    expect(receipt.route).toEqual([
      { transport: 'memory://a', outcome: 'failed', reason: expect.stringContaining(code) },
      { transport: 'memory://b', outcome: 'sent' },
    ]);
    expect(b.sent).toHaveLength(1);
    expect(isFailoverError(new MailError(code, 'x'))).toBe(true);
  });

  it.each<MailErrorCode>(['unknown-outcome', 'recipient-rejected', 'message-rejected', 'invalid-message'])(
    'does not move on after %s',
    async (code) => {
      const [a, b] = [member('a'), member('b')];
      const bSend = vi.spyOn(b, 'send');
      a.failNext(1, code);
      const error = await rejection(failover([a, b]).send(message()));
      expect(error.code).toBe(code);
      expect(error.transport).toBe('memory://a');
      expect(bSend).not.toHaveBeenCalled();
      expect(isFailoverError(new MailError(code, 'x'))).toBe(false);
    },
  );

  it('does not move on after an unexpected exception, which may have sent the message', async () => {
    const [a, b] = [member('a'), member('b')];
    a.failNext(1, () => new Error('socket hang up after DATA'));
    const error = await rejection(failover([a, b]).send(message()));
    expect(error.code).toBe('unknown-outcome');
    expect(b.sent).toHaveLength(0);
  });

  it('uses a custom shouldFailover', async () => {
    const [a, b] = [member('a'), member('b')];
    a.failNext(1, 'recipient-rejected');
    const receipt = await failover([a, b], { shouldFailover: (error) => error.code === 'recipient-rejected' }).send(message());
    expect(receipt.transport).toBe('memory://b');
  });

  it('rethrows the caller abort as it is', async () => {
    const reason = new Error('stop');
    const [a, b] = [member('a'), member('b')];
    const error = await failover([a, b])
      .send(message(), { signal: AbortSignal.abort(reason) })
      .catch((caught: unknown) => caught);
    expect(error).toBe(reason);
    expect(b.sent).toHaveLength(0);
  });

  it('sends through the first transport when it works', async () => {
    const [a, b] = [member('a'), member('b')];
    const receipt = await failover([a, b]).send(message());
    expect(receipt.route).toEqual([{ transport: 'memory://a', outcome: 'sent' }]);
    expect(receipt.providerMessageId).toBe('memory-1');
  });
});

describe('failover: resting transports', () => {
  it('rests a failed transport for cooldownMs, then tries it again (half-open)', async () => {
    const time = clock();
    const [a, b] = [member('a'), member('b')];
    const aSend = vi.spyOn(a, 'send');
    const transport = failover([a, b], { cooldownMs: 1000, now: time.now });

    a.failNext(1, 'transient');
    expect((await transport.send(message())).transport).toBe('memory://b');
    expect(aSend).toHaveBeenCalledTimes(1);

    time.advance(999);
    const resting = await transport.send(message());
    expect(resting.transport).toBe('memory://b');
    expect(resting.route?.[0]).toMatchObject({ transport: 'memory://a', outcome: 'resting' });
    expect(aSend).toHaveBeenCalledTimes(1);

    time.advance(1);
    const again = await transport.send(message());
    expect(again.transport).toBe('memory://a');
    expect(aSend).toHaveBeenCalledTimes(2);
  });

  it('rests a transport again when it fails after its cooldown', async () => {
    const time = clock();
    const [a, b] = [member('a'), member('b')];
    const transport = failover([a, b], { cooldownMs: 1000, now: time.now });
    a.failNext(2, 'auth');
    await transport.send(message());
    time.advance(1000);
    expect((await transport.send(message())).route?.[0]?.outcome).toBe('failed');
    time.advance(500);
    expect((await transport.send(message())).route?.[0]?.outcome).toBe('resting');
  });

  it('defaults the cooldown to one minute', async () => {
    const time = clock();
    const [a, b] = [member('a'), member('b')];
    const transport = failover([a, b], { now: time.now });
    a.failNext(1, 'transient');
    await transport.send(message());
    time.advance(59_999);
    expect((await transport.send(message())).transport).toBe('memory://b');
    time.advance(1);
    expect((await transport.send(message())).transport).toBe('memory://a');
  });

  it('fails at once, not retried inside the send, with retryAfterMs when no capable transport can take it now', async () => {
    const time = clock();
    const [a, b] = [member('a'), member('b')];
    const transport = failover([a, b], { cooldownMs: 1000, now: time.now });
    a.failNext(1, 'transient');
    b.failNext(1, 'rate-limited');

    const both = await rejection(transport.send(message()));
    expect(both.code).toBe('rate-limited');
    // Both were just tried and now rest: a retry in this send would only find them resting.
    expect(both.retryable).toBe(false);
    expect(both.retryAfterMs).toBe(1000);
    expect(both.transport).toBe('failover(memory://a memory://b)');
    expect(both.message).toContain('every transport failed');

    time.advance(300);
    const resting = await rejection(transport.send(message()));
    expect(resting).toMatchObject({ code: 'transient', retryable: false, retryAfterMs: 700 });
    expect(resting.message).toMatch(/memory:\/\/a resting.*memory:\/\/b resting/);
    expect(a.sent).toHaveLength(0);
    expect(b.sent).toHaveLength(0);
  });

  it('reports a non-retryable code when no member could be retried', async () => {
    const [a, b] = [member('a'), member('b')];
    a.failNext(1, 'auth');
    b.failNext(1, 'configuration');
    const error = await rejection(failover([a, b]).send(message()));
    expect(error).toMatchObject({ code: 'configuration', retryable: false, retryAfterMs: undefined });
    expect(error.message).toMatch(/memory:\/\/a failed \(auth: .*\); memory:\/\/b failed \(configuration: /);
  });
});

describe('failover: capabilities', () => {
  const big = (): Partial<MessageInput> => ({ attachments: [{ filename: 'big.bin', content: new Uint8Array(4000) }] });

  it.each<[string, Partial<TransportCapabilities>, Partial<MessageInput>, RegExp, MailErrorCode]>([
    ['maxMessageSize', { maxMessageSize: 1000 }, big(), /more than the 1 KB memory:\/\/a accepts/, 'invalid-message'],
    ['maxRecipients', { maxRecipients: 1 }, { to: ['a@example.com', 'b@example.com'] }, /2 recipients, more than the 1/, 'invalid-message'],
    ['customHeaders', { customHeaders: false }, { headers: { 'X-Tag': 'a' } }, /custom headers/, 'unsupported'],
    ['smtpUtf8', { smtpUtf8: false }, { to: 'zoë@example.com' }, /SMTPUTF8/, 'unsupported'],
    ['envelope', { envelope: false }, { envelope: { from: 'bounces@shop.example' } }, /separate envelope/, 'unsupported'],
  ])('skips a transport lacking %s, with the reason in the route', async (_label, limits, overrides, reason, allSkippedCode) => {
    const a = member('a', limits);
    const b = member('b');
    const receipt = await failover([a, b]).send(message(overrides));
    expect(receipt.transport).toBe('memory://b');
    expect(receipt.route).toEqual([
      { transport: 'memory://a', outcome: 'skipped', reason: expect.stringMatching(reason) },
      { transport: 'memory://b', outcome: 'sent' },
    ]);
    expect(a.sent).toHaveLength(0);

    const error = await rejection(failover([a, member('c', limits)]).send(message(overrides)));
    expect(error.code).toBe(allSkippedCode);
    expect(error.message).toContain('no transport can carry this message');
  });

  it('does not skip a transport whose SMTPUTF8 support is negotiated', async () => {
    const a = member('a', { smtpUtf8: 'negotiated' });
    expect((await failover([a, member('b')]).send(message({ to: 'zoë@example.com' }))).transport).toBe('memory://a');
  });

  it('does not count a skipped transport as failed: it is not rested', async () => {
    const time = clock();
    const a = member('a', { maxRecipients: 1 });
    const transport = failover([a, member('b')], { now: time.now });
    await transport.send(message({ to: ['a@example.com', 'b@example.com'] }));
    expect((await transport.send(message())).transport).toBe('memory://a');
  });

  it('merges capabilities: the largest limits and any support', () => {
    const a = member('a', {
      maxMessageSize: 10_000,
      maxRecipients: 50,
      customHeaders: false,
      envelope: false,
      smtpUtf8: false,
      concurrency: 2,
    });
    const b = member('b', {
      maxMessageSize: 40_000,
      maxRecipients: 100,
      customHeaders: true,
      envelope: false,
      smtpUtf8: 'negotiated',
      concurrency: 8,
    });
    expect(failover([a, b]).capabilities).toEqual({
      maxMessageSize: 40_000,
      maxRecipients: 100,
      customHeaders: true,
      envelope: false,
      smtpUtf8: 'negotiated',
      concurrency: 8,
      // The memory transport's: it carries a DKIM signature.
      dkim: 'any',
    });
    expect(failover([member('d', { dkim: false }), member('e', { dkim: 'one-key-no-id-date' })]).capabilities.dkim).toBe(
      'one-key-no-id-date',
    );
    expect(failover([member('f', { dkim: false }), member('g', { dkim: undefined })]).capabilities.dkim).toBe(false);
    expect(failover([a, member('c', { smtpUtf8: true, maxRecipients: undefined })]).capabilities).toMatchObject({
      maxRecipients: undefined,
      smtpUtf8: true,
    });
    expect(failover([a]).capabilities.smtpUtf8).toBe(false);
  });
});

describe('roundRobin', () => {
  it('spreads messages evenly', async () => {
    const [a, b, c] = [member('a'), member('b'), member('c')];
    const transport = roundRobin([a, b, c]);
    const order: string[] = [];
    for (let index = 0; index < 6; index++) order.push((await transport.send(message())).transport);
    expect(order).toEqual(['memory://a', 'memory://b', 'memory://c', 'memory://a', 'memory://b', 'memory://c']);
  });

  it('honours weights, spreading the heavy transport out', async () => {
    const [a, b] = [member('a'), member('b')];
    const transport = roundRobin([a, b], { weights: [3, 1] });
    const order: string[] = [];
    for (let index = 0; index < 8; index++) order.push((await transport.send(message())).transport.slice(-1));
    expect(a.sent).toHaveLength(6);
    expect(b.sent).toHaveLength(2);
    expect(order.join('')).toBe('aabaaaba');
  });

  it('moves on to the next transport after a failover error, and rests the failed one', async () => {
    const time = clock();
    const [a, b] = [member('a'), member('b')];
    const transport = roundRobin([a, b], { now: time.now, cooldownMs: 1000 });
    a.failNext(1, 'transient');
    const first = await transport.send(message());
    expect(first.route?.map((step) => `${step.transport} ${step.outcome}`)).toEqual(['memory://a failed', 'memory://b sent']);
    const second = await transport.send(message());
    expect(second.transport).toBe('memory://b');
    const third = await transport.send(message());
    expect(third.route?.map((step) => `${step.transport} ${step.outcome}`)).toEqual(['memory://a resting', 'memory://b sent']);
  });

  it.each([
    ['a zero weight', [0, 1]],
    ['a negative weight', [-1, 1]],
    ['NaN', [Number.NaN, 1]],
    ['Infinity', [Number.POSITIVE_INFINITY, 1]],
    ['too few weights', [1]],
    ['too many weights', [1, 1, 1]],
  ])('refuses %s with a configuration error', (_label, weights) => {
    let caught: unknown;
    try {
      roundRobin([member('a'), member('b')], { weights });
    } catch (error) {
      caught = error;
    }
    expect(MailError.isInstance(caught) && caught.code).toBe('configuration');
  });

  it('has an id naming its members', () => {
    const transport = roundRobin([member('a'), member('b')]);
    expect(transport.id).toBe('roundrobin(memory://a memory://b)');
    expect(String(transport)).toBe('roundrobin(memory://a memory://b)');
    expect(inspect(transport)).toBe('Transport(roundrobin(memory://a memory://b))');
  });
});

describe('composite transports', () => {
  it('need at least one transport', () => {
    expect(() => failover([])).toThrow(expect.objectContaining({ code: 'configuration' }));
    expect(() => roundRobin([])).toThrow(expect.objectContaining({ code: 'configuration' }));
  });

  it('are frozen', () => {
    expect(Object.isFrozen(failover([member('a')]))).toBe(true);
  });

  it('verify every member and succeed when one passes', async () => {
    const good = member('good');
    const bad: Transport = {
      ...member('bad'),
      id: 'memory://bad',
      verify: async (): Promise<VerifyReport> => {
        throw new MailError('auth', 'Bad credentials');
      },
    };
    const plain: Transport = { id: 'plain://x', capabilities: good.capabilities, send: good.send };
    const report = await failover([bad, good, plain]).verify?.();
    expect(report?.transport).toBe('failover(memory://bad memory://good plain://x)');
    expect(report?.checks).toEqual([
      { name: 'memory://bad', ok: false, detail: 'auth: Bad credentials' },
      { name: 'memory://good', ok: true, detail: 'memory: keeps messages in this process' },
      { name: 'plain://x', ok: true, detail: 'has no verify(); not checked' },
    ]);
    expect(report?.details).toEqual({
      'memory://good': {},
      members: [
        { transport: 'memory://bad', outcome: 'failed', code: 'auth', elapsedMs: expect.any(Number) },
        { transport: 'memory://good', outcome: 'ok', code: undefined, elapsedMs: expect.any(Number) },
        { transport: 'plain://x', outcome: 'not checked', code: undefined, elapsedMs: 0 },
      ],
    });
  });

  it('verify fails with configuration when no member passes', async () => {
    const failing = (name: string): Transport => ({
      ...member(name),
      id: `memory://${name}`,
      verify: async () => {
        throw new MailError('auth', `${name} refused`);
      },
    });
    const error = await rejection(failover([failing('x'), failing('y')]).verify?.() ?? Promise.resolve());
    expect(error.code).toBe('configuration');
    expect(error.message).toContain('x refused');
    expect(error.message).toContain('y refused');
  });

  it('close every member', async () => {
    const [a, b] = [member('a'), member('b')];
    const closeA = vi.spyOn(a, 'close');
    const closeB = vi.spyOn(b, 'close');
    await roundRobin([a, b]).close?.();
    expect(closeA).toHaveBeenCalledTimes(1);
    expect(closeB).toHaveBeenCalledTimes(1);
  });

  it('nest: failover over a round robin', async () => {
    const [a, b, c] = [member('a'), member('b'), member('c')];
    a.failNext(1, 'transient');
    const transport = failover([roundRobin([a, b]), c]);
    expect(transport.id).toBe('failover(roundrobin(memory://a memory://b) memory://c)');
    const receipt = await transport.send(message());
    expect(receipt.transport).toBe('memory://b');
    // The inner round robin's own steps are kept.
    expect(receipt.route?.map((step) => `${step.transport} ${step.outcome}`)).toEqual(['memory://a failed', 'memory://b sent']);
  });
});
