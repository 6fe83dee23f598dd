/**
 * The one rule for a request that got no answer, which every HTTP adapter and OAuth layer follows:
 * what failed, and whether the request had been handed over, decide the code.
 */
import { MailError, type MailErrorCode } from './errors.js';
import { certificateRemediation, isBeforeConnect, isCertificateError } from './network.js';

/** Why no answer came: core's `HttpError`, or the same fields read from an SDK's error. */
export interface NoAnswer {
  /** The system error code: `ECONNREFUSED`, `ENOTFOUND`, `ECONNRESET`, `ETIMEDOUT`, `ECONNECT_TIMEOUT`, a certificate code, ... */
  readonly code?: string | undefined;
  readonly message: string;
  /**
   * True once the whole request body was handed to the connection: from then on the server may
   * have acted on it. Undefined when it cannot be told, which counts as handed over. Default undefined.
   */
  readonly handedOver?: boolean | undefined;
  /** True when the connection went silent. Default: the code is `ETIMEDOUT` or `TimeoutError`. */
  readonly timedOut?: boolean | undefined;
}

/** The cases of {@link noAnswerError}, to word a remediation per case. */
export type NoAnswerCase =
  | 'certificate'
  | 'host-not-found'
  | 'connect-timeout'
  | 'refused'
  | 'before-connect'
  | 'unknown-outcome'
  | 'timeout'
  | 'dropped';

/** Options of {@link noAnswerError}. */
export interface NoAnswerOptions {
  /** The transport id, for `MailError.transport`. Default none: a layer below a transport (a token provider) leaves it to the transport. */
  readonly transport?: string | undefined;
  /** What was called, for messages: `api.postbox.example`, `Gmail messages.send`. Default `the server`. */
  readonly operation?: string | undefined;
  /**
   * True when repeating the call cannot send anything twice (a read, a token request): a failure
   * after hand-over is then a `timeout` or `transient`, not an `unknown-outcome`. Default false.
   */
  readonly idempotent?: boolean | undefined;
  /** A remediation per case, in the provider's words; the others keep core's. */
  readonly remediations?: Partial<Readonly<Record<NoAnswerCase, string>>> | undefined;
  /** Default: the error's code. */
  readonly providerCode?: string | undefined;
  /** A safe copy of the failure (see `safeCause`); never the SDK's error, which may hold a credential. */
  readonly cause?: Error | undefined;
}

const defaults: Readonly<Record<NoAnswerCase, string>> = {
  certificate: certificateRemediation,
  'host-not-found': 'Check the host name of the endpoint.',
  'connect-timeout': 'Check the network path to the server (firewall, proxy); mailport retries timeouts.',
  refused: 'Nothing accepts connections there: check the endpoint and that the service is up; mailport retries it.',
  'before-connect': 'A network failure before anything was sent: mailport retries it.',
  'unknown-outcome':
    "Check whether it arrived (the provider's log, the Sent folder) before sending it again; mailport does not resend it on its own.",
  timeout: 'Check the network path to the server; raise the timeout for very large messages on slow links. mailport retries timeouts.',
  dropped: 'A network failure before the request was complete: mailport retries it.',
};

/**
 * Maps a request that got no answer to a `MailError`. Once the body was handed over the server
 * may have acted on it, so only an idempotent call may be retried (docs/how-a-send-flows.md).
 *
 * | failure | code |
 * | --- | --- |
 * | certificate not trusted, host not found | `configuration` |
 * | connect timed out (`ECONNECT_TIMEOUT`) | `timeout` |
 * | failed before connecting (refused, DNS failing for now, unreachable) | `transient` |
 * | timed out or dropped after the body was handed over | `unknown-outcome` (never retried) |
 * | timed out before the body was handed over, or on an idempotent call | `timeout` |
 * | dropped before the body was handed over, or on an idempotent call | `transient` |
 *
 * @example
 * ```ts
 * const http = HttpError.find(error);
 * if (http !== undefined) throw noAnswerError(http, { transport: 'postbox://api.postbox.example', operation: 'api.postbox.example' });
 * // ECONNRESET after hand-over: MailError { code: 'unknown-outcome', retryable: false }
 * ```
 */
export function noAnswerError(error: NoAnswer, options: NoAnswerOptions): MailError {
  const code = error.code;
  const where = options.operation ?? 'the server';
  const make = (errorCode: MailErrorCode, kind: NoAnswerCase, message: string): MailError =>
    new MailError(errorCode, message, {
      transport: options.transport,
      providerCode: options.providerCode ?? code,
      remediation: options.remediations?.[kind] ?? defaults[kind],
      cause: options.cause,
    });

  if (isCertificateError(code))
    return make('configuration', 'certificate', `${where}: the TLS certificate is not trusted (${error.message})`);
  if (code === 'ENOTFOUND') return make('configuration', 'host-not-found', `Host not found: ${where}`);
  if (code === 'ECONNECT_TIMEOUT') return make('timeout', 'connect-timeout', `Could not connect to ${where} in time (${error.message})`);
  // No connection was made, so nothing was sent, whatever the state of the request body.
  if (isBeforeConnect(code)) {
    return code === 'ECONNREFUSED'
      ? make('transient', 'refused', `Connection refused by ${where}`)
      : make('transient', 'before-connect', `Could not reach ${where}: ${error.message}`);
  }
  const timedOut = error.timedOut ?? (code === 'ETIMEDOUT' || code === 'TimeoutError');
  if (error.handedOver !== false && options.idempotent !== true) {
    const what = timedOut ? 'did not answer in time' : `dropped the connection (${code ?? error.message})`;
    return make(
      'unknown-outcome',
      'unknown-outcome',
      `Unknown outcome: ${where} ${what} after the request was sent; the message may have been sent`,
    );
  }
  if (timedOut) return make('timeout', 'timeout', `${where} did not answer in time (${error.message})`);
  return make('transient', 'dropped', `The connection to ${where} failed before the request was complete: ${error.message}`);
}
