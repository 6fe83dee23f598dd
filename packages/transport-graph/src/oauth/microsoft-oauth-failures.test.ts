import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMailer, MailError, type MailerOptions, type SendErrorEvent } from '@mailport/core';
import { type Sandbox, startSandbox } from '@mailport/sandbox';
import { generate } from 'selfsigned';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

// Every way Microsoft OAuth can fail before a message goes out, each through createMailer and a
// transport URL: which code it becomes, and that only what can pass later is retried.

let sandbox: Sandbox;
let directory: string;
let expiredCertificatePath: string;

beforeAll(async () => {
  // An app certificate whose validity ended yesterday, registered on the sandbox's app as Entra
  // keeps it: Entra ID refuses a client assertion signed with it ("The key used is expired").
  const day = 24 * 60 * 60 * 1000;
  const expired = await generate([{ name: 'commonName', value: 'mailport expired app certificate' }], {
    keyType: 'rsa',
    keySize: 2048,
    algorithm: 'sha256',
    notBeforeDate: new Date(Date.now() - 400 * day),
    notAfterDate: new Date(Date.now() - day),
  });
  sandbox = await startSandbox({ accounts: { microsoft: { certificates: [expired.cert] } } });
  directory = await mkdtemp(join(tmpdir(), 'mailport-microsoft-failures-'));
  expiredCertificatePath = join(directory, 'expired.pem');
  await writeFile(expiredCertificatePath, `${expired.private}\n${expired.cert}`);
});
afterAll(async () => {
  await sandbox.close();
  await rm(directory, { recursive: true, force: true });
});
beforeEach(() => {
  sandbox.requests.clear();
  sandbox.faults.clear();
  sandbox.store.clear();
});

const message = { from: 'sender@contoso.example', to: 'ana@example.org', subject: 'Hello', text: 'Hi Ana' };

/** Sends through `url` with the default retries and reports the error and every attempt's event. */
const attempt = async (url: string, options: Partial<MailerOptions> = {}): Promise<{ error: MailError; events: SendErrorEvent[] }> => {
  const events: SendErrorEvent[] = [];
  const mailer = createMailer({ transport: url, ...options, hooks: { onError: (event) => void events.push(event) } });
  const error = await mailer.send(message).then(
    () => new Error('expected a failure'),
    (caught: unknown) => caught,
  );
  await mailer.close();
  expect(MailError.isInstance(error), String(error)).toBe(true);
  return { error: error as MailError, events };
};
const withParam = (url: string, name: string, value: string): string =>
  url.replace(new RegExp(`([?&]${name}=)[^&]*`), `$1${encodeURIComponent(value)}`);
const withoutParam = (url: string, name: string): string => url.replace(new RegExp(`[?&]${name}=[^&]*`), '');

describe('Microsoft OAuth failures through createMailer', () => {
  it('an unknown tenant, refused at OpenID discovery with invalid_tenant, is configuration and not retried', async () => {
    const url = withParam(sandbox.urls.graph, 'tenant', '00000000-1111-4222-8333-444444444444');
    const { error, events } = await attempt(url);
    expect(error).toMatchObject({ code: 'configuration', retryable: false, providerCode: 'AADSTS90002', statusCode: 400 });
    expect(error.message).toMatch(/tenant was not found/);
    expect(events.map((event) => [event.attempt, event.willRetry])).toEqual([[1, false]]);
    // Entra was asked once (discovery): no second attempt, no backoff waited for.
    expect(sandbox.requests.entries.filter((entry) => entry.path.includes('/.well-known/openid-configuration'))).toHaveLength(1);
    expect(sandbox.store.size).toBe(0);
  });

  it('an unknown app is configuration, a wrong secret auth, neither retried', async () => {
    const unknownApp = await attempt(withParam(sandbox.urls.graph, 'client_id', '99999999-0000-4000-8000-000000000000'));
    expect(unknownApp.error).toMatchObject({ code: 'configuration', retryable: false, providerCode: 'AADSTS700016' });
    expect(unknownApp.events).toHaveLength(1);
    const wrongSecret = await attempt(withParam(sandbox.urls.graph, 'client_secret', 'not-the-secret'));
    expect(wrongSecret.error).toMatchObject({ code: 'auth', retryable: false, providerCode: 'AADSTS7000215', statusCode: 401 });
    expect(wrongSecret.events).toHaveLength(1);
    expect(JSON.stringify(wrongSecret.error)).not.toContain('not-the-secret');
    expect(sandbox.requests.count('microsoft.token')).toBe(2);
  });

  it('an expired app certificate is auth (AADSTS700027, the key is expired), not retried', async () => {
    const url = `${withoutParam(sandbox.urls.graph, 'client_secret')}&certificate_path=${encodeURIComponent(expiredCertificatePath)}`;
    const { error, events } = await attempt(url, { transportOptions: { env: {} } });
    expect(error).toMatchObject({ code: 'auth', retryable: false, providerCode: 'AADSTS700027', statusCode: 401 });
    expect(error.message).toMatch(/certificate was refused.*key used is expired/);
    expect(events).toHaveLength(1);
    expect(sandbox.requests.count('microsoft.token')).toBe(1);
  });

  it('an authority whose certificate is not trusted is configuration, app-only and delegated alike', async () => {
    // Without ca_file the sandbox's self-signed certificate is not trusted.
    const appOnly = await attempt(withoutParam(sandbox.urls.graph, 'ca_file'));
    expect(appOnly.error).toMatchObject({ code: 'configuration', retryable: false });
    expect(appOnly.error.message).toMatch(/TLS certificate is not trusted/);
    expect(appOnly.error.remediation).toMatch(/ca_file/);
    expect(appOnly.events).toHaveLength(1);

    const delegatedUrl = `${withoutParam(withoutParam(sandbox.urls.graph, 'ca_file'), 'client_secret')}&refresh_token=${encodeURIComponent(sandbox.accounts.microsoft.refreshToken)}`;
    const delegated = await attempt(delegatedUrl, {
      transportOptions: { env: {}, adapters: { graph: { onRefreshToken: () => undefined } } },
    });
    expect(delegated.error).toMatchObject({ code: 'configuration', retryable: false });
    expect(delegated.error.message).toMatch(/TLS certificate is not trusted/);
    expect(delegated.events).toHaveLength(1);
    expect(sandbox.requests.entries).toEqual([]);
  });

  it('a delegated token for an unknown tenant is configuration', async () => {
    const url = `${withoutParam(withParam(sandbox.urls.graph, 'tenant', 'nowhere.example'), 'client_secret')}&refresh_token=${encodeURIComponent(sandbox.accounts.microsoft.refreshToken)}`;
    const { error, events } = await attempt(url, {
      transportOptions: { env: {}, adapters: { graph: { onRefreshToken: () => undefined } } },
    });
    expect(error).toMatchObject({ code: 'configuration', retryable: false, providerCode: 'AADSTS90002' });
    expect(events).toHaveLength(1);
  });

  it('an authority that cannot be reached stays transient, and is retried', async () => {
    const url = withParam(sandbox.urls.graph, 'authority_host', 'https://127.0.0.1:9');
    const { error, events } = await attempt(url, { retry: { initialDelayMs: 1, maxAttempts: 2 } });
    expect(error).toMatchObject({ code: 'transient', retryable: true });
    expect(events.map((event) => event.willRetry)).toEqual([true, false]);
  });
});
