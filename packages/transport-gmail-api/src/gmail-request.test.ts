import { text } from 'node:stream/consumers';
import { createMessage, MailError, renderMimeParts } from '@mailport/core';
import { describe, expect, it } from 'vitest';
import { base64urlLength, gmailSendRequest, jsonChunks, matchSendAs, threadIdOf } from './gmail-request.js';

const message = (metadata: Record<string, string> = {}) =>
  createMessage({
    from: 'user@example.com',
    to: 'ana@example.org',
    bcc: 'audit@example.net',
    subject: 'Hi',
    text: 'Hello',
    metadata,
    messageId: '<fixed@example.com>',
    date: new Date('2026-05-01T10:00:00Z'),
  });

describe('gmailSendRequest', () => {
  it('sends a small message as JSON with base64url raw, Bcc kept', async () => {
    const mime = await renderMimeParts(message(), { keepBcc: true });
    const request = gmailSendRequest(mime, undefined, { uploadThreshold: 5_000_000 });
    expect(request).toMatchObject({ uploadType: 'json', contentType: 'application/json', threadId: undefined });
    const body = await text(request.body());
    expect(body.length).toBe(request.length);
    const json = JSON.parse(body) as { raw: string };
    expect(Object.keys(json)).toEqual(['raw']);
    expect(json.raw).toMatch(/^[A-Za-z0-9_-]+$/);
    const decoded = Buffer.from(json.raw, 'base64url').toString();
    expect(decoded).toContain('Bcc: audit@example.net\r\n');
    expect(decoded.split('\r\n')).toEqual([
      'From: user@example.com',
      'To: ana@example.org',
      'Bcc: audit@example.net',
      'Subject: Hi',
      'Message-ID: <fixed@example.com>',
      'Date: Fri, 01 May 2026 10:00:00 +0000',
      'Content-Transfer-Encoding: 7bit',
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=utf-8',
      '',
      'Hello',
      '',
    ]);
    // A new stream per attempt, with the same bytes.
    expect(await text(request.body())).toBe(body);
  });

  it('puts the threadId first in the JSON body', async () => {
    const mime = await renderMimeParts(message({ 'gmail.threadId': '18f3a9c2b4d5e6f7' }), { keepBcc: true });
    const request = gmailSendRequest(mime, '18f3a9c2b4d5e6f7', { uploadThreshold: 5_000_000 });
    expect((await text(request.body())).slice(0, 40)).toBe('{"threadId":"18f3a9c2b4d5e6f7","raw":"Rn');
  });

  it('takes the upload endpoint above the threshold: media, or multipart with a threadId', async () => {
    const mime = await renderMimeParts(message(), { keepBcc: true });
    expect(gmailSendRequest(mime, undefined, { uploadThreshold: 10 })).toMatchObject({
      uploadType: 'media',
      contentType: 'message/rfc822',
      length: mime.size,
    });
    const multipart = gmailSendRequest(mime, 'abc', { uploadThreshold: 10 });
    expect(multipart).toMatchObject({ uploadType: 'multipart', threadId: 'abc' });
    expect(Buffer.from(await text(multipart.body()))).toEqual(mime.toBuffer());
  });

  it('encodes across chunk boundaries exactly as one buffer would', () => {
    const bytes = Buffer.from(Array.from({ length: 200_003 }, (_, index) => (index * 31 + 7) % 256));
    const chunks = [bytes.subarray(0, 1), bytes.subarray(1, 50_000), bytes.subarray(50_000, 50_002), bytes.subarray(50_002)];
    const joined = Buffer.concat([...jsonChunks(Buffer.from('<'), chunks, Buffer.from('>'))]).toString('latin1');
    expect(joined).toBe(`<${bytes.toString('base64url')}>`);
    for (const size of [0, 1, 2, 3, 4, 5, 6, 200_003])
      expect(base64urlLength(size)).toBe(bytes.subarray(0, size).toString('base64url').length);
  });
});

describe('threadIdOf', () => {
  it('reads metadata["gmail.threadId"]', () => {
    expect(threadIdOf(message())).toBeUndefined();
    expect(threadIdOf(message({ 'gmail.threadId': '18F3A9C2B4D5E6F7' }))).toBe('18F3A9C2B4D5E6F7');
  });

  it('refuses what cannot be a Gmail thread id', () => {
    const error = (() => {
      try {
        threadIdOf(message({ 'gmail.threadId': '<reply@example.com>' }));
      } catch (caught) {
        return caught;
      }
    })();
    expect(MailError.isInstance(error) && error.code).toBe('invalid-message');
    expect(MailError.isInstance(error) && error.field).toBe('metadata.gmail.threadId');
  });
});

describe('matchSendAs', () => {
  it('compares addresses without case', () => {
    expect(matchSendAs('User@Example.com', ['user@example.com', 'alias@example.com'])).toBe('user@example.com');
    expect(matchSendAs('other@example.com', ['user@example.com'])).toBeUndefined();
  });
});
