import { createHash } from 'node:crypto';
import type { Span, SpanKind, SpanStatusCode, Tracer, TracerProvider } from '@opentelemetry/api';
import { MailError } from './errors.js';

/**
 * OpenTelemetry for the mailer: one span per `send`. Core imports nothing for it: it records into
 * the tracer provider an application registered with `@opentelemetry/api` (which keeps it in
 * `globalThis[Symbol.for('opentelemetry.js.api.1')]`, the registry every copy of the API shares),
 * read synchronously on each send. Without a registered SDK nothing is recorded and nothing loads.
 */
export interface MailerTelemetryOptions {
  /** The tracer to record into. Default: the global tracer provider's `@mailport/core` tracer. */
  readonly tracer?: Tracer | undefined;
}

/** The one instrument a mailer uses: `run(work)` in a span, or plainly when there is no tracer. */
export interface MailerTelemetry {
  send<T>(transport: string, messageId: string, work: (span: Span | undefined) => Promise<T>): Promise<T>;
}

const scope = '@mailport/core';

/**
 * A span per send. Names and attributes: `mailport.send` (kind client), `mailport.transport`
 * (the transport's id, which never holds a secret), `mailport.message_id.hash` (SHA-256 of the
 * Message-ID, 16 hex digits: joinable with the queue's spans, never the address), then
 * `mailport.attempts`, `mailport.outcome` (`sent` or the `MailError` code) and, on failure,
 * `error.type` (the code) with an ERROR status that names only the code: an error message can quote
 * a refused address.
 */
export function createMailerTelemetry(options: MailerTelemetryOptions | false | undefined): MailerTelemetry {
  if (options === false) return { send: (_transport, _messageId, work) => work(undefined) };
  const tracer = (): Tracer | undefined => options?.tracer ?? registeredProvider()?.getTracer(scope);
  return {
    send(transport, messageId, work) {
      const active = tracer();
      if (active === undefined) return work(undefined);
      return active.startActiveSpan(
        'mailport.send',
        { kind: spanKindClient, attributes: { 'mailport.transport': transport, 'mailport.message_id.hash': hashId(messageId) } },
        async (span) => {
          try {
            const result = await work(span);
            span.setAttribute('mailport.outcome', 'sent');
            return result;
          } catch (error) {
            const code = MailError.isInstance(error) ? error.code : 'aborted';
            span.setAttribute('mailport.outcome', code);
            span.setAttribute('error.type', code);
            span.setStatus({ code: spanStatusError, message: code });
            throw error;
          } finally {
            span.end();
          }
        },
      );
    },
  };
}

// The values of @opentelemetry/api's SpanKind.CLIENT and SpanStatusCode.ERROR, part of its stable API.
const spanKindClient = 2 as SpanKind;
const spanStatusError = 2 as SpanStatusCode;

/** The tracer provider an application registered through `@opentelemetry/api` 1.x, if any. */
function registeredProvider(): TracerProvider | undefined {
  const registry = (globalThis as Record<symbol, { trace?: TracerProvider } | undefined>)[Symbol.for('opentelemetry.js.api.1')];
  return registry?.trace;
}

function hashId(messageId: string): string {
  return createHash('sha256').update(messageId).digest('hex').slice(0, 16);
}
