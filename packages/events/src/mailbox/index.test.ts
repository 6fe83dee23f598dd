import { describe, expect, it } from 'vitest';
import { typeExports } from '../../../sandbox/test/public-surface.js';

// What the docs describe, and nothing else: a new export is a decision to make here, not an accident.
describe('the public surface', () => {
  it('@mailport/events/mailbox', async () => {
    expect(Object.keys(await import('./index.js')).sort()).toEqual(['createGmailReportReader', 'createGraphReportReader']);
    expect(typeExports(new URL('./index.ts', import.meta.url))).toEqual([
      'GmailReportReaderOptions',
      'GraphReportReaderOptions',
      'MailboxPollResult',
      'MailboxReportReader',
      'MailboxReportReaderOptions',
    ]);
  });
});
