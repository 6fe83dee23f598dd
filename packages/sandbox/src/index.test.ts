import { describe, expect, it } from 'vitest';
import { typeExports } from '../test/public-surface.js';

// What the README documents, and nothing else: a new export is a decision to make here, not an accident.
describe('the public surface', () => {
  it('@mailport/sandbox', async () => {
    expect(Object.keys(await import('./index.js')).sort()).toEqual(['sandboxCertificate', 'startSandbox']);
    expect(typeExports(new URL('./index.ts', import.meta.url))).toEqual([
      'FaultAction',
      'FaultInjector',
      'FaultSpec',
      'LoggedRequest',
      'MessageStore',
      'RequestLog',
      'Sandbox',
      'SandboxAccountOverrides',
      'SandboxAccounts',
      'SandboxApi',
      'SandboxBounceOptions',
      'SandboxEvent',
      'SandboxEventLog',
      'SandboxOptions',
      'SandboxSns',
      'SandboxTransportUrls',
      'SesEventDestination',
      'SnsSubscription',
      'SnsSubscriptionState',
      'StoredMessage',
      'TlsIdentity',
      'TokenIssuer',
      'TokenRegistry',
    ]);
  });
});
