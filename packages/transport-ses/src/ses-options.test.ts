import { readFileSync } from 'node:fs';
import { inspect } from 'node:util';
import { type AdapterOptions, type CreateTransportOptions, MailError, parseTransportUrl, Secret } from '@mailport/core';
import { describe, expect, it } from 'vitest';
import { createTransportFromUrl } from './index.js';
import { resolveSesOptions, revealCredentials, sesOptionsFromUrl, sesUrlParameters } from './ses-options.js';

const fromUrl = (url: string, options: AdapterOptions['ses'] = {}) => sesOptionsFromUrl(parseTransportUrl(url), { options });

/** The parameter names, in backticks, in the first column of the tables of one section of a markdown file. */
function documentedParameters(file: URL, heading: string): string[] {
  const text = readFileSync(file, 'utf8');
  const start = text.indexOf(`\n${heading}\n`);
  const end = text.indexOf('\n## ', start + 1);
  const rows = text
    .slice(start, end === -1 ? undefined : end)
    .split('\n')
    .filter((line) => line.startsWith('|'));
  const names = rows.flatMap((row) => [...(row.split('|')[1] ?? '').matchAll(/`([a-z_]+)`/g)].map(([, name = '']) => name));
  return [...new Set(names)].sort();
}

function configurationError(run: () => unknown): MailError {
  try {
    run();
  } catch (error) {
    expect(MailError.isInstance(error) && error.code).toBe('configuration');
    return error as MailError;
  }
  throw new Error('expected a configuration error');
}

describe('ses:// URLs', () => {
  it('has every parameter it reads in the README table, and no other', () => {
    expect(documentedParameters(new URL('../README.md', import.meta.url), '## URL parameters and options')).toEqual(
      [...sesUrlParameters].sort(),
    );
  });

  it('reads the region, and leaves credentials to the default chain', () => {
    expect(fromUrl('ses://eu-west-1')).toMatchObject({ region: 'eu-west-1', credentials: undefined });
    expect(fromUrl('ses://')).toMatchObject({ region: undefined, credentials: undefined });
  });

  it('reads explicit keys, percent-decoded, with the secret wrapped', () => {
    const options = fromUrl('ses://AKIAEXAMPLE:abc%2Fdef%2Bghi@us-east-1?session_token=tok%2Fen');
    const credentials = options.credentials as { accessKeyId: string; secretAccessKey: Secret; sessionToken: Secret };
    expect(credentials.accessKeyId).toBe('AKIAEXAMPLE');
    expect(credentials.secretAccessKey).toBeInstanceOf(Secret);
    expect(revealCredentials(credentials)).toEqual({ accessKeyId: 'AKIAEXAMPLE', secretAccessKey: 'abc/def+ghi', sessionToken: 'tok/en' });
    expect(inspect(options, { depth: 5 })).not.toContain('abc/def');
  });

  it('reads every parameter', () => {
    expect(
      fromUrl(
        'ses://eu-west-1?configuration_set=transactional&endpoint=https%3A%2F%2Fvpce-1.email.eu-west-1.vpce.amazonaws.com&rate_limit=auto' +
          '&content=raw&message_id_domain=eu-west-1.amazonses.com&connect_timeout=2s&socket_timeout=30s&concurrency=4',
      ),
    ).toEqual({
      region: 'eu-west-1',
      credentials: undefined,
      configurationSet: 'transactional',
      endpoint: 'https://vpce-1.email.eu-west-1.vpce.amazonaws.com',
      rateLimit: 'auto',
      content: 'raw',
      messageIdDomain: 'eu-west-1.amazonses.com',
      connectionTimeoutMs: 2000,
      socketTimeoutMs: 30_000,
      concurrency: 4,
    });
    expect(fromUrl('ses://eu-west-1?rate_limit=12.5').rateLimit).toBe(12.5);
  });

  it('types the options createTransport passes for ses://', () => {
    const typed: CreateTransportOptions = { adapters: { ses: { concurrency: 4, configurationSet: 'transactional' } } };
    // @ts-expect-error: concurrency is a number
    const mistyped: CreateTransportOptions = { adapters: { ses: { concurrency: 'four' } } };
    expect([typed, mistyped]).toHaveLength(2);
  });

  it('lets adapter options override the URL', () => {
    expect(fromUrl('ses://eu-west-1?configuration_set=a', { configurationSet: 'b' }).configurationSet).toBe('b');
  });

  it.each([
    ['an unknown parameter', 'ses://eu-west-1?configuration=x', /unknown parameter "configuration"/],
    ['a key without a secret', 'ses://AKIAEXAMPLE@eu-west-1', /no secret access key/],
    ['a session token without keys', 'ses://eu-west-1?session_token=x', /session_token needs the keys/],
    ['a port', 'ses://eu-west-1:443', /no port or path/],
    ['a path', 'ses://eu-west-1/x', /no port or path/],
    ['a bad rate', 'ses://eu-west-1?rate_limit=fast', /rate_limit=fast/],
    ['a bad content', 'ses://eu-west-1?content=simple', /content=simple/],
  ])('refuses %s', (_name, url, message) => {
    expect(configurationError(() => fromUrl(url)).message).toMatch(message);
  });

  it('redacts the secret in every error about the URL', () => {
    const error = configurationError(() => fromUrl('ses://AKIAEXAMPLE:top%2Fsecret@eu-west-1?nope=1'));
    expect(`${error.message} ${JSON.stringify(error)}`).not.toContain('top');
  });

  it('builds a transport whose id shows no credentials', () => {
    const transport = createTransportFromUrl(parseTransportUrl('ses://AKIAEXAMPLE:top%2Fsecret@eu-west-1?configuration_set=x'), {
      env: {},
      options: {},
      tokenProvider: undefined,
    }) as { id: string; close(): Promise<void> };
    expect(transport.id).toBe('ses://eu-west-1');
    expect(String(transport)).toBe('ses://eu-west-1');
    expect(inspect(transport, { depth: 10, showHidden: true })).not.toMatch(/AKIAEXAMPLE|top\/secret/);
  });
});

describe('resolveSesOptions', () => {
  it('fills in defaults', () => {
    expect(resolveSesOptions({ region: 'ap-southeast-2' })).toMatchObject({
      content: 'auto',
      connectionTimeoutMs: 5000,
      socketTimeoutMs: 60_000,
      concurrency: 10,
      rateLimit: undefined,
      id: 'ses://ap-southeast-2',
    });
    expect(resolveSesOptions({ endpoint: 'http://127.0.0.1:4566/' })).toMatchObject({
      endpoint: 'http://127.0.0.1:4566',
      id: 'ses://?endpoint=http://127.0.0.1:4566',
    });
  });

  it.each([
    ['a region that is not one', { region: 'Europe' }, /not an AWS region/],
    ['an endpoint that is not a URL', { endpoint: 'localhost:4566' }, /not (a URL|http)/],
    ['a configuration set name with a space', { configurationSet: 'my set' }, /configuration set name/],
    ['a rate of zero', { rateLimit: 0 }, /rateLimit 0/],
    ['an empty secret', { credentials: { accessKeyId: 'AKIA', secretAccessKey: '' } }, /secretAccessKey is empty/],
    ['a negative timeout', { socketTimeoutMs: -1 }, /socketTimeoutMs must be above 0/],
  ])('refuses %s', (_name, options, message) => {
    expect(configurationError(() => resolveSesOptions(options as never)).message).toMatch(message);
  });
});
