import { describe, expect, it } from 'vitest';
import { typeExports } from '../../sandbox/test/public-surface.js';

// What the README (From code) documents, and nothing else: a new export is a decision to make here, not an accident.
describe('the public surface', () => {
  it('@mailport/cli', async () => {
    expect(Object.keys(await import('./index.js')).sort()).toEqual(['exitCodes', 'memoryIo', 'processIo', 'run']);
    expect(typeExports(new URL('./index.ts', import.meta.url))).toEqual(['CliIo', 'ExitCodes']);
  });
});
