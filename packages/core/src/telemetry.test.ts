import { refusedPort } from '@mailport/core/testing';
import { trace } from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { afterAll, describe, expect, it } from 'vitest';
import { createMailer } from './mailer.js';

// The real OpenTelemetry SDK, in memory; the mailer created from a URL, as an application does.
const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });

describe('OpenTelemetry: a mailport.send span per message', () => {
  afterAll(() => provider.shutdown());

  it('records transport, attempts, outcome and a hash of the Message-ID, through the global provider', async () => {
    trace.setGlobalTracerProvider(provider);
    try {
      await using mailer = createMailer({ transport: 'memory://otel', defaults: { from: 'shop@example.com' } });
      const receipt = await mailer.send({ to: 'ana@example.org', subject: 'Hi', text: 'x' });
      const [span] = exporter.getFinishedSpans();
      expect(span?.name).toBe('mailport.send');
      expect(span?.attributes).toMatchObject({
        'mailport.transport': 'memory://otel',
        'mailport.attempts': 1,
        'mailport.outcome': 'sent',
      });
      expect(span?.attributes['mailport.message_id.hash']).toMatch(/^[0-9a-f]{16}$/);
      expect(JSON.stringify(span?.attributes)).not.toContain(receipt.messageId);
    } finally {
      trace.disable();
      exporter.reset();
    }
  });

  it('a failure: every attempt counted, the code as error.type, and no address anywhere in the span', async () => {
    const port = await refusedPort();
    await using mailer = createMailer({
      transport: `smtp://127.0.0.1:${port}?connect_timeout=2s`,
      defaults: { from: 'shop@example.com' },
      retry: { maxAttempts: 2, initialDelayMs: 1 },
      telemetry: { tracer: provider.getTracer('test') },
    });
    const failure = await mailer.send({ to: 'bob@example.org', subject: 'Hi', text: 'x' }).catch((error: unknown) => error);
    expect(failure).toMatchObject({ code: 'transient' });
    const [span] = exporter.getFinishedSpans();
    expect(span?.attributes).toMatchObject({ 'mailport.attempts': 2, 'mailport.outcome': 'transient', 'error.type': 'transient' });
    expect(span?.status).toEqual({ code: 2, message: 'transient' });
    const recorded = JSON.stringify({ attributes: span?.attributes, status: span?.status, events: span?.events });
    expect(recorded).not.toContain('bob@example.org');
    expect(recorded).not.toContain('example.org');
    exporter.reset();
  });

  it('telemetry: false records nothing', async () => {
    trace.setGlobalTracerProvider(provider);
    try {
      await using mailer = createMailer({ transport: 'memory://otel-off', defaults: { from: 'shop@example.com' }, telemetry: false });
      await mailer.send({ to: 'ana@example.org', subject: 'Hi', text: 'x' });
      expect(exporter.getFinishedSpans()).toEqual([]);
    } finally {
      trace.disable();
    }
  });
});
