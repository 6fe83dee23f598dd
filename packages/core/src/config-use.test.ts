import { describe, expect, it } from 'vitest';
import { adapterLoadFailure, createTransport, registerTransportPackage, type TransportAdapter } from './config.js';
import { MailError } from './errors.js';
import { memoryTransport } from './memory-transport.js';

// createTransport(url, { use }): adapters imported by the program, for bundles (issue 11).

const seen: string[] = [];
const postbox: TransportAdapter = {
  schemes: ['postbox', 'postboxes'],
  create: (url, context) => {
    seen.push(`${url.scheme}://${url.host} ${context.env.POSTBOX_TOKEN ?? ''}`);
    return memoryTransport(`use-${url.host}`);
  },
};

describe('createTransport(url, { use })', () => {
  it('serves the schemes of the adapters given, with the env given', async () => {
    const transport = await createTransport('POSTBOX://one', { use: [postbox], env: { POSTBOX_TOKEN: 't' } });
    expect(transport.id).toContain('use-one');
    await createTransport('postboxes://two', { use: [postbox], env: {} });
    expect(seen.slice(-2)).toEqual(['postbox://one t', 'postboxes://two ']);
  });

  it('reaches the members of failover(...)', async () => {
    const transport = await createTransport('failover(postbox://a memory://b)', { use: [postbox], env: {} });
    expect(transport.id).toContain('failover');
    expect(seen.at(-1)).toBe('postbox://a ');
  });

  it('comes before a package registered for the same scheme, so no import by name happens', async () => {
    registerTransportPackage('postbox', '@mailport/not-a-package');
    await expect(createTransport('postbox://c', { env: {} })).rejects.toThrow(/not installed/);
    await expect(createTransport('postbox://c', { use: [postbox], env: {} })).resolves.toBeDefined();
  });
});

describe('adapterLoadFailure', () => {
  const cases: [string, unknown, RegExp, RegExp][] = [
    [
      'not installed (Node)',
      Object.assign(new Error("Cannot find package '@mailport/transport-ses' imported from /app/core.js"), {
        code: 'ERR_MODULE_NOT_FOUND',
      }),
      /which is not installed/,
      /^Run: npm install @mailport\/transport-ses\. In a bundled program.*use: \[sesAdapter\]/,
    ],
    [
      'a Worker bundle (workerd)',
      new Error('No such module "@mailport/transport-ses".\n  imported from "worker.js"'),
      /cannot be imported by name here: a bundled program/,
      /^Import \{ sesAdapter \} from '@mailport\/transport-ses' and pass it: createTransport\(url, \{ use: \[sesAdapter\] \}\)/,
    ],
    [
      'the package fails while loading',
      new SyntaxError('Unexpected token'),
      /@mailport\/transport-ses failed to load: Unexpected token/,
      /matches @mailport\/core/,
    ],
  ];
  it.each(cases)('%s', (_name, error, message, remediation) => {
    const failure = adapterLoadFailure('@mailport/transport-ses', 'ses', error);
    expect(MailError.isInstance(failure)).toBe(true);
    expect(failure.code).toBe('configuration');
    expect(failure.message).toMatch(message);
    expect(failure.remediation).toMatch(remediation);
  });

  it('never tells a bundled program to npm install', () => {
    const failure = adapterLoadFailure('@mailport/transport-graph', 'graph', new Error('No such module "@mailport/transport-graph"'));
    expect(failure.remediation).not.toContain('npm install');
    expect(failure.remediation).toContain('graphAdapter');
  });
});
