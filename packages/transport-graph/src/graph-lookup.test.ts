import { createMessage, parseTransportUrl, type SentLookup, type Transport } from '@mailport/core';
import { type Sandbox, startSandbox } from '@mailport/sandbox';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createTransportFromUrl } from './index.js';

type LookupTransport = Transport & { lookup(messageId: string, options?: { signal?: AbortSignal }): Promise<SentLookup> };

describe('Graph lookup (Sent Items by internetMessageId) against the sandbox', () => {
  let sandbox: Sandbox;
  const opened: Transport[] = [];

  beforeAll(async () => {
    sandbox = await startSandbox();
  });
  afterAll(() => sandbox.close());
  beforeEach(() => {
    sandbox.store.clear();
    sandbox.faults.clear();
    sandbox.requests.clear();
  });
  afterEach(async () => {
    for (const transport of opened.splice(0)) await transport.close?.();
  });

  const fromUrl = (url: string = sandbox.urls.graph): LookupTransport => {
    const transport = createTransportFromUrl(parseTransportUrl(url), { env: {}, options: {}, tokenProvider: undefined }) as LookupTransport;
    opened.push(transport);
    return transport;
  };
  const message = (subject: string, messageId?: string) =>
    createMessage({ from: 'sender@contoso.example', to: 'ana@example.org', subject, text: 'Hi', messageId });

  it('finds what the mailbox sent (MIME and JSON), a quote in the id included; another id is not found', async () => {
    const mime = fromUrl();
    const json = fromUrl(`${sandbox.urls.graph}&mode=json`);
    const first = message('mime');
    const second = message('json', "<o'brien.1@contoso.example>");
    await mime.send(first);
    await json.send(second);
    expect(await mime.lookup(first.messageId)).toBe('sent');
    expect(await mime.lookup(second.messageId)).toBe('sent');
    expect(await mime.lookup('<never-sent@contoso.example>')).toBe('not-found');
    expect(sandbox.requests.count('graph.listSentItems')).toBe(3);
  });

  it('a message sent with saveToSentItems off is not in Sent Items: not found', async () => {
    const transport = fromUrl(`${sandbox.urls.graph}&mode=json&save_to_sent_items=false`);
    const sent = message('unsaved');
    await transport.send(sent);
    expect(sandbox.store.size).toBe(1);
    expect(await transport.lookup(sent.messageId)).toBe('not-found');
  });

  it('an error or a stalled answer is unknown, never an exception', async () => {
    const transport = fromUrl();
    sandbox.faults.inject({ endpoint: 'graph.listSentItems', status: 403, code: 'ErrorAccessDenied', message: 'Access is denied.' });
    expect(await transport.lookup('<a@contoso.example>')).toBe('unknown');
    sandbox.faults.inject({ endpoint: 'graph.listSentItems', action: 'stall' });
    expect(await transport.lookup('<a@contoso.example>', { signal: AbortSignal.timeout(200) })).toBe('unknown');
  });
});
