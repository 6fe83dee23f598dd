import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { simpleParser } from 'mailparser';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MailError } from './errors.js';
import { createFileTransport } from './file-transport.js';
import { createMemoryTransport } from './memory-transport.js';
import { createMessage, type MessageInput } from './message.js';

const input = (overrides: Partial<MessageInput> = {}): MessageInput => ({
  from: 'orders@shop.example',
  to: 'ana@example.com',
  bcc: 'Audit <audit@shop.example>',
  subject: 'Receipt',
  text: 'line one\nline two\r.\n',
  ...overrides,
});

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection, but the promise resolved');
}

describe('createFileTransport', () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'mailport-file-'));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('writes one .eml file per message, creating the directory', async () => {
    const directory = join(root, 'outbox', 'nested');
    const transport = createFileTransport({ directory });
    expect(transport.id).toBe(`file://${directory}`);
    const first = await transport.send(createMessage(input()));
    const second = await transport.send(createMessage(input({ subject: 'Second' })));
    const files = (await readdir(directory)).sort();
    expect(files).toHaveLength(2);
    expect(files.every((name) => name.endsWith('.eml'))).toBe(true);
    expect([first.providerMessageId, second.providerMessageId].sort()).toEqual(files.map((name) => join(directory, name)));
  });

  it('writes CRLF only and keeps Bcc, so the file records every recipient', async () => {
    const transport = createFileTransport({ directory: root });
    const message = createMessage(input());
    const receipt = await transport.send(message);
    const bytes = await readFile(receipt.providerMessageId ?? '');
    const text = bytes.toString('latin1');
    expect(text).not.toMatch(/\r(?!\n)|(?<!\r)\n/);
    const parsed = await simpleParser(bytes);
    expect(parsed.messageId).toBe(message.messageId);
    expect(parsed.text).toBe('line one\nline two\n.\n');
    const bcc = Array.isArray(parsed.bcc) ? parsed.bcc : [parsed.bcc];
    expect(bcc.flatMap((field) => field?.value.map((entry) => entry.address) ?? [])).toEqual(['audit@shop.example']);
  });

  it('returns a receipt naming the file and the accepted recipients', async () => {
    const transport = createFileTransport({ directory: root });
    const message = createMessage(input());
    const receipt = await transport.send(message);
    expect(receipt).toMatchObject({
      messageId: message.messageId,
      transport: `file://${root}`,
      accepted: ['ana@example.com', 'audit@shop.example'],
      rejected: [],
      attempts: 1,
    });
    expect(receipt.providerMessageId?.startsWith(root)).toBe(true);
    expect(Object.isFrozen(receipt)).toBe(true);
    expect((await readdir(root)).some((name) => name.endsWith('.tmp'))).toBe(false);
  });

  it('reports an unwritable directory as a configuration error', async () => {
    const blocker = join(root, 'not-a-directory');
    await writeFile(blocker, 'x');
    const transport = createFileTransport({ directory: join(blocker, 'outbox') });
    const error = await rejection(transport.send(createMessage(input())));
    expect(MailError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ code: 'configuration', transport: `file://${join(blocker, 'outbox')}` });
    expect(await rejection(transport.verify?.() ?? Promise.resolve())).toMatchObject({ code: 'configuration' });
  });

  it('rejects with the abort reason without writing', async () => {
    const transport = createFileTransport({ directory: root });
    const reason = new Error('stop');
    expect(await rejection(transport.send(createMessage(input()), { signal: AbortSignal.abort(reason) }))).toBe(reason);
    expect(await readdir(root)).toEqual([]);
  });

  it('verifies by creating the directory', async () => {
    const directory = join(root, 'verify');
    const report = await createFileTransport({ directory }).verify?.();
    expect(report).toEqual({
      transport: `file://${directory}`,
      checks: [{ name: 'directory', ok: true, detail: directory }],
      details: { directory },
    });
    expect(await readdir(directory)).toEqual([]);
  });

  it('cannot set a separate envelope', () => {
    expect(createFileTransport({ directory: root }).capabilities.envelope).toBe(false);
  });
});

describe('createMemoryTransport', () => {
  it('records the message, its envelope and its MIME without Bcc', async () => {
    const transport = createMemoryTransport();
    const message = createMessage(input());
    const receipt = await transport.send(message);
    const sent = transport.last();
    expect(sent?.message).toBe(message);
    expect(sent?.envelope.to).toEqual(['ana@example.com', 'audit@shop.example']);
    expect(sent?.receipt).toBe(receipt);
    expect(sent?.mime.toString('latin1')).not.toMatch(/^bcc:/im);
    expect(sent?.mime.toString('latin1')).not.toContain('audit@shop.example');
    expect((await simpleParser(sent?.mime ?? Buffer.alloc(0))).messageId).toBe(message.messageId);
    expect(receipt).toMatchObject({ transport: 'memory://default', providerMessageId: 'memory-1', attempts: 1 });
  });

  it('numbers provider ids and keeps messages oldest first', async () => {
    const transport = createMemoryTransport({ id: 'memory://numbered' });
    await transport.send(createMessage(input({ subject: 'one' })));
    await transport.send(createMessage(input({ subject: 'two' })));
    expect(transport.sent.map((sent) => [sent.message.subject, sent.receipt.providerMessageId])).toEqual([
      ['one', 'memory-1'],
      ['two', 'memory-2'],
    ]);
    expect(inspect(transport)).toBe('MemoryTransport(memory://numbered, 2 sent)');
    expect(String(transport)).toBe('memory://numbered');
  });

  it('fails the next sends as told, recording nothing for them', async () => {
    const transport = createMemoryTransport();
    const custom = new MailError('auth', 'Bad password');
    transport.failNext(1, 'rate-limited');
    transport.failNext(1, custom);
    transport.failNext(1, () => new Error('raw'));
    expect(await rejection(transport.send(createMessage(input())))).toMatchObject({ code: 'rate-limited', transport: 'memory://default' });
    // Like any transport's, the error leaves tagged with the transport.
    expect(await rejection(transport.send(createMessage(input())))).toMatchObject({
      code: 'auth',
      message: 'Bad password',
      transport: 'memory://default',
    });
    expect(await rejection(transport.send(createMessage(input())))).toMatchObject({ message: 'raw' });
    await transport.send(createMessage(input()));
    expect(transport.sent).toHaveLength(1);
  });

  it('forgets messages and pending failures on clear()', async () => {
    const transport = createMemoryTransport();
    await transport.send(createMessage(input()));
    transport.failNext(3, 'transient');
    transport.clear();
    expect(transport.sent).toHaveLength(0);
    expect(transport.last()).toBeUndefined();
    await transport.send(createMessage(input()));
    expect(transport.sent).toHaveLength(1);
  });

  it('declares everything supported unless told otherwise', () => {
    expect(createMemoryTransport().capabilities).toEqual({
      maxMessageSize: undefined,
      maxRecipients: undefined,
      customHeaders: true,
      envelope: true,
      smtpUtf8: true,
      concurrency: 16,
      dkim: 'any',
    });
    expect(createMemoryTransport({ capabilities: { maxRecipients: 5, smtpUtf8: false } }).capabilities).toMatchObject({
      maxRecipients: 5,
      smtpUtf8: false,
      customHeaders: true,
    });
  });

  it('rejects with the abort reason and records nothing', async () => {
    const transport = createMemoryTransport();
    const reason = new Error('stop');
    expect(await rejection(transport.send(createMessage(input()), { signal: AbortSignal.abort(reason) }))).toBe(reason);
    expect(transport.sent).toHaveLength(0);
  });
});
