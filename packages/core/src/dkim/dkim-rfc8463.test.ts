import { describe, expect, it } from 'vitest';
import { skipUnlessFound } from '../../../sandbox/test/find-tool.js';
import { findPythonDkim, verifyWithMailauth, verifyWithPython } from '../../test/dkim-verifiers.js';
import * as rfc from '../../test/rfc8463.js';
import { headerFields, RelaxedBodyHash } from './dkim-canonical.js';
import { type DkimKey, resolveDkimOptions } from './dkim-keys.js';
import { compareDkimRecord, parseDkimRecord } from './dkim-record.js';
import { dkimSignatures, signatureValue, signedData } from './dkim-sign.js';

// RFC 8463 Appendix A: the RFC's keys, records and signed message against mailport's signer.

const [ed25519Key, rsaKey] = resolveDkimOptions({
  keys: [
    { domain: 'football.example.com', selector: 'brisbane', privateKey: rfc.ed25519PrivateKey },
    { domain: 'football.example.com', selector: 'test', privateKey: rfc.rsaPrivateKey },
  ],
}).keys as [DkimKey, DkimKey];

const headerEnd = rfc.unsigned.indexOf('\r\n\r\n');
const fields = headerFields(rfc.unsigned.slice(0, headerEnd));
const body = Buffer.from(rfc.unsigned.slice(headerEnd + 4), 'latin1');
const tagValue = (field: string, tag: string): string =>
  (new RegExp(`(?:^|[;:]\\s*)${tag}=([^;]*)`).exec(field.replace(/\r\n/g, ''))?.[1] ?? '').replace(/\s+/g, '');
// The field as the verifier hashes it: b= emptied (it is the last tag in both).
const withoutB = (field: string): string => field.slice(0, field.lastIndexOf('b=') + 2);
const rfcNames = ['from', 'to', 'subject', 'date', 'message-id', 'from', 'subject', 'date'];

describe('RFC 8463 Appendix A', () => {
  it('the keys of A.1 are the keys published in A.2', () => {
    expect(compareDkimRecord(parseDkimRecord(rfc.records['brisbane._domainkey.football.example.com'] as string), ed25519Key)).toMatchObject(
      {
        ok: true,
      },
    );
    expect(compareDkimRecord(parseDkimRecord(rfc.records['test._domainkey.football.example.com'] as string), rsaKey)).toMatchObject({
      ok: true,
      notes: ['1024-bit RSA key: 2048 bits is the recommended size'],
    });
  });

  it('the streamed relaxed body hash is the RFC’s bh=, however the body is cut into chunks', () => {
    const expected = tagValue(rfc.ed25519Field, 'bh');
    expect(expected).toBe('2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=');
    for (let cut = 0; cut <= body.length; cut++) {
      const hash = new RelaxedBodyHash();
      hash.update(body.subarray(0, cut));
      hash.update(body.subarray(cut));
      expect(hash.digest().toString('base64'), `cut at ${cut}`).toBe(expected);
    }
    const byteByByte = new RelaxedBodyHash();
    for (const byte of body) byteByByte.update(Buffer.of(byte));
    expect(byteByByte.digest().toString('base64')).toBe(expected);
  });

  it('signs the RFC’s Ed25519 field to the RFC’s b= (Ed25519 is deterministic)', () => {
    const signature = signatureValue(ed25519Key, signedData(fields, rfcNames, withoutB(rfc.ed25519Field)));
    expect(signature).toBe(tagValue(rfc.ed25519Field, 'b'));
    expect(signature).toBe('/gCrinpcQOoIfuHNQIbq4pgh9kyIK3AQUdt9OdqQehSwhEIug4D11BusFa3bT3FY5OsU7ZbnKELq+eXdp1Q1Dw==');
  });

  it('signs the RFC’s RSA field to the RFC’s b= (RSASSA-PKCS1-v1_5 is deterministic too)', () => {
    const signature = signatureValue(rsaKey, signedData(fields, rfcNames, withoutB(rfc.rsaField)));
    expect(signature).toBe(tagValue(rfc.rsaField, 'b'));
  });

  it('signs the RFC’s message with the RFC’s keys at the RFC’s time, with the same body hash', async () => {
    const fieldsOut = (
      await dkimSignatures([Buffer.from(rfc.unsigned, 'latin1')], [ed25519Key, rsaKey], {
        headers: ['from', 'to', 'subject', 'date', 'message-id'],
        timestamp: rfc.timestamp,
      })
    ).toString('latin1');
    const [ed25519Field, rsaField] = fieldsOut.split(/\r\n(?=DKIM-Signature:)/) as [string, string];
    expect(tagValue(ed25519Field, 'bh')).toBe(tagValue(rfc.ed25519Field, 'bh'));
    expect(tagValue(ed25519Field, 't')).toBe(String(rfc.timestamp));
    expect(tagValue(ed25519Field, 'h')).toBe('from:from:to:to:subject:subject:date:date:message-id:message-id');
    expect(tagValue(rsaField, 'a')).toBe('rsa-sha256');
    expect(await verifyWithMailauth(`${fieldsOut}${rfc.unsigned}`, rfc.records)).toEqual(['pass', 'pass']);
  });
});

const python = findPythonDkim();
describe.skipIf(skipUnlessFound(python))('RFC 8463 Appendix A with python3-dkim', () => {
  const path = 'path' in python ? python.path : '';

  it('accepts the RFC’s signed message, and mailauth does too', async () => {
    expect(await verifyWithPython(path, rfc.signed, rfc.records)).toEqual(['pass', 'pass']);
    expect(await verifyWithMailauth(rfc.signed, rfc.records)).toEqual(['pass', 'pass']);
  });

  it('accepts the message mailport signs with the RFC’s keys', async () => {
    const fieldsOut = await dkimSignatures([Buffer.from(rfc.unsigned, 'latin1')], [ed25519Key, rsaKey], {
      headers: ['from', 'to', 'subject', 'date', 'message-id'],
      timestamp: rfc.timestamp,
    });
    expect(await verifyWithPython(path, Buffer.concat([fieldsOut, Buffer.from(rfc.unsigned, 'latin1')]), rfc.records)).toEqual([
      'pass',
      'pass',
    ]);
  });

  it('refuses the RFC’s message with a changed Subject', async () => {
    const changed = rfc.signed.replace('Subject: Is dinner ready?', 'Subject: Is lunch ready?');
    expect(await verifyWithPython(path, changed, rfc.records)).toEqual(['fail', 'fail']);
  });
});
