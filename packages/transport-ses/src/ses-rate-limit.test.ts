import { describe, expect, it, vi } from 'vitest';
import { createRateLimiter } from './ses-rate-limit.js';

describe('createRateLimiter', () => {
  it('lets a second of recipients through at once, then spaces them out', async () => {
    vi.useFakeTimers();
    try {
      let now = 0;
      const limiter = createRateLimiter(10, () => now);
      const resolved: number[] = [];
      const start = (recipients: number, label: number): Promise<void> => limiter.acquire(recipients).then(() => void resolved.push(label));
      const burst = [start(5, 1), start(5, 2)];
      await vi.advanceTimersByTimeAsync(0);
      await Promise.all(burst);
      expect(resolved).toEqual([1, 2]);
      // The rate is used up for this second: 10 more recipients wait one second.
      const later = start(10, 3);
      await vi.advanceTimersByTimeAsync(999);
      expect(resolved).toEqual([1, 2]);
      await vi.advanceTimersByTimeAsync(1);
      await later;
      expect(resolved).toEqual([1, 2, 3]);
      // After a quiet spell the burst is available again.
      now = 10_000;
      await limiter.acquire(10);
    } finally {
      vi.useRealTimers();
    }
  });

  it('rejects with the abort reason', async () => {
    const limiter = createRateLimiter(1, () => 0);
    await limiter.acquire(1);
    const controller = new AbortController();
    const waiting = limiter.acquire(5, controller.signal);
    const reason = new Error('stop');
    controller.abort(reason);
    await expect(waiting).rejects.toBe(reason);
  });
});
