/** What a sender variant counts in a round. */
export interface SendCounts {
  sent: number;
  failed: number;
  firstError: string | undefined;
  /** Messages the sender had to retry (the HTTP benchmark reports them; zero elsewhere). */
  retried: number;
}

/** Counts with nothing counted yet. */
export function emptyCounts(): SendCounts {
  return { sent: 0, failed: 0, firstError: undefined, retried: 0 };
}

/**
 * Runs `send` `total` times with `concurrency` calls in flight, as mailport's `sendMany` does, so
 * that a library without a batch API is measured at the same load: without it a pooled client
 * would queue every message at once, and an unpooled one would open `total` connections at once.
 */
export async function keepInFlight(total: number, concurrency: number, send: () => Promise<void>): Promise<SendCounts> {
  const counts = emptyCounts();
  let started = 0;
  const worker = async (): Promise<void> => {
    while (started < total) {
      started++;
      try {
        await send();
        counts.sent++;
      } catch (error) {
        counts.failed++;
        counts.firstError ??= error instanceof Error ? error.message : String(error);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return counts;
}
