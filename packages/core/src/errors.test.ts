import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { invalidMessage, isAbortFrom, MailError, type MailErrorCode, mailErrorCodes, mailErrorOptions, withTransport } from './errors.js';
import { toMailError } from './normalize-error.js';

describe('MailError', () => {
  it.each<[MailErrorCode, boolean]>([
    ['invalid-message', false],
    ['configuration', false],
    ['auth', false],
    ['sender-rejected', false],
    ['recipient-rejected', false],
    ['message-rejected', false],
    ['rate-limited', true],
    ['quota-exceeded', false],
    ['transient', true],
    ['timeout', true],
    ['unknown-outcome', false],
    ['unsupported', false],
  ])('defaults retryable for %s to %s', (code, retryable) => {
    expect(new MailError(code, 'x').retryable).toBe(retryable);
  });

  it('lists every code once', () => {
    expect(new Set(mailErrorCodes).size).toBe(12);
    expect(Object.isFrozen(mailErrorCodes)).toBe(true);
  });

  it('lets retryable be overridden either way', () => {
    expect(new MailError('transient', 'x', { retryable: false }).retryable).toBe(false);
    expect(new MailError('auth', 'x', { retryable: true }).retryable).toBe(true);
  });

  it('is an Error with its name, message and cause', () => {
    const cause = new Error('socket closed');
    const error = new MailError('transient', 'Connection lost', { cause });
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('MailError');
    expect(error.message).toBe('Connection lost');
    expect(error.cause).toBe(cause);
    expect(String(error)).toBe('MailError: Connection lost');
    expect('cause' in new MailError('transient', 'no cause')).toBe(false);
  });

  it('recognises itself and a MailError from another copy of core by its brand', () => {
    const own = new MailError('auth', 'refused');
    // What a second copy of @mailport/core in node_modules would throw: another class, the same global symbol.
    class OtherCopyMailError extends Error {
      readonly code = 'auth';
      constructor() {
        super('refused');
        Object.defineProperty(this, Symbol.for('mailport.MailError'), { value: true });
      }
    }
    const foreign = new OtherCopyMailError();
    expect(foreign instanceof MailError).toBe(false);
    expect(MailError.isInstance(own)).toBe(true);
    expect(MailError.isInstance(foreign)).toBe(true);
    expect(MailError.isInstance({ [Symbol.for('mailport.MailError')]: true })).toBe(true);
  });

  it.each([
    ['a plain Error', new Error('x')],
    ['an object with a code', { code: 'auth', message: 'x' }],
    ['a wrong brand value', { [Symbol.for('mailport.MailError')]: 'yes' }],
    ['a local symbol', { [Symbol('mailport.MailError')]: true }],
    ['null', null],
    ['a string', 'MailError'],
    ['undefined', undefined],
  ])('does not recognise %s', (_label, value) => {
    expect(MailError.isInstance(value)).toBe(false);
  });

  it('serialises to JSON without the stack or the cause', () => {
    const error = new MailError('recipient-rejected', 'All refused', {
      transport: 'smtp://mail.example:587',
      providerCode: '5.1.1',
      statusCode: 550,
      recipients: [{ address: 'ghost@example.com', message: 'no such user', statusCode: 550, retryable: false }],
      remediation: 'Check the address.',
      cause: new Error('secret detail'),
    });
    expect(error.toJSON()).toEqual({
      name: 'MailError',
      code: 'recipient-rejected',
      message: 'All refused',
      retryable: false,
      retryAfterMs: undefined,
      transport: 'smtp://mail.example:587',
      providerCode: '5.1.1',
      statusCode: 550,
      recipients: [{ address: 'ghost@example.com', message: 'no such user', statusCode: 550, retryable: false }],
      remediation: 'Check the address.',
      field: undefined,
    });
    const json = JSON.stringify(error);
    expect(json).not.toContain('stack');
    expect(json).not.toContain('secret detail');
    expect(JSON.parse(json)).not.toHaveProperty('recipients', []);
  });

  it('leaves recipients out of JSON when there are none', () => {
    expect(new MailError('transient', 'x').toJSON().recipients).toBeUndefined();
  });

  it('freezes its recipient list', () => {
    const recipients = [{ address: 'a@example.com', message: 'no', retryable: false }];
    const error = new MailError('recipient-rejected', 'x', { recipients });
    recipients.push({ address: 'b@example.com', message: 'no', retryable: false });
    expect(error.recipients).toHaveLength(1);
    expect(Object.isFrozen(error.recipients)).toBe(true);
  });
});

describe('withTransport', () => {
  it('returns a copy with the transport set, keeping everything else', () => {
    const cause = new Error('root');
    const error = new MailError('rate-limited', 'Slow down', {
      retryAfterMs: 2000,
      providerCode: 'Throttling',
      statusCode: 429,
      remediation: 'Wait.',
      field: 'to',
      retryable: false,
      cause,
    });
    const copy = withTransport(error, 'ses://eu-west-1');
    expect(copy).not.toBe(error);
    expect(copy).toBeInstanceOf(MailError);
    expect(copy.transport).toBe('ses://eu-west-1');
    expect(copy.toJSON()).toEqual({ ...error.toJSON(), transport: 'ses://eu-west-1' });
    expect(copy.cause).toBe(cause);
    expect(error.transport).toBeUndefined();
  });

  it('keeps a transport that is already set', () => {
    const error = new MailError('auth', 'x', { transport: 'smtp://a' });
    expect(withTransport(error, 'smtp://b')).toBe(error);
  });

  it('round-trips through mailErrorOptions', () => {
    const error = new MailError('timeout', 'x', { retryAfterMs: 5, statusCode: 504, transport: 't' });
    expect(new MailError('timeout', 'x', mailErrorOptions(error)).toJSON()).toEqual(error.toJSON());
  });
});

describe('invalidMessage', () => {
  it('builds an invalid-message error naming the field', () => {
    const error = invalidMessage('to[1]', 'has no "@"', 'Fix it.');
    expect(error).toMatchObject({ code: 'invalid-message', field: 'to[1]', remediation: 'Fix it.', retryable: false });
    expect(error.message).toBe('Invalid message: to[1] has no "@"');
  });
});

describe('toMailError', () => {
  it('passes a MailError through, adding the transport', () => {
    const error = new MailError('auth', 'refused');
    expect(toMailError(error, 'smtp://a')).toMatchObject({ code: 'auth', transport: 'smtp://a' });
  });

  it('treats anything else as unknown-outcome, never retryable', () => {
    const cause = new TypeError('undefined is not a function');
    const error = toMailError(cause, 'smtp://a');
    expect(error).toMatchObject({ code: 'unknown-outcome', retryable: false, transport: 'smtp://a' });
    expect(error.cause).toBe(cause);
    expect(error.message).toContain('undefined is not a function');
    expect(toMailError('a string', 't').message).toContain('a string');
  });

  it('keeps the cause visible to util.inspect', () => {
    expect(inspect(toMailError(new Error('deep cause'), 't'), { depth: 5 })).toContain('deep cause');
  });
});

describe('isAbortFrom', () => {
  it('is true only for the aborted signal reason or an AbortError', () => {
    const controller = new AbortController();
    const reason = new Error('stop');
    expect(isAbortFrom(controller.signal, reason)).toBe(false);
    controller.abort(reason);
    expect(isAbortFrom(controller.signal, reason)).toBe(true);
    expect(isAbortFrom(controller.signal, new DOMException('aborted', 'AbortError'))).toBe(true);
    expect(isAbortFrom(controller.signal, new Error('other'))).toBe(false);
    expect(isAbortFrom(undefined, reason)).toBe(false);
  });
});
