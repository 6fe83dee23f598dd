import { runErrorTable } from '@mailport/testkit';
import { describe, expect, it } from 'vitest';
import { type NoAnswer, type NoAnswerOptions, noAnswerError } from './no-answer.js';

const transport = 'postbox://api.postbox.example';

interface Row {
  readonly name: string;
  readonly error: NoAnswer;
  readonly options?: Partial<NoAnswerOptions>;
  readonly code: 'configuration' | 'transient' | 'timeout' | 'unknown-outcome';
  readonly remediation?: RegExp;
}

const rows: readonly Row[] = [
  {
    name: 'certificate not trusted',
    error: { code: 'SELF_SIGNED_CERT_IN_CHAIN', message: 'self-signed', handedOver: false },
    code: 'configuration',
    remediation: /NODE_EXTRA_CA_CERTS/,
  },
  { name: 'host not found', error: { code: 'ENOTFOUND', message: 'getaddrinfo ENOTFOUND x' }, code: 'configuration' },
  {
    name: 'connect timeout, even with the body buffered',
    error: { code: 'ECONNECT_TIMEOUT', message: 'connect timed out', handedOver: true },
    code: 'timeout',
  },
  {
    name: 'connection refused, even with the body buffered',
    error: { code: 'ECONNREFUSED', message: 'connect ECONNREFUSED', handedOver: true },
    code: 'transient',
    remediation: /endpoint/,
  },
  { name: 'DNS failing for now', error: { code: 'EAI_AGAIN', message: 'getaddrinfo EAI_AGAIN' }, code: 'transient' },
  { name: 'dropped after hand-over', error: { code: 'ECONNRESET', message: 'socket hang up', handedOver: true }, code: 'unknown-outcome' },
  {
    name: 'timed out after hand-over',
    error: { code: 'ETIMEDOUT', message: 'silent', handedOver: true, timedOut: true },
    code: 'unknown-outcome',
  },
  { name: 'hand-over unknown counts as handed over', error: { code: 'ECONNRESET', message: 'socket hang up' }, code: 'unknown-outcome' },
  { name: 'dropped before hand-over', error: { code: 'ECONNRESET', message: 'socket hang up', handedOver: false }, code: 'transient' },
  {
    name: 'timed out before hand-over (fetch TimeoutError)',
    error: { code: 'TimeoutError', message: 'aborted due to timeout', handedOver: false },
    code: 'timeout',
  },
  {
    name: 'dropped on an idempotent call',
    error: { code: 'ECONNRESET', message: 'socket hang up', handedOver: true },
    options: { idempotent: true },
    code: 'transient',
  },
  {
    name: 'timed out on an idempotent call',
    error: { message: 'silent', handedOver: true, timedOut: true },
    options: { idempotent: true },
    code: 'timeout',
  },
  {
    name: 'a remediation in the provider words',
    error: { code: 'ECONNRESET', message: 'socket hang up', handedOver: true },
    options: { remediations: { 'unknown-outcome': 'Check the Postbox activity log.' } },
    code: 'unknown-outcome',
    remediation: /^Check the Postbox activity log\.$/,
  },
];

describe('noAnswerError', () => {
  runErrorTable((row: Row) => noAnswerError(row.error, { transport, ...row.options }), rows, { transport });

  it('names the call, keeps the code as providerCode and the cause it is given', () => {
    const cause = new Error('safe');
    const error = noAnswerError(
      { code: 'ECONNRESET', message: 'socket hang up', handedOver: true },
      { transport, operation: 'Gmail messages.send', cause },
    );
    expect(error.message).toBe(
      'Unknown outcome: Gmail messages.send dropped the connection (ECONNRESET) after the request was sent; the message may have been sent',
    );
    expect(error.providerCode).toBe('ECONNRESET');
    expect(error.cause).toBe(cause);
  });
});
