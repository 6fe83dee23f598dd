import { readFileSync } from 'node:fs';
import { inspect } from 'node:util';
import { type AdapterOptions, MailError, parseTransportUrl, type TokenProvider } from '@mailport/core';
import { describe, expect, it } from 'vitest';
import { graphOptionsFromUrl, graphUrlAliases, graphUrlParameters, resolveGraphOptions } from './graph-options.js';
import { createTransportFromUrl } from './index.js';

const tokens: TokenProvider = { getAccessToken: async () => ({ token: 't' }) };
const context = (env: Record<string, string> = {}, options: AdapterOptions['graph'] = {}) => ({ env, options, tokenProvider: undefined });

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
const url = (text: string) => parseTransportUrl(text);

describe('graphOptionsFromUrl', () => {
  it('has every parameter it reads, and each old spelling, in the README table, and no other', () => {
    expect(documentedParameters(new URL('../README.md', import.meta.url), '## URL parameters and options')).toEqual(
      [...graphUrlParameters, ...Object.keys(graphUrlAliases)].sort(),
    );
  });

  it('still reads base_url and max_concurrency, the old names of endpoint and concurrency', () => {
    const credentials = 'tenant=t&client_id=c&client_secret=s';
    expect(
      graphOptionsFromUrl(
        url(`graph://a@contoso.com?${credentials}&base_url=https%3A%2F%2Fgraph.microsoft.us%2Fv1.0&max_concurrency=2`),
        context(),
      ),
    ).toMatchObject({ endpoint: 'https://graph.microsoft.us/v1.0', concurrency: 2 });
    expect(() => graphOptionsFromUrl(url(`graph://a@contoso.com?${credentials}&max_concurrency=2&concurrency=3`), context())).toThrow(
      /max_concurrency is the old name of concurrency/,
    );
  });

  it('reads the sender, credentials and settings', () => {
    const options = graphOptionsFromUrl(
      url(
        'graph://noreply@contoso.com?tenant=t-1&client_id=c-1&client_secret=s3cr%2Bt&authority_host=https%3A%2F%2Flogin.microsoftonline.us' +
          '&endpoint=https%3A%2F%2Fgraph.microsoft.us%2Fv1.0&mode=json&save_to_sent_items=false&timeout=30s&concurrency=2',
      ),
      context(),
    );
    expect(options).toMatchObject({
      sender: 'noreply@contoso.com',
      endpoint: 'https://graph.microsoft.us/v1.0',
      mode: 'json',
      saveToSentItems: false,
      timeoutMs: 30_000,
      concurrency: 2,
      auth: { tenantId: 't-1', clientId: 'c-1', authorityHost: 'https://login.microsoftonline.us' },
    });
    const secret = (options.auth as { clientSecret: { reveal(): string } }).clientSecret;
    expect(secret.reveal()).toBe('s3cr+t');
    expect(inspect(options, { depth: 10 })).not.toContain('s3cr+t');
  });

  it('takes the credentials @azure/identity reads from the environment', () => {
    const options = graphOptionsFromUrl(
      url('graph://noreply@contoso.com'),
      context({ AZURE_TENANT_ID: 'env-tenant', AZURE_CLIENT_ID: 'env-client', AZURE_CLIENT_CERTIFICATE_PATH: '/keys/app.pem' }),
    );
    expect(options.auth).toMatchObject({ tenantId: 'env-tenant', clientId: 'env-client', certificatePath: '/keys/app.pem' });
  });

  it('prefers a token provider given in the adapter options, then URL credentials, then createTransport’s', () => {
    expect(
      graphOptionsFromUrl(url('graph://a@b.example?tenant=t&client_id=c&client_secret=s'), context({}, { tokenProvider: tokens }))
        .tokenProvider,
    ).toBe(tokens);
    expect(graphOptionsFromUrl(url('graph://a@b.example'), { env: {}, options: {}, tokenProvider: tokens }).tokenProvider).toBe(tokens);
  });

  it('uses a refresh token only with onRefreshToken', () => {
    expect(() => graphOptionsFromUrl(url('graph://a@b.example?client_id=c&refresh_token=r'), context())).toThrow(/onRefreshToken/);
    const options = graphOptionsFromUrl(
      url('graph://a@b.example?client_id=c&refresh_token=r'),
      context({}, { onRefreshToken: () => undefined }),
    );
    expect(options.auth).toMatchObject({ kind: 'delegated', clientId: 'c' });
  });

  it.each([
    ['graph://noreply@contoso.com?tenant=t&client_id=c&client_secret=s&colour=blue', /unknown parameter "colour"/],
    ['graph://contoso.com?tenant=t&client_id=c&client_secret=s', /no sender/],
    ['graph://noreply:pw@contoso.com?tenant=t&client_id=c', /password/],
    ['graph://noreply@contoso.com?tenant=t&client_id=c&client_secret=s&mode=xml', /mode=xml/],
    ['graph://noreply@contoso.com?tenant=t&client_id=c&client_secret=s&max_concurrency=9', /max_concurrency/],
    ['graph://noreply@contoso.com?client_id=c', /tenant.*client_secret/],
  ])('refuses %s', (text, message) => {
    let error: unknown;
    try {
      graphOptionsFromUrl(url(text), context());
    } catch (caught) {
      error = caught;
    }
    expect(MailError.isInstance(error) && error.code).toBe('configuration');
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).not.toMatch(/pw|client_secret=s\b/);
  });
});

describe('resolveGraphOptions', () => {
  it('splits the endpoint into host and version, national clouds and proxies included', () => {
    expect(resolveGraphOptions({ sender: 'a@b.example', tokenProvider: tokens })).toMatchObject({
      origin: 'https://graph.microsoft.com',
      version: 'v1.0',
    });
    expect(
      resolveGraphOptions({ sender: 'a@b.example', tokenProvider: tokens, endpoint: 'https://proxy.example/graph/v1.0/' }),
    ).toMatchObject({
      origin: 'https://proxy.example/graph',
      version: 'v1.0',
    });
    expect(() => resolveGraphOptions({ sender: 'a@b.example', tokenProvider: tokens, endpoint: 'https://graph.microsoft.com' })).toThrow(
      /version/,
    );
  });

  it('refuses saveToSentItems false in MIME mode, which Graph cannot honour', () => {
    expect(() => resolveGraphOptions({ sender: 'a@b.example', tokenProvider: tokens, saveToSentItems: false })).toThrow(/mode json/);
    expect(
      resolveGraphOptions({ sender: 'a@b.example', tokenProvider: tokens, saveToSentItems: false, mode: 'json' }).saveToSentItems,
    ).toBe(false);
  });

  it('needs a sender and credentials', () => {
    expect(() => resolveGraphOptions({ sender: '', tokenProvider: tokens })).toThrow(/sender/);
    expect(() => resolveGraphOptions({ sender: 'a@b.example' })).toThrow(/no credentials/);
  });
});

describe('createTransportFromUrl', () => {
  it('names the transport by its sender, never its secret', () => {
    const transport = createTransportFromUrl(url('graph://noreply@contoso.com?tenant=t&client_id=c&client_secret=very-secret'), context());
    expect(String(transport)).toBe('graph://noreply@contoso.com');
    expect(inspect(transport, { depth: 10, showHidden: true })).not.toContain('very-secret');
    expect(JSON.stringify(transport)).not.toContain('very-secret');
    expect(transport).toMatchObject({
      capabilities: { maxMessageSize: 150 * 1024 * 1024, maxRecipients: 500, customHeaders: true, concurrency: 4 },
    });
  });
});
