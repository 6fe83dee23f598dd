import { randomBytes } from 'node:crypto';
import { createMessage, MailError } from '@mailport/core';
import { describe, expect, it } from 'vitest';
import { buildPayload, deserializeMessage, jobIdFor, normalizeKeys, openPayload, serializeMessage } from './message-codec.js';

const message = createMessage({
  from: 'Shop <shop@example.com>',
  to: ['ana@example.org', { name: 'Bo', address: 'bo@example.org' }],
  bcc: 'audit@example.com',
  subject: 'Your order',
  text: 'It shipped.',
  html: '<p>It shipped.</p>',
  headers: { 'X-Tag': ['a', 'b'] },
  attachments: [{ filename: 'a.bin', content: new Uint8Array([0, 1, 2, 255]) }],
  tags: ['orders'],
  envelope: { from: 'bounce@example.com' },
});

describe('job data', () => {
  it('round-trips a message: same Message-ID, Date, recipients, headers and attachment bytes', async () => {
    const serialized = await serializeMessage(message);
    const rebuilt = createMessage(deserializeMessage(JSON.parse(JSON.stringify(serialized))));
    expect(rebuilt.messageId).toBe(message.messageId);
    expect(rebuilt.date.toISOString()).toBe(message.date.toISOString());
    expect(rebuilt.bcc).toEqual(message.bcc);
    expect(rebuilt.headers).toEqual(message.headers);
    expect(rebuilt.envelope).toEqual(message.envelope);
    expect(rebuilt.attachments[0]?.source).toEqual({ kind: 'bytes', bytes: Buffer.from([0, 1, 2, 255]) });
  });

  it('derives the job id from the Message-ID only', () => {
    expect(jobIdFor('<a@example.com>')).toBe(jobIdFor('<a@example.com>'));
    expect(jobIdFor('<a@example.com>')).toMatch(/^m[0-9a-f]{32}$/);
    expect(jobIdFor('<a@example.com>')).not.toBe(jobIdFor('<b@example.com>'));
  });

  it('seals with AES-256-GCM bound to the job id, and refuses a wrong key or another job', async () => {
    const keys = normalizeKeys({ key: randomBytes(32) });
    const serialized = await serializeMessage(message);
    const payload = buildPayload(serialized, { jobId: 'm1', keys, maxJobBytes: 1e6 });
    expect(JSON.stringify(payload)).not.toContain('shipped');
    expect(JSON.stringify(payload)).not.toContain('ana@example.org');
    expect(openPayload(payload, 'm1', keys)).toEqual(serialized);
    expect(() => openPayload(payload, 'm2', keys)).toThrow(/could not be decrypted/);
    expect(() => openPayload(payload, 'm1', normalizeKeys({ key: randomBytes(32) }))).toThrow(/does not have/);
    expect(() => normalizeKeys({ key: randomBytes(16) })).toThrow(/32 bytes/);
  });

  it('refuses a job over maxJobBytes as invalid-message about the attachments', async () => {
    const serialized = await serializeMessage(message);
    let error: unknown;
    try {
      buildPayload(serialized, { jobId: 'm1', keys: [], maxJobBytes: 100 });
    } catch (caught) {
      error = caught;
    }
    expect(MailError.isInstance(error) && error.code === 'invalid-message' && error.field === 'attachments').toBe(true);
    expect((error as MailError).remediation).toMatch(/maxJobBytes/);
  });
});
