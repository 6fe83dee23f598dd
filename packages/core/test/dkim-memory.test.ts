import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const child = fileURLToPath(new URL('./dkim-memory-child.ts', import.meta.url));
const built = existsSync(new URL('../dist/dkim/dkim-sign.js', import.meta.url));

interface Measurements {
  streamed: { bytes: number; bodyHashMatches: boolean; iterators: number; nexts: number; chunks: number; peakRssGrowthMb: number };
  rendered: { bytes: number; sameChunks: boolean; signatureBytes: number; peakRssGrowthMb: number; retainedArrayBuffersKb: number };
}

// A 40 MB message is signed without being copied: measured in a process of its own (see the child's
// comment). Structure, not time: the bounds are a fraction of the message, which a copy would exceed.
describe('signing a 40 MB message', () => {
  it('runs against the built package', () => {
    expect(built, 'run `npm run build` first').toBe(true);
  });

  it.runIf(built)('streams it: one pass over the chunks, each done with before the next, no copy', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, ['--expose-gc', child], { cwd: root, maxBuffer: 1024 * 1024 });
    const { streamed, rendered } = JSON.parse(stdout) as Measurements;

    expect(streamed.bytes).toBeGreaterThan(40 * 1024 * 1024);
    // The iterator hands out one buffer, rewritten for every chunk: a signer that kept chunks for later would hash the wrong bytes.
    expect(streamed.bodyHashMatches).toBe(true);
    expect(streamed.iterators).toBe(1);
    expect(streamed.nexts).toBe(streamed.chunks + 1);
    expect(streamed.peakRssGrowthMb).toBeLessThan(8);

    expect(rendered.bytes).toBeGreaterThan(40_000_000);
    // The signed rendering is the signature in front of the rendering's own Buffers.
    expect(rendered.sameChunks).toBe(true);
    expect(rendered.signatureBytes).toBeLessThan(1024);
    expect(rendered.peakRssGrowthMb).toBeLessThan(8);
    expect(rendered.retainedArrayBuffersKb).toBeLessThan(64);
  });
});
