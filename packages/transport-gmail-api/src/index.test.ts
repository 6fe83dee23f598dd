import { describe, expect, it } from 'vitest';
import { typeExports } from '../../sandbox/test/public-surface.js';

// What the README documents, and nothing else: a new export is a decision to make here, not an accident.
describe('the public surface', () => {
  it('@mailport/transport-gmail-api', async () => {
    expect(Object.keys(await import('./index.js')).sort()).toEqual(['createGmailTransport', 'createTransportFromUrl', 'gmailAdapter']);
    expect(typeExports(new URL('./index.ts', import.meta.url))).toEqual([
      'GmailServiceAccountAuth',
      'GmailTransport',
      'GmailTransportOptions',
      'GoogleServiceAccountKey',
      'GoogleUserOAuthOptions',
    ]);
  });
  it('@mailport/transport-gmail-api/oauth', async () => {
    expect(Object.keys(await import('./oauth/index.js')).sort()).toEqual([
      'googleServiceAccount',
      'googleTokensFetch',
      'googleUserOAuth',
      'tokenProviderFromUrl',
    ]);
    expect(typeExports(new URL('./oauth/index.ts', import.meta.url))).toEqual([
      'GoogleFetchGrant',
      'GoogleFetchOptions',
      'GoogleServiceAccountKey',
      'GoogleServiceAccountOptions',
      'GoogleUserOAuthOptions',
      'TokenProviderFromUrlOptions',
    ]);
  });
});
