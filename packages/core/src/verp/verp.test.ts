import { parseVerpAddress, verpAddress, verpToken } from '@mailport/core/verp';
import { describe, expect, it } from 'vitest';
import { Secret } from '../secret.js';

const options = { domain: 'Bounces.Shop.example', secret: 'a-secret-of-32-bytes-for-the-hmac' };

describe('@mailport/core/verp', () => {
  it('makes an address within 64 characters of local part that parses back to the token of its Message-ID', () => {
    const address = verpAddress('<order-42@shop.example>', options);
    expect(address).toMatch(/^bounces\+[a-z2-7]{20}-[a-z2-7]{16}@bounces\.shop\.example$/);
    expect(address.slice(0, address.indexOf('@')).length).toBeLessThanOrEqual(64);
    expect(parseVerpAddress(address, options)).toBe(verpToken('<order-42@shop.example>'));
    expect(verpToken('order-42@shop.example')).toBe(verpToken('<order-42@shop.example>'));
    expect(parseVerpAddress(address.toUpperCase(), options)).toBe(verpToken('<order-42@shop.example>'));
  });

  it('refuses a forged or damaged MAC, another secret, domain or local part', () => {
    const address = verpAddress('<order-42@shop.example>', options);
    const [local = '', domain = ''] = address.split('@');
    const flipped = `${local.slice(0, -1)}${local.endsWith('a') ? 'b' : 'a'}@${domain}`;
    expect(parseVerpAddress(flipped, options)).toBeUndefined();
    expect(parseVerpAddress(address, { ...options, secret: 'another-secret-of-32-bytes-long!' })).toBeUndefined();
    expect(parseVerpAddress(address, { ...options, domain: 'other.example' })).toBeUndefined();
    expect(parseVerpAddress(address, { ...options, local: 'returns' })).toBeUndefined();
    expect(parseVerpAddress('bounces@bounces.shop.example', options)).toBeUndefined();
    expect(parseVerpAddress('not an address', options)).toBeUndefined();
  });

  it('refuses a short secret', () => {
    expect(() => verpAddress('<a@b>', { domain: 'b.example', secret: 'short' })).toThrow(/at least 16 bytes/);
  });

  it('refuses a secret that is neither a string nor bytes before any HMAC, even for an address that is not VERP', () => {
    for (const secret of [42, { byteLength: 32 }, new Secret('a-secret-of-32-bytes-for-the-hmac')]) {
      const options = { domain: 'b.example', secret: secret as unknown as string };
      expect(() => parseVerpAddress('x@b.example', options)).toThrow(/a string or a Uint8Array/);
      expect(() => verpAddress('<a@b>', options)).toThrow(/a string or a Uint8Array/);
    }
  });
});
