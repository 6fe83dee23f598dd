import { createMailer, createMessage, type MessageInput, renderMime } from '@mailport/core';
import { afterEach, describe, expect, it } from 'vitest';
import { startTestSmtpServer, type TestSmtpServer } from '../test/smtp-test-server.js';
import { createSmtpTransport } from './smtp-transport.js';

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  while (cleanup.length > 0) await cleanup.pop()?.();
});

async function server(): Promise<TestSmtpServer> {
  const started = await startTestSmtpServer();
  cleanup.push(() => started.close());
  return started;
}

const input = (index: number): MessageInput => ({
  from: 'app@shop.example',
  to: `user${index}@example.com`,
  subject: `Message ${index}`,
  text: `Body ${index}`,
});
const inputs = (count: number): MessageInput[] => Array.from({ length: count }, (_, index) => input(index));

async function waitFor(condition: () => boolean, timeoutMs = 2_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('connection pool', () => {
  it('reuses connections across a batch, within maxConnections', async () => {
    const target = await server();
    const transport = createSmtpTransport({ host: target.host, port: target.port, ca: target.ca, maxConnections: 2 });
    cleanup.push(() => transport.close());
    const mailer = createMailer({ transport });
    let sent = 0;
    for await (const outcome of mailer.sendMany(inputs(20))) if (outcome.ok) sent++;
    expect(sent).toBe(20);
    expect(target.received).toHaveLength(20);
    expect(target.connections()).toBeLessThanOrEqual(2);
  });

  it('replaces a connection after maxMessagesPerConnection', async () => {
    const target = await server();
    const transport = createSmtpTransport({
      host: target.host,
      port: target.port,
      ca: target.ca,
      maxConnections: 1,
      maxMessagesPerConnection: 3,
    });
    cleanup.push(() => transport.close());
    for await (const outcome of createMailer({ transport }).sendMany(inputs(9))) expect(outcome.ok).toBe(true);
    expect(target.connections()).toBe(3);
  });

  it('closes idle connections after idleTimeoutMs, and reconnects on the next send', async () => {
    const target = await server();
    const transport = createSmtpTransport({ host: target.host, port: target.port, ca: target.ca, idleTimeoutMs: 50 });
    cleanup.push(() => transport.close());
    await transport.send(createMessage(input(0)));
    await waitFor(() => target.openConnections() === 0);
    await transport.send(createMessage(input(1)));
    expect(target.connections()).toBe(2);
    expect(target.received).toHaveLength(2);
  });

  it('close() ends every connection, twice is fine, and later sends are refused', async () => {
    const target = await server();
    const transport = createSmtpTransport({ host: target.host, port: target.port, ca: target.ca });
    await transport.send(createMessage(input(0)));
    await transport.close();
    await transport.close();
    await waitFor(() => target.openConnections() === 0);
    await expect(transport.send(createMessage(input(0)))).rejects.toMatchObject({ code: 'configuration' });
  });

  it('without pooling, opens one connection per message', async () => {
    const target = await server();
    const transport = createSmtpTransport({ host: target.host, port: target.port, ca: target.ca, pool: false });
    cleanup.push(() => transport.close());
    for await (const outcome of createMailer({ transport }).sendMany(inputs(4))) expect(outcome.ok).toBe(true);
    expect(target.connections()).toBe(4);
  });
});

describe('what is sent is what was validated', () => {
  it('the server receives exactly the bytes renderMime produced', async () => {
    const target = await server();
    const transport = createSmtpTransport({ host: target.host, port: target.port, ca: target.ca });
    cleanup.push(() => transport.close());
    const message = createMessage({
      from: 'Ünïcødé <app@shop.example>',
      to: 'ana@example.com',
      bcc: 'hidden@example.com',
      subject: 'Bytes',
      text: '.leading dot\n..two dots\nend',
      html: '<p>x</p>',
      attachments: [{ filename: 'a.bin', content: Buffer.alloc(70_000, 7) }],
    });
    await transport.send(message);
    const expected = await renderMime(message);
    expect(target.received[0]?.raw.equals(expected)).toBe(true);
    expect(target.received[0]?.to).toEqual(['ana@example.com', 'hidden@example.com']);
  });

  it("an aborted send rejects with the caller's reason and delivers nothing", async () => {
    const target = await server();
    const transport = createSmtpTransport({ host: target.host, port: target.port, ca: target.ca });
    cleanup.push(() => transport.close());
    const controller = new AbortController();
    const reason = new Error('user cancelled');
    controller.abort(reason);
    await expect(transport.send(createMessage(input(0)), { signal: controller.signal })).rejects.toBe(reason);
    expect(target.received).toHaveLength(0);
  });

  it("an abort during a stalled send rejects with the caller's reason and delivers nothing", async () => {
    const target = await startTestSmtpServer({ faults: { rcptTo: () => 'stall' } });
    cleanup.push(() => target.close());
    const transport = createSmtpTransport({ host: target.host, port: target.port, ca: target.ca });
    cleanup.push(() => transport.close());
    const controller = new AbortController();
    const reason = new Error('shutting down');
    setTimeout(() => controller.abort(reason), 50);
    await expect(createMailer({ transport }).send(input(0), { signal: controller.signal })).rejects.toBe(reason);
    expect(target.received).toHaveLength(0);
  });
});
