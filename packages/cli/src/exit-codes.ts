import type { MailError, MailErrorCode } from '@mailport/core';

// `@mailport/core` is imported for its types only: `mailport --help`, `--version` and usage
// errors must not pay for loading it. Core brands every MailError with this registered symbol
// (what `MailError.isInstance` checks), so the check needs no copy of the module.
const mailErrorBrand: symbol = Symbol.for('mailport.MailError');

/** `MailError.isInstance` without loading `@mailport/core`. */
export function isMailError(value: unknown): value is MailError {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[mailErrorBrand] === true;
}

/**
 * Exit codes, so scripts can tell what went wrong without parsing text:
 *
 * | code | meaning |
 * | --- | --- |
 * | 0 | everything sent (or checked) |
 * | 1 | an unexpected error (a bug: please report it) |
 * | 2 | wrong command-line usage |
 * | 3 | invalid input: a message mailport refused before sending (`invalid-message`) |
 * | 4 | configuration: transport URL, host, TLS, permissions, missing package (`configuration`, `unsupported`) |
 * | 5 | authentication (`auth`) |
 * | 6 | rejected by the provider: sender, recipients or message (`*-rejected`) |
 * | 7 | rate limited or over quota (`rate-limited`, `quota-exceeded`): try later |
 * | 8 | a temporary failure or timeout (`transient`, `timeout`): try again |
 * | 9 | unknown outcome: the message may have been sent; check before sending again |
 * | 10 | a bulk run finished with some messages not sent (see the summary and the journal) |
 * | 130 | interrupted by Ctrl-C (SIGINT, 128 + 2) before the work was done |
 * | 143 | stopped by SIGTERM (128 + 15) before the work was done |
 *
 * A command whose normal end is a signal (`mailport worker`, `mailport dev`) exits 0 when it
 * stopped cleanly on the first one.
 */
/** The exit codes by name. */
export interface ExitCodes {
  readonly ok: 0;
  readonly unexpected: 1;
  readonly usage: 2;
  readonly invalidInput: 3;
  readonly configuration: 4;
  readonly auth: 5;
  readonly rejected: 6;
  readonly rateLimited: 7;
  readonly transient: 8;
  readonly unknownOutcome: 9;
  readonly partial: 10;
  readonly interrupted: 130;
  readonly terminated: 143;
}

export const exitCodes: ExitCodes = Object.freeze({
  ok: 0,
  unexpected: 1,
  usage: 2,
  invalidInput: 3,
  configuration: 4,
  auth: 5,
  rejected: 6,
  rateLimited: 7,
  transient: 8,
  unknownOutcome: 9,
  partial: 10,
  interrupted: 130,
  terminated: 143,
} as const);

/**
 * The exit code of a command stopped by a signal before its work was done, from `io.signal`'s
 * reason: 143 for SIGTERM, else 130 (Ctrl-C, or a test's abort).
 */
export function interruptedExitCode(reason: unknown): number {
  return (reason as { signal?: unknown } | undefined)?.signal === 'SIGTERM' ? exitCodes.terminated : exitCodes.interrupted;
}

const byCode: Readonly<Record<MailErrorCode, number>> = {
  'invalid-message': exitCodes.invalidInput,
  configuration: exitCodes.configuration,
  unsupported: exitCodes.configuration,
  auth: exitCodes.auth,
  'sender-rejected': exitCodes.rejected,
  'recipient-rejected': exitCodes.rejected,
  'message-rejected': exitCodes.rejected,
  'rate-limited': exitCodes.rateLimited,
  'quota-exceeded': exitCodes.rateLimited,
  transient: exitCodes.transient,
  timeout: exitCodes.transient,
  'unknown-outcome': exitCodes.unknownOutcome,
};

/** The exit code for an error: by its `MailError` code, else "unexpected". */
export function exitCodeFor(error: unknown): number {
  return isMailError(error) ? byCode[error.code] : exitCodes.unexpected;
}

/** A command-line usage mistake: printed with the command's help, exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}
