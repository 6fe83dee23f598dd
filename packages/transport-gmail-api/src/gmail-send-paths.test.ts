import { randomBytes } from 'node:crypto';
import { createMailer, MailError, type SendErrorEvent } from '@mailport/core';
import { type Sandbox, startSandbox } from '@mailport/sandbox';
import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

// Which endpoint a message takes, and what a failure there means, through createMailer and a
// gmail:// URL against the sandbox (whose JSON endpoint answers 413 above 8 MiB of body, as
// Google's front end does at a few MB).

let sandbox: Sandbox;

beforeAll(async () => {
  sandbox = await startSandbox();
});
afterAll(() => sandbox.close());
beforeEach(() => {
  sandbox.store.clear();
  sandbox.faults.clear();
  sandbox.requests.clear();
});

const base = { from: 'user@example.com', to: 'ana@example.org', subject: 'Report', text: 'Attached.' };
const sends = (): { path: string; outcome: unknown }[] =>
  sandbox.requests.entries.filter((entry) => entry.endpoint === 'gmail.messages.send').map(({ path, outcome }) => ({ path, outcome }));

async function failure(promise: Promise<unknown>): Promise<MailError> {
  const error = await promise.then(
    () => new Error('expected the send to fail'),
    (caught: unknown) => caught,
  );
  expect(MailError.isInstance(error), String(error)).toBe(true);
  return error as MailError;
}

describe('gmail: choosing the endpoint', () => {
  it('chooses by the size of the JSON body: a 4 MB message (5.5 MB once base64url-encoded) takes the upload endpoint', async () => {
    const report = randomBytes(3_000_000);
    const receipt = await createMailer({ transport: sandbox.urls.gmail }).send({
      ...base,
      attachments: [{ filename: 'report.bin', content: report }],
    });
    expect(receipt.details).toMatchObject({ uploadType: 'media' });
    expect(sends()).toHaveLength(1);
    expect(sends()[0]?.path).toMatch(/^\/upload\/gmail\/v1\/users\/user%40example\.com\/messages\/send/);
    const parsed = await simpleParser(sandbox.store.last()?.raw ?? Buffer.alloc(0));
    expect(parsed.attachments[0]?.content.equals(report)).toBe(true);
  });

  it('a JSON body Google refuses with 413 goes once more through the upload endpoint, and arrives once', async () => {
    // A threshold far above what the JSON endpoint takes: the 413 must not end the send.
    const report = randomBytes(5_000_000);
    const receipt = await createMailer({ transport: `${sandbox.urls.gmail}&upload_threshold=40000000` }).send({
      ...base,
      attachments: [{ filename: 'report.bin', content: report }],
    });
    expect(receipt.attempts).toBe(1);
    expect(receipt.details).toMatchObject({ uploadType: 'media', jsonRefused: true });
    expect(sends().map((entry) => entry.outcome)).toEqual([413, 200]);
    expect(sandbox.store.size).toBe(1);
    const parsed = await simpleParser(sandbox.store.last()?.raw ?? Buffer.alloc(0));
    expect(parsed.messageId).toBe(receipt.messageId);
    expect(parsed.attachments[0]?.content.equals(report)).toBe(true);
  });

  it('small messages still go as JSON', async () => {
    const receipt = await createMailer({ transport: sandbox.urls.gmail }).send(base);
    expect(receipt.details).toMatchObject({ uploadType: 'json' });
    expect(sends()[0]?.path).toMatch(/^\/gmail\/v1\/users\//);
  });
});

describe('gmail: a 5xx after the message was handed over', () => {
  it('is an unknown outcome, never retried: Gmail may have sent it', async () => {
    sandbox.faults.inject({ endpoint: 'gmail.messages.send', status: 500, code: 'backendError' });
    const events: SendErrorEvent[] = [];
    const mailer = createMailer({ transport: sandbox.urls.gmail, hooks: { onError: (event) => void events.push(event) } });
    const error = await failure(mailer.send(base));
    expect(error).toMatchObject({ code: 'unknown-outcome', retryable: false, statusCode: 500, providerCode: 'backendError' });
    expect(error.remediation).toMatch(/Sent folder/);
    expect(events.map((event) => event.willRetry)).toEqual([false]);
    expect(sends()).toHaveLength(1);
  });

  it('a 5xx to a read before the send (the send-as list) is transient and retried', async () => {
    sandbox.faults.inject({ endpoint: 'gmail.sendAs.list', status: 503, code: 'backendError' });
    const receipt = await createMailer({ transport: sandbox.urls.gmail, retry: { initialDelayMs: 1 } }).send(base);
    expect(receipt.attempts).toBe(2);
    expect(sandbox.store.size).toBe(1);
  });
});
