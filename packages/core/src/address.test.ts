import { describe, expect, it } from 'vitest';
import { type AddressInput, formatAddress, parseAddress, parseAddressList, requiresSmtpUtf8 } from './address.js';
import { MailError } from './errors.js';
import { createMessage } from './message.js';

/** Runs `run` and returns the `MailError` it throws; fails the test if it throws anything else or nothing. */
function mailErrorFrom(run: () => unknown): MailError {
  try {
    run();
  } catch (error) {
    if (MailError.isInstance(error)) return error;
    throw error;
  }
  throw new Error('expected a MailError, but nothing was thrown');
}

describe('parseAddress: accepted forms', () => {
  it.each<[string, AddressInput, string | undefined, string]>([
    ['name and angle-addr', 'Ana Núñez <ana@example.com>', 'Ana Núñez', 'ana@example.com'],
    ['bare addr-spec', 'ana@example.com', undefined, 'ana@example.com'],
    ['bare addr-spec with surrounding spaces', '  ana@example.com  ', undefined, 'ana@example.com'],
    ['angle-addr without a name', '<ana@example.com>', undefined, 'ana@example.com'],
    ['quoted name with a comma', '"Doe, John" <john@example.com>', 'Doe, John', 'john@example.com'],
    ['quoted name with escaped quotes', '"Ana \\"AJ\\" Núñez" <ana@example.com>', 'Ana "AJ" Núñez', 'ana@example.com'],
    ['quoted name with an escaped backslash', '"Back\\\\slash" <b@example.com>', 'Back\\slash', 'b@example.com'],
    ['quoted name with angle brackets inside', '"Ana <admin>" <ana@example.com>', 'Ana <admin>', 'ana@example.com'],
    ['runs of spaces in an unquoted name collapse', 'Ana    Maria <ana@example.com>', 'Ana Maria', 'ana@example.com'],
    ['object with name', { name: 'Ana', address: 'ana@example.com' }, 'Ana', 'ana@example.com'],
    ['object without name', { address: 'ana@example.com' }, undefined, 'ana@example.com'],
    ['object with an empty name', { name: '', address: 'ana@example.com' }, undefined, 'ana@example.com'],
    ['object with spaces around', { name: ' Ana ', address: ' ana@example.com ' }, 'Ana', 'ana@example.com'],
    ['object name with a comma needs no quoting', { name: 'Doe, John', address: 'john@example.com' }, 'Doe, John', 'john@example.com'],
    ['plus tag and dots', 'ana.maria+orders@mail.example.com', undefined, 'ana.maria+orders@mail.example.com'],
    ['atext specials', "o'brien!#$%&*=?^_`{|}~-@example.com", undefined, "o'brien!#$%&*=?^_`{|}~-@example.com"],
    ['IPv4 address literal', 'postmaster@[192.0.2.1]', undefined, 'postmaster@[192.0.2.1]'],
    ['IPv6 address literal', 'postmaster@[IPv6:2001:db8::1]', undefined, 'postmaster@[IPv6:2001:db8::1]'],
  ])('accepts %s', (_label, input, name, address) => {
    expect(parseAddress(input, 'to')).toEqual({ name, address });
  });

  it.each([
    ['ana@bücher.example', 'ana@xn--bcher-kva.example'],
    ['Ana <ana@bücher.example>', 'ana@xn--bcher-kva.example'],
    ['ana@例え.テスト', 'ana@xn--r8jz45g.xn--zckzah'],
    ['ana@ÉXAMPLE.com', 'ana@xn--xample-9ua.com'],
  ])('turns the IDN domain of %s into A-labels', (input, address) => {
    expect(parseAddress(input, 'to').address).toBe(address);
  });

  it('lower-cases the domain but keeps the case of the local part', () => {
    expect(parseAddress('Ana.Maria@EXAMPLE.COM', 'to').address).toBe('Ana.Maria@example.com');
  });

  it('accepts a non-ASCII local part and flags it as needing SMTPUTF8', () => {
    const address = parseAddress('José <josé@bücher.example>', 'to');
    expect(address).toEqual({ name: 'José', address: 'josé@xn--bcher-kva.example' });
    expect(requiresSmtpUtf8(address)).toBe(true);
    expect(requiresSmtpUtf8(parseAddress('José <jose@bücher.example>', 'to'))).toBe(false);
  });

  it('sets requiresSmtpUtf8 on a message with a non-ASCII local part anywhere', () => {
    expect(createMessage({ from: 'a@example.com', to: 'b@example.com' }).requiresSmtpUtf8).toBe(false);
    expect(createMessage({ from: 'a@example.com', to: 'b@bücher.example' }).requiresSmtpUtf8).toBe(false);
    expect(createMessage({ from: 'a@example.com', to: 'b@example.com', bcc: 'zoë@example.com' }).requiresSmtpUtf8).toBe(true);
    expect(createMessage({ from: 'a@example.com', to: 'b@example.com', replyTo: 'zoë@example.com' }).requiresSmtpUtf8).toBe(true);
    expect(createMessage({ from: 'a@example.com', to: 'b@example.com', envelope: { from: 'zoë@example.com' } }).requiresSmtpUtf8).toBe(
      true,
    );
  });

  it('returns frozen addresses', () => {
    expect(Object.isFrozen(parseAddress('Ana <ana@example.com>', 'to'))).toBe(true);
    expect(Object.isFrozen(parseAddress({ address: 'ana@example.com' }, 'to'))).toBe(true);
  });
});

describe('parseAddressList', () => {
  it('treats undefined as an empty list', () => {
    expect(parseAddressList(undefined, 'cc')).toEqual([]);
  });

  it('wraps a single mailbox and keeps array order', () => {
    expect(parseAddressList('a@example.com', 'to')).toEqual([{ name: undefined, address: 'a@example.com' }]);
    expect(parseAddressList(['B <b@example.com>', { address: 'c@example.com' }], 'to').map((a) => a.address)).toEqual([
      'b@example.com',
      'c@example.com',
    ]);
  });

  it('names the index of the entry at fault', () => {
    const error = mailErrorFrom(() => parseAddressList(['a@example.com', 'b@example.com', 'broken'], 'cc'));
    expect(error.field).toBe('cc[2]');
  });

  it('does not split one string holding several addresses', () => {
    const error = mailErrorFrom(() => parseAddressList('a@example.com, b@example.com', 'to'));
    expect(error.code).toBe('invalid-message');
    expect(error.field).toBe('to[0]');
    expect(error.remediation).toMatch(/array/);
  });
});

// Each rejected mailbox is put second in `to`, so the error must name `to[1]` (or `to[1].name`).
describe('parseAddress: rejections name the field', () => {
  const controls: [string, string][] = [
    ['CR', '\r'],
    ['LF', '\n'],
    ['CRLF', '\r\n'],
    ['NUL', '\u0000'],
    ['TAB', '\t'],
    ['ESC', '\u001b'],
    ['DEL', '\u007f'],
    ['NEL (C1)', '\u0085'],
    ['APC (C1)', '\u009f'],
  ];

  const rejected: [string, AddressInput, string][] = [
    ...controls.flatMap(([label, char]): [string, AddressInput, string][] => [
      [`${label} in the addr-spec`, `an${char}a@example.com`, 'to[1]'],
      [`${label} in the domain`, `ana@exa${char}mple.com`, 'to[1]'],
      [`${label} in the display name`, `An${char}a <ana@example.com>`, 'to[1]'],
      [`${label} in a quoted display name`, `"An${char}a" <ana@example.com>`, 'to[1]'],
      [`${label} in an object name`, { name: `An${char}a`, address: 'ana@example.com' }, 'to[1].name'],
      [`${label} in an object address`, { address: `ana@example.com${char}` }, 'to[1]'],
    ]),
    ['a header injection in a name', 'Ana\r\nBcc: victim@example.com <ana@example.com>', 'to[1]'],
    ['a header injection in an object name', { name: 'Ana\r\nBcc: victim@example.com', address: 'ana@example.com' }, 'to[1].name'],
    ['a trailing comment', 'ana@example.com (Ana)', 'to[1]'],
    ['a comment in the display name', 'Ana (sales) <ana@example.com>', 'to[1]'],
    ['a comment inside the angle-addr', '<ana(x)@example.com>', 'to[1]'],
    ['a comment inside a bare address', 'ana(x)@example.com', 'to[1]'],
    ['an encoded-word as display name', '=?utf-8?B?QW5h?= <ana@example.com>', 'to[1].name'],
    ['an encoded-word in a quoted display name', '"=?utf-8?Q?Ana?=" <ana@example.com>', 'to[1].name'],
    ['an encoded-word in an object name', { name: 'Hi =?iso-8859-1?q?Ana?=', address: 'ana@example.com' }, 'to[1].name'],
    ['an encoded-word as local part', '=?utf-8?B?YQ==?=@example.com', 'to[1]'],
    ['an encoded-word in an angle-addr', 'Ana <=?utf-8?B?YQ==?=@example.com>', 'to[1]'],
    ['a doubled @', 'ana@@example.com', 'to[1]'],
    ['two @ signs', 'ana@evil.example@example.com', 'to[1]'],
    ['two @ signs in an object', { address: 'ana@evil.example@example.com' }, 'to[1]'],
    ['a missing @', 'ana.example.com', 'to[1]'],
    ['a missing @ in an angle-addr', 'Ana <ana.example.com>', 'to[1]'],
    ['an empty local part', '@example.com', 'to[1]'],
    ['an empty domain', 'ana@', 'to[1]'],
    ['an empty domain in an angle-addr', 'Ana <ana@>', 'to[1]'],
    ['a domain ending with a dot', 'ana@example.com.', 'to[1]'],
    ['a domain ending with a dot in an object', { address: 'ana@example.com.' }, 'to[1]'],
    ['an empty domain label', 'ana@example..com', 'to[1]'],
    ['a domain label starting with a hyphen', 'ana@-example.com', 'to[1]'],
    ['an underscore in the domain', 'ana@exa_mple.com', 'to[1]'],
    ['a bad address literal', 'ana@[300.1.1.1]', 'to[1]'],
    ['an unterminated address literal', 'ana@[192.0.2.1', 'to[1]'],
    ['a quoted local part', '"ana"@example.com', 'to[1]'],
    ['a quoted local part with a space', 'Ana <"ana maria"@example.com>', 'to[1]'],
    ['a quoted local part in an object', { address: '"ana"@example.com' }, 'to[1]'],
    ['a leading dot in the local part', '.ana@example.com', 'to[1]'],
    ['two dots in the local part', 'ana..maria@example.com', 'to[1]'],
    ['a local part over 64 octets', `${'a'.repeat(65)}@example.com`, 'to[1]'],
    ['whitespace in a bare address', 'ana @example.com', 'to[1]'],
    ['whitespace in an angle-addr', 'Ana <ana @example.com>', 'to[1]'],
    ['whitespace in an object address', { address: 'ana maria@example.com' }, 'to[1]'],
    ['a no-break space in the address', 'ana\u00a0maria@example.com', 'to[1]'],
    ['a comma between two bare addresses', 'ana@example.com, bob@example.com', 'to[1]'],
    ['a comma between two angle-addrs', 'Ana <ana@example.com>, Bob <bob@example.com>', 'to[1]'],
    ['a comma in an unquoted name', 'Doe, John <john@example.com>', 'to[1]'],
    ['a semicolon-separated list', 'ana@example.com; bob@example.com', 'to[1]'],
    ['a group', 'Team: ana@example.com, bob@example.com;', 'to[1]'],
    ['an unclosed angle-addr', 'Ana <ana@example.com', 'to[1]'],
    ['a closing bracket without an opening one', 'ana@example.com>', 'to[1]'],
    ['text after the angle-addr', 'Ana <ana@example.com> x', 'to[1]'],
    ['two angle-addrs', 'Ana <ana@example.com> <bob@example.com>', 'to[1]'],
    ['nested angle brackets', '<<ana@example.com>>', 'to[1]'],
    ['an unterminated quoted name', '"Ana <ana@example.com>', 'to[1]'],
    ['text after a quoted name', '"Ana" Maria <ana@example.com>', 'to[1]'],
    ['an unescaped quote in a quoted name', '"An"a" <ana@example.com>', 'to[1]'],
    ['a special character in an unquoted name', 'Ana@home <ana@example.com>', 'to[1]'],
    ['a mailto: URL', 'mailto:ana@example.com', 'to[1]'],
    ['an empty string', '', 'to[1]'],
    ['only spaces', '   ', 'to[1]'],
    ['an object without address', { name: 'Ana' } as unknown as AddressInput, 'to[1]'],
  ];

  it.each(rejected)('refuses %s', (_label, input, field) => {
    const error = mailErrorFrom(() => createMessage({ from: 'sender@example.com', to: ['first@example.com', input] }));
    expect(error.code).toBe('invalid-message');
    expect(error.field).toBe(field);
    expect(error.message).toContain(field);
    expect(error.retryable).toBe(false);
  });

  it.each(['from', 'sender', 'cc', 'bcc', 'replyTo'] as const)('names the %s field', (key) => {
    const input = { from: 'sender@example.com', to: 'first@example.com', [key]: 'ana@@example.com' };
    const error = mailErrorFrom(() => createMessage(input));
    expect(error.field).toBe(key === 'from' || key === 'sender' ? key : `${key}[0]`);
  });

  it('names envelope fields', () => {
    expect(mailErrorFrom(() => createMessage({ from: 'a@example.com', to: 'b@example.com', envelope: { from: 'x@' } })).field).toBe(
      'envelope.from',
    );
    expect(
      mailErrorFrom(() => createMessage({ from: 'a@example.com', to: 'b@example.com', envelope: { to: ['c@example.com', 'bad'] } })).field,
    ).toBe('envelope.to[1]');
  });
});

describe('parseAddress: nothing is repaired', () => {
  // Each input looks almost like a valid address; a lenient parser would quietly pick one.
  it.each([
    'ana@example.com>',
    '<ana@example.com',
    'ana@example.com;',
    '<ana@example.com>,',
    'ana@example.com bob@example.com',
    'Ana <ana@example.com> (Ana)',
    '"Ana" <ana@example.com> <bob@example.com>',
    'ana@example.com.',
    'ana@example.com\r\nBcc: victim@example.com',
  ])('refuses %j instead of guessing', (input) => {
    expect(() => parseAddress(input, 'to')).toThrow(MailError);
  });

  it('only changes what is equivalent: surrounding spaces and the domain form', () => {
    for (const [input, address] of [
      [' ana@example.com ', 'ana@example.com'],
      ['ana@Bücher.Example', 'ana@xn--bcher-kva.example'],
    ] as const) {
      expect(parseAddress(input, 'to').address).toBe(address);
    }
  });
});

describe('formatAddress', () => {
  it.each([
    [{ name: undefined, address: 'a@example.com' }, 'a@example.com'],
    [{ name: 'Ana Núñez', address: 'a@example.com' }, 'Ana Núñez <a@example.com>'],
    [{ name: 'Doe, John', address: 'j@example.com' }, '"Doe, John" <j@example.com>'],
    [{ name: 'Ana "AJ"', address: 'a@example.com' }, '"Ana \\"AJ\\"" <a@example.com>'],
  ])('formats %j as %s', (address, text) => {
    expect(formatAddress(address)).toBe(text);
  });

  it('round-trips through parseAddress', () => {
    for (const name of ['Doe, John', 'Ana "AJ" Núñez', 'Back\\slash', 'Plain Name']) {
      const parsed = parseAddress(formatAddress({ name, address: 'a@example.com' }), 'to');
      expect(parsed).toEqual({ name, address: 'a@example.com' });
    }
  });
});
