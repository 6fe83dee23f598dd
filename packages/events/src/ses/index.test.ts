import { describe, expect, it } from 'vitest';
import { typeExports } from '../../../sandbox/test/public-surface.js';

// What the docs describe, and nothing else: a new export is a decision to make here, not an accident.
describe('the public surface', () => {
  it('@mailport/events/ses', async () => {
    expect(Object.keys(await import('./index.js')).sort()).toEqual([
      'createSesWebhook',
      'parseSesEvent',
      'parseSesRecords',
      'snsStringToSign',
      'verifySnsMessage',
    ]);
    expect(typeExports(new URL('./index.ts', import.meta.url))).toEqual([
      'SesWebhook',
      'SesWebhookOptions',
      'SnsCertificateOptions',
      'SnsMessage',
      'SnsRejection',
      'SnsVerification',
      'SnsVerifyOptions',
    ]);
  });
});
