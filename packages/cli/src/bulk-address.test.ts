import { createMessage, renderMime } from '@mailport/core';
import { simpleParser } from 'mailparser';
import { describe, expect, it } from 'vitest';
import { compileAddressTemplate } from './bulk-address.js';
import { CellError } from './bulk-template.js';
import { UsageError } from './exit-codes.js';

const columns = ['name', 'email', 'user', 'manager'];
const compile = (...sources: string[]) => compileAddressTemplate(sources, { flag: '--to', columns });
const row = (values: Partial<Record<(typeof columns)[number], string>>): string[] => columns.map((column) => values[column] ?? '');

function cellError(run: () => unknown): CellError {
  try {
    run();
  } catch (error) {
    if (error instanceof CellError) return error;
    throw error;
  }
  throw new Error('expected a CellError');
}

describe('address templates', () => {
  it('keeps a hostile display name a display name: one recipient, the name intact on the wire', async () => {
    const hostile = 'Eve <eve@evil.test>, Mallory';
    for (const template of ['{{name}} <{{email}}>', '"{{name}}" <{{email}}>']) {
      const to = compile(template).render(row({ name: hostile, email: 'ana@example.org' }));
      expect(to).toEqual([{ name: hostile, address: 'ana@example.org' }]);
      const message = createMessage({ from: 'shop@example.com', to, subject: 's', text: 't' });
      expect(message.envelope.to).toEqual(['ana@example.org']);
      const parsed = await simpleParser(await renderMime(message));
      const recipients = Array.isArray(parsed.to) ? parsed.to.flatMap((to) => to.value) : (parsed.to?.value ?? []);
      expect(recipients).toEqual([{ name: hostile, address: 'ana@example.org' }]);
    }
  });

  it('takes names with commas, quotes and @ as they are', () => {
    const to = compile('{{name}} <{{email}}>');
    for (const name of ['Smith, Ann', 'Ann "the boss" Smith', 'ann@example.org', "O'Brien; Dr.", 'Zoë <3']) {
      expect(to.render(row({ name, email: 'ann@example.org' }))).toEqual([{ name, address: 'ann@example.org' }]);
    }
  });

  it('refuses a comma in an address position instead of making two recipients', () => {
    for (const template of ['{{name}} <{{email}}>', '{{email}}', '<{{email}}>']) {
      const error = cellError(() => compile(template).render(row({ name: 'Ann', email: 'ann@example.org, eve@evil.test' })));
      expect(error.columns).toEqual(['email']);
    }
    const semicolon = cellError(() => compile('{{user}}@example.org').render(row({ user: 'ann;eve' })));
    expect(semicolon.columns).toEqual(['user']);
    expect(semicolon.message).toMatch(/exactly one address/);
  });

  it('a lone placeholder takes one mailbox, name included, and nothing more', () => {
    const to = compile('{{email}}');
    expect(to.render(row({ email: ' ann@example.org ' }))).toEqual(['ann@example.org']);
    expect(to.render(row({ email: 'Ann <ann@example.org>' }))).toEqual(['Ann <ann@example.org>']);
    expect(to.render(row({ email: '"Smith, Ann" <ann@example.org>' }))).toEqual(['"Smith, Ann" <ann@example.org>']);
    for (const email of ['Eve <eve@evil.test>, Mallory <m@evil.test>', 'Smith, Ann <ann@example.org>', 'a@example.org b@example.org']) {
      expect(cellError(() => to.render(row({ email }))).columns).toEqual(['email']);
    }
  });

  it('several entries and several flags make several recipients; empty optional slots are left out', () => {
    const to = compile('{{name}} <{{email}}>, audit@example.com', '{{manager}}');
    expect(to.render(row({ name: 'Ann', email: 'ann@example.org', manager: 'boss@example.org' }))).toEqual([
      { name: 'Ann', address: 'ann@example.org' },
      { address: 'audit@example.com' },
      'boss@example.org',
    ]);
    expect(to.render(row({ email: 'ann@example.org' }))).toEqual([{ address: 'ann@example.org' }, { address: 'audit@example.com' }]);
    expect(to.columns).toEqual(['name', 'email', 'manager']);
  });

  it('builds an address from literal text and a value', () => {
    const to = compile('Team {{name}} <{{user}}@example.org>');
    expect(to.render(row({ name: 'Ops', user: 'ops' }))).toEqual([{ name: 'Team Ops', address: 'ops@example.org' }]);
    expect(cellError(() => to.render(row({ name: 'Ops', user: 'a@b' }))).columns).toEqual(['user']);
  });

  it('names the column of a display name core refuses (control characters, encoded-words)', () => {
    const to = compile('{{name}} <{{email}}>');
    expect(cellError(() => to.render(row({ name: 'Ann\r\nBcc: eve@evil.test', email: 'ann@example.org' }))).columns).toEqual(['name']);
    expect(cellError(() => to.render(row({ name: '=?utf-8?q?Eve?=', email: 'ann@example.org' }))).columns).toEqual(['name']);
    expect(cellError(() => to.render(row({ name: 'Ann', email: '' }))).message).toMatch(/no address/);
  });

  it('refuses templates that are not addresses, before any row', () => {
    for (const template of [
      '{{name}} {{email}}',
      '{{name}} <{{email}}',
      '<{{email}}> extra',
      '"{{name}} <{{email}}>',
      '"{{name}}" x <{{email}}>',
      'a@example.org,,b@example.org',
      'a@example.org,',
      '<a@example.org, b@example.org>',
      'not an address',
      '{{nope}}',
    ]) {
      expect(() => compile(template), template).toThrow(UsageError);
    }
    expect(() => compileAddressTemplate(['a@example.org, b@example.org'], { flag: '--from', columns, single: true })).toThrow(
      /exactly one address/,
    );
    expect(compile('').render(row({}))).toEqual([]);
  });

  it('describes a row for reports without throwing', () => {
    const to = compile('{{name}} <{{email}}>');
    expect(to.describe(row({ name: 'Ann', email: 'x, y' }))).toBe('Ann <x, y>');
  });
});
