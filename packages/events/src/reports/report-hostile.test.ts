/**
 * Hostile input: parseReport never throws, whatever it is given, and gives up within its bounds
 * (bytes, parts, nesting, time). Sizes here are chosen so each case also finishes quickly on a
 * shared machine; the time bound itself is checked with a bound of 1 ms, not by measuring.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { createMemorySendLog } from '@mailport/events';
import { joinReport, parseReport } from '@mailport/events/reports';
import { describe, expect, it } from 'vitest';

const directory = new URL('../../test/fixtures/reports/', import.meta.url);
const corpus = readdirSync(directory)
  .filter((name) => name.endsWith('.eml'))
  .map((name) => readFileSync(new URL(name, directory)));

const dsnPart = [
  'Content-Type: message/delivery-status',
  '',
  'Reporting-MTA: dns; mx.example.net',
  '',
  'Final-Recipient: rfc822; a@b.example',
  'Action: failed',
  'Status: 5.1.1',
  '',
];

function manyParts(count: number): string {
  const lines = ['From: MAILER-DAEMON@mx.example.net', 'Content-Type: multipart/report; report-type=delivery-status; boundary="B"', ''];
  for (let index = 0; index < count; index++) lines.push('--B', 'Content-Type: text/plain', '', `part ${index}`);
  lines.push('--B', ...dsnPart, '--B--', '');
  return lines.join('\r\n');
}

function nested(depth: number): string {
  let head = 'From: MAILER-DAEMON@mx.example.net\r\nContent-Type: multipart/mixed; boundary="b0"\r\n\r\n';
  let tail = '';
  for (let level = 1; level < depth; level++) {
    head += `--b${level - 1}\r\nContent-Type: multipart/mixed; boundary="b${level}"\r\n\r\n`;
    tail = `--b${level - 1}--\r\n${tail}`;
  }
  return `${head}--b${depth - 1}\r\n${dsnPart.join('\r\n')}\r\n--b${depth - 1}--\r\n${tail}`;
}

/** A deterministic PRNG (mulberry32), so a failure can be replayed. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let value = Math.imul(state ^ (state >>> 15), 1 | state);
    value = (value + Math.imul(value ^ (value >>> 7), 61 | value)) ^ value;
    return ((value ^ (value >>> 14)) >>> 0) / 4294967296;
  };
}

async function neverThrows(raw: Uint8Array | string, options?: Parameters<typeof parseReport>[1]) {
  const report = await parseReport(raw, options);
  expect(['delivery-status', 'feedback', 'auto-reply', 'unrecognised']).toContain(report.kind);
  // Joining must not throw either, whatever was read.
  const joined = await joinReport(report, { sendLog: createMemorySendLog(), source: 'smtp' });
  expect(joined.events).toEqual([]);
  return report;
}

describe('parseReport on hostile input', () => {
  it('reads every truncation of every corpus report without an exception', async () => {
    for (const raw of corpus) {
      for (const fraction of [0.05, 0.2, 0.35, 0.5, 0.65, 0.8, 0.95]) await neverThrows(raw.subarray(0, Math.floor(raw.length * fraction)));
    }
  });

  it('reads randomly damaged reports without an exception', async () => {
    const next = random(12);
    const tokens = [
      '\r\n',
      '\r\n\r\n',
      '--',
      '=?utf-8?B?',
      '?=',
      '<',
      '>',
      ':',
      ';',
      'boundary="',
      'Content-Type: multipart/mixed; boundary=x\r\n',
      '\u0000',
      '\u00ff',
      '=\r\n',
    ];
    for (let round = 0; round < 150; round++) {
      const source = corpus[Math.floor(next() * corpus.length)] ?? Buffer.alloc(0);
      let text = source.toString('latin1');
      for (let edit = 0; edit < 12; edit++) {
        const at = Math.floor(next() * text.length);
        const token = tokens[Math.floor(next() * tokens.length)] ?? '';
        text = next() < 0.5 ? text.slice(0, at) + token + text.slice(at) : text.slice(0, at) + text.slice(at + Math.floor(next() * 40));
      }
      await neverThrows(Buffer.from(text, 'latin1'));
    }
  });

  it('takes anything as input: empty, binary, not a message at all', async () => {
    for (const raw of ['', '\r\n', ':', 'no headers at all', Buffer.from([0, 255, 254, 13, 10, 13, 10]), new Uint8Array(1024)]) {
      expect((await neverThrows(raw)).kind).toBe('unrecognised');
    }
    expect((await parseReport(null as unknown as string)).warnings.join(' ')).toMatch(/neither a string nor bytes/);
  });

  it('parses a report of 1,000 parts, and gives up on 5,000 parts or 3,000 levels of nesting with a warning', async () => {
    const thousand = await neverThrows(manyParts(1_000));
    expect(thousand.kind).toBe('delivery-status');
    expect(thousand.recipients).toHaveLength(1);
    const deep = await neverThrows(nested(500));
    expect(deep.kind).toBe('delivery-status');
    for (const raw of [manyParts(5_000), nested(3_000)]) {
      const report = await neverThrows(raw);
      expect(report.kind).toBe('unrecognised');
      expect(report.warnings.join(' ')).toMatch(/stopped at a limit \(more than 2000 child nodes/);
    }
  });

  it('refuses a message over maxBytes before parsing it, and abandons a parse past timeoutMs', async () => {
    const big = await neverThrows(Buffer.alloc(10 * 1024 * 1024 + 1, 'a'));
    expect(big.warnings[0]).toMatch(/over maxBytes \(10485760\)/);
    const small = await neverThrows(manyParts(10), { maxBytes: 100 });
    expect(small.warnings[0]).toMatch(/over maxBytes \(100\)/);
    const slow = await neverThrows(manyParts(20_000), { timeoutMs: 1 });
    expect(slow.kind).toBe('unrecognised');
    expect(slow.warnings).toEqual(['the MIME parse took longer than 1 ms and was abandoned']);
  });

  it('survives long hostile header and field values (no regular expression backtracks on them)', async () => {
    const long = 500_000;
    const cases = [
      `Subject: ${'a'.repeat(long)}\r\nMessage-ID: ${'<'.repeat(long)}\r\nReferences: ${'<a@b>'.repeat(long / 5)}\r\n\r\nbody`,
      `From: MAILER-DAEMON@mx.example.net\r\nX-Failed-Recipients: ${','.repeat(long)}\r\n\r\n${'Message-ID: <'.repeat(long / 12)}`,
      `From: MAILER-DAEMON@mx.example.net\r\nSubject: Warning: message ${'delayed '.repeat(long / 8)}\r\n\r\nThis message was created automatically by mail delivery software.\r\nThe following address(es) failed:\r\n${'  a@b.example\r\n    550 5.1.1 x\r\n'.repeat(long / 32)}`,
      `From: mailer-daemon@googlemail.com\r\n\r\nDelivery to the following recipient failed permanently:\r\n\r\n${'     a@b.example\r\n'.repeat(long / 18)}\r\nThe error that the other server returned was: ${' '.repeat(long)}`,
      [
        'From: MAILER-DAEMON@mx.example.net',
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B"',
        '',
        '--B',
        'Content-Type: message/delivery-status',
        '',
        `Reporting-MTA: dns; ${'x'.repeat(long)}`,
        `Original-Envelope-Id: ${'+4'.repeat(long / 2)}`,
        '',
        `Final-Recipient: rfc822; ${'a'.repeat(long)}@b.example`,
        `Status: ${'5.'.repeat(long / 2)}`,
        `Diagnostic-Code: smtp; ${' 5'.repeat(long / 2)}`,
        `Will-Retry-Until: ${'('.repeat(long)}`,
        ...Array.from({ length: 3_000 }, (_, index) => `Final-Recipient: rfc822; r${index}@b.example\r\nAction: failed`),
        '--B--',
      ].join('\r\n'),
      `Auto-Submitted: ${'auto-replied '.repeat(long / 13)}\r\nPrecedence: bulk\r\nSubject: ${'Automatic reply: '.repeat(long / 17)}\r\n\r\n`,
    ];
    for (const raw of cases) {
      const report = await neverThrows(raw);
      expect(report.recipients.length).toBeLessThanOrEqual(1_000);
      for (const recipient of report.recipients) expect(String(recipient.diagnosticCode ?? '').length).toBeLessThanOrEqual(4_000);
    }
  });

  it('strips the tags of an HTML-only megabyte of `<` in linear time', async () => {
    // Stripping tags scanned up to 2,000 characters on from every `<`: six to ten seconds here, on
    // the event loop and after the parse's time bound. Now tens of milliseconds.
    const raw = `From: MAILER-DAEMON@mx.example.net\r\nContent-Type: text/html\r\n\r\n${'<'.repeat(1_000_000)}\r\n`;
    const started = performance.now();
    expect((await neverThrows(raw)).kind).toBe('unrecognised');
    expect(performance.now() - started).toBeLessThan(2_000);
  });

  it('never lets a value out longer than its bound', async () => {
    const raw = [
      'From: MAILER-DAEMON@mx.example.net',
      `Subject: ${'s'.repeat(5_000)}`,
      'Content-Type: multipart/report; report-type=delivery-status; boundary="B"',
      '',
      '--B',
      'Content-Type: message/delivery-status',
      '',
      'Final-Recipient: rfc822; a@b.example',
      'Action: failed',
      `Diagnostic-Code: smtp; 550 ${'d'.repeat(10_000)}`,
      '--B',
      'Content-Type: text/rfc822-headers',
      '',
      `Message-ID: <${'m'.repeat(2_000)}@x>`,
      `Subject: ${'o'.repeat(5_000)}`,
      '--B--',
    ].join('\r\n');
    const report = await neverThrows(raw);
    expect(report.subject?.length).toBe(998);
    expect(report.original.subject?.length).toBe(998);
    expect(report.original.messageId).toBeUndefined();
    expect(report.recipients[0]?.diagnosticCode?.length).toBeGreaterThan(3_900);
    expect(report.recipients[0]?.diagnosticCode?.length).toBeLessThanOrEqual(4_000);
  });
});
