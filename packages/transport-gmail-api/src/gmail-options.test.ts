import { readFileSync } from 'node:fs';
import { inspect } from 'node:util';
import {
  type AdapterOptions,
  createTokenCache,
  MailError,
  parseTransportUrl,
  type TokenProvider,
  type TransportFactoryContext,
} from '@mailport/core';
import { describe, expect, it } from 'vitest';
import { gmailOptionsFromUrl, gmailUrlAliases, gmailUrlParameters, resolveGmailOptions } from './gmail-options.js';

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

const tokens: TokenProvider = createTokenCache(async () => ({ token: 'injected' }));
type GmailContext = TransportFactoryContext<AdapterOptions['gmail']>;
const context = (overrides: Partial<GmailContext> = {}): GmailContext => ({
  env: {},
  options: {},
  tokenProvider: undefined,
  ...overrides,
});
const userQuery = 'client_id=cid.apps.googleusercontent.com&client_secret=very-secret&refresh_token=1%2F%2Frefresh-secret';

function configurationError(run: () => unknown): MailError {
  try {
    run();
  } catch (error) {
    expect(MailError.isInstance(error)).toBe(true);
    expect((error as MailError).code).toBe('configuration');
    return error as MailError;
  }
  throw new Error('expected a configuration error');
}

describe('gmailOptionsFromUrl', () => {
  it('has every parameter it reads, and each old spelling, in the README table, and no other', () => {
    expect(documentedParameters(new URL('../README.md', import.meta.url), '## URL parameters and options')).toEqual(
      [...gmailUrlParameters, ...Object.keys(gmailUrlAliases)].sort(),
    );
  });

  it('still reads root_url, the old name of endpoint, and refuses both at once', () => {
    const base = `gmail://a@example.com?${userQuery}`;
    expect(gmailOptionsFromUrl(parseTransportUrl(`${base}&root_url=http%3A%2F%2F127.0.0.1%3A1%2F`), context()).endpoint).toBe(
      'http://127.0.0.1:1/',
    );
    const both = `${base}&root_url=http%3A%2F%2F127.0.0.1%3A1%2F&endpoint=http%3A%2F%2F127.0.0.1%3A2%2F`;
    expect(configurationError(() => gmailOptionsFromUrl(parseTransportUrl(both), context())).message).toMatch(
      /root_url is the old name of endpoint/,
    );
  });

  it('reads the mailbox, user OAuth and every option', () => {
    const url = parseTransportUrl(
      `gmail://billing@example.com?${userQuery}&token_url=http%3A%2F%2F127.0.0.1%3A1%2Ftoken&endpoint=http%3A%2F%2F127.0.0.1%3A1%2F` +
        '&upload_threshold=1000&max_size=2000000&timeout=30s&connect_timeout=2s&check_send_as=false&concurrency=2',
    );
    const options = gmailOptionsFromUrl(url, context());
    expect(options).toMatchObject({
      user: 'billing@example.com',
      endpoint: 'http://127.0.0.1:1/',
      uploadThreshold: 1000,
      maxMessageSize: 2_000_000,
      timeoutMs: 30_000,
      connectionTimeoutMs: 2000,
      checkSendAs: false,
      concurrency: 2,
    });
    expect(typeof options.tokenProvider?.getAccessToken).toBe('function');
    expect(resolveGmailOptions(options).id).toBe('gmail://billing@example.com');
    expect(url.redacted).not.toContain('very-secret');
    expect(url.redacted).not.toContain('refresh-secret');
    expect(inspect(options, { depth: 10, showHidden: true })).not.toMatch(/very-secret|refresh-secret/);
  });

  it('takes gmail://me and a token provider passed to createTransport', () => {
    const options = gmailOptionsFromUrl(parseTransportUrl('gmail://me'), context({ tokenProvider: tokens }));
    expect(options.user).toBe('me');
    expect(options.tokenProvider).toBe(tokens);
  });

  it('prefers credentials in the URL over an injected token provider', () => {
    const options = gmailOptionsFromUrl(parseTransportUrl(`gmail://a@example.com?${userQuery}`), context({ tokenProvider: tokens }));
    expect(options.tokenProvider).not.toBe(tokens);
  });

  it('reads credentials from the environment', () => {
    const env = { GOOGLE_CLIENT_ID: 'cid', GOOGLE_CLIENT_SECRET: 'secret', GOOGLE_REFRESH_TOKEN: 'refresh' };
    expect(() => gmailOptionsFromUrl(parseTransportUrl('gmail://a@example.com'), context({ env }))).not.toThrow();
  });

  it('refuses unknown parameters, passwords, a missing mailbox and missing credentials', () => {
    expect(
      configurationError(() => gmailOptionsFromUrl(parseTransportUrl(`gmail://a@example.com?${userQuery}&uplod_threshold=1`), context()))
        .message,
    ).toMatch(/unknown parameter "uplod_threshold"/);
    const withPassword = configurationError(() => gmailOptionsFromUrl(parseTransportUrl('gmail://a:hunter2@example.com'), context()));
    expect(withPassword.message).toMatch(/has a password/);
    expect(withPassword.message).not.toContain('hunter2');
    expect(
      configurationError(() => gmailOptionsFromUrl(parseTransportUrl('gmail://example.com'), context({ tokenProvider: tokens }))).message,
    ).toMatch(/names no mailbox/);
    expect(configurationError(() => gmailOptionsFromUrl(parseTransportUrl('gmail://a@example.com'), context())).message).toMatch(
      /no Google credentials/,
    );
    expect(
      configurationError(() =>
        gmailOptionsFromUrl(parseTransportUrl('gmail://a@example.com?token_url=http%3A%2F%2Fx%2F'), context({ tokenProvider: tokens })),
      ).message,
    ).toMatch(/token_url needs credentials in the URL/);
    expect(
      configurationError(() => gmailOptionsFromUrl(parseTransportUrl(`gmail://a@example.com?${userQuery}&max_size=99999999`), context()))
        .message,
    ).toMatch(/max_size/);
  });
});

describe('resolveGmailOptions', () => {
  it('fills in the defaults', () => {
    expect(resolveGmailOptions({ user: 'a@example.com', tokenProvider: tokens })).toEqual({
      user: 'a@example.com',
      tokenProvider: tokens,
      endpoint: 'https://gmail.googleapis.com/',
      uploadThreshold: 5_000_000,
      maxMessageSize: 36_700_160,
      timeoutMs: 120_000,
      connectionTimeoutMs: 10_000,
      checkSendAs: true,
      concurrency: 4,
      id: 'gmail://a@example.com',
    });
  });

  it('builds a service account provider acting for the user from auth', () => {
    const options = resolveGmailOptions({
      user: 'a@example.com',
      auth: { credentials: { client_email: 'sa@p.iam.gserviceaccount.com', private_key: '-----BEGIN PRIVATE KEY-----' } },
    });
    expect(String(options.tokenProvider)).toBe('[TokenProvider]');
  });

  it('refuses a bad user, no credentials, a bad root URL and sizes over Gmail', () => {
    configurationError(() => resolveGmailOptions({ user: 'nobody', tokenProvider: tokens }));
    configurationError(() => resolveGmailOptions({ user: 'a@example.com' }));
    configurationError(() => resolveGmailOptions({ user: 'a@example.com', tokenProvider: tokens, endpoint: 'gmail.googleapis.com' }));
    configurationError(() => resolveGmailOptions({ user: 'a@example.com', tokenProvider: tokens, maxMessageSize: 50_000_000 }));
    configurationError(() => resolveGmailOptions({ user: 'a@example.com', tokenProvider: tokens, uploadThreshold: 0 }));
  });
});
