import { describe, expect, it } from 'vitest';
import {
  beforeConnectCodes,
  certificateCodes,
  isBeforeConnect,
  isCertificateError,
  parseRetryAfter,
  readJson,
  safeCause,
} from './network.js';

const now = (): number => Date.parse('2026-01-01T00:00:00Z');

describe('parseRetryAfter', () => {
  it.each<[string | undefined | null, number | undefined]>([
    ['30', 30_000],
    [' 2 ', 2_000],
    ['1.5', 1_500],
    ['0', 0],
    ['Thu, 01 Jan 2026 00:00:10 GMT', 10_000],
    ['Wed, 31 Dec 2025 00:00:00 GMT', 0],
    ['soon', undefined],
    ['-5', undefined],
    ['', undefined],
    [undefined, undefined],
    [null, undefined],
  ])('%j -> %j', (value, expected) => {
    expect(parseRetryAfter(value, now)).toBe(expected);
  });
});

describe('the code sets', () => {
  it('count a failure to connect, and only that, as before the connection', () => {
    for (const code of ['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL', 'ECONNECT_TIMEOUT']) {
      expect(isBeforeConnect(code), code).toBe(true);
    }
    for (const code of ['ECONNRESET', 'EPIPE', 'ETIMEDOUT', undefined]) expect(isBeforeConnect(code), code).toBe(false);
  });

  it('know the certificate failures, and no network failure among them', () => {
    for (const code of ['DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'CERT_HAS_EXPIRED', 'ERR_TLS_CERT_ALTNAME_INVALID']) {
      expect(isCertificateError(code), code).toBe(true);
    }
    expect([...beforeConnectCodes].some((code) => certificateCodes.has(code))).toBe(false);
    expect(isCertificateError(undefined)).toBe(false);
  });
});

describe('readJson', () => {
  it.each<[string | Uint8Array | undefined, Record<string, unknown>]>([
    ['{"error":{"code":"X"}}', { error: { code: 'X' } }],
    [new TextEncoder().encode('{"id":"1"}'), { id: '1' }],
    ['<html>Bad gateway</html>', {}],
    ['[1,2]', {}],
    ['null', {}],
    ['', {}],
    [undefined, {}],
  ])('%j', (body, expected) => {
    expect(readJson(body)).toEqual(expected);
  });
});

describe('safeCause', () => {
  it('keeps only the fields given, and nothing of the original error', () => {
    const cause = safeCause('SesError', 'throttled', { statusCode: 429, requestId: undefined, code: 'Throttling' });
    expect(cause).toBeInstanceOf(Error);
    expect(cause.name).toBe('SesError');
    expect({ ...cause }).toEqual({ name: 'SesError', statusCode: 429, code: 'Throttling' });
  });
});
