import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { createTransport, MailError, parseTransportUrl, type Secret } from '@mailport/core';
import { describe, expect, it } from 'vitest';
import { resolveSmtpOptions, smtpOptionsFromUrl, smtpUrlParameters } from './smtp-options.js';

const context = { options: {}, tokenProvider: undefined };

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
    expect(MailError.isInstance(error)).toBe(true);
    expect((error as MailError).code).toBe('configuration');
    return error as MailError;
  }
  throw new Error('expected a configuration error');
}

describe('resolveSmtpOptions', () => {
  it('requires STARTTLS by default, except on loopback and with implicit TLS', () => {
    expect(resolveSmtpOptions({ host: 'smtp.example.com' })).toMatchObject({ port: 587, secure: false, requireTls: true });
    expect(resolveSmtpOptions({ host: '127.0.0.1' }).requireTls).toBe(false);
    expect(resolveSmtpOptions({ host: 'localhost' }).requireTls).toBe(false);
    expect(resolveSmtpOptions({ host: '::1' }).requireTls).toBe(false);
    expect(resolveSmtpOptions({ host: 'smtp.example.com', secure: true })).toMatchObject({ port: 465, requireTls: false });
    expect(resolveSmtpOptions({ host: 'smtp.example.com', port: 465 }).secure).toBe(true);
    expect(resolveSmtpOptions({ host: 'smtp.example.com', requireTls: false }).requireTls).toBe(false);
  });

  it('always verifies certificates and asks for TLS 1.2 or newer', () => {
    const options = resolveSmtpOptions({ host: 'smtp.example.com', tls: { servername: 'mail.example.com' } });
    expect(options.tls).toMatchObject({ rejectUnauthorized: true, minVersion: 'TLSv1.2', servername: 'mail.example.com' });
  });

  it('has timeouts of seconds, not minutes', () => {
    const options = resolveSmtpOptions({ host: 'smtp.example.com' });
    expect(options.connectionTimeoutMs).toBe(10_000);
    expect(options.greetingTimeoutMs).toBe(10_000);
    expect(options.socketTimeoutMs).toBe(30_000);
    expect(options.pool).toBe(true);
    expect(options.maxConnections).toBe(5);
    expect(options.maxMessagesPerConnection).toBe(100);
  });

  it('refuses a missing host, a bad port and incomplete auth', () => {
    configurationError(() => resolveSmtpOptions({ host: '' }));
    configurationError(() => resolveSmtpOptions({ host: 'x', port: 70_000 }));
    configurationError(() => resolveSmtpOptions({ host: 'x', auth: { user: '' } as never }));
    configurationError(() => resolveSmtpOptions({ host: 'x', auth: { user: 'u' } as never }));
  });
});

describe('smtp:// URLs', () => {
  it('has every parameter it and the OAuth layers read in the README tables, and no other', () => {
    expect(documentedParameters(new URL('../README.md', import.meta.url), '## URL parameters and options')).toEqual(
      [...smtpUrlParameters].sort(),
    );
  });

  it('says which parameters go with oauth= when they come without it', () => {
    const error = configurationError(() => smtpOptionsFromUrl(parseTransportUrl('smtp://u:p@mail.example.com?tenant=contoso'), context));
    expect(error.message).toContain('"tenant" does not apply');
  });

  it('reads every documented parameter', async () => {
    const caFile = join(tmpdir(), `mailport-ca-${process.pid}.pem`);
    await writeFile(caFile, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
    const url = parseTransportUrl(
      `smtp://user%40example.com:p%40ss%3Aword@mail.example.com:2525?pool=false&max_connections=3&max_messages=50&idle_timeout=2s` +
        `&connect_timeout=5s&greeting_timeout=4000&socket_timeout=1m&ehlo_name=app.example.com&ca_file=${encodeURIComponent(caFile)}` +
        '&require_tls=false&max_size=10000000&max_recipients=100',
    );
    const options = smtpOptionsFromUrl(url, context);
    expect(options).toMatchObject({
      host: 'mail.example.com',
      port: 2525,
      secure: false,
      requireTls: false,
      pool: false,
      maxConnections: 3,
      maxMessagesPerConnection: 50,
      idleTimeoutMs: 2_000,
      connectionTimeoutMs: 5_000,
      greetingTimeoutMs: 4_000,
      socketTimeoutMs: 60_000,
      ehloName: 'app.example.com',
      maxMessageSize: 10_000_000,
      maxRecipients: 100,
    });
    expect(options.auth).toMatchObject({ user: 'user@example.com' });
    const pass = (options.auth as { pass: Secret }).pass;
    expect(pass.reveal()).toBe('p@ss:word');
    expect(String(options.ca)).toContain('BEGIN CERTIFICATE');
  });

  it('smtps:// means implicit TLS on 465', () => {
    const options = resolveSmtpOptions(smtpOptionsFromUrl(parseTransportUrl('smtps://u:p@mail.example.com'), context));
    expect(options).toMatchObject({ secure: true, port: 465, id: 'smtps://mail.example.com:465' });
  });

  it('refuses unknown parameters, bad values, a user without password, and a missing ca_file', () => {
    const unknown = configurationError(() => smtpOptionsFromUrl(parseTransportUrl('smtp://mail.example.com?pooll=true'), context));
    expect(unknown.message).toContain('"pooll"');
    expect(unknown.remediation).toContain('pool');
    configurationError(() => smtpOptionsFromUrl(parseTransportUrl('smtp://mail.example.com?pool=maybe'), context));
    configurationError(() => smtpOptionsFromUrl(parseTransportUrl('smtp://mail.example.com?max_connections=0'), context));
    configurationError(() => smtpOptionsFromUrl(parseTransportUrl('smtp://mail.example.com?socket_timeout=soon'), context));
    configurationError(() => smtpOptionsFromUrl(parseTransportUrl('smtp://user@mail.example.com'), context));
    configurationError(() => smtpOptionsFromUrl(parseTransportUrl('smtp://mail.example.com?ca_file=/nonexistent/ca.pem'), context));
    configurationError(() => smtpOptionsFromUrl(parseTransportUrl('smtp://mail.example.com?auth=cram'), context));
  });

  it('auth=xoauth2 needs a user and a token provider', () => {
    configurationError(() => smtpOptionsFromUrl(parseTransportUrl('smtp://mail.example.com?auth=xoauth2'), context));
    const missing = configurationError(() =>
      smtpOptionsFromUrl(parseTransportUrl('smtp://me%40example.com@mail.example.com?auth=xoauth2'), context),
    );
    expect(missing.remediation).toMatch(/tokenProvider/);
    const tokenProvider = { getAccessToken: async () => ({ token: 't' }) };
    const options = smtpOptionsFromUrl(parseTransportUrl('smtp://me%40example.com@mail.example.com?auth=xoauth2'), {
      options: {},
      tokenProvider,
    });
    expect(options.auth).toEqual({ user: 'me@example.com', tokenProvider });
  });

  it('never shows the password: not in the transport, its id, or a configuration error', async () => {
    const transport = await createTransport('smtp://user:Sup3rSecret%21@mail.example.com:587');
    for (const shown of [String(transport), transport.id, inspect(transport, { depth: 10, showHidden: true }), JSON.stringify(transport)]) {
      expect(shown).not.toContain('Sup3rSecret');
    }
    await transport.close?.();
    const error = await createTransport('smtp://user:Sup3rSecret%21@mail.example.com:587?bogus=1').catch(
      (caught: unknown) => caught as MailError,
    );
    for (const shown of [String(error), JSON.stringify(error), inspect(error, { depth: 10, showHidden: true })]) {
      expect(shown).not.toContain('Sup3rSecret');
    }
    expect(String(error)).toContain('user:***@mail.example.com');
  });
});
