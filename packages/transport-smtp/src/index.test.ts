import { describe, expect, it } from 'vitest';
import { typeExports } from '../../sandbox/test/public-surface.js';

// What the README documents, and nothing else: a new export is a decision to make here, not an accident.
describe('the public surface', () => {
  it('@mailport/transport-smtp', async () => {
    expect(Object.keys(await import('./index.js')).sort()).toEqual(['createSmtpTransport', 'createTransportFromUrl', 'smtpAdapter']);
    expect(typeExports(new URL('./index.ts', import.meta.url))).toEqual([
      'SmtpAdapterOptions',
      'SmtpDsnNotify',
      'SmtpDsnOptions',
      'SmtpOAuthAuth',
      'SmtpPasswordAuth',
      'SmtpTransport',
      'SmtpTransportOptions',
      'SmtpVerpOptions',
    ]);
  });
});
