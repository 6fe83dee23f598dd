import { createMailer, createTransport, MailError, type SendErrorEvent } from '@mailport/core';
import { type Sandbox, startSandbox } from '@mailport/sandbox';
import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

// Graph's JSON mode carries at most 5 custom headers, each named x-... (internetMessageHeaders):
// what the transport declares must let the mailer send those, and refuse the rest before any request.

let sandbox: Sandbox;
beforeAll(async () => {
  sandbox = await startSandbox();
});
afterAll(() => sandbox.close());
beforeEach(() => {
  sandbox.store.clear();
  sandbox.requests.clear();
});

const jsonUrl = (): string => `${sandbox.urls.graph}&mode=json`;
const base = { from: 'sender@contoso.example', to: 'ana@example.org', subject: 'Hello', text: 'Hi Ana' };
const graphRequests = (): number => sandbox.requests.count('graph.*');

async function failure(promise: Promise<unknown>): Promise<MailError> {
  const error = await promise.then(
    () => new Error('expected the send to fail'),
    (caught: unknown) => caught,
  );
  expect(MailError.isInstance(error), String(error)).toBe(true);
  return error as MailError;
}

describe('graph JSON mode: custom headers through createMailer', () => {
  it('sends 5 x- headers, which arrive as written', async () => {
    const headers = Object.fromEntries(Array.from({ length: 5 }, (_, index) => [`X-Tag-${index}`, `value ${index}`]));
    const receipt = await createMailer({ transport: jsonUrl() }).send({ ...base, headers });
    expect(receipt.details).toMatchObject({ mode: 'json', path: 'sendMail' });
    const parsed = await simpleParser(sandbox.store.last()?.raw ?? Buffer.alloc(0));
    for (let index = 0; index < 5; index++) expect(parsed.headers.get(`x-tag-${index}`)).toBe(`value ${index}`);
  });

  it('sends the HTML body, Bcc, Reply-To and attachments along with the headers', async () => {
    const receipt = await createMailer({ transport: jsonUrl() }).send({
      ...base,
      html: '<p>Hi <b>Ana</b></p>',
      bcc: 'audit@example.net',
      replyTo: 'help@contoso.example',
      headers: { 'X-Campaign': 'spring' },
      attachments: [{ filename: 'notes.txt', content: 'notes' }],
    });
    const stored = sandbox.store.last();
    expect(stored?.envelope.to).toEqual(['ana@example.org', 'audit@example.net']);
    const parsed = await simpleParser(stored?.raw ?? Buffer.alloc(0));
    expect(parsed.messageId).toBe(receipt.messageId);
    expect(parsed.html).toContain('<p>Hi <b>Ana</b></p>');
    expect(parsed.bcc).toBeUndefined();
    expect(parsed.replyTo?.value[0]?.address).toBe('help@contoso.example');
    expect(parsed.headers.get('x-campaign')).toBe('spring');
    expect(parsed.attachments[0]?.content.toString()).toBe('notes');
  });

  it('declares what it carries in its capabilities: at most 5 headers, each named x-', async () => {
    const transport = await createTransport(jsonUrl(), { env: {} });
    expect(transport.capabilities.customHeaders).toMatchObject({ max: 5, description: expect.stringMatching(/x-/) });
    await transport.close?.();
  });

  it.each([
    [
      '6 x- headers',
      Object.fromEntries(Array.from({ length: 6 }, (_, index) => [`X-Tag-${index}`, 'v'])),
      /6 custom headers/,
      'headers.X-Tag-5',
    ],
    ['a header not named x-', { 'Auto-Submitted': 'auto-generated' }, /the header Auto-Submitted/, 'headers.Auto-Submitted'],
  ])('refuses %s with unsupported, before any request, naming the header', async (_name, headers, reason, field) => {
    const events: SendErrorEvent[] = [];
    const error = await failure(
      createMailer({ transport: jsonUrl(), hooks: { onError: (event) => void events.push(event) } }).send({ ...base, headers }),
    );
    expect(error).toMatchObject({ code: 'unsupported', retryable: false, field });
    expect(error.message).toMatch(reason);
    expect(error.message).toMatch(/at most 5, each named x-/);
    expect(events.map((event) => event.attempt)).toEqual([0]);
    expect(graphRequests()).toBe(0);
  });

  it('inside failover(), a message JSON mode cannot carry goes to a member that can', async () => {
    const url = `failover(${jsonUrl()} ${sandbox.urls.graph})`;
    const receipt = await createMailer({ transport: url }).send({ ...base, headers: { 'Auto-Submitted': 'auto-generated' } });
    expect(receipt.route?.map((step) => step.outcome)).toEqual(['skipped', 'sent']);
    expect(receipt.route?.[0]?.reason).toMatch(/Auto-Submitted/);
    expect(sandbox.store.last()?.metadata).toMatchObject({ mode: 'mime' });
    // And one JSON mode carries stays with the first member.
    await createMailer({ transport: url }).send({ ...base, headers: { 'X-Campaign': 'spring' } });
    expect(sandbox.store.last()?.metadata).toMatchObject({ mode: 'json' });
  });
});
