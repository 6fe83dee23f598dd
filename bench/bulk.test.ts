import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { formatBulk, runBulk } from './bulk-throughput.ts';

// A smoke test of the bulk benchmark's whole pipeline (CSV, sink, the built CLI under GNU time,
// the checks), at a size that runs in a couple of seconds. It asserts that the run completes and
// reads sensible figures; how fast and how much memory are the benchmark's to report, never a test's.
describe('npm run bench -- bulk', () => {
  it.skipIf(!existsSync('/usr/bin/time'))(
    'sends every row of a small CSV through the built CLI and reads its peak RSS',
    async () => {
      const lines: string[] = [];
      const result = await runBulk([100], (line) => lines.push(line));
      expect(result.runs).toHaveLength(1);
      const [run] = result.runs;
      expect(run?.rows).toBe(100);
      expect(run?.peakRssBytes).toBeGreaterThan(10_000_000);
      expect(run?.bytesPerMessage).toBeGreaterThan(1_000);
      expect(run?.journalBytes).toBeGreaterThan(0);
      expect(formatBulk(result)).toMatch(/^ *100 +/m);
    },
    60_000,
  );
});
