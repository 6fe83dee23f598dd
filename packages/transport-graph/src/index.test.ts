import { describe, expect, it } from 'vitest';
import { typeExports } from '../../sandbox/test/public-surface.js';

// What the README documents, and nothing else: a new export is a decision to make here, not an accident.
describe('the public surface', () => {
  it('@mailport/transport-graph', async () => {
    expect(Object.keys(await import('./index.js')).sort()).toEqual([
      'createGraphTransport',
      'createTransportFromUrl',
      'graphAdapter',
      'graphEndpoints',
    ]);
    expect(typeExports(new URL('./index.ts', import.meta.url))).toEqual([
      'GraphAdapterOptions',
      'GraphAppOnlyAuth',
      'GraphDelegatedAuth',
      'GraphTransport',
      'GraphTransportOptions',
    ]);
  });
  it('@mailport/transport-graph/oauth', async () => {
    expect(Object.keys(await import('./oauth/index.js')).sort()).toEqual([
      'mapMicrosoftTokenError',
      'microsoftAppOnly',
      'microsoftAppOnlyFetch',
      'microsoftAuthorityHosts',
      'microsoftDelegated',
      'tokenProviderFromUrl',
    ]);
    expect(typeExports(new URL('./oauth/index.ts', import.meta.url))).toEqual([
      'MicrosoftAppOnlyFetchOptions',
      'MicrosoftAppOnlyOptions',
      'MicrosoftDelegatedOptions',
      'MicrosoftTokenFailure',
      'TokenProviderFromUrlOptions',
    ]);
  });
});
