import { createMailer, MailError, type SendErrorEvent } from '@mailport/core';
import { refusedPort } from '@mailport/core/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { startSilentServer, startTestSmtpServer } from '../test/smtp-test-server.js';

// failover() of members that cannot be reached fails after one pass over them, each bounded by its
// own timeouts, and says which member failed how; it does not wait out its cooldown inside a send.

const message = { from: 'app@shop.example', to: 'ana@example.com', subject: 'Order', text: 'Shipped.' };
const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  while (cleanup.length > 0) await cleanup.pop()?.();
});

async function attempt(url: string): Promise<{ error: MailError; events: SendErrorEvent[]; elapsedMs: number }> {
  const events: SendErrorEvent[] = [];
  const mailer = createMailer({ transport: url, hooks: { onError: (event) => void events.push(event) } });
  cleanup.push(() => mailer.close());
  const started = performance.now();
  const error = await mailer.send(message).then(
    () => new Error('expected the send to fail'),
    (caught: unknown) => caught,
  );
  expect(MailError.isInstance(error), String(error)).toBe(true);
  return { error: error as MailError, events, elapsedMs: performance.now() - started };
}

describe('failover of unreachable SMTP members', () => {
  it('two closed ports: fails at once, after one attempt, naming each member and when to try again', async () => {
    const [first, second] = [await refusedPort(), await refusedPort()];
    const url = `failover(smtp://127.0.0.1:${first} smtp://127.0.0.1:${second})`;
    const { error, events, elapsedMs } = await attempt(url);
    // Before, this took about 60 s: both members rested for the cooldown and the mailer's retry waited for them.
    expect(elapsedMs).toBeLessThan(5_000);
    expect(events.map((event) => [event.attempt, event.willRetry])).toEqual([[1, false]]);
    expect(error).toMatchObject({ code: 'transient', retryable: false, retryAfterMs: 60_000 });
    expect(error.message).toContain(`smtp://127.0.0.1:${first} failed (transient: Connection refused`);
    expect(error.message).toContain(`smtp://127.0.0.1:${second} failed (transient: Connection refused`);

    // While they rest, another send through the same mailer fails at once too, saying until when.
    const mailer = createMailer({ transport: url });
    cleanup.push(() => mailer.close());
    await mailer.send(message).catch(() => undefined);
    const started = performance.now();
    const resting = await mailer.send(message).then(
      () => new Error('expected the send to fail'),
      (caught: unknown) => caught as MailError,
    );
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(resting).toMatchObject({ code: 'transient', retryable: false });
    expect((resting as MailError).retryAfterMs).toBeGreaterThan(50_000);
    expect((resting as MailError).message).toMatch(/resting \(failed recently; tried again after /);
  });

  it('a member that accepts and never answers is bounded by its own timeouts', async () => {
    const silent = await startSilentServer();
    cleanup.push(() => silent.close());
    const closed = await refusedPort();
    const url = `failover(smtp://127.0.0.1:${silent.port}?connect_timeout=1s&greeting_timeout=1s smtp://127.0.0.1:${closed})`;
    const { error, events, elapsedMs } = await attempt(url);
    expect(elapsedMs).toBeGreaterThan(900);
    expect(elapsedMs).toBeLessThan(5_000);
    expect(events).toHaveLength(1);
    expect(error.message).toContain(
      `smtp://127.0.0.1:${silent.port} failed (timeout: Connected to 127.0.0.1:${silent.port} but the server sent no greeting)`,
    );
    expect(error.message).toContain(`smtp://127.0.0.1:${closed} failed (transient: Connection refused`);
  });

  it('verify() lists each member with its outcome', async () => {
    const closed = await refusedPort();
    const silent = await startSilentServer();
    cleanup.push(() => silent.close());
    const working = await startTestSmtpServer({ tls: false });
    cleanup.push(() => working.close());
    const unreachable = `smtp://127.0.0.1:${closed}`;
    const stalled = `smtp://127.0.0.1:${silent.port}?greeting_timeout=1s`;
    const mailer = createMailer({ transport: `failover(${unreachable} ${stalled} smtp://127.0.0.1:${working.port})` });
    cleanup.push(() => mailer.close());
    const report = await mailer.verify();
    expect(report.details.members).toEqual([
      { transport: `smtp://127.0.0.1:${closed}`, outcome: 'failed', code: 'transient', elapsedMs: expect.any(Number) },
      { transport: `smtp://127.0.0.1:${silent.port}`, outcome: 'failed', code: 'timeout', elapsedMs: expect.any(Number) },
      { transport: `smtp://127.0.0.1:${working.port}`, outcome: 'ok', code: undefined, elapsedMs: expect.any(Number) },
    ]);
    expect(report.checks.map((check) => check.ok)).toEqual([false, false, true]);
    expect(report.checks[1]?.detail).toMatch(/no greeting/);
  });
});
