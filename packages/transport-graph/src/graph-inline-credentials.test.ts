import { createMailer } from '@mailport/core';
import { type Sandbox, startSandbox } from '@mailport/sandbox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphAdapter } from './index.js';

// Issue 11: no file required. A Worker has secrets and KV, not files: the CA (ca_file) and the
// rotating delegated refresh token (refresh_token_file) are given in code, the rotated token
// stored through onRefreshToken (in a Worker: KV).

let sandbox: Sandbox;
beforeAll(async () => {
  sandbox = await startSandbox();
});
afterAll(() => sandbox.close());

/** A stand-in for Workers KV. */
function keyValueStore(initial: Record<string, string>) {
  const values = new Map(Object.entries(initial));
  return { get: async (key: string) => values.get(key) ?? null, put: async (key: string, value: string) => void values.set(key, value) };
}

describe('graph:// with secrets in code', () => {
  it('app-only: the CA as PEM text (adapters.graph.ca) instead of ca_file', async () => {
    const { tenantId, clientId, clientSecret } = sandbox.accounts.microsoft;
    const url = `graph://sender@contoso.example?tenant=${tenantId}&client_id=${clientId}&client_secret=${encodeURIComponent(clientSecret)}&authority_host=${encodeURIComponent(sandbox.httpsUrl)}&endpoint=${encodeURIComponent(`${sandbox.httpUrl}/v1.0`)}`;
    await using mailer = createMailer({
      transport: url,
      transportOptions: { use: [graphAdapter], env: {}, adapters: { graph: { ca: sandbox.ca } } },
    });
    await mailer.send({ from: 'sender@contoso.example', to: 'ana@example.org', subject: 'Inline CA', text: 'No file.' });
    expect(sandbox.store.list({ api: 'graph' })).toHaveLength(1);
  });

  it('delegated: the refresh token from a store, each rotated one put back', async () => {
    sandbox.store.clear();
    const kv = keyValueStore({ 'graph-refresh-token': sandbox.accounts.microsoft.refreshToken });
    const { tenantId, clientId } = sandbox.accounts.microsoft;
    const url = `graph://sender@contoso.example?tenant=${tenantId}&client_id=${clientId}&authority_host=${encodeURIComponent(sandbox.httpUrl)}&endpoint=${encodeURIComponent(`${sandbox.httpUrl}/v1.0`)}`;
    const send = async (): Promise<void> => {
      await using mailer = createMailer({
        transport: url,
        transportOptions: {
          use: [graphAdapter],
          env: {},
          adapters: {
            graph: {
              refreshToken: (await kv.get('graph-refresh-token')) ?? '',
              onRefreshToken: (token) => kv.put('graph-refresh-token', token),
            },
          },
        },
      });
      await mailer.send({ from: 'sender@contoso.example', to: 'ana@example.org', subject: 'Delegated', text: 'From KV.' });
    };
    await send();
    const rotated = await kv.get('graph-refresh-token');
    expect(rotated).not.toBe(sandbox.accounts.microsoft.refreshToken);
    // A second instance (another isolate) starts from the stored token, which still works.
    await send();
    expect(await kv.get('graph-refresh-token')).not.toBe(rotated);
    expect(sandbox.store.list({ api: 'graph' })).toHaveLength(2);
  });
});
