import { startSandbox } from '@mailport/sandbox';
import { expect, it } from 'vitest';
import { runExample } from './multi-provider.ts';

it('fails over when the primary throttles, and routes what SES cannot carry to Graph', async () => {
  await using sandbox = await startSandbox();
  const lines = await runExample(sandbox);
  expect(lines).toEqual([
    expect.stringMatching(/^graph healthy: +graph sent$/),
    expect.stringMatching(/^graph throttled: +graph failed \(rate-limited\) -> ses sent$/),
    expect.stringMatching(/^graph resting: +graph resting \(.*\) -> ses sent$/),
    expect.stringMatching(/^small message: +ses sent$/),
    expect.stringMatching(/^large attachment: +ses skipped \(.*MB, more than the 40 MB.*\) -> graph sent$/),
    expect.stringMatching(/^60 recipients: +ses skipped \(60 recipients, more than the 50.*\) -> graph sent$/),
  ]);
  expect(sandbox.store.list().map((message) => message.api)).toEqual(['graph', 'ses', 'ses', 'ses', 'graph', 'graph']);
});
