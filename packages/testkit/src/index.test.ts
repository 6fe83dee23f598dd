import { describe, expect, it } from 'vitest';
import { typeExports } from '../../sandbox/test/public-surface.js';

// What the README documents, and nothing else: a new export is a decision to make here, not an accident.
describe('the public surface', () => {
  it('@mailport/testkit', async () => {
    expect(Object.keys(await import('./index.js')).sort()).toEqual(['contractCases', 'describeTransportContract', 'runErrorTable']);
    expect(typeExports(new URL('./index.ts', import.meta.url))).toEqual([
      'ContractBackend',
      'ContractFault',
      'ContractHarness',
      'ErrorTableOptions',
      'ErrorTableRow',
      'ReceivedMail',
    ]);
  });
});
