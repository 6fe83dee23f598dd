import { MailError } from './errors.js';

/** RFC 5322 allows 998 characters per line, without the CRLF. */
export const maxLineLength = 998;

const CR = 13;
const LF = 10;

interface Problem {
  readonly offset: number;
  readonly line: number;
  readonly text: string;
}

/**
 * Checks rendered bytes for what SMTP and the HTTP APIs refuse or misread: a CR or LF that is
 * not part of CRLF, NUL, and lines over 998 characters. Throws `invalid-message` naming the
 * header or body line at fault.
 */
export function assertWireSafe(bytes: Uint8Array): void {
  assertWireSafeChunks([bytes]);
}

/**
 * {@link assertWireSafe} over a message held as a list of chunks, without joining them: a line
 * or a CRLF may straddle two chunks.
 */
export function assertWireSafeChunks(chunks: readonly Uint8Array[]): void {
  let offset = 0;
  let lineStart = 0;
  let line = 1;
  let headerEnd = -1;
  let previousByte = -1;
  let pendingCarriageReturn = -1;
  for (let index = 0; index < chunks.length; index++) {
    const chunk = asBuffer(chunks[index] as Uint8Array);
    if (chunk.length === 0) continue;
    const lineAtStart = line;
    const found: Problem[] = [];
    if (pendingCarriageReturn !== -1 && chunk[0] !== LF) found.push({ offset: pendingCarriageReturn, line, text: 'has a bare CR' });
    pendingCarriageReturn = -1;
    for (let lf = chunk.indexOf(LF); lf !== -1; lf = chunk.indexOf(LF, lf + 1)) {
      const before = lf === 0 ? previousByte : (chunk[lf - 1] as number);
      if (before !== CR) {
        found.push({ offset: offset + lf, line, text: 'has a bare LF' });
        break;
      }
      const length = offset + lf - 1 - lineStart;
      if (length > maxLineLength) {
        found.push({ offset: lineStart, line, text: `has a line of ${length} characters (at most ${maxLineLength})` });
        break;
      }
      if (length === 0 && headerEnd === -1) headerEnd = offset + lf - 1;
      lineStart = offset + lf + 1;
      line++;
    }
    const partial = offset + chunk.length - lineStart;
    if (found.length === 0 && partial > maxLineLength) {
      const last = index === chunks.length - 1;
      found.push({
        offset: lineStart,
        line,
        text: last
          ? `has a line of ${partial} characters (at most ${maxLineLength})`
          : `has a line of more than ${maxLineLength} characters`,
      });
    }
    for (let cr = chunk.indexOf(CR); cr !== -1; cr = chunk.indexOf(CR, cr + 1)) {
      if (cr + 1 === chunk.length) pendingCarriageReturn = offset + cr;
      else if (chunk[cr + 1] !== LF) {
        found.push({ offset: offset + cr, line: lineAtStart + countLineFeeds(chunk, cr), text: 'has a bare CR' });
        break;
      }
    }
    const nul = chunk.indexOf(0);
    if (nul !== -1) found.push({ offset: offset + nul, line: lineAtStart + countLineFeeds(chunk, nul), text: 'contains a NUL byte' });
    if (found.length > 0) {
      const first = found.reduce((earliest, problem) => (problem.offset < earliest.offset ? problem : earliest));
      throw wireError(chunks, index, first, headerEnd);
    }
    previousByte = chunk[chunk.length - 1] as number;
    offset += chunk.length;
  }
  if (pendingCarriageReturn !== -1) {
    throw wireError(chunks, chunks.length - 1, { offset: pendingCarriageReturn, line, text: 'has a bare CR' }, headerEnd);
  }
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function countLineFeeds(chunk: Buffer, end: number): number {
  let count = 0;
  for (let lf = chunk.indexOf(LF); lf !== -1 && lf < end; lf = chunk.indexOf(LF, lf + 1)) count++;
  return count;
}

function wireError(chunks: readonly Uint8Array[], lastChunk: number, problem: Problem, headerEnd: number): MailError {
  if (headerEnd !== -1 && problem.offset >= headerEnd) {
    return new MailError('invalid-message', `Invalid message: the rendered body ${problem.text} (line ${problem.line})`, {
      field: 'body',
    });
  }
  // In the header block, which is small: join its chunks to name the header the line belongs to.
  const head = Buffer.concat(chunks.slice(0, lastChunk + 1).map(asBuffer));
  let start = head.lastIndexOf('\n', problem.offset - 1) + 1;
  // Walk back over folded continuation lines to the header's own line.
  while (start > 0 && (head[start] === 32 || head[start] === 9)) start = head.lastIndexOf('\n', start - 2) + 1;
  const name = head.toString('latin1', start, Math.min(start + 80, head.length)).split(':')[0] ?? '';
  return new MailError('invalid-message', `Invalid message: the ${name} header ${problem.text} when rendered`, {
    field: `headers.${name}`,
    remediation: 'Shorten the value or add spaces where it may be folded; a header line holds at most 998 characters.',
  });
}
