import { startSandbox } from '@mailport/sandbox';
import { expect, it } from 'vitest';
import { migrate } from './migrate.ts';

it('moves from SMTP to Graph by changing the URL only', async () => {
  await using sandbox = await startSandbox();
  const lines = await migrate(sandbox);
  expect(lines[0]).toMatch(/^1\. .*sent via smtp:/);
  expect(lines[1]).toMatch(/^2\. .*auth: .*5\.7\.139/);
  expect(lines[1]).toMatch(/what to do: .*Graph/);
  expect(lines[2]).toMatch(/^3\. .*sent via graph:/);
  expect(lines[3]).toMatch(/^4\. .*sent via graph:/);
  expect(sandbox.store.list().map((message) => message.api)).toEqual(['smtp', 'graph', 'graph']);
});
