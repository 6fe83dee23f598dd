import { createMailer, MailError } from '@mailport/core';
import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Sandbox, startSandbox } from './sandbox.js';

describe('sandbox: SMTP', () => {
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

  it('accepts mail over STARTTLS with AUTH and stores it with its envelope', async () => {
    await using mailer = createMailer({ transport: `${sandbox.urls.smtp}&require_tls=true` });
    const receipt = await mailer.send({
      from: 'app@example.com',
      to: 'ana@example.org',
      bcc: 'audit@example.net',
      subject: 'Hi',
      text: 'Hello',
    });
    const stored = sandbox.store.last();
    expect(stored?.api).toBe('smtp');
    expect(stored?.envelope.to).toEqual(['ana@example.org', 'audit@example.net']);
    expect(stored?.metadata).toMatchObject({ user: 'sandbox', secure: true });
    expect(stored?.providerMessageId).toBe(receipt.providerMessageId);
    expect((await simpleParser(stored?.raw ?? Buffer.alloc(0))).messageId).toBe(receipt.messageId);
  });

  it('refuses a wrong password and mail without AUTH', async () => {
    const wrong = sandbox.urls.smtp.replace('sandbox-password', 'nope');
    await expect(
      createMailer({ transport: wrong, retry: false }).send({ from: 'a@example.com', to: 'b@example.org', text: 'x' }),
    ).rejects.toMatchObject({ code: 'auth' });
    const anonymous = sandbox.urls.smtp.replace('sandbox:sandbox-password@', '');
    const error = await createMailer({ transport: anonymous, retry: false })
      .send({ from: 'a@example.com', to: 'b@example.org', text: 'x' })
      .catch((caught: unknown) => caught);
    expect(MailError.isInstance(error) && error.code).toBe('auth');
    expect(sandbox.store.size).toBe(0);
  });

  it('injects faults at each stage', async () => {
    await using mailer = createMailer({ transport: sandbox.urls.smtp, retry: false });
    sandbox.faults.inject({ endpoint: 'smtp.RCPT', status: 550, message: '5.1.1 No such user' });
    await expect(mailer.send({ from: 'a@example.com', to: 'b@example.org', text: 'x' })).rejects.toMatchObject({
      code: 'recipient-rejected',
    });
    sandbox.faults.inject({ endpoint: 'smtp.DATA', action: 'drop' });
    await expect(mailer.send({ from: 'a@example.com', to: 'b@example.org', text: 'x' })).rejects.toMatchObject({ code: 'unknown-outcome' });
    expect(sandbox.store.size).toBe(1);
    expect(sandbox.requests.count('smtp.DATA')).toBe(1);
  });

  it('serves its own API over HTTP', async () => {
    await using mailer = createMailer({ transport: sandbox.urls.smtp });
    await mailer.send({ from: 'a@example.com', to: 'b@example.org', subject: 'Via API', text: 'x' });
    const headers = { authorization: `Bearer ${sandbox.controlToken}` };
    const list = (await (await fetch(`${sandbox.httpUrl}/sandbox/messages`, { headers })).json()) as {
      messages: { id: string; api: string }[];
    };
    expect(list.messages.map((message) => message.api)).toEqual(['smtp']);
    const raw = await (await fetch(`${sandbox.httpUrl}/sandbox/messages/${list.messages[0]?.id}/raw`, { headers })).text();
    expect(raw).toContain('Subject: Via API');
    const injected = await fetch(`${sandbox.httpUrl}/sandbox/faults`, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json' },
      body: JSON.stringify({ endpoint: 'smtp.MAIL', status: 421 }),
    });
    expect(injected.status).toBe(201);
    expect(sandbox.faults.pending()).toHaveLength(1);
    await fetch(`${sandbox.httpUrl}/sandbox/messages`, { method: 'DELETE', headers });
    expect(sandbox.store.size).toBe(0);
  });
});
