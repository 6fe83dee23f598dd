import { inspect } from 'node:util';
import { MailError, type MailErrorCode } from '@mailport/core';
import { expect, it } from 'vitest';

/** What one row of an error table expects of the `MailError` its failure maps to. */
export interface ErrorTableRow {
  /** Shown as the test name. */
  readonly name: string;
  readonly code: MailErrorCode;
  /** Default: what the code implies (`rate-limited`, `transient` and `timeout` are retryable, the rest not). */
  readonly retryable?: boolean | undefined;
  readonly retryAfterMs?: number | undefined;
  /** The remediation must match this; every row's must say something either way. */
  readonly remediation?: RegExp | undefined;
  readonly statusCode?: number | undefined;
  readonly providerCode?: string | undefined;
  readonly field?: string | undefined;
}

/** Options of {@link runErrorTable}. */
export interface ErrorTableOptions {
  /**
   * The transport id every error must carry. Default: any, but one must be set; `false` for the
   * mapper of a layer below a transport (a token provider), whose errors the transport tags.
   */
  readonly transport?: string | false | undefined;
  /** Credentials that must appear nowhere in an error: its message, `String()`, JSON or `util.inspect` (cause included). */
  readonly secrets?: readonly string[] | undefined;
}

const retryableByDefault: ReadonlySet<MailErrorCode> = new Set<MailErrorCode>(['rate-limited', 'transient', 'timeout']);

/**
 * Runs an adapter's error mapper over a table, one vitest case per row, and holds every row to
 * the rules all of mailport's errors follow: the mapper returns a `MailError` with the row's code
 * and retryability, a remediation, the transport set, `unknown-outcome` never retryable (it may
 * have been sent), and no credential anywhere in it. Call it inside a `describe`.
 *
 * @example
 * ```ts
 * describe('mapPostboxError', () => {
 *   runErrorTable((row) => mapPostboxError(row.failure, context), [
 *     { name: '429', failure: { status: 429, message: 'slow down', retryAfter: '3' }, code: 'rate-limited', retryAfterMs: 3000 },
 *     { name: 'cut after the body', failure: { message: 'socket hang up', network: { code: 'ECONNRESET', handedOver: true, timedOut: false } }, code: 'unknown-outcome' },
 *   ], { transport: 'postbox://api.postbox.example' });
 * });
 * ```
 */
export function runErrorTable<Row extends ErrorTableRow>(
  map: (row: Row) => unknown,
  rows: readonly Row[],
  options: ErrorTableOptions = {},
): void {
  it.each(rows.map((row) => [row.name, row] as const))('%s', (_name, row) => {
    const error = map(row);
    expect(MailError.isInstance(error), `expected a MailError, got ${inspect(error)}`).toBe(true);
    const mailError = error as MailError;
    expect(mailError.code, mailError.message).toBe(row.code);
    expect(mailError.retryable, 'retryable').toBe(row.retryable ?? retryableByDefault.has(row.code));
    if (mailError.code === 'unknown-outcome') expect(mailError.retryable, 'an unknown outcome is never retried').toBe(false);
    expect(mailError.remediation, 'every error says what to do').toMatch(row.remediation ?? /\w/);
    if (options.transport !== false) {
      expect(mailError.transport, 'every error names its transport').toMatch(/\S/);
      if (options.transport !== undefined) expect(mailError.transport).toBe(options.transport);
    }
    if (row.retryAfterMs !== undefined) expect(mailError.retryAfterMs, 'retryAfterMs').toBe(row.retryAfterMs);
    if (row.statusCode !== undefined) expect(mailError.statusCode, 'statusCode').toBe(row.statusCode);
    if (row.providerCode !== undefined) expect(mailError.providerCode, 'providerCode').toBe(row.providerCode);
    if (row.field !== undefined) expect(mailError.field, 'field').toBe(row.field);
    const shown = [mailError.message, String(mailError), JSON.stringify(mailError), inspect(mailError, { depth: 10, showHidden: true })];
    for (const secret of options.secrets ?? []) {
      for (const text of shown) expect(text.includes(secret), `a credential appeared in: ${text.slice(0, 300)}`).toBe(false);
    }
  });
}
