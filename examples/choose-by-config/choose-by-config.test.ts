import { readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMailer, memoryTransport } from '@mailport/core';
import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedSmtp } from './embedded-smtp.ts';
import { sendWelcome } from './send-welcome.ts';

describe('sendWelcome runs unchanged with every transport URL', () => {
  let smtp: Awaited<ReturnType<typeof startEmbeddedSmtp>>;
  const outbox = join(tmpdir(), `mailport-example-${process.pid}`);

  beforeAll(async () => {
    smtp = await startEmbeddedSmtp();
  });
  afterAll(async () => {
    await smtp.close();
    await rm(outbox, { recursive: true, force: true });
  });

  const user = { name: 'Ana Núñez', email: 'ana@example.com' };
  const defaults = { from: 'The Shop <hello@shop.example>' };

  async function check(raw: Buffer | undefined, messageId: string): Promise<void> {
    expect(raw).toBeDefined();
    const parsed = await simpleParser(raw ?? Buffer.alloc(0));
    expect(parsed.messageId).toBe(messageId);
    expect(parsed.subject).toBe('Welcome, Ana Núñez!');
    expect(parsed.headers.get('x-welcome-version')).toBe('1');
  }

  it('smtp://', async () => {
    await using mailer = createMailer({ transport: smtp.url, defaults });
    const receipt = await sendWelcome(mailer, user);
    await check(smtp.delivered.at(-1)?.raw, receipt.messageId);
    expect(smtp.delivered.at(-1)?.envelope.to).toEqual(['ana@example.com']);
  });

  it('memory://', async () => {
    await using mailer = createMailer({ transport: 'memory://example', defaults });
    const receipt = await sendWelcome(mailer, user);
    await check(memoryTransport('example').last()?.mime, receipt.messageId);
  });

  it('file://', async () => {
    await using mailer = createMailer({ transport: `file://${outbox}`, defaults });
    const receipt = await sendWelcome(mailer, user);
    await check(await readFile(receipt.providerMessageId ?? ''), receipt.messageId);
  });
});
