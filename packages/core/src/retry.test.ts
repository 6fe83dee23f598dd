import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { MailError, type MailErrorCode } from './errors.js';
import { retryDelay, retryPolicy, sleep } from './retry.js';

const fixed = (value: number) => () => value;
const error = (code: MailErrorCode, options: ConstructorParameters<typeof MailError>[2] = {}) => new MailError(code, code, options);

describe('retryPolicy', () => {
  it('fills in the defaults', () => {
    expect(retryPolicy(undefined)).toEqual({
      maxAttempts: 3,
      initialDelayMs: 500,
      maxDelayMs: 30_000,
      multiplier: 2,
      maxRetryAfterMs: 60_000,
      retryUnknownOutcome: false,
      random: Math.random,
    });
    expect(retryPolicy({})).toEqual(retryPolicy(undefined));
  });

  it('means a single attempt for false', () => {
    expect(retryPolicy(false).maxAttempts).toBe(1);
  });

  it('keeps given values and ignores undefined ones', () => {
    const random = fixed(0.5);
    const policy = retryPolicy({ maxAttempts: 5, initialDelayMs: undefined, retryUnknownOutcome: true, random });
    expect(policy).toMatchObject({ maxAttempts: 5, initialDelayMs: 500, retryUnknownOutcome: true });
    expect(policy.random).toBe(random);
  });
});

describe('retryDelay', () => {
  const policy = (options: Parameters<typeof retryPolicy>[0] = {}) => retryPolicy({ random: fixed(0.999_999), ...options });

  it.each([
    [1, 499],
    [2, 999],
    [3, 1999],
    [4, 3999],
  ])('waits at most the exponential bound before attempt %i + 1 (full jitter)', (attempt, delay) => {
    expect(retryDelay(attempt, error('transient'), policy({ maxAttempts: 10 }))).toBe(delay);
  });

  it('waits nothing with a random of zero', () => {
    expect(retryDelay(1, error('transient'), policy({ random: fixed(0) }))).toBe(0);
  });

  it('scales the wait with the random draw', () => {
    expect(retryDelay(2, error('transient'), policy({ random: fixed(0.5) }))).toBe(500);
  });

  it('caps the bound at maxDelayMs', () => {
    expect(retryDelay(20, error('transient'), policy({ maxAttempts: 30, maxDelayMs: 4000 }))).toBe(3999);
  });

  it('honours a custom initial delay and multiplier', () => {
    expect(retryDelay(3, error('timeout'), policy({ maxAttempts: 5, initialDelayMs: 100, multiplier: 3, random: fixed(0.5) }))).toBe(450);
  });

  it('never waits less than retryAfterMs', () => {
    expect(retryDelay(1, error('rate-limited', { retryAfterMs: 5000 }), policy({ random: fixed(0) }))).toBe(5000);
    expect(retryDelay(1, error('rate-limited', { retryAfterMs: 10 }), policy({ random: fixed(0.5) }))).toBe(250);
  });

  it('may wait longer than maxDelayMs for a provider Retry-After within maxRetryAfterMs', () => {
    expect(retryDelay(1, error('rate-limited', { retryAfterMs: 45_000 }), policy())).toBe(45_000);
  });

  it('gives up when Retry-After exceeds maxRetryAfterMs', () => {
    expect(retryDelay(1, error('rate-limited', { retryAfterMs: 60_001 }), policy())).toBeUndefined();
    expect(retryDelay(1, error('rate-limited', { retryAfterMs: 60_000 }), policy())).toBe(60_000);
    expect(retryDelay(1, error('rate-limited', { retryAfterMs: 2000 }), policy({ maxRetryAfterMs: 1000 }))).toBeUndefined();
  });

  it('stops after maxAttempts', () => {
    expect(retryDelay(2, error('transient'), policy())).toBeDefined();
    expect(retryDelay(3, error('transient'), policy())).toBeUndefined();
    expect(retryDelay(1, error('transient'), retryPolicy(false))).toBeUndefined();
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
    'unknown-outcome',
  ])('never retries %s by default', (code) => {
    expect(retryDelay(1, error(code, { retryAfterMs: 100 }), policy())).toBeUndefined();
  });

  it.each<MailErrorCode>(['transient', 'timeout', 'rate-limited'])('retries %s', (code) => {
    expect(retryDelay(1, error(code), policy())).toBeTypeOf('number');
  });

  it('follows the error own retryable flag', () => {
    expect(retryDelay(1, error('transient', { retryable: false }), policy())).toBeUndefined();
    expect(retryDelay(1, error('auth', { retryable: true }), policy())).toBeTypeOf('number');
  });

  it('retries unknown-outcome only with retryUnknownOutcome', () => {
    expect(retryDelay(1, error('unknown-outcome'), policy({ retryUnknownOutcome: true }))).toBe(499);
    expect(retryDelay(1, error('auth'), policy({ retryUnknownOutcome: true }))).toBeUndefined();
  });
});

describe('sleep', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('resolves after the given time', async () => {
    let done = false;
    const pending = sleep(1000).then(() => {
      done = true;
    });
    await vi.advanceTimersByTimeAsync(999);
    expect(done).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    await pending;
    expect(done).toBe(true);
  });

  it('resolves at once for zero or less', async () => {
    await expect(sleep(0)).resolves.toBeUndefined();
    await expect(sleep(-5)).resolves.toBeUndefined();
  });

  it('rejects with the signal reason as soon as it aborts, and clears its timer', async () => {
    const controller = new AbortController();
    const reason = new Error('caller gave up');
    const pending = sleep(10_000, controller.signal);
    controller.abort(reason);
    await expect(pending).rejects.toBe(reason);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('rejects at once with the reason of an already aborted signal', async () => {
    const reason = { custom: 'reason' };
    await expect(sleep(10, AbortSignal.abort(reason))).rejects.toBe(reason);
    await expect(sleep(0, AbortSignal.abort(reason))).rejects.toBe(reason);
  });

  it('stops listening to the signal once it resolves', async () => {
    const controller = new AbortController();
    const pending = sleep(10, controller.signal);
    await vi.advanceTimersByTimeAsync(10);
    await pending;
    controller.abort(new Error('late'));
    await expect(pending).resolves.toBeUndefined();
  });
});
