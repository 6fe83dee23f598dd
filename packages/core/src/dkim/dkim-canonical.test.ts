import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { headerFields, RelaxedBodyHash, relaxedHeader } from './dkim-canonical.js';

// RFC 6376 3.4.4 written the plain way, on the whole body at once: the streamed hash must agree.
function referenceBody(body: string): string {
  const lines = body.split('\r\n');
  // A body that ends with CRLF leaves one empty string after the split: it is no line.
  if (lines.at(-1) === '') lines.pop();
  const canonical = lines.map((line) => line.replace(/[ \t]+/g, ' ').replace(/ $/, ''));
  while (canonical.length > 0 && canonical.at(-1) === '') canonical.pop();
  return canonical.length === 0 ? '' : `${canonical.join('\r\n')}\r\n`;
}

const sha256 = (text: string): string => createHash('sha256').update(text, 'latin1').digest('base64');

function streamed(body: string, cuts: readonly number[]): string {
  const bytes = Buffer.from(body, 'latin1');
  const hash = new RelaxedBodyHash();
  let start = 0;
  for (const cut of [...cuts, bytes.length]) {
    hash.update(bytes.subarray(start, cut));
    start = cut;
  }
  return hash.digest().toString('base64');
}

// A small deterministic generator (mulberry32), so a failure names a seed that reproduces it.
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let value = Math.imul(state ^ (state >>> 15), 1 | state);
    value = (value + Math.imul(value ^ (value >>> 7), 61 | value)) ^ value;
    return ((value ^ (value >>> 14)) >>> 0) / 4294967296;
  };
}

const bodies: readonly [string, string][] = [
  ['empty', ''],
  ['only line breaks', '\r\n\r\n\r\n'],
  ['only spaces', '   \t \r\n \r\n'],
  ['text without a final line break', 'Hi.'],
  ['trailing empty lines', 'Hi.\r\n\r\n\r\n'],
  ['spaces at the end of lines', 'a \t\r\nb  \r\n'],
  ['runs of spaces and tabs inside a line', 'a  b\t\tc \t d'],
  ['leading whitespace kept as one space', '  indented\r\n\tand tabbed\r\n'],
  ['whitespace-only lines between text', 'a\r\n  \r\n\t\r\nb\r\n'],
  ['a CR that ends no line', 'a\rb\r\n'],
  ['a CR at the very end', 'a\r'],
  ['a CR before spaces', 'a\r  b'],
  ['a bare LF', 'a\nb \n c\r\n'],
  ['the RFC 8463 body', 'Hi.\r\n\r\nWe lost the game.  Are you hungry yet?\r\n\r\nJoe.\r\n\r\n'],
  ['8-bit bytes', 'caf\xc3\xa9 \xa0 x\r\n'],
];

describe('RelaxedBodyHash', () => {
  it.each(bodies)('%s: as one chunk, matches RFC 6376 3.4.4', (_name, body) => {
    expect(streamed(body, [])).toBe(sha256(referenceBody(body)));
  });

  it.each(bodies)('%s: cut anywhere into two or three chunks, the same hash', (_name, body) => {
    const expected = sha256(referenceBody(body));
    for (let first = 0; first <= body.length; first++) {
      expect(streamed(body, [first]), `cut at ${first}`).toBe(expected);
      for (let second = first; second <= body.length; second++) {
        expect(streamed(body, [first, second]), `cuts at ${first}, ${second}`).toBe(expected);
      }
    }
  });

  it('agrees with the plain form on random bodies cut at random places', () => {
    const alphabet = ['a', 'b', ' ', ' ', '\t', '\r\n', '\r\n', '\r', '\n', 'xyz'];
    for (let seed = 1; seed <= 300; seed++) {
      const next = random(seed);
      let body = '';
      const length = Math.floor(next() * 60);
      for (let index = 0; index < length; index++) body += alphabet[Math.floor(next() * alphabet.length)];
      const cuts = Array.from({ length: Math.floor(next() * 5) }, () => Math.floor(next() * (body.length + 1))).sort((a, b) => a - b);
      expect(streamed(body, cuts), `seed ${seed}: ${JSON.stringify(body)} cut at ${cuts}`).toBe(sha256(referenceBody(body)));
    }
  });

  it('hashes an empty body as the empty string (RFC 6376 errata 3192: no CRLF added)', () => {
    expect(streamed('', [])).toBe('47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=');
  });
});

describe('relaxedHeader', () => {
  it.each([
    ['Subject: Is dinner ready?', 'subject:Is dinner ready?\r\n'],
    ['SUBJECT :  Is dinner\r\n ready? \t', 'subject:Is dinner ready?\r\n'],
    ['To: a@x.example,\r\n\tb@y.example', 'to:a@x.example, b@y.example\r\n'],
    ['X-Empty:', 'x-empty:\r\n'],
    ['X-Empty:   ', 'x-empty:\r\n'],
    // Only spaces and tabs are whitespace here: a latin1 0xA0 (half of a UTF-8 "à") stays.
    ['Subject: \xa0voil\xc3\xa0 ', 'subject:\xa0voil\xc3\xa0\r\n'],
  ])('%j becomes %j', (field, canonical) => {
    expect(relaxedHeader(field)).toBe(canonical);
  });
});

describe('headerFields', () => {
  it('keeps folded lines with their field and names in lower case', () => {
    expect(headerFields('From: a@x.example\r\nSubject: one\r\n two\r\nX-Tag : 1')).toEqual([
      { name: 'from', text: 'From: a@x.example' },
      { name: 'subject', text: 'Subject: one\r\n two' },
      { name: 'x-tag', text: 'X-Tag : 1' },
    ]);
  });
});
