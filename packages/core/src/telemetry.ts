import { createHash } from 'node:crypto';
import type { Span, SpanKind, SpanStatusCode, Tracer } from '@opentelemetry/api';
import { MailError } from './errors.js';

/**
 * OpenTelemetry for the mailer: one span per `send`, through `@opentelemetry/api` only, an optional
 * peer dependency loaded on first use. Without it installed, or without an SDK registered by the
 * application, nothing is recorded and nothing is loaded beyond the API's no-op.
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
  let loaded: Promise<Loaded | undefined> | undefined;
  const load = (): Promise<Loaded | undefined> => {
    loaded ??= import('@opentelemetry/api').then(
      (api) => ({
        tracer: options?.tracer ?? api.trace.getTracer(scope),
        client: api.SpanKind.CLIENT,
        error: api.SpanStatusCode.ERROR,
      }),
      // Not installed: nothing to record into.
      () => undefined,
    );
    return loaded;
  };
  return {
    async send(transport, messageId, work) {
      const otel = await load();
      if (otel === undefined) return work(undefined);
      return otel.tracer.startActiveSpan(
        'mailport.send',
        { kind: otel.client, attributes: { 'mailport.transport': transport, 'mailport.message_id.hash': hashId(messageId) } },
        async (span) => {
          try {
            const result = await work(span);
            span.setAttribute('mailport.outcome', 'sent');
            return result;
          } catch (error) {
            const code = MailError.isInstance(error) ? error.code : 'aborted';
            span.setAttribute('mailport.outcome', code);
            span.setAttribute('error.type', code);
            span.setStatus({ code: otel.error, message: code });
            throw error;
          } finally {
            span.end();
          }
        },
      );
    },
  };
}

interface Loaded {
  readonly tracer: Tracer;
  readonly client: SpanKind;
  readonly error: SpanStatusCode;
}

function hashId(messageId: string): string {
  return createHash('sha256').update(messageId).digest('hex').slice(0, 16);
}
