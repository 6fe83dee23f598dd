/** What the queue benchmark sends, and how much. */

/** Messages per throughput run. */
export const queueMessages = 1000;
/** Sends in flight in all: one process at 8, two at 4, four at 2; and sendMany at 8. */
export const queueConcurrency = 8;
/** Worker process counts compared. */
export const queueWorkerCounts: readonly number[] = [1, 2, 4];
/** Messages enqueued to measure the producer. */
export const enqueueMessages = 5000;
/** The limiter run: one key at this rate, two worker processes. */
export const limiterRate = { max: 20, perMs: 1000 } as const;
export const limiterMessages = 100;

/** A small text message (about 1 KB), unique per run and index. */
export function queueBenchMessage(run: string, index: number) {
  return {
    messageId: `<${run}-${index}@bench.example>`,
    from: 'bench@example.com',
    to: `r${index}@example.org`,
    subject: `Queue benchmark ${index}`,
    text: 'x'.repeat(900),
  };
}
