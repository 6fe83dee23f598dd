/**
 * One DKIM benchmark case, in a fresh process (`dkim-child.ts <bytes> <keys>`, keys `rsa`,
 * `ed25519` or `both`): renders a message of about <bytes> with core, then signs it the way a
 * transport's send does (`signRendering`: the signature fields in front of the rendering's own
 * chunks). Replies with one {@link DkimCaseResult}: the median time of a signing, what one signing
 * allocates, and whether signing raised the process's peak RSS above what rendering had reached.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { createMessage, renderMimeParts } from '@mailport/core';
import { type DkimKeyInput, defaultDkimHeaders, resolveDkimOptions, signRendering } from '@mailport/core/dkim';
import { median, peakRssBytes, serveParent } from './bench-process.ts';

/** What one case measured. */
export interface DkimCaseResult {
  readonly keys: string;
  readonly messageBytes: number;
  readonly runs: number;
  /** Median time of one signing (body hash and one signature per key), in ms. */
  readonly medianMs: number;
  /** Heap and buffer bytes one signing allocates (measured from a collected heap, no collection during it). */
  readonly allocatedBytes: number;
  /** How far the signings raised the process's peak RSS (maxRSS) above its peak before them, in bytes. */
  readonly peakGrowthBytes: number;
}

const bytes = Number(process.argv[2]);
const kind = process.argv[3] ?? 'rsa';
if (!Number.isFinite(bytes) || !['rsa', 'ed25519', 'both'].includes(kind)) throw new Error('usage: dkim-child.ts <bytes> rsa|ed25519|both');

const pem = (type: 'rsa' | 'ed25519'): string =>
  (type === 'rsa' ? generateKeyPairSync('rsa', { modulusLength: 2048 }) : generateKeyPairSync('ed25519')).privateKey.export({
    format: 'pem',
    type: 'pkcs8',
  }) as string;
const inputs: DkimKeyInput[] = [];
if (kind !== 'ed25519') inputs.push({ domain: 'shop.example', selector: 'rsa', privateKey: pem('rsa') });
if (kind !== 'rsa') inputs.push({ domain: 'shop.example', selector: 'ed', privateKey: pem('ed25519') });
const { keys } = resolveDkimOptions({ keys: inputs });

// A text and HTML body of about 5 KB, and random bytes (which base64 writes as full lines, like a
// photo or an archive) for the rest: 3 bytes of attachment make 4 of message.
const text = 'Hello Ana,\r\n\r\nYour order #10042 has shipped.  It should arrive within three days.\r\n'.repeat(30);
const attachmentBytes = Math.max(0, Math.floor(((bytes - 6_000) * 3) / 4 / 1.027));
const message = createMessage({
  from: 'Shop <orders@shop.example>',
  to: 'ana@example.org',
  subject: 'Your order #10042',
  text,
  html: `<p>${text.replace(/\r\n/g, '<br>\r\n')}</p>`,
  listUnsubscribe: { url: 'https://shop.example/u/42', oneClick: true },
  attachments: attachmentBytes === 0 ? [] : [{ filename: 'invoices.zip', content: randomBytes(attachmentBytes) }],
});
const rendered = await renderMimeParts(message);
const options = { headers: defaultDkimHeaders, timestamp: Math.floor(Date.now() / 1000) };

// Warm up (loads the signer, compiles the hot loop), then measure from a collected heap.
const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});
for (let run = 0; run < 3; run++) await signRendering(rendered, keys, options);
gc();
const used = (): number => {
  const usage = process.memoryUsage();
  return usage.heapUsed + usage.arrayBuffers;
};
// The median of five, each from a collected heap: a collection inside one would make it negative.
const allocations: number[] = [];
for (let run = 0; run < 5; run++) {
  gc();
  const before = used();
  await signRendering(rendered, keys, options);
  allocations.push(used() - before);
}
const allocatedBytes = median(allocations);
gc();
const baseline = peakRssBytes();
const runs = rendered.size > 10_000_000 ? 5 : rendered.size > 1_000_000 ? 20 : 200;
const times: number[] = [];
for (let run = 0; run < runs; run++) {
  const started = performance.now();
  await signRendering(rendered, keys, options);
  times.push(performance.now() - started);
}
const result: DkimCaseResult = {
  keys: kind,
  messageBytes: rendered.size,
  runs,
  medianMs: median(times),
  allocatedBytes,
  peakGrowthBytes: peakRssBytes() - baseline,
};
serveParent(result);
