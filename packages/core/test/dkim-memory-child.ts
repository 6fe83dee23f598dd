/**
 * The 40 MB DKIM measurements, in a process of their own (`node --expose-gc`, the built package,
 * through Node's type stripping) so that nothing else's memory is counted. Prints one JSON object:
 *
 * - `streamed`: a 40 MB message signed from a chunk iterator that hands out ONE 64 KB buffer,
 *   rewritten before each chunk: the body hash comes out right only if the signer is done with a
 *   chunk before it asks for the next, and the peak RSS moves only if the signer copies.
 * - `rendered`: a message rendered by core at about 40 MB, signed as a transport signs it: the
 *   signed rendering's chunks after the signature must be the very Buffers of the rendering.
 */
import { createHash, generateKeyPairSync } from 'node:crypto';
import { createMessage, renderMimeParts } from '@mailport/core';
import { dkimSignatures, resolveDkimOptions, signRendering } from '@mailport/core/dkim';

const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});
const megabytes = (kilobytes: number): number => Math.round((kilobytes / 1024) * 10) / 10;
const maxRss = (): number => process.resourceUsage().maxRSS;

const [key] = resolveDkimOptions({
  keys: [{ domain: 'shop.example', selector: 's1', privateKey: generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey }],
}).keys;
if (key === undefined) throw new Error('no key');
const options = { headers: ['from', 'to', 'subject', 'date', 'message-id'], timestamp: 1_700_000_000 };

const chunkSize = 64 * 1024;
const chunkCount = 640; // 40 MiB of body
const header = Buffer.from('From: a@shop.example\r\nTo: b@example.org\r\nSubject: big\r\n\r\n');

/** Body chunk `index`: lines of 78 bytes (76 characters and CRLF), already in relaxed canonical form. */
function fill(target: Buffer, index: number): Buffer {
  const line = Buffer.from(`${`line ${index} `.padEnd(40, 'x')}${'ABCDEFGHIJ'.repeat(4).slice(0, 36)}\r\n`);
  for (let offset = 0; offset < target.length; offset += line.length)
    line.copy(target, offset, 0, Math.min(line.length, target.length - offset));
  // Every chunk ends a line, so the content is the same however it is cut.
  target[target.length - 2] = 13;
  target[target.length - 1] = 10;
  return target;
}

const shared = Buffer.alloc(chunkSize);
const counts = { iterators: 0, nexts: 0 };
function sharedChunks(): Iterable<Uint8Array> {
  return {
    [Symbol.iterator]() {
      counts.iterators++;
      let index = -1;
      return {
        next(): IteratorResult<Uint8Array> {
          counts.nexts++;
          index++;
          if (index === 0) return { value: header, done: false };
          if (index > chunkCount) return { value: undefined, done: true };
          return { value: fill(shared, index), done: false };
        },
      };
    },
  };
}

// The body hash the signer must find: the body is canonical already, so it is the SHA-256 of its bytes.
const expected = createHash('sha256');
const scratch = Buffer.alloc(chunkSize);
for (let index = 1; index <= chunkCount; index++) expected.update(fill(scratch, index));
const expectedBodyHash = expected.digest('base64');

// Warm up the code paths, then measure the peak from here.
await dkimSignatures([header, fill(Buffer.alloc(chunkSize), 1)], [key], options);
gc();
const streamedBefore = maxRss();
const started = performance.now();
const fields = (await dkimSignatures(sharedChunks(), [key], options)).toString('latin1');
const streamedMs = performance.now() - started;
const streamedGrowth = maxRss() - streamedBefore;
const bodyHash = /bh=([^;]+);/.exec(fields.replace(/\r\n /g, ''))?.[1];

// About 40 MB rendered: a 30 MB attachment is 40.5 MB in base64.
const message = createMessage({
  from: 'a@shop.example',
  to: 'b@example.org',
  subject: 'big',
  text: 'see attached',
  attachments: [{ filename: 'big.bin', content: Buffer.alloc(30 * 1024 * 1024, 7) }],
});
const rendered = await renderMimeParts(message);
gc();
const renderedBefore = { rss: maxRss(), arrayBuffers: process.memoryUsage().arrayBuffers };
const signed = await signRendering(rendered, [key], options);
gc();
const renderedAfter = { rss: maxRss(), arrayBuffers: process.memoryUsage().arrayBuffers };

process.stdout.write(
  JSON.stringify({
    streamed: {
      bytes: header.length + chunkSize * chunkCount,
      bodyHashMatches: bodyHash === expectedBodyHash,
      iterators: counts.iterators,
      nexts: counts.nexts,
      chunks: chunkCount + 1,
      peakRssGrowthMb: megabytes(streamedGrowth),
      ms: Math.round(streamedMs),
    },
    rendered: {
      bytes: rendered.size,
      chunks: rendered.chunks.length,
      sameChunks:
        signed.chunks.length === rendered.chunks.length + 1 && rendered.chunks.every((chunk, index) => signed.chunks[index + 1] === chunk),
      signatureBytes: signed.size - rendered.size,
      peakRssGrowthMb: megabytes(renderedAfter.rss - renderedBefore.rss),
      retainedArrayBuffersKb: Math.round((renderedAfter.arrayBuffers - renderedBefore.arrayBuffers) / 1024),
    },
  }),
);
