import { describe, expect, it } from 'vitest';
import { capabilityError, checkCapabilities, formatBytes, sizeProblem } from './capabilities.js';
import { createMessage, type MessageInput } from './message.js';
import type { TransportCapabilities } from './transport.js';

const none: TransportCapabilities = {
  maxMessageSize: 100_000,
  maxRecipients: 1,
  customHeaders: false,
  envelope: false,
  smtpUtf8: false,
  concurrency: 1,
};
const holder = { id: 'kit://limited', capabilities: none };
const base: MessageInput = { from: 'shop@example.com', to: 'ana@example.org', subject: 'Hi', text: 'Hello' };

describe('checkCapabilities', () => {
  it('says nothing, at once, about a message that fits', () => {
    expect(checkCapabilities(createMessage(base), holder)).toBeUndefined();
  });

  it.each<[string, Partial<MessageInput>, object]>([
    [
      'too many recipients',
      { cc: 'bo@example.net' },
      { code: 'invalid-message', capability: 'maxRecipients', field: 'to', reason: '2 recipients, more than the 1 kit://limited accepts' },
    ],
    [
      'SMTPUTF8',
      { to: 'zoë@example.org' },
      {
        code: 'unsupported',
        capability: 'smtpUtf8',
        field: 'to[0]',
        reason: 'a non-ASCII address needs SMTPUTF8, which kit://limited does not support',
      },
    ],
    [
      'custom headers',
      { headers: { 'X-Campaign': 'spring' } },
      {
        code: 'unsupported',
        capability: 'customHeaders',
        field: 'headers.X-Campaign',
        reason: 'custom headers, which kit://limited does not pass through',
      },
    ],
    [
      'a separate envelope',
      { envelope: { from: 'bounces@example.com' } },
      { code: 'unsupported', capability: 'envelope', field: 'envelope', reason: 'a separate envelope, which kit://limited cannot set' },
    ],
  ])('finds %s, and skip leaves it out', async (_name, input, problem) => {
    const message = createMessage({ ...base, ...input });
    expect(await checkCapabilities(message, holder)).toEqual(problem);
    const capability = (problem as { capability: 'maxRecipients' }).capability;
    expect(await checkCapabilities(message, holder, { skip: [capability] })).toBeUndefined();
  });

  describe('a header rule: some custom headers, not any', () => {
    const rule = { max: 2, names: /^x-/i, description: 'at most 2, each named x-...' };
    const ruled = { id: 'kit://ruled', capabilities: { ...none, maxRecipients: undefined, customHeaders: rule } };
    it('carries headers within the rule', () => {
      expect(checkCapabilities(createMessage({ ...base, headers: { 'X-A': '1', 'x-b': '2' } }), ruled)).toBeUndefined();
    });
    it('refuses a name outside it, naming the header and the rule', async () => {
      const message = createMessage({ ...base, headers: { 'X-A': '1', 'Auto-Submitted': 'auto-generated' } });
      expect(await checkCapabilities(message, ruled)).toEqual({
        code: 'unsupported',
        capability: 'customHeaders',
        field: 'headers.Auto-Submitted',
        reason: 'the header Auto-Submitted, which kit://ruled does not pass through (it takes at most 2, each named x-...)',
      });
    });
    it('refuses more headers than it takes, naming the first one over', async () => {
      const message = createMessage({ ...base, headers: { 'X-A': '1', 'X-B': '2', 'X-C': '3' } });
      expect(await checkCapabilities(message, ruled)).toMatchObject({
        code: 'unsupported',
        field: 'headers.X-C',
        reason: '3 custom headers, which kit://ruled does not pass through (it takes at most 2, each named x-...)',
      });
      expect(await checkCapabilities(message, ruled, { skip: ['customHeaders'] })).toBeUndefined();
    });
  });

  it('renders only a message whose size bound does not fit, and then answers with a promise', async () => {
    const large = createMessage({ ...base, attachments: [{ filename: 'big.bin', content: Buffer.alloc(200_000, 1) }] });
    const answer = checkCapabilities(large, holder);
    expect(answer).toBeInstanceOf(Promise);
    expect(await answer).toMatchObject({ code: 'invalid-message', capability: 'maxMessageSize', field: 'body' });
    expect((await answer)?.reason).toMatch(/^27\d\.\d KB, more than the 100 KB kit:\/\/limited accepts$/);
    expect(await checkCapabilities(large, holder, { skip: ['maxMessageSize'] })).toBeUndefined();
  });
});

describe('sizeProblem and capabilityError', () => {
  it('measures a size the transport rendered itself', () => {
    expect(sizeProblem(100_000, holder)).toBeUndefined();
    expect(sizeProblem(100_001, holder)?.reason).toBe('100 KB, more than the 100 KB kit://limited accepts');
    expect(sizeProblem(10 ** 9, { id: 'kit://unlimited', capabilities: { ...none, maxMessageSize: undefined } })).toBeUndefined();
  });

  it('makes the MailError with the code, the field and a remediation for the capability', () => {
    const error = capabilityError(
      { code: 'unsupported', capability: 'envelope', field: 'envelope', reason: 'a separate envelope, which kit://limited cannot set' },
      'kit://limited',
    );
    expect(error).toMatchObject({
      code: 'unsupported',
      field: 'envelope',
      transport: 'kit://limited',
      retryable: false,
      message: 'kit://limited cannot send this message: a separate envelope, which kit://limited cannot set',
    });
    expect(error.remediation).toMatch(/envelope/);
  });

  it('formats sizes in decimal units, as providers state their limits', () => {
    expect([formatBytes(900), formatBytes(1500), formatBytes(40_000_000)]).toEqual(['900 B', '1.5 KB', '40 MB']);
  });
});
