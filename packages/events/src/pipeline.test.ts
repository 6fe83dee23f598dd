import { describe, expect, it, vi } from 'vitest';
import type { MailEvent, Suppression } from './model.js';
import { createEventPipeline } from './pipeline.js';
import { createMemorySendLog } from './send-log.js';
import { createMemorySuppressionStore } from './suppression.js';

let counter = 0;
function event(type: MailEvent['type'], extra: Partial<MailEvent> = {}): MailEvent {
  counter++;
  return {
    id: `e${counter}`,
    type,
    timestamp: new Date().toISOString(),
    messageId: '<m1@shop.example>',
    providerMessageId: 'p1',
    source: 'ses',
    recipient: 'ana@example.org',
    tags: [],
    metadata: {},
    raw: {},
    ...extra,
  };
}

async function entries(store: ReturnType<typeof createMemorySuppressionStore>): Promise<Suppression[]> {
  const all: Suppression[] = [];
  for await (const entry of store.list()) all.push(entry);
  return all;
}

function sendLogWith(metadata: Record<string, string>) {
  const sendLog = createMemorySendLog();
  sendLog.record({
    messageId: '<m1@shop.example>',
    providerMessageId: 'p1',
    transport: 'ses',
    recipients: ['ana@example.org'],
    tags: ['newsletter', 'week-12'],
    metadata,
    sentAt: new Date().toISOString(),
  });
  return sendLog;
}

describe('createEventPipeline', () => {
  it('adds the send log tags and metadata, by Message-ID or by provider id, and keeps the event when the message is unknown', async () => {
    const seen: MailEvent[] = [];
    const pipeline = createEventPipeline({ sendLog: sendLogWith({ stream: 'news', user: '7' }), onEvent: (e) => void seen.push(e) });
    await pipeline.handle([
      event('delivered', { tags: ['week-12', 'ses-tag'], metadata: { user: 'spoofed', extra: 'x' } }),
      event('delivered', { messageId: undefined }),
      event('delivered', { messageId: '<other@shop.example>', providerMessageId: 'nope' }),
    ]);
    expect(seen[0]?.tags).toEqual(['newsletter', 'week-12', 'ses-tag']);
    expect(seen[0]?.metadata).toEqual({ stream: 'news', user: '7', extra: 'x' });
    expect(seen[1]).toMatchObject({ messageId: '<m1@shop.example>', metadata: { user: '7' } });
    expect(seen[2]).toMatchObject({ tags: [], metadata: {} });
    expect(Object.isFrozen(seen[0])).toBe(true);
  });

  it('drops an event it has handled, in one batch and across batches, and handles each once under concurrent deliveries', async () => {
    const seen: string[] = [];
    const pipeline = createEventPipeline({
      onEvent: async (e) => {
        await new Promise((resolve) => setTimeout(resolve, 5));
        seen.push(e.id);
      },
    });
    const a = event('delivered');
    const b = event('delivered');
    await pipeline.handle([a, a, b]);
    await pipeline.handle([b, a]);
    await Promise.all([pipeline.handle([event('bounced', { id: 'same' })]), pipeline.handle([event('bounced', { id: 'same' })])]);
    expect(seen).toEqual([a.id, b.id, 'same']);
  });

  it('rejects when onEvent throws, without marking the event seen, so the retry handles it', async () => {
    let fail = true;
    const seen: string[] = [];
    const store = createMemorySuppressionStore();
    const pipeline = createEventPipeline({
      suppression: store,
      onEvent: (e) => {
        if (fail && e.id === 'bad') throw new Error('database down');
        seen.push(e.id);
      },
    });
    const good = event('delivered');
    const bad = event('bounced', { id: 'bad', bounce: { kind: 'hard' } });
    await expect(pipeline.handle([good, bad])).rejects.toThrow('database down');
    fail = false;
    await pipeline.handle([good, bad]);
    expect(seen).toEqual([good.id, 'bad']);
    expect(await entries(store)).toHaveLength(1);
  });

  it('suppresses a hard bounce everywhere, a complaint and an unsubscribe on their stream, and never for deferred or auto-replied', async () => {
    const store = createMemorySuppressionStore();
    const pipeline = createEventPipeline({ sendLog: sendLogWith({ stream: 'news' }), suppression: store });
    await pipeline.handle([
      event('bounced', {
        recipient: 'Hard@Example.org',
        messageId: undefined,
        providerMessageId: undefined,
        bounce: { kind: 'hard', status: '5.1.1', diagnostic: 'user unknown' },
      }),
      event('complained', { recipient: 'comp@example.org', complaint: { feedbackType: 'abuse' } }),
      event('unsubscribed', { recipient: 'unsub@example.org', messageId: undefined, providerMessageId: undefined }),
      event('deferred', { recipient: 'late@example.org', delay: { status: '4.4.7' } }),
      event('auto-replied', { recipient: 'away@example.org' }),
      event('delivered', { recipient: 'fine@example.org' }),
      event('rejected', { recipient: 'virus@example.org' }),
      event('bounced', { recipient: undefined, bounce: { kind: 'hard' } }),
      event('complained', { recipient: 'not an address' }),
    ]);
    const all = await entries(store);
    expect(all.map((entry) => [entry.address, entry.scope, entry.reason])).toEqual([
      ['hard@example.org', '*', 'hard-bounce'],
      ['comp@example.org', 'news', 'complaint'],
      ['unsub@example.org', '*', 'unsubscribe'],
    ]);
    expect(all[0]).toMatchObject({ detail: '5.1.1 user unknown', eventId: expect.any(String) });
    expect(all[0]?.expiresAt).toBeUndefined();
  });

  it('suppresses after softBounceLimit soft bounces within the window, for softBounceSuppressMs, counting a repeated event once', async () => {
    let clock = Date.now();
    const store = createMemorySuppressionStore();
    const pipeline = createEventPipeline({
      suppression: store,
      softBounceLimit: 3,
      softBounceWindowMs: 1000,
      softBounceSuppressMs: 60_000,
      dedupeSize: 1,
      now: () => clock,
    });
    const soft = (id: string): MailEvent => event('bounced', { id, bounce: { kind: 'soft', status: '4.2.2' } });
    await pipeline.handle([soft('s1'), soft('s2')]);
    // dedupeSize 1 forgot s1, yet a repeat of it must not count twice.
    await pipeline.handle([soft('s1')]);
    expect(await entries(store)).toEqual([]);
    clock += 2000;
    await pipeline.handle([soft('s3')]);
    expect(await entries(store)).toEqual([]);
    await pipeline.handle([event('bounced', { id: 's4', bounce: { kind: 'undetermined' } }), soft('s5')]);
    const [entry] = await entries(store);
    expect(entry).toMatchObject({ address: 'ana@example.org', scope: '*', reason: 'soft-bounces', eventId: 's5' });
    expect(Date.parse(entry?.expiresAt ?? '')).toBe(clock + 60_000);
  });

  it('a soft bounce that reaches the limit but could not be stored still suppresses when it comes again', async () => {
    const store = createMemorySuppressionStore();
    let failing = true;
    const pipeline = createEventPipeline({
      suppression: {
        ...store,
        add: async (entry) => {
          if (failing) throw new Error('disk full');
          await store.add(entry);
        },
      },
      softBounceLimit: 2,
    });
    const soft = (id: string): MailEvent => event('bounced', { id, bounce: { kind: 'soft', status: '4.2.2' } });
    await pipeline.handle([soft('s1')]);
    await expect(pipeline.handle([soft('s2')])).rejects.toThrow('disk full');
    failing = false;
    // The source sends the batch again (SNS retries, 451 over SMTP).
    await pipeline.handle([soft('s2')]);
    expect(await entries(store)).toMatchObject([{ address: 'ana@example.org', reason: 'soft-bounces', eventId: 's2' }]);
  });

  it('never rejects, so never makes a source retry for ever, over a recipient or stream no store can hold', async () => {
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
    const store = createMemorySuppressionStore();
    const seen: string[] = [];
    const pipeline = createEventPipeline({ suppression: store, onEvent: (e) => void seen.push(e.id) });
    await pipeline.handle([
      event('bounced', { id: 'long', recipient: `${'a'.repeat(400)}@example.org`, bounce: { kind: 'hard' } }),
      event('bounced', { id: 'crlf', recipient: 'a\r\nBcc: x@example.org', bounce: { kind: 'hard' } }),
      event('complained', { id: 'stream', recipient: 'ana@example.org', metadata: { stream: `news\u0000${'x'.repeat(500)}` } }),
    ]);
    expect(seen).toEqual(['long', 'crlf', 'stream']);
    expect((await entries(store)).map((entry) => [entry.address, entry.scope])).toEqual([['ana@example.org', '*']]);
    expect(warn).toHaveBeenCalledTimes(2);
    warn.mockRestore();
  });

  it('shrugs at hostile input: skips what is not an event, refuses what is not an array', async () => {
    const seen: MailEvent[] = [];
    const pipeline = createEventPipeline({
      sendLog: createMemorySendLog(),
      suppression: createMemorySuppressionStore(),
      onEvent: (e) => void seen.push(e),
    });
    await pipeline.handle([
      null,
      42,
      {},
      { id: '' },
      event('bounced', { metadata: { __proto__: 'x' } as never, tags: 'no' as never, bounce: undefined }),
    ] as never);
    expect(seen).toHaveLength(1);
    await expect(pipeline.handle('events' as never)).rejects.toThrow(TypeError);
    expect(() => createEventPipeline({ softBounceLimit: 0 })).toThrow(RangeError);
  });
});
