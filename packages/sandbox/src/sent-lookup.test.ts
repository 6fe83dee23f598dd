import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Sandbox, startSandbox } from './index.js';
import { bare, sentWithMessageId, storedMessageId } from './sent-lookup.js';
import { createMessageStore } from './store.js';

describe('sent-mail lookups', () => {
  let sandbox: Sandbox;
  beforeAll(async () => {
    sandbox = await startSandbox();
  });
  afterAll(() => sandbox.close());

  it('registers both list routes as provider API routes', () => {
    const access = (path: string) =>
      sandbox.routes.filter((route) => route.method === 'GET' && route.path === path).map((route) => route.access);
    expect(access('/gmail/v1/users/:userId/messages')).toEqual(['api']);
    expect(access('/v1.0/users/:user/mailFolders/:folder/messages')).toEqual(['api']);
    expect(access('/v1.0/me/mailFolders/:folder/messages')).toEqual(['api']);
  });

  it('matches the Message-ID header with or without angle brackets, for the sender asked about only', () => {
    const store = createMessageStore();
    const raw = (id: string) => Buffer.from(`From: a@example.com\r\nMessage-ID:\r\n <${id}>\r\nSubject: x\r\n\r\nbody\r\n`);
    store.add({
      api: 'gmail',
      operation: 'messages.send',
      envelope: { from: 'a@example.com', to: ['b@example.org'] },
      raw: raw('one@x'),
      metadata: { user: 'a@example.com' },
    });
    store.add({
      api: 'gmail',
      operation: 'messages.send',
      envelope: { from: 'c@example.com', to: ['b@example.org'] },
      raw: raw('one@x'),
      metadata: { user: 'c@example.com' },
    });
    const first = store.list()[0];
    expect(first === undefined ? undefined : storedMessageId(first)).toBe('one@x');
    expect(bare(' <one@x> ')).toBe('one@x');
    const byA = (message: { metadata: Readonly<Record<string, unknown>> }) => message.metadata.user === 'a@example.com';
    expect(sentWithMessageId(store, '<one@x>', byA)).toHaveLength(1);
    expect(sentWithMessageId(store, 'one@x', byA)).toHaveLength(1);
    expect(sentWithMessageId(store, '<two@x>', byA)).toHaveLength(0);
    expect(sentWithMessageId(store, '', () => true)).toHaveLength(0);
  });
});
