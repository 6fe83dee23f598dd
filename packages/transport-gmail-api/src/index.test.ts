import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

// The names of `export { type X }`, `export type { X }` and `export interface X` in an entry point's source.
function typeExports(file: string): string[] {
  const source = readFileSync(new URL(file, import.meta.url), 'utf8');
  const listed = [...source.matchAll(/export (type )?\{([^}]*)\}/g)].flatMap(([, allTypes, names = '']) =>
    names
      .split(',')
      .map((name) => name.trim())
      .filter((name) => name !== '' && (allTypes !== undefined || name.startsWith('type ')))
      .map((name) => name.replace(/^type /, '')),
  );
  const declared = [...source.matchAll(/export (?:interface|type) (\w+)/g)].map(([, name = '']) => name);
  return [...listed, ...declared].sort();
}

// What the README documents, and nothing else: a new export is a decision to make here, not an accident.
describe('the public surface', () => {
  it('@mailport/transport-gmail-api', async () => {
    expect(Object.keys(await import('./index.js')).sort()).toEqual(['createGmailTransport', 'createTransportFromUrl', 'gmailAdapter']);
    expect(typeExports('./index.ts')).toEqual([
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
    expect(typeExports('./oauth/index.ts')).toEqual([
      'GoogleFetchGrant',
      'GoogleFetchOptions',
      'GoogleServiceAccountKey',
      'GoogleServiceAccountOptions',
      'GoogleUserOAuthOptions',
      'TokenProviderFromUrlOptions',
    ]);
  });
});
