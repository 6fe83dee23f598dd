import { verpToken } from '@mailport/core/verp';
import { describe, expect, it } from 'vitest';
import type { SendLogEntry } from './model.js';
import { createMemorySendLog } from './send-log.js';

function entry(n: number, extra: Partial<SendLogEntry> = {}): SendLogEntry {
  return {
    messageId: `<m${n}@shop.example>`,
    providerMessageId: `p${n}`,
    transport: 'ses://eu-west-1',
    recipients: [`r${n}@example.org`],
    tags: ['t'],
    metadata: { n: String(n) },
    sentAt: new Date(0).toISOString(),
    ...extra,
  };
}

describe('createMemorySendLog', () => {
  it('finds a message by Message-ID (with or without brackets), provider id and VERP token', () => {
    const log = createMemorySendLog();
    log.record(entry(1));
    expect(log.get('<m1@shop.example>')?.metadata).toEqual({ n: '1' });
    expect(log.get(' m1@shop.example ')?.providerMessageId).toBe('p1');
    expect(log.getByProviderId('p1')?.messageId).toBe('<m1@shop.example>');
    expect(log.getByVerpToken(verpToken('<m1@shop.example>'))?.messageId).toBe('<m1@shop.example>');
    expect(log.getByVerpToken(verpToken('<m1@shop.example>').toUpperCase())?.messageId).toBe('<m1@shop.example>');
    expect(log.get('<m2@shop.example>')).toBeUndefined();
  });

  it('finds a message by the Message-ID it was built with when the provider replaced it', () => {
    const log = createMemorySendLog();
    log.record(entry(1, { messageId: '<0100abc@email.amazonses.com>', submittedMessageId: '<m1@shop.example>' }));
    expect(log.get('<m1@shop.example>')?.messageId).toBe('<0100abc@email.amazonses.com>');
    expect(log.getByVerpToken(verpToken('<m1@shop.example>'))?.messageId).toBe('<0100abc@email.amazonses.com>');
    expect(log.getByVerpToken(verpToken('<0100abc@email.amazonses.com>'))?.providerMessageId).toBe('p1');
  });

  it('keeps at most maxEntries, forgetting the oldest and every index of it', () => {
    const log = createMemorySendLog({ maxEntries: 3 });
    for (let n = 1; n <= 5; n++) log.record(entry(n));
    expect(log.size).toBe(3);
    expect(log.get('<m2@shop.example>')).toBeUndefined();
    expect(log.getByProviderId('p2')).toBeUndefined();
    expect(log.getByVerpToken(verpToken('<m1@shop.example>'))).toBeUndefined();
    expect(log.get('<m5@shop.example>')).toBeDefined();
    // Recording a message again makes it the newest rather than a second entry.
    log.record(entry(3, { providerMessageId: 'p3b' }));
    log.record(entry(6));
    expect(log.get('<m3@shop.example>')?.providerMessageId).toBe('p3b');
    expect(log.getByProviderId('p3')).toBeUndefined();
    expect(log.get('<m4@shop.example>')).toBeUndefined();
  });

  it('stores a frozen copy, and answers hostile lookups with nothing', () => {
    const log = createMemorySendLog();
    const tags = ['a'];
    log.record(entry(1, { tags }));
    tags.push('b');
    const stored = log.get('<m1@shop.example>');
    expect(stored?.tags).toEqual(['a']);
    expect(Object.isFrozen(stored)).toBe(true);
    for (const hostile of [undefined, null, 42, {}, '', '<>', '<a b@c>', '__proto__', 'constructor', 'x'.repeat(100_000)]) {
      expect(log.get(hostile as never)).toBeUndefined();
      expect(log.getByProviderId(hostile as never)).toBeUndefined();
      expect(log.getByVerpToken(hostile as never)).toBeUndefined();
    }
    expect(() => log.record({ ...entry(2), messageId: 'not an id' })).toThrow(TypeError);
    expect(() => createMemorySendLog({ maxEntries: 0 })).toThrow(RangeError);
  });
});
