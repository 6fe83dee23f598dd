import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  adapterPackages,
  createTransport,
  parseDuration,
  parseTransportUrl,
  registerTransport,
  registerTransportPackage,
  type TransportFactory,
  transportFromEnv,
  urlParams,
} from './config.js';
import { MailError } from './errors.js';
import { createMemoryTransport, type MemoryTransport, memoryTransport } from './memory-transport.js';
import { createMessage } from './message.js';
import { isSecretParameter, redactUrl, Secret } from './secret.js';
import type { TokenProvider } from './transport.js';

const message = () => createMessage({ from: 'orders@shop.example', to: 'ana@example.com', subject: 'Hi', text: 'Hello' });

function mailErrorFrom(run: () => unknown): MailError {
  try {
    run();
  } catch (error) {
    if (MailError.isInstance(error)) return error;
    throw error;
  }
  throw new Error('expected a MailError, but nothing was thrown');
}

async function rejection(promise: Promise<unknown>): Promise<MailError> {
  try {
    await promise;
  } catch (error) {
    if (MailError.isInstance(error)) return error;
    throw error;
  }
  throw new Error('expected a MailError, but the promise resolved');
}

describe('parseTransportUrl', () => {
  it('percent-decodes the user and password and wraps the password in a Secret', () => {
    const url = parseTransportUrl('smtp://us%40er:p%40ss%3Aw%2Fo%20rd@mail.example.com:587/path%20x?pool=true');
    expect(url.scheme).toBe('smtp');
    expect(url.username).toBe('us@er');
    expect(url.password).toBeInstanceOf(Secret);
    expect(url.password?.reveal()).toBe('p@ss:w/o rd');
    expect(url.host).toBe('mail.example.com');
    expect(url.port).toBe(587);
    expect(url.path).toBe('/path x');
    expect(url.params.get('pool')).toBe('true');
    expect(url.redacted).toBe('smtp://us%40er:***@mail.example.com:587/path%20x?pool=true');
  });

  it('takes the last @ as the end of the user info', () => {
    const url = parseTransportUrl('smtp://user:p@ss@mail.example.com');
    expect(url.password?.reveal()).toBe('p@ss');
    expect(url.host).toBe('mail.example.com');
  });

  it('lower-cases the scheme and strips IPv6 brackets from the host', () => {
    const url = parseTransportUrl('SMTP://[::1]:2525');
    expect(url).toMatchObject({ scheme: 'smtp', host: '::1', port: 2525, username: undefined, password: undefined });
  });

  it('gives empty host and path and no port for a bare scheme', () => {
    expect(parseTransportUrl('ses://')).toMatchObject({ scheme: 'ses', host: '', port: undefined, path: '' });
  });

  it('keeps the last value of a repeated parameter, decoded', () => {
    const url = parseTransportUrl('smtp://host?pool=true&pool=false&name=a%20b+c');
    expect([...url.params]).toEqual([
      ['pool', 'false'],
      ['name', 'a b c'],
    ]);
  });

  it('parses file URLs as a path', () => {
    expect(parseTransportUrl('file://./outbox')).toMatchObject({ scheme: 'file', path: './outbox', host: '' });
    expect(parseTransportUrl('file:///var/mail/out%20box?x=1')).toMatchObject({ path: '/var/mail/out box' });
    expect(parseTransportUrl('file:///var/mail?x=1').params.get('x')).toBe('1');
  });

  it.each([
    ['no scheme', 'mail.example.com:587'],
    ['a single slash', 'smtp:/mail.example.com'],
    ['a bad port', 'smtp://mail.example.com:99999'],
    ['bad percent-encoding', 'smtp://us%zzer@mail.example.com'],
    ['a file URL without a path', 'file://'],
  ])('refuses %s with a configuration error', (_label, text) => {
    expect(mailErrorFrom(() => parseTransportUrl(text)).code).toBe('configuration');
  });
});

describe('urlParams', () => {
  const url = (query: string) => parseTransportUrl(`smtp://host?${query}`);

  it.each([
    ['true', true],
    ['1', true],
    ['YES', true],
    ['on', true],
    ['false', false],
    ['0', false],
    ['no', false],
    ['Off', false],
  ])('reads the boolean %s', (value, expected) => {
    expect(urlParams(url(`pool=${value}`)).boolean('pool')).toBe(expected);
  });

  it('reads integers within bounds, durations, strings and secrets', () => {
    const params = urlParams(url('max=5&timeout=2m&name=x&client_secret=abc'));
    expect(params.integer('max', { min: 1, max: 10 })).toBe(5);
    expect(params.duration('timeout')).toBe(120_000);
    expect(params.string('name')).toBe('x');
    const secret = params.secret('client_secret');
    expect(secret?.reveal()).toBe('abc');
    expect(String(secret)).toBe('[redacted]');
    expect(params.string('missing')).toBeUndefined();
    expect(() => params.done()).not.toThrow();
  });

  it.each([
    ['a boolean', 'pool=maybe', (params: ReturnType<typeof urlParams>) => params.boolean('pool')],
    ['an integer', 'max=1.5', (params: ReturnType<typeof urlParams>) => params.integer('max')],
    ['an integer under the minimum', 'max=0', (params: ReturnType<typeof urlParams>) => params.integer('max', { min: 1 })],
    ['a duration', 'timeout=soon', (params: ReturnType<typeof urlParams>) => params.duration('timeout')],
  ])('refuses a malformed %s, naming the parameter', (_label, query, read) => {
    const error = mailErrorFrom(() => read(urlParams(url(query))));
    expect(error.code).toBe('configuration');
    expect(error.message).toContain(query.split('=')[0]);
  });

  it('names unknown parameters and the known ones', () => {
    const params = urlParams(url('pool=true&poool=1'));
    params.boolean('pool');
    const error = mailErrorFrom(() => params.done());
    expect(error.message).toContain('unknown parameter "poool"');
    expect(error.remediation).toContain('pool');
  });

  describe('with known parameters and aliases', () => {
    const options = { known: ['endpoint', 'pool', 'client_id'], aliases: { base_url: 'endpoint' } } as const;

    it('reads an old spelling as its current name, and lists every known parameter for an unknown one', () => {
      const params = urlParams(url('base_url=https://api.example&poool=1'), options);
      expect(params.string('endpoint')).toBe('https://api.example');
      const error = mailErrorFrom(() => params.done());
      expect(error.message).toContain('unknown parameter "poool"');
      expect(error.remediation).toBe('Known parameters for smtp://: client_id, endpoint, pool.');
    });

    it('refuses a URL that gives a parameter under both names', () => {
      const error = mailErrorFrom(() => urlParams(url('base_url=https://a.example&endpoint=https://b.example'), options));
      expect(error.message).toContain('base_url is the old name of endpoint');
    });

    it('names an old spelling as written when its value is malformed', () => {
      const error = mailErrorFrom(() =>
        urlParams(url('max_concurrency=many'), { known: ['concurrency'], aliases: { max_concurrency: 'concurrency' } }).integer(
          'concurrency',
        ),
      );
      expect(error.message).toContain('max_concurrency=many');
    });

    it('says when a known parameter does not go with the others', () => {
      const params = urlParams(url('pool=true&client_id=abc'), options);
      params.boolean('pool');
      const error = mailErrorFrom(() => params.done());
      expect(error.message).toContain('"client_id" does not apply');
    });

    it('refuses to read a parameter it was not told about: a programming error', () => {
      const params = urlParams(url('pool=true'), options) as ReturnType<typeof urlParams>;
      expect(() => params.string('poool')).toThrow(TypeError);
    });
  });
});

describe('parseDuration', () => {
  it.each([
    ['500', 500],
    ['500ms', 500],
    ['10s', 10_000],
    ['1.5s', 1500],
    ['2m', 120_000],
    [' 30s ', 30_000],
  ])('reads %j as %i ms', (text, ms) => {
    expect(parseDuration(text, 'cooldown', 'x://')).toBe(ms);
  });

  it.each(['', '10h', '-1s', 's', '1e3'])('refuses %j', (text) => {
    expect(mailErrorFrom(() => parseDuration(text, 'cooldown', 'x://')).code).toBe('configuration');
  });
});

describe('createTransport: built-in schemes', () => {
  it('returns the same memory transport for the same name', async () => {
    const first = await createTransport('memory://config-same');
    expect(await createTransport('memory://config-same')).toBe(first);
    expect(first).toBe(memoryTransport('config-same'));
    expect(first.id).toBe('memory://config-same');
    expect(await createTransport('memory://')).toBe(memoryTransport('default'));
  });

  it('returns a Transport object as it is', async () => {
    const transport = createMemoryTransport();
    expect(await createTransport(transport)).toBe(transport);
  });

  it('accepts a URL object', async () => {
    expect(await createTransport(new URL('memory://config-url-object'))).toBe(memoryTransport('config-url-object'));
  });

  it('refuses an unknown parameter on memory://, naming it', async () => {
    const error = await rejection(createTransport('memory://x?colour=blue'));
    expect(error.code).toBe('configuration');
    expect(error.message).toContain('"colour"');
  });

  it('creates a file transport relative to the working directory, without touching the disk', async () => {
    const transport = await createTransport('file://./config-test-outbox');
    expect(transport.id).toBe(`file://${resolve('./config-test-outbox')}`);
  });

  describe('file:///absolute', () => {
    let directory: string;
    beforeAll(async () => {
      directory = await mkdtemp(join(tmpdir(), 'mailport-config-'));
    });
    afterAll(async () => {
      await rm(directory, { recursive: true, force: true });
    });

    it('writes into the absolute directory', async () => {
      const transport = await createTransport(`file://${directory}/out`);
      expect(transport.id).toBe(`file://${directory}/out`);
      const receipt = await transport.send(message());
      expect(receipt.providerMessageId?.startsWith(join(directory, 'out'))).toBe(true);
      expect(await readdir(join(directory, 'out'))).toHaveLength(1);
    });
  });

  it('refuses an unknown scheme, naming the known ones', async () => {
    const error = await rejection(createTransport('carrier-pigeon://coop'));
    expect(error.code).toBe('configuration');
    expect(error.message).toContain('"carrier-pigeon://"');
    for (const scheme of ['smtp://', 'smtps://', 'ses://', 'gmail://', 'graph://', 'memory://', 'file://']) {
      expect(error.remediation).toContain(scheme);
    }
    expect(error.remediation).toContain('registerTransport');
  });

  it.each([
    ['ses', '@mailport/transport-ses'],
    ['gmail', '@mailport/transport-gmail-api'],
    ['graph', '@mailport/transport-graph'],
  ])('serves %s:// with %s', (scheme, packageName) => {
    expect(adapterPackages[scheme]).toBe(packageName);
  });

  it('names the package to install when an adapter package is missing', async () => {
    registerTransportPackage('pigeonpost', '@mailport/transport-pigeonpost');
    const error = await rejection(createTransport('pigeonpost://coop'));
    expect(error.code).toBe('configuration');
    expect(error.message).toContain('@mailport/transport-pigeonpost');
    expect(error.remediation).toContain('npm install @mailport/transport-pigeonpost');
  });
});

registerTransportPackage('pigeonpost', '@mailport/transport-pigeonpost');

describe('createTransport: composites', () => {
  it('builds failover(...) from nested URLs', async () => {
    const transport = await createTransport('failover(memory://cf-a roundrobin(memory://cf-b memory://cf-c))');
    expect(transport.id).toBe('failover(memory://cf-a roundrobin(memory://cf-b memory://cf-c))');
    memoryTransport('cf-a').failNext(1, 'transient');
    expect((await transport.send(message())).transport).toBe('memory://cf-b');
  });

  it('splits members on any whitespace and accepts the names in any case', async () => {
    const transport = await createTransport('FailOver(\n  memory://cw-a\t memory://cw-b\n)');
    expect(transport.id).toBe('failover(memory://cw-a memory://cw-b)');
  });

  it('reads ?weight=N on the inner URLs of roundrobin(...)', async () => {
    const transport = await createTransport('roundrobin(memory://rw-a?weight=3 memory://rw-b)');
    for (let index = 0; index < 8; index++) await transport.send(message());
    expect(memoryTransport('rw-a').sent).toHaveLength(6);
    expect(memoryTransport('rw-b').sent).toHaveLength(2);
  });

  it('removes weight from the inner URL and keeps its other parameters', async () => {
    const seen: string[] = [];
    registerTransport('weighed', (url) => {
      seen.push(`${url.host} ${[...url.params].map(([key, value]) => `${key}=${value}`).join('&')}`);
      return createMemoryTransport({ id: `weighed://${url.host}` });
    });
    await createTransport('roundrobin(weighed://a?x=1&weight=2&y=2 weighed://b?weight=1 weighed://c?z=3&weight=4)');
    expect(seen).toEqual(['a x=1&y=2', 'b ', 'c z=3']);
  });

  it('reads weights of a roundrobin nested in a failover for that roundrobin', async () => {
    const transport = await createTransport('failover(roundrobin(memory://nw-a?weight=3 memory://nw-b) memory://nw-c)');
    for (let index = 0; index < 8; index++) await transport.send(message());
    expect(memoryTransport('nw-a').sent).toHaveLength(6);
    expect(memoryTransport('nw-b').sent).toHaveLength(2);
    expect(memoryTransport('nw-c').sent).toHaveLength(0);
  });

  it('keeps the weights of a nested roundrobin out of the outer one', async () => {
    const transport = await createTransport('roundrobin(roundrobin(memory://rr-a?weight=3 memory://rr-b) memory://rr-c)');
    for (let index = 0; index < 8; index++) await transport.send(message());
    // The outer round robin alternates; the inner one gives three of its four turns to rr-a.
    expect(memoryTransport('rr-c').sent).toHaveLength(4);
    expect(memoryTransport('rr-a').sent).toHaveLength(3);
    expect(memoryTransport('rr-b').sent).toHaveLength(1);
  });

  it('reads ?weight=N on a nested composite after its closing parenthesis', async () => {
    const transport = await createTransport('roundrobin(failover(memory://wc-a memory://wc-b)?weight=3 memory://wc-c)');
    for (let index = 0; index < 8; index++) await transport.send(message());
    expect(memoryTransport('wc-a').sent).toHaveLength(6);
    expect(memoryTransport('wc-c').sent).toHaveLength(2);
  });

  it('reads ?cooldown= after the closing parenthesis', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      const transport = await createTransport('failover(memory://cd-a memory://cd-b)?cooldown=30s');
      memoryTransport('cd-a').failNext(1, 'transient');
      await transport.send(message());
      vi.advanceTimersByTime(29_999);
      expect((await transport.send(message())).route?.[0]?.outcome).toBe('resting');
      vi.advanceTimersByTime(1);
      expect((await transport.send(message())).transport).toBe('memory://cd-a');
    } finally {
      vi.useRealTimers();
    }
  });

  it.each([
    ['weight inside failover(...)', 'failover(memory://x?weight=2 memory://y)', 'weight'],
    ['a zero weight', 'roundrobin(memory://x?weight=0 memory://y)', 'weight=0'],
    ['a weight that is not a number', 'roundrobin(memory://x?weight=heavy memory://y)', 'weight=heavy'],
    ['an unknown outer parameter', 'failover(memory://x memory://y)?retries=3', '"retries"'],
    ['a bad cooldown', 'failover(memory://x)?cooldown=soon', 'cooldown=soon'],
    ['unbalanced parentheses', 'failover(memory://x roundrobin(memory://y)', 'parentheses'],
    ['an empty list', 'failover( )', 'no transport'],
    ['an unknown parameter on a member', 'failover(memory://x?colour=blue)', '"colour"'],
  ])('refuses %s, naming it', async (_label, url, named) => {
    const error = await rejection(createTransport(url));
    expect(error.code).toBe('configuration');
    expect(error.message).toContain(named);
  });
});

describe('registerTransport and transportFromEnv', () => {
  it('serves a custom scheme with the parsed URL and the context', async () => {
    const created = createMemoryTransport({ id: 'postmark://' });
    const factory = vi.fn<TransportFactory>(() => created);
    registerTransport('Postmark', factory);
    const tokenProvider: TokenProvider = { getAccessToken: async () => ({ token: 't' }) };
    const env = { POSTMARK_TOKEN: 'abc' };
    const transport = await createTransport('postmark://api.example?stream=outbound', {
      env,
      tokenProvider,
      adapters: { postmark: { retries: 2 } },
    });
    expect(transport).toBe(created);
    const [url, context] = factory.mock.calls[0] ?? [];
    expect(url).toMatchObject({ scheme: 'postmark', host: 'api.example' });
    expect(url?.params.get('stream')).toBe('outbound');
    expect(context).toEqual({ env, options: { retries: 2 }, tokenProvider });
  });

  it('lets a registered factory replace a built-in scheme', async () => {
    // smtps:// is used by no other test in this file: registrations last for the whole file.
    const replacement = createMemoryTransport({ id: 'smtps://fake' });
    registerTransport('smtps', () => replacement);
    expect(await createTransport('smtps://mail.example.com')).toBe(replacement);
  });

  it('reads MAILPORT_URL from the given env', async () => {
    const transport = await transportFromEnv({ env: { MAILPORT_URL: 'memory://from-env' } });
    expect(transport).toBe(memoryTransport('from-env'));
  });

  it('passes the same env to the factory', async () => {
    const factory = vi.fn<TransportFactory>(() => createMemoryTransport());
    registerTransport('envcheck', factory);
    const env = { MAILPORT_URL: 'envcheck://', ENVCHECK_KEY: 'k' };
    await transportFromEnv({ env });
    expect(factory.mock.calls[0]?.[1].env).toBe(env);
  });

  it.each([
    ['missing', {}],
    ['empty', { MAILPORT_URL: '' }],
    ['blank', { MAILPORT_URL: '   ' }],
  ])('refuses a %s MAILPORT_URL with a configuration error', async (_label, env) => {
    const error = await rejection(transportFromEnv({ env }));
    expect(error.code).toBe('configuration');
    expect(error.message).toContain('MAILPORT_URL');
    expect(error.remediation).toContain('memory://');
  });
});

describe('redactUrl', () => {
  it.each([
    ['smtp://user:hunter2@mail.example.com:587', 'smtp://user:***@mail.example.com:587'],
    ['smtp://user@mail.example.com', 'smtp://user@mail.example.com'],
    ['smtp://mail.example.com:25', 'smtp://mail.example.com:25'],
    ['smtp://user:p@ss@mail.example.com', 'smtp://user:***@mail.example.com'],
    ['smtp://user:pa%2Fss@mail.example.com/x?pool=1', 'smtp://user:***@mail.example.com/x?pool=1'],
    ['smtp://user:pass@[::1]:25', 'smtp://user:***@[::1]:25'],
    ['smtp://user:a(b)c@mail.example.com', 'smtp://user:***@mail.example.com'],
    ['graph://tenant?client_id=app&client_secret=s3cr3t', 'graph://tenant?client_id=app&client_secret=***'],
    ['gmail://me@example.com?refresh_token=r&client-secret=c', 'gmail://me@example.com?refresh_token=***&client-secret=***'],
    ['x://h?password=1&pass=2&secret=3&token=4&access_token=5', 'x://h?password=***&pass=***&secret=***&token=***&access_token=***'],
    ['x://h?key=1&apiKey=2&API_KEY=3&private_key=4', 'x://h?key=***&apiKey=***&API_KEY=***&private_key=***'],
    ['ses://?secret_access_key=1&session_token=2&region=eu', 'ses://?secret_access_key=***&session_token=***&region=eu'],
    ['x://h?client%5Fsecret=1', 'x://h?client%5Fsecret=***'],
    ['x://h?tokenish=1&monkey=2', 'x://h?tokenish=1&monkey=2'],
    ['failover(smtp://u:p1@a.example ses://k:p2@eu?token=t)', 'failover(smtp://u:***@a.example ses://k:***@eu?token=***)'],
    [
      'roundrobin(failover(smtp://u:p1@a?weight=2 smtp://u:p2@b) smtp://u:p3@c)?cooldown=5s',
      'roundrobin(failover(smtp://u:***@a?weight=2 smtp://u:***@b) smtp://u:***@c)?cooldown=5s',
    ],
  ])('redacts %s', (url, redacted) => {
    expect(redactUrl(url)).toBe(redacted);
  });

  it.each([
    ['a slash', 'smtp://user:Hunter2/Sup3rSecret@mail.example.com'],
    ['a question mark', 'smtp://user:Hunter2?Sup3rSecret@mail.example.com'],
    ['a hash', 'smtp://user:Hunter2#Sup3rSecret@mail.example.com'],
  ])('hides a password with an unencoded %s, which does not parse', (_label, url) => {
    const redacted = redactUrl(url);
    expect(redacted).not.toContain('Hunter2');
    expect(redacted).not.toContain('Sup3rSecret');
    expect(redacted.startsWith('smtp://')).toBe(true);
  });

  it('knows the credential parameter names', () => {
    for (const name of [
      'password',
      'client_secret',
      'clientSecret',
      'refresh-token',
      'TOKEN',
      'key',
      'secretKey',
      'certificate_password',
    ]) {
      expect(isSecretParameter(name)).toBe(true);
    }
    for (const name of ['user', 'client_id', 'region', 'pool', 'keys', 'tokens']) expect(isSecretParameter(name)).toBe(false);
  });
});

describe('credentials never leak', () => {
  const password = 'Hunter2-Sup3rSecret';

  function expectNoLeak(value: unknown): void {
    for (const text of [
      String(value),
      JSON.stringify(value) ?? '',
      inspect(value, { depth: 10 }),
      inspect(value, { depth: 10, showHidden: true }),
      value instanceof Error ? value.message : '',
      value instanceof Error ? String(value.stack) : '',
    ]) {
      expect(text).not.toContain(password);
      expect(text).not.toContain('Sup3rSecret');
    }
  }

  it.each([
    ['an unknown parameter', `memory://box?client_secret=${password}&colour=blue`],
    ['an unknown scheme', `pigeon://user:${password}@coop`],
    ['a missing adapter package', `pigeonpost://AKIA:${password}@eu-west-1`],
    ['a missing adapter package with a secret param', `pigeonpost://tenant?client_secret=${password}`],
    ['a bad port', `smtp://user:${password}@mail.example.com:99999`],
    ['bad percent-encoding', `smtp://us%zz:${password}@mail.example.com`],
    ['an unparseable password', `smtp://user:Hunter2/Sup3rSecret@mail.example.com`],
    ['a member of failover(...)', `failover(smtp://user:${password}@mail.example.com:99999 memory://x)`],
    ['a bad weight', `roundrobin(smtp://user:${password}@a?weight=0 memory://x)`],
    ['weight in failover(...)', `failover(smtp://user:${password}@a?weight=2 memory://x)`],
    ['unbalanced parentheses', `failover(smtp://user:${password}@a memory://x`],
    ['an unknown outer parameter', `failover(smtp://user:${password}@a)?colour=blue`],
    ['an outer secret parameter', `failover(memory://x)?token=${password}`],
  ])('not in the error for %s', async (_label, url) => {
    const error = await rejection(createTransport(url));
    expect(error.code).toBe('configuration');
    expectNoLeak(error);
  });

  it('not in the parsed URL nor its Secret', () => {
    const url = parseTransportUrl(`smtp://user:${encodeURIComponent(password)}@mail.example.com?client_secret=${password}&pool=true`);
    expect(url.password?.reveal()).toBe(password);
    expectNoLeak(url);
    expectNoLeak(url.password);
    expectNoLeak({ nested: { deeper: { url } } });
    expect(url.redacted).toBe('smtp://user:***@mail.example.com?client_secret=***&pool=true');
  });

  it('not in String, JSON or inspect of a Secret', () => {
    const secret = new Secret(password);
    expect(String(secret)).toBe('[redacted]');
    expect(`${secret}`).toBe('[redacted]');
    expect(JSON.stringify({ secret })).toBe('{"secret":"[redacted]"}');
    expect(inspect(secret)).toBe('[redacted]');
    expect(Object.keys(secret)).toEqual([]);
    expectNoLeak(secret);
    expect(secret.reveal()).toBe(password);
  });

  it('not in the id of a transport built from a URL with credentials', async () => {
    const seen: string[] = [];
    registerTransport('idcheck', (url) => {
      seen.push(url.redacted);
      return createMemoryTransport({ id: url.redacted });
    });
    const transport = await createTransport(`failover(idcheck://user:${password}@host?api_key=${password})`);
    expectNoLeak(transport);
    expectNoLeak(transport.id);
    expect(seen).toEqual(['idcheck://user:***@host?api_key=***']);
  });
});

describe('memory transports by name', () => {
  it('keep what each name was sent apart', async () => {
    const a: MemoryTransport = memoryTransport('named-a');
    const b = memoryTransport('named-b');
    await a.send(message());
    expect(a.sent).toHaveLength(1);
    expect(b.sent).toHaveLength(0);
  });
});
