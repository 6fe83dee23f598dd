import type { MailError } from './errors.js';

/** How the mailer retries a failed send. */
export interface RetryOptions {
  /** Attempts in all, the first included. Default 3. */
  maxAttempts?: number | undefined;
  /** The backoff cap for the first retry, in ms. Default 500. */
  initialDelayMs?: number | undefined;
  /** No backoff wait exceeds this, in ms. Default 30 000. */
  maxDelayMs?: number | undefined;
  /** Growth of the backoff cap per attempt. Default 2. */
  multiplier?: number | undefined;
  /**
   * A provider's Retry-After longer than this is not waited for: the error is returned with its
   * `retryAfterMs` so the caller can schedule the message. Default 60 000.
   */
  maxRetryAfterMs?: number | undefined;
  /**
   * Retry `unknown-outcome` errors too. The message may then arrive twice. Default false.
   */
  retryUnknownOutcome?: boolean | undefined;
  /** Source of randomness for the jitter, for tests. Default `Math.random`. */
  random?: (() => number) | undefined;
}

/**
 * Retry settings with every default filled in. Not `Required<RetryOptions>`: under
 * `exactOptionalPropertyTypes` that would keep the explicit `| undefined` of each option.
 */
export type RetryPolicy = { [K in keyof RetryOptions]-?: Exclude<RetryOptions[K], undefined> };

/** Fills in the defaults; `false` means one attempt only. */
export function retryPolicy(options: RetryOptions | false | undefined): RetryPolicy {
  const base: RetryPolicy = {
    maxAttempts: 3,
    initialDelayMs: 500,
    maxDelayMs: 30_000,
    multiplier: 2,
    maxRetryAfterMs: 60_000,
    retryUnknownOutcome: false,
    random: Math.random,
  };
  if (options === false) return { ...base, maxAttempts: 1 };
  const policy = { ...base };
  for (const [key, value] of Object.entries(options ?? {})) {
    if (value !== undefined) (policy as Record<string, unknown>)[key] = value;
  }
  return policy;
}

/**
 * How long to wait before attempt `attempt + 1` after `error`, or undefined for no retry.
 * Exponential backoff with full jitter (a random wait up to the capped exponential bound), and
 * never less than the provider's `retryAfterMs`.
 */
export function retryDelay(attempt: number, error: MailError, policy: RetryPolicy): number | undefined {
  if (attempt >= policy.maxAttempts) return undefined;
  const allowed = error.retryable || (error.code === 'unknown-outcome' && policy.retryUnknownOutcome);
  if (!allowed) return undefined;
  if (error.retryAfterMs !== undefined && error.retryAfterMs > policy.maxRetryAfterMs) return undefined;
  const bound = Math.min(policy.maxDelayMs, policy.initialDelayMs * policy.multiplier ** (attempt - 1));
  const jittered = Math.floor(policy.random() * bound);
  return Math.max(jittered, error.retryAfterMs ?? 0);
}

/** Resolves after `ms`, or rejects with the signal's reason as soon as it aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted === true) return Promise.reject(signal.reason);
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Settles with `promise`, or rejects with the signal's reason as soon as it aborts; the promise
 * itself goes on. For work that cannot be cancelled (a shared token refresh, an SDK call without
 * a signal) where the caller must still be able to give up.
 */
export function raceAbort<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return promise;
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
