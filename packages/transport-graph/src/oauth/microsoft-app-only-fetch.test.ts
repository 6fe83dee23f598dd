import { createPrivateKey } from 'node:crypto';
import { inspect } from 'node:util';
import { MailError, Secret, type TokenProvider } from '@mailport/core';
import { type Sandbox, startSandbox } from '@mailport/sandbox';
import { generate } from 'selfsigned';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { type MicrosoftAppOnlyOptions, microsoftAppOnly } from './index.js';

// Issue 11: where @azure/identity and MSAL cannot run (Cloudflare Workers: node:https), microsoftAppOnly
// gets its tokens with @mailport/core/http and WebCrypto (microsoft-app-only-fetch.ts). That code is
// runtime-neutral, so it is tested here on Node against the sandbox's Entra token endpoint (HTTPS with
// its private CA, and plain HTTP on loopback as the workerd test uses), side by side with MSAL: the same
// tokens, the same error classes. The runtime matrix sends with it on workerd.

let sandbox: Sandbox;
let certificate: { key: string; cert: string };
let unregistered: { key: string; cert: string };

beforeAll(async () => {
  const make = async (name: string) => {
    const generated = await generate([{ name: 'commonName', value: name }], { keyType: 'rsa', keySize: 2048, algorithm: 'sha256' });
    return { key: generated.private, cert: generated.cert };
  };
  certificate = await make('mailport test app');
  unregistered = await make('not registered');
  sandbox = await startSandbox({ accounts: { microsoft: { certificates: [certificate.cert] } } });
});
afterAll(() => sandbox.close());
beforeEach(() => {
  sandbox.requests.clear();
  sandbox.faults.clear();
  vi.unstubAllGlobals();
});

/** Builds a provider as it would be built on Cloudflare Workers (navigator.userAgent is how the choice is made). */
function asOnWorkers<T>(build: () => T): T {
  vi.stubGlobal('navigator', { userAgent: 'Cloudflare-Workers' });
  try {
    return build();
  } finally {
    vi.unstubAllGlobals();
  }
}

const https = (): Pick<MicrosoftAppOnlyOptions, 'tenantId' | 'clientId' | 'authorityHost' | 'ca'> => ({
  tenantId: sandbox.accounts.microsoft.tenantId,
  clientId: sandbox.accounts.microsoft.clientId,
  authorityHost: sandbox.httpsUrl,
  ca: sandbox.ca,
});
const http = (): Pick<MicrosoftAppOnlyOptions, 'tenantId' | 'clientId' | 'authorityHost'> => ({
  tenantId: sandbox.accounts.microsoft.tenantId,
  clientId: sandbox.accounts.microsoft.clientId,
  authorityHost: sandbox.httpUrl,
});
const failure = async (provider: TokenProvider): Promise<MailError> => {
  const error = await provider.getAccessToken().then(
    () => new Error('expected a failure'),
    (caught: unknown) => caught,
  );
  expect(MailError.isInstance(error), String(error)).toBe(true);
  return error as MailError;
};
const shape = (error: MailError) => ({
  code: error.code,
  providerCode: error.providerCode,
  statusCode: error.statusCode,
  retryable: error.retryable,
});

describe('Microsoft app-only tokens without MSAL (the Workers path)', () => {
  for (const [over, base] of [
    ['HTTPS with the private CA', https],
    ['plain HTTP on loopback', http],
  ] as const) {
    it(`gets a token with a client secret over ${over}, and a forced refresh asks again`, async () => {
      const tokens = asOnWorkers(() => microsoftAppOnly({ ...base(), clientSecret: new Secret(sandbox.accounts.microsoft.clientSecret) }));
      const first = await tokens.getAccessToken();
      expect(sandbox.tokens.find(first.token)).toMatchObject({
        clientId: sandbox.accounts.microsoft.clientId,
        scopes: ['https://graph.microsoft.com/.default'],
      });
      expect(await tokens.getAccessToken()).toEqual(first);
      const second = await tokens.getAccessToken({ forceRefresh: true, refusedToken: first.token });
      expect(second.token).not.toBe(first.token);
      expect(sandbox.requests.count('microsoft.token')).toBe(2);
      // MSAL's own requests go to the OpenID metadata first; this path asks the token endpoint only.
      expect(sandbox.requests.count()).toBe(2);
    });

    it(`gets a token with a certificate's client assertion signed by WebCrypto (RS256, x5t) over ${over}`, async () => {
      const tokens = asOnWorkers(() => microsoftAppOnly({ ...base(), certificate: new Secret(`${certificate.key}\n${certificate.cert}`) }));
      expect(sandbox.tokens.find((await tokens.getAccessToken()).token)?.clientId).toBe(sandbox.accounts.microsoft.clientId);
    });
  }

  it('takes a PKCS#1 key (BEGIN RSA PRIVATE KEY) and the SMTP scope', async () => {
    const pkcs1 = createPrivateKey(certificate.key).export({ type: 'pkcs1', format: 'pem' }).toString();
    const tokens = asOnWorkers(() =>
      microsoftAppOnly({ ...http(), certificate: `${certificate.cert}\n${pkcs1}`, scopes: 'https://outlook.office365.com/.default' }),
    );
    expect(sandbox.tokens.find((await tokens.getAccessToken()).token)?.scopes).toEqual(['https://outlook.office365.com/.default']);
  });

  it('on Deno, a certificate (PEM or file) takes the WebCrypto path too, a client secret stays with MSAL', async () => {
    const read: string[] = [];
    const deno = {
      readTextFileSync: (path: string): string => {
        read.push(path);
        return `${certificate.key}\n${certificate.cert}`;
      },
    };
    vi.stubGlobal('Deno', deno);
    try {
      const fromFile = microsoftAppOnly({ ...http(), certificatePath: '/secrets/app.pem' });
      expect(read).toEqual(['/secrets/app.pem']);
      expect(sandbox.tokens.find((await fromFile.getAccessToken()).token)?.clientId).toBe(sandbox.accounts.microsoft.clientId);
      // MSAL only takes an https authority: this one proves the secret went to MSAL, not to fetch.
      expect(() => microsoftAppOnly({ ...http(), clientSecret: 'x' })).toThrow(/MSAL takes only https authorities/);
    } finally {
      vi.unstubAllGlobals();
    }
  });

  // Each failure through MSAL (Node) and through fetch (Workers) must be the same MailError.
  const failures: ReadonlyArray<readonly [string, () => TokenProvider]> = [
    ['a wrong client secret (auth)', () => microsoftAppOnly({ ...https(), clientSecret: 'nope' })],
    [
      'a certificate not registered on the app (auth)',
      () => microsoftAppOnly({ ...https(), certificate: `${unregistered.key}\n${unregistered.cert}` }),
    ],
    [
      'an unknown app (configuration)',
      () => microsoftAppOnly({ ...https(), clientId: '99999999-0000-4000-8000-000000000000', clientSecret: 'x' }),
    ],
    [
      'an unknown tenant (configuration)',
      () => microsoftAppOnly({ ...https(), tenantId: '00000000-dead-4000-8000-000000000000', clientSecret: 'x' }),
    ],
    [
      'a scope that is not .default (configuration)',
      () => microsoftAppOnly({ ...https(), clientSecret: sandbox.accounts.microsoft.clientSecret, scopes: 'Mail.Send' }),
    ],
    [
      'an authority whose certificate is not trusted (configuration)',
      () => microsoftAppOnly({ ...https(), ca: undefined, clientSecret: 'x' }),
    ],
    ['a refused connection (transient)', () => microsoftAppOnly({ ...https(), authorityHost: 'https://127.0.0.1:9', clientSecret: 'x' })],
  ];
  for (const [name, build] of failures) {
    it(`fails as MSAL does: ${name}`, async () => {
      const library = await failure(build());
      const fetched = await failure(asOnWorkers(build));
      expect(shape(fetched)).toEqual(shape(library));
      for (const text of [String(fetched), JSON.stringify(fetched), inspect(fetched, { depth: 10, showHidden: true })]) {
        expect(text).not.toContain(sandbox.accounts.microsoft.clientSecret);
        expect(text).not.toContain('PRIVATE KEY');
      }
    });
  }

  it('makes a 503 transient, and the next attempt asks again', async () => {
    sandbox.faults.inject({ endpoint: 'microsoft.token', status: 503, code: 'temporarily_unavailable' });
    const busy = asOnWorkers(() => microsoftAppOnly({ ...http(), clientSecret: sandbox.accounts.microsoft.clientSecret }));
    expect(shape(await failure(busy))).toMatchObject({ code: 'transient', retryable: true });
    await busy.getAccessToken();
  });

  it('on Node, an http:// authority is a configuration error up front (MSAL takes only https)', () => {
    const error = (() => {
      try {
        microsoftAppOnly({ ...http(), clientSecret: 'x' });
      } catch (caught) {
        return caught;
      }
    })();
    expect(MailError.isInstance(error) && error.code).toBe('configuration');
  });

  it('refuses a certificate file there (no file system)', () => {
    expect(() => asOnWorkers(() => microsoftAppOnly({ ...http(), certificatePath: '/x.pem' }))).toThrow(
      /certificatePath cannot be read on this runtime/,
    );
  });

  it('opens an encrypted key with its password through WebCrypto; a wrong password is configuration, before any request', async () => {
    const encrypted = createPrivateKey(certificate.key)
      .export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'the password' })
      .toString();
    const tokens = asOnWorkers(() =>
      microsoftAppOnly({ ...http(), certificate: `${certificate.cert}\n${encrypted}`, certificatePassword: 'the password' }),
    );
    expect(sandbox.tokens.find((await tokens.getAccessToken()).token)?.clientId).toBe(sandbox.accounts.microsoft.clientId);
    sandbox.requests.clear();
    const wrong = asOnWorkers(() =>
      microsoftAppOnly({ ...http(), certificate: `${certificate.cert}\n${encrypted}`, certificatePassword: 'not it' }),
    );
    const error = await failure(wrong);
    expect(error).toMatchObject({ code: 'configuration' });
    expect(error.message).toMatch(/wrong password or damaged key/);
    expect(error.message).not.toContain('not it');
    const missing = asOnWorkers(() => microsoftAppOnly({ ...http(), certificate: `${certificate.cert}\n${encrypted}` }));
    expect((await failure(missing)).message).toMatch(/encrypted and no password/);
    expect(sandbox.requests.count()).toBe(0);
  });
});
