import { describe, expect, it } from 'vitest';
import { typeExports } from '../../sandbox/test/public-surface.js';

// What the README documents, and nothing else: a new export is a decision to make here, not an accident.
describe('the public surface', () => {
  it('@mailport/events', async () => {
    expect(Object.keys(await import('./index.js')).sort()).toEqual([
      'createEventPipeline',
      'createFileSendLog',
      'createFileSuppressionStore',
      'createMemorySendLog',
      'createMemorySuppressionStore',
      'createUnsubscribe',
      'eventId',
      'mailEventTypes',
      'nodeListener',
      'providerMatrix',
      'suppressionFilter',
      'suppressionKey',
    ]);
    expect(typeExports(new URL('./index.ts', import.meta.url))).toEqual([
      'EventPipeline',
      'EventPipelineOptions',
      'FileSendLog',
      'FileSendLogOptions',
      'FileSuppressionStore',
      'MemorySendLog',
      'MemorySendLogOptions',
      'NodeListenerOptions',
      'SuppressionFilterOptions',
      'Unsubscribe',
      'UnsubscribeOptions',
    ]);
    // The model, re-exported whole by `export *`.
    expect(typeExports(new URL('./model.ts', import.meta.url))).toEqual([
      'BounceDetails',
      'ComplaintDetails',
      'DelayDetails',
      'EventSource',
      'JoinMethod',
      'MailEvent',
      'MailEventType',
      'SendLog',
      'SendLogEntry',
      'Support',
      'Suppression',
      'SuppressionReason',
      'SuppressionStore',
    ]);
  });

  it('the main entry loads no event source', async () => {
    const { readFile } = await import('node:fs/promises');
    const files = [
      'index.ts',
      'send-log.ts',
      'send-log-file.ts',
      'suppression.ts',
      'suppression-file.ts',
      'pipeline.ts',
      'unsubscribe.ts',
      'node-handler.ts',
    ];
    for (const file of files) {
      const source = await readFile(new URL(`./${file}`, import.meta.url), 'utf8');
      const imports = [...source.matchAll(/^import (?!type )[^'"]*['"]([^'"]+)['"]/gm)].map(([, from]) => from);
      for (const from of imports)
        expect(from, `${file} imports ${from}`).toMatch(
          /^(node:|\.\/(model|send-log|suppression|node-handler)\.js$|@mailport\/core\/verp$)/,
        );
    }
  });
});
