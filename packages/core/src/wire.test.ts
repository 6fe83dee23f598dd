import { describe, expect, it } from 'vitest';
import { MailError } from './errors.js';
import { createMessage } from './message.js';
import { renderMime, renderMimeParts } from './mime.js';
import { assertWireSafe, assertWireSafeChunks } from './wire.js';

/** Splits `text` into chunks at the given offsets. */
function split(text: string, ...at: number[]): Buffer[] {
  const bytes = Buffer.from(text, 'latin1');
  const bounds = [0, ...at, bytes.length];
  return bounds.slice(1).map((end, index) => bytes.subarray(bounds[index], end));
}

function problem(run: () => void): MailError {
  try {
    run();
  } catch (error) {
    expect(MailError.isInstance(error)).toBe(true);
    return error as MailError;
  }
  throw new Error('expected a wire error');
}

const message = `Subject: hi\r\nX-Tag: a\r\n\r\nline one\r\nline two\r\n`;

describe('assertWireSafeChunks', () => {
  it('accepts a message split anywhere, even between CR and LF', () => {
    for (let cut = 1; cut < message.length; cut++) {
      expect(() => assertWireSafeChunks(split(message, cut))).not.toThrow();
      expect(() => assertWireSafeChunks(split(message, cut, Math.min(cut + 3, message.length - 1)))).not.toThrow();
    }
  });

  it('finds a bare CR at the end of a chunk when the next chunk does not start with LF', () => {
    const text = 'Subject: hi\r\n\r\nbody\rmore\r\n';
    const error = problem(() => assertWireSafeChunks(split(text, text.indexOf('\rmore') + 1)));
    expect(error.message).toMatch(/bare CR \(line 3\)/);
  });

  it('finds a bare CR at the very end', () => {
    expect(problem(() => assertWireSafeChunks(split('Subject: hi\r\n\r\nbody\r', 5))).message).toMatch(/bare CR/);
  });

  it('finds a bare LF at the start of a chunk', () => {
    const text = 'Subject: hi\r\n\r\nbody\nmore\r\n';
    expect(problem(() => assertWireSafeChunks(split(text, text.indexOf('\nmore')))).message).toMatch(/bare LF \(line 3\)/);
  });

  it('counts a line that spans chunks', () => {
    const long = `Subject: hi\r\n\r\n${'x'.repeat(600)}${'y'.repeat(600)}\r\n`;
    const error = problem(() => assertWireSafeChunks(split(long, 15 + 600)));
    expect(error.field).toBe('body');
    expect(error.message).toMatch(/a line of 1200 characters \(at most 998\) \(line 3\)/);
  });

  it('names the header when the fault is in a header split across chunks', () => {
    const text = `Subject: hi\r\nX-Long: ${'z'.repeat(1000)}\r\n\r\nbody`;
    expect(problem(() => assertWireSafeChunks(split(text, 20, 400))).field).toBe('headers.X-Long');
  });

  it('finds a NUL in a later chunk with its line', () => {
    const text = 'Subject: hi\r\n\r\none\r\ntwo\u0000\r\n';
    expect(problem(() => assertWireSafeChunks(split(text, 16))).message).toMatch(/NUL byte \(line 4\)/);
  });

  it('agrees with the single-buffer check', () => {
    expect(() => assertWireSafe(Buffer.from(message))).not.toThrow();
  });
});

describe('renderMimeParts', () => {
  it('keeps a large message in chunks whose join is what renderMime returns', async () => {
    const attachment = Buffer.alloc(3_000_000, 0x5a);
    const large = createMessage({
      from: 'a@shop.example',
      to: 'b@example.com',
      text: 'see attachment',
      attachments: [{ filename: 'big.bin', content: attachment }],
    });
    const parts = await renderMimeParts(large);
    expect(parts.chunks.length).toBeGreaterThan(10);
    expect(parts.size).toBe(parts.chunks.reduce((sum, chunk) => sum + chunk.length, 0));
    const joined = await renderMime(large);
    expect(joined.length).toBe(parts.size);
    const streamed: Buffer[] = [];
    for await (const chunk of parts.stream()) streamed.push(chunk as Buffer);
    expect(Buffer.concat(streamed).equals(joined)).toBe(true);
  });
});

describe('mimeSizeBound', () => {
  it('is never below the rendered size, for text, UTF-8, many headers and attachments', async () => {
    const { mimeSizeBound } = await import('./capabilities.js');
    const cases = [
      createMessage({ from: 'a@example.com', to: 'b@example.org', text: 'hi' }),
      createMessage({
        from: { name: 'Ünïcödé Ñame', address: 'a@example.com' },
        to: Array.from({ length: 40 }, (_, index) => ({ name: `Ö ${index} 你好`, address: `r${index}@example.org` })),
        subject: '你好 '.repeat(200),
        text: '€'.repeat(5000),
        html: `<p>${'ü\n'.repeat(3000)}</p>`,
        headers: Object.fromEntries(Array.from({ length: 20 }, (_, index) => [`X-H${index}`, 'é '.repeat(50)])),
        attachments: [
          { filename: 'ä.bin', content: Buffer.alloc(100_001, 7) },
          { filename: 'b.txt', content: 'x'.repeat(3) },
        ],
      }),
    ];
    for (const message of cases) {
      const bound = mimeSizeBound(message);
      const size = (await renderMime(message)).length;
      expect(bound).toBeGreaterThanOrEqual(size);
      // And not absurdly loose for attachments, which dominate large messages.
      expect(bound).toBeLessThan(size * 4 + 100_000);
    }
  });

  it('is unknown when an attachment has to be read first', async () => {
    const { mimeSizeBound } = await import('./capabilities.js');
    const { Readable } = await import('node:stream');
    const message = createMessage({
      from: 'a@example.com',
      to: 'b@example.org',
      attachments: [{ filename: 'x', content: Readable.from([Buffer.from('x')]) }],
    });
    expect(mimeSizeBound(message)).toBeUndefined();
  });
});
