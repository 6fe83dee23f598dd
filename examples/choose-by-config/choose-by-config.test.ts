import { readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMailer, memoryTransport } from '@mailport/core';
import { type Sandbox, startSandbox } from '@mailport/sandbox';
import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sendWelcome } from './send-welcome.ts';

describe('sendWelcome runs unchanged with every transport URL', () => {
  let sandbox: Sandbox;
  const outbox = join(tmpdir(), `mailport-example-${process.pid}`);
  const user = { name: 'Ana Núñez', email: 'ana@example.org' };

  beforeAll(async () => {
    sandbox = await startSandbox();
  });
  afterAll(async () => {
    await sandbox.close();
    await rm(outbox, { recursive: true, force: true });
  });

  async function check(raw: Buffer | undefined, messageId: string): Promise<void> {
    expect(raw).toBeDefined();
    const parsed = await simpleParser(raw ?? Buffer.alloc(0));
    expect(parsed.messageId).toBe(messageId);
    expect(parsed.subject).toBe('Welcome, Ana Núñez!');
    expect(parsed.headers.get('x-welcome-version')).toBe('1');
  }

  it.each([
    ['smtp', 'hello@example.com'],
    ['ses', 'hello@example.com'],
    ['gmail', 'user@example.com'],
    ['graph', 'sender@contoso.example'],
  ] as const)('%s:// through the sandbox', async (api, from) => {
    await using mailer = createMailer({ transport: sandbox.urls[api], defaults: { from } });
    const receipt = await sendWelcome(mailer, user);
    const stored = sandbox.store.last();
    expect(stored?.api).toBe(api);
    expect(stored?.envelope.to).toEqual(['ana@example.org']);
    await check(stored?.raw, receipt.messageId);
  });

  it('memory://', async () => {
    await using mailer = createMailer({ transport: 'memory://example', defaults: { from: 'hello@example.com' } });
    const receipt = await sendWelcome(mailer, user);
    await check(memoryTransport('example').last()?.mime, receipt.messageId);
  });

  it('file://', async () => {
    await using mailer = createMailer({ transport: `file://${outbox}`, defaults: { from: 'hello@example.com' } });
    const receipt = await sendWelcome(mailer, user);
    await check(await readFile(receipt.providerMessageId ?? ''), receipt.messageId);
  });
});
