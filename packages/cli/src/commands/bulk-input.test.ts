import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type AddressObject, simpleParser } from 'mailparser';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { mailport, type SmtpChild, startSmtpChild } from '../../test/bulk-harness.js';
import { exitCodes } from '../exit-codes.js';

/** What CSV rows turn into: hostile values, templated headers, encodings, line ends, broken files. */
describe('mailport send --csv: what the rows hold', () => {
  let server: SmtpChild;
  let directory: string;
  beforeAll(async () => {
    server = await startSmtpChild();
  });
  afterAll(() => server.close());
  beforeEach(async () => {
    await server.clear();
    directory = await mkdtemp(join(tmpdir(), 'mailport-bulk-input-'));
  });

  const bulk = async (content: string | Buffer, extra: string[]) => {
    await writeFile(join(directory, 'list.csv'), content);
    return mailport(
      ['send', '--csv', 'list.csv', '--url', server.url, '--from', 'shop@example.com', '--subject', 'Hi', '--text', 'x', ...extra],
      {
        cwd: directory,
      },
    );
  };

  /** What arrived, parsed by mailparser: envelope recipients, and the header addresses. */
  async function arrived() {
    return Promise.all(
      (await server.messages()).map(async (message) => {
        const parsed = await simpleParser(message.raw);
        const list = (field: AddressObject | AddressObject[] | undefined) =>
          (Array.isArray(field) ? field : field === undefined ? [] : [field]).flatMap((object) => object.value);
        return {
          envelope: message.to,
          parsed,
          to: list(parsed.to),
          cc: list(parsed.cc),
          from: list(parsed.from),
          replyTo: list(parsed.replyTo),
        };
      }),
    );
  }

  it('a value pasted into a display name stays a display name: no extra recipient (issue 7, item 1)', async () => {
    const csv =
      'name,email\n"Eve <eve@evil.test>, Mallory",ana@example.org\n"Smith, Ann",ann@example.org\n"Bob ""the"" @boss",bob@example.org\n';
    const { code } = await bulk(csv, ['--to', '{{name}} <{{email}}>', '--concurrency', '1']);
    expect(code).toBe(exitCodes.ok);
    const messages = await arrived();
    expect(messages.map((message) => message.envelope)).toEqual([['ana@example.org'], ['ann@example.org'], ['bob@example.org']]);
    expect(messages.map((message) => message.to)).toEqual([
      [{ name: 'Eve <eve@evil.test>, Mallory', address: 'ana@example.org' }],
      [{ name: 'Smith, Ann', address: 'ann@example.org' }],
      [{ name: 'Bob "the" @boss', address: 'bob@example.org' }],
    ]);
    // The quoted form of the template too.
    await server.clear();
    expect((await bulk(csv, ['--to', '"{{name}}" <{{email}}>', '--journal', 'quoted.journal'])).code).toBe(exitCodes.ok);
    expect((await arrived()).flatMap((message) => message.envelope).sort()).toEqual([
      'ana@example.org',
      'ann@example.org',
      'bob@example.org',
    ]);
  });

  it('a comma in an address value fails that row, naming row and column, and sends no one from it', async () => {
    const csv =
      'name,email,manager\nAna,ana@example.org,boss@example.org\nEve,"eve@example.org, mallory@evil.test",boss@example.org\nCy,cy@example.org,"x@example.org;y@evil.test"\n';
    const { code, out } = await bulk(csv, ['--to', '{{name}} <{{email}}>', '--cc', '{{manager}}', '--json']);
    expect(code).toBe(exitCodes.partial);
    const summary = JSON.parse(out) as { sent: number; failed: number; failures: { row: number; message: string }[] };
    expect(summary.sent).toBe(1);
    expect(summary.failures.map((failure) => [failure.row, failure.message.replace(/:.*$/s, '')])).toEqual([
      [2, 'row 2, column "email"'],
      [3, 'row 3, column "manager"'],
    ]);
    const messages = await arrived();
    expect(messages.flatMap((message) => message.envelope).sort()).toEqual(['ana@example.org', 'boss@example.org']);
  });

  it('--cc, --bcc, --reply-to and --from are address templates too', async () => {
    const csv = 'name,email,boss,sender\n"Doe, Jane",jane@example.org,"Big, Boss <boss@example.org>",sales\n';
    const { code } = await bulk(csv, [
      '--from',
      'Shop {{sender}} <{{sender}}@shop.example>',
      '--to',
      '{{name}} <{{email}}>',
      '--cc',
      '{{boss}}',
      '--bcc',
      'audit@example.com',
      '--reply-to',
      '"Help for {{name}}" <help@shop.example>',
    ]);
    // "Big, Boss <...>" is not one mailbox (an unquoted comma): refused, not split.
    expect(code).toBe(exitCodes.partial);
    expect(await server.count()).toBe(0);
    const fixed = 'name,email,boss,sender\n"Doe, Jane",jane@example.org,"""Big, Boss"" <boss@example.org>",sales\n';
    const again = await bulk(fixed, [
      '--journal',
      'fixed.journal',
      '--from',
      'Shop {{sender}} <{{sender}}@shop.example>',
      '--to',
      '{{name}} <{{email}}>',
      '--cc',
      '{{boss}}',
      '--bcc',
      'audit@example.com',
      '--reply-to',
      '"Help for {{name}}" <help@shop.example>',
    ]);
    expect(again.code).toBe(exitCodes.ok);
    const [message] = await arrived();
    expect([...(message?.envelope ?? [])].sort()).toEqual(['audit@example.com', 'boss@example.org', 'jane@example.org']);
    expect(message?.from).toEqual([{ name: 'Shop sales', address: 'sales@shop.example' }]);
    expect(message?.cc).toEqual([{ name: 'Big, Boss', address: 'boss@example.org' }]);
    expect(message?.replyTo).toEqual([{ name: 'Help for Doe, Jane', address: 'help@shop.example' }]);
    expect(message?.parsed.headers.has('bcc')).toBe(false);
  });

  it('templates --header values; a value with a line break is refused with row and column, never injected', async () => {
    const csv = 'email,id\na@example.org,A-1\nb@example.org,"B-2\r\nBcc: eve@evil.test"\nc@example.org,C-3\n';
    const { code, out } = await bulk(csv, ['--header', 'X-Id: {{id}}', '--header', 'X-Static: yes', '--concurrency', '1']);
    expect(code).toBe(exitCodes.partial);
    expect(out).toMatch(
      /row 2 +b@example\.org +invalid-message: row 2, column "id": Invalid message: headers\.X-Id contains the control character U\+000D/,
    );
    const messages = await arrived();
    expect(messages.map((message) => message.parsed.headers.get('x-id'))).toEqual(['A-1', 'C-3']);
    expect(messages.map((message) => message.parsed.headers.get('x-static'))).toEqual(['yes', 'yes']);
    expect(messages.flatMap((message) => message.envelope)).not.toContain('eve@evil.test');
    // A header name cannot be a template.
    expect((await bulk(csv, ['--header', '{{id}}: x', '--journal', 'other.journal'])).code).toBe(exitCodes.usage);
  });

  it('refuses a subject value with a line break, naming its column', async () => {
    const { out } = await bulk('email,title\na@example.org,"Hello\nBcc: eve@evil.test"\n', ['--subject', 'News: {{title}}']);
    expect(out).toMatch(/row 1, column "title": Invalid message: subject contains the control character U\+000A/);
    expect(await server.count()).toBe(0);
  });

  it('sends a Windows-1252 file with --encoding, and a UTF-16 file by its byte order mark', async () => {
    const windows = Buffer.from('email,name\nana@example.org,Jos\xe9 M\xfcller \x80\n', 'latin1');
    expect((await bulk(windows, ['--subject', 'Hola {{name}}', '--encoding', 'windows-1252'])).code).toBe(exitCodes.ok);
    const utf16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('email,name\r\nbob@example.org,Zoë 日本\r\n', 'utf16le')]);
    expect((await bulk(utf16, ['--subject', 'Hola {{name}}', '--journal', 'utf16.journal'])).code).toBe(exitCodes.ok);
    const subjects = (await arrived()).map((message) => message.parsed.subject);
    expect(subjects).toEqual(['Hola José Müller €', 'Hola Zoë 日本']);
  });

  it('refuses invalid UTF-8 with row, column and line before sending that row (exit 3), and a fixed file goes on', async () => {
    const broken = Buffer.concat([
      Buffer.from('email,name\na@example.org,Ana\nb@example.org,Jos'),
      Buffer.from([0xe9]),
      Buffer.from('\nc@example.org,Cy\n'),
    ]);
    const { code, out, err } = await bulk(broken, ['--subject', 'Hi {{name}}']);
    expect(code).toBe(exitCodes.invalidInput);
    expect(err).toMatch(/--csv list\.csv: row 2, column "name" \(line 3, byte 46\) is not valid utf-8 \(bytes e9 0a 63 40\)/);
    expect(err).toMatch(/what to do: .*--encoding/);
    expect(out).toMatch(/sent now\s+1/);
    expect((await arrived()).map((message) => message.parsed.subject)).toEqual(['Hi Ana']);
    // Never "Jos\uFFFD".
    const fixed = Buffer.from('email,name\na@example.org,Ana\nb@example.org,Jos\xe9\nc@example.org,Cy\n', 'latin1');
    const again = await bulk(fixed, ['--subject', 'Hi {{name}}', '--encoding', 'windows-1252']);
    expect(again.code).toBe(exitCodes.ok);
    expect((await arrived()).map((message) => message.parsed.subject)).toEqual(['Hi Ana', 'Hi José', 'Hi Cy']);
  });

  it('a header line ending in LF and rows ending in CRLF leave no CR in the last column', async () => {
    const { code } = await bulk('email,name\na@example.org,Ana\r\nb@example.org,Bob\r\n', ['--subject', '[{{name}}]']);
    expect(code).toBe(exitCodes.ok);
    expect((await arrived()).map((message) => message.parsed.subject)).toEqual(['[Ana]', '[Bob]']);
  });

  it('every CSV problem exits 3 (invalid input), before sending, and honours --json', async () => {
    const cases: [string | Buffer | undefined, RegExp][] = [
      [undefined, /--csv list\.csv: no such file/],
      ['email,name,tok,email\na@example.org,A,1,b@example.org\n', /names the column "email" 2 times \(columns 1 and 4\)/],
      ['email,,name\n', /has no name for column 2/],
      ['', /is empty: it needs a header row/],
      ['email,name\na@example.org,"Ana\n', /row 1, column "name" \(line \d+\) is not valid CSV: Quote Not Closed/],
    ];
    for (const [content, message] of cases) {
      const run =
        content === undefined
          ? await mailport(['send', '--csv', 'missing.csv', '--url', server.url, '--from', 'shop@example.com', '--json'], {
              cwd: directory,
            })
          : await bulk(content, ['--json']);
      expect(run.code, String(message)).toBe(exitCodes.invalidInput);
      // --json: every line printed is JSON, and the error is in it.
      const lines = [run.out, run.err]
        .join('\n')
        .split('\n')
        .filter((text) => text.trim() !== '')
        .map((line) => JSON.parse(line) as { error?: { code: string; message: string } });
      const error = lines.find((line) => line.error !== undefined)?.error;
      expect(error?.code).toBe('invalid-message');
      expect(error?.message.replace('missing.csv', 'list.csv')).toMatch(message);
    }
    expect(await server.count()).toBe(0);
  });

  it('a row with too many or too few values fails alone, naming the row', async () => {
    const { code, out } = await bulk('email,name\na@example.org,Ana\nb@example.org,Bob,extra\nc@example.org,Cy\n', [
      '--subject',
      '{{name}}',
    ]);
    expect(code).toBe(exitCodes.partial);
    expect(out).toMatch(/row 2 .*row 2 has 3 values, but the header row names 2 columns/);
    expect(await server.count()).toBe(2);
  });
});
