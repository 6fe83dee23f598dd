import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMailer, MailError, type SendErrorEvent } from '@mailport/core';
import { type Sandbox, startSandbox } from '@mailport/sandbox';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

// Every way Google OAuth can fail before a message goes out, each through createMailer and a
// gmail:// URL. Google's token URL is fixed (no discovery document is read), so every failure
// comes from the token request itself or from the connection to it.

let sandbox: Sandbox;
let directory: string;

beforeAll(async () => {
  sandbox = await startSandbox();
  directory = await mkdtemp(join(tmpdir(), 'mailport-google-failures-'));
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

const message = { from: 'user@example.com', to: 'ana@example.org', subject: 'Hello', text: 'Hi Ana' };

const attempt = async (url: string): Promise<{ error: MailError; events: SendErrorEvent[] }> => {
  const events: SendErrorEvent[] = [];
  const mailer = createMailer({ transport: url, transportOptions: { env: {} }, hooks: { onError: (event) => void events.push(event) } });
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

describe('Google OAuth failures through createMailer', () => {
  it('an unknown OAuth client is configuration, like an unknown Microsoft app; a wrong secret is auth', async () => {
    const unknown = await attempt(withParam(sandbox.urls.gmail, 'client_id', 'nobody.apps.googleusercontent.com'));
    expect(unknown.error).toMatchObject({ code: 'configuration', retryable: false, statusCode: 401, providerCode: 'invalid_client' });
    expect(unknown.error.message).toMatch(/OAuth client was not found/);
    expect(unknown.events).toHaveLength(1);

    const wrongSecret = await attempt(withParam(sandbox.urls.gmail, 'client_secret', 'not-the-secret'));
    expect(wrongSecret.error).toMatchObject({ code: 'auth', retryable: false, statusCode: 401, providerCode: 'invalid_client' });
    expect(wrongSecret.events).toHaveLength(1);
    expect(JSON.stringify(wrongSecret.error)).not.toContain('not-the-secret');
    expect(sandbox.store.size).toBe(0);
  });

  it('a service account key Google does not know (deleted, disabled or expired) is auth, not retried', async () => {
    const account = sandbox.accounts.google.serviceAccount;
    const unknownKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const keyFile = join(directory, 'key.json');
    await writeFile(
      keyFile,
      JSON.stringify({ type: 'service_account', client_email: account.clientEmail, private_key: unknownKey, private_key_id: 'gone' }),
    );
    const url = `gmail://user@example.com?credentials_file=${encodeURIComponent(keyFile)}&token_url=${encodeURIComponent(`${sandbox.httpUrl}/token`)}&endpoint=${encodeURIComponent(`${sandbox.httpUrl}/`)}`;
    const { error, events } = await attempt(url);
    expect(error).toMatchObject({ code: 'auth', retryable: false, providerCode: 'invalid_grant' });
    expect(error.message).toMatch(/Invalid JWT Signature/);
    expect(events).toHaveLength(1);
  });

  it('a token endpoint whose certificate is not trusted is configuration, not retried', async () => {
    const { error, events } = await attempt(withParam(sandbox.urls.gmail, 'token_url', `${sandbox.httpsUrl}/token`));
    expect(error).toMatchObject({ code: 'configuration', retryable: false });
    expect(error.message).toMatch(/TLS certificate .* not trusted/);
    expect(events).toHaveLength(1);
    expect(sandbox.requests.entries).toEqual([]);
  });
});
