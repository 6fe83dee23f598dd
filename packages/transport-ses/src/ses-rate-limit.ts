import { sleep } from '@mailport/core';

/** Spaces out sends so that recipients per second stay under a rate. */
export interface RateLimiter {
  /** Waits until `recipients` more fit under the rate; rejects with the signal's reason on abort. */
  acquire(recipients: number, signal?: AbortSignal): Promise<void>;
}

/**
 * A limiter that lets through `perSecond` recipients in any one second: a burst up to the rate,
 * then one recipient every `1000 / perSecond` ms. SES counts its MaxSendRate in recipients, not
 * messages (SES quotas). A message with more recipients than the rate waits for its share.
 *
 * @example
 * ```ts
 * const limiter = createRateLimiter(14);
 * await limiter.acquire(message.envelope.to.length);
 * ```
 */
export function createRateLimiter(perSecond: number, now: () => number = () => performance.now()): RateLimiter {
  const interval = 1000 / perSecond;
  // The time at which everything reserved so far has been "paid for" (generic cell rate algorithm).
  let paidUntil = 0;
  return {
    acquire(recipients, signal) {
      if (signal?.aborted === true) return Promise.reject(signal.reason);
      const current = now();
      paidUntil = Math.max(paidUntil, current) + recipients * interval;
      return sleep(Math.max(0, paidUntil - current - 1000), signal);
    },
  };
}
