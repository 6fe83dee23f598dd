import { describe, expect, it } from 'vitest';
import { parseWorkerConfig, redactUrl } from './worker-config.js';

const env = {
  MAILPORT_REDIS_URL: 'redis://127.0.0.1:6380',
  MAILPORT_URL: 'smtp://app:s3cret@smtp.example.com:587',
  QUEUE_KEY: Buffer.alloc(32, 7).toString('base64'),
};
const parse = (raw: unknown, redis?: string) => parseWorkerConfig(raw, { env, file: 'worker.json', redis });

describe('mailport worker --config', () => {
  it('reads env: references where the secrets are, and notes none', () => {
    const config = parse({
      redis: 'env:MAILPORT_REDIS_URL',
      queue: 'mail',
      concurrency: 4,
      routes: {
        default: 'env:MAILPORT_URL',
        bulk: { transport: 'ses://eu-west-1', limitKey: 'ses-main', limits: { rates: [{ max: 40, perMs: 1000, unit: 'recipient' }] } },
      },
      limits: { 'smtp:smtp.example.com:587:app': { concurrency: 3 } },
      uncertain: 'resend',
      encryptionKeys: ['env:QUEUE_KEY'],
    });
    expect(config).toMatchObject({
      redis: 'redis://127.0.0.1:6380',
      queue: 'mail',
      concurrency: 4,
      routes: {
        default: { transport: 'smtp://app:s3cret@smtp.example.com:587' },
        bulk: { transport: 'ses://eu-west-1', limitKey: 'ses-main', limits: { rates: [{ max: 40, perMs: 1000, unit: 'recipient' }] } },
      },
      uncertain: 'resend',
      notes: [],
    });
    expect(config.encryptionKeys[0]?.byteLength).toBe(32);
  });

  it('takes the lookup policy and its grace period', () => {
    expect(parse({ routes: { default: 'memory://' }, uncertain: 'lookup', lookupGraceMs: 5000 })).toMatchObject({
      uncertain: 'lookup',
      lookupGraceMs: 5000,
    });
  });

  it('--redis wins over the file; MAILPORT_REDIS_URL is the default', () => {
    expect(parse({ routes: { default: 'memory://' } }).redis).toBe('redis://127.0.0.1:6380');
    expect(parse({ redis: 'redis://file:6379', routes: { default: 'memory://' } }, 'redis://flag:6379').redis).toBe('redis://flag:6379');
  });

  it('notes a credential written in the file, without repeating it', () => {
    const config = parse({ routes: { default: 'smtp://app:s3cret@smtp.example.com:587' } });
    expect(config.notes).toEqual([expect.stringMatching(/routes\.default holds a credential.*env:NAME/)]);
    expect(config.notes.join('')).not.toContain('s3cret');
  });

  it.each([
    [{ routes: {} }, /routes: give at least one route/],
    [{ routes: { default: 'env:NOPE' } }, /routes\.default: the environment variable NOPE is not set/],
    [{ routes: { default: 'memory://' }, concurency: 3 }, /concurency: unknown field/],
    [{ routes: { default: { transport: 'memory://', limit: {} } } }, /routes\.default\.limit: unknown field/],
    [
      { routes: { default: { transport: 'memory://', limits: { rates: [{ max: 0, perMs: 1000 }] } } } },
      /rates\[0\]\.max: must be a positive/,
    ],
    [{ routes: { default: 'memory://' }, limits: { k: { concurrency: 1.5 } } }, /limits\.k\.concurrency/],
    [{ routes: { default: 'memory://' }, uncertain: 'maybe' }, /uncertain: must be "dead-letter" \(default\), "resend" or "lookup"/],
    [{ routes: { default: 'memory://' }, lookupGraceMs: -1 }, /lookupGraceMs/],
    [{ routes: { default: 'memory://' }, redis: 'http://x' }, /redis: must be a redis:\/\//],
    [{ routes: { default: 'memory://' }, encryptionKeys: ['c2hvcnQ='] }, /encryptionKeys\[0\]: must be 32 bytes/],
    [[], /must be a JSON object/],
  ])('refuses %j', (raw, problem) => {
    expect(() => parse(raw)).toThrow(problem);
  });

  it('redacts a password for messages', () => {
    expect(redactUrl('redis://:pw@127.0.0.1:6379/0')).toBe('redis://:***@127.0.0.1:6379/0');
    expect(redactUrl('redis://127.0.0.1:6379')).toBe('redis://127.0.0.1:6379');
  });
});
