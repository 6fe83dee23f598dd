import { refusedPort } from '@mailport/core/testing';
import { type Sandbox, startSandbox } from '@mailport/sandbox';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { run } from '../cli.js';
import { exitCodes } from '../exit-codes.js';
import { memoryIo } from '../io.js';
import type { VerifyResult } from '../verify-report.js';

// "PASS auth ..." lines without the padding, for readable assertions.
function checkLines(out: string): string[] {
  return out
    .split('\n')
    .filter((line) => /^(PASS|FAIL|WARN|SKIP) /.test(line))
    .map((line) => line.replace(/\s+/g, ' ').split(' ').slice(0, 2).join(' '));
}

describe('mailport verify', () => {
  let sandbox: Sandbox;
  let secrets: string[];
  beforeAll(async () => {
    sandbox = await startSandbox();
    const { smtp, ses, google, microsoft } = sandbox.accounts;
    secrets = [
      ...Object.values(smtp.users),
      ses.secretAccessKey,
      google.clientSecret,
      ...Object.keys(google.refreshTokens),
      microsoft.clientSecret,
      microsoft.refreshToken,
    ];
  });
  afterAll(() => sandbox.close());
  beforeEach(() => sandbox.faults.clear());

  const verify = async (...argv: string[]): Promise<{ code: number; out: string; err: string }> => {
    const io = memoryIo();
    const code = await run(['verify', ...argv], io);
    const out = io.out();
    for (const secret of secrets) expect(out, 'no credential in the output').not.toContain(secret);
    return { code, out, err: io.err() };
  };

  it('passes for the sandbox smtp:// URL: connect, STARTTLS, auth, the EHLO extensions and the capabilities', async () => {
    const { code, out, err } = await verify('--url', sandbox.urls.smtp);
    expect(err).toBe('');
    expect(code).toBe(exitCodes.ok);
    expect(checkLines(out)).toEqual(['PASS configuration', 'PASS connect', 'PASS tls', 'PASS auth']);
    expect(out).toMatch(/^PASS tls +STARTTLS, TLSv1\.[23], certificate verified$/m);
    expect(out).toMatch(/^PASS auth +password accepted for sandbox$/m);
    expect(out).toMatch(/^INFO server +EHLO: .*SMTPUTF8.*AUTH PLAIN LOGIN XOAUTH2/m);
    expect(out).toMatch(
      /^INFO capabilities +max size not declared \(server SIZE 52\.4 MB\), max recipients no limit, custom headers yes, separate envelope yes, SMTPUTF8 yes \(the server offers it\), concurrency 5$/m,
    );
    expect(out).toMatch(/\nAll 4 checks passed\.\n$/);
    expect(out).toContain('smtp://sandbox:***@127.0.0.1');
  });

  it('passes for ses://, gmail:// and graph:// with what each provider reports', async () => {
    const ses = await verify('--url', sandbox.urls.ses);
    expect(ses.code).toBe(exitCodes.ok);
    expect(checkLines(ses.out)).toEqual(['PASS configuration', 'PASS auth', 'PASS sending', 'PASS quota', 'PASS production-access']);
    expect(ses.out).toMatch(/^PASS quota +0 of \d+ recipients in the last 24 hours, at most \d+ per second$/m);
    expect(ses.out).toMatch(/^INFO capabilities +max size 40 MB, max recipients 50, .*SMTPUTF8 no, concurrency 10$/m);

    const gmail = await verify('--url', sandbox.urls.gmail);
    expect(gmail.code).toBe(exitCodes.ok);
    expect(checkLines(gmail.out)).toEqual(['PASS configuration', 'PASS auth', 'PASS profile', 'PASS send-as']);
    expect(gmail.out).toMatch(/^PASS send-as +user@example\.com, alias@example\.com$/m);

    const graph = await verify('--url', sandbox.urls.graph);
    expect(graph.code).toBe(exitCodes.ok);
    expect(checkLines(graph.out)).toEqual(['PASS configuration', 'PASS auth', 'PASS mailbox']);
    expect(graph.out).toMatch(/^PASS mailbox +.*<sender@contoso\.example>$/m);
    expect(graph.out).toMatch(/max recipients 500/);
  });

  it('a wrong password fails the auth line with exit code 5, after connect and TLS passed', async () => {
    const { code, out } = await verify('--url', sandbox.urls.smtp.replace('sandbox-password', 'wrong-password'));
    expect(code).toBe(exitCodes.auth);
    expect(checkLines(out)).toEqual(['PASS configuration', 'PASS connect', 'PASS tls', 'FAIL auth']);
    expect(out).toMatch(/^FAIL auth +auth: Authentication failed: 127\.0\.0\.1:\d+ answered AUTH PLAIN with "535 5\.7\.8 /m);
    expect(out).toMatch(/^ +what to do: Check the user name and password/m);
    expect(out).toMatch(/\n1 check failed \(auth\): exit code 5\.\n$/);
    expect(out).not.toContain('wrong-password');
  });

  it('basic auth switched off (535 5.7.139) says to move to OAuth or Graph', async () => {
    sandbox.faults.inject({
      endpoint: 'smtp.AUTH',
      status: 535,
      message: '5.7.139 Authentication unsuccessful, basic authentication is disabled.',
    });
    const { code, out } = await verify('--url', sandbox.urls.smtp);
    expect(code).toBe(exitCodes.auth);
    expect(out).toMatch(/^FAIL auth +auth: Basic authentication refused: .*5\.7\.139/m);
    expect(out).toMatch(/what to do: .*switch to the Graph transport \(graph:\/\/\)/);
  });

  it('a closed port fails the connect line with exit code 8; the rest is not run', async () => {
    const port = await refusedPort();
    const { code, out } = await verify('--url', `smtp://sandbox:sandbox-password@127.0.0.1:${port}`);
    expect(code).toBe(exitCodes.transient);
    expect(checkLines(out)).toEqual(['PASS configuration', 'FAIL connect', 'SKIP tls', 'SKIP auth']);
    expect(out).toMatch(new RegExp(`^FAIL connect +transient: Connection refused by 127\\.0\\.0\\.1:${port}$`, 'm'));
    expect(out).toMatch(/^SKIP tls +not run: connect failed$/m);
  });

  it('an untrusted certificate fails the tls line with exit code 4', async () => {
    const { code, out } = await verify('--url', sandbox.urls.smtp.replace(/\?ca_file=.*$/, ''));
    expect(code).toBe(exitCodes.configuration);
    expect(checkLines(out)).toEqual(['PASS configuration', 'PASS connect', 'FAIL tls', 'SKIP auth']);
    expect(out).toMatch(/what to do: .*ca_file=/);
  });

  it('a bad URL or an unknown scheme is a configuration failure with nothing else run, exit code 4', async () => {
    const bad = await verify('--url', 'smtp://user:pa@ss@');
    expect(bad.code).toBe(exitCodes.configuration);
    expect(checkLines(bad.out)).toEqual(['FAIL configuration', 'SKIP connect', 'SKIP tls', 'SKIP auth']);
    expect(bad.out).not.toContain('pa@ss');
    const unknown = await verify('--url', 'pigeon://coop');
    expect(unknown.code).toBe(exitCodes.configuration);
    expect(unknown.out).toMatch(/^FAIL configuration +configuration: Unknown transport scheme "pigeon:\/\/"/m);
    const parameter = await verify('--url', `${sandbox.urls.smtp}&poool=true`);
    expect(parameter.code).toBe(exitCodes.configuration);
    expect(parameter.out).toMatch(/unknown parameter "poool"/);
    const missing = await verify();
    expect(missing.code).toBe(exitCodes.configuration);
    expect(missing.out).toMatch(/^FAIL configuration +configuration: No transport: give --url or set MAILPORT_URL$/m);
  });

  it('maps provider failures to their line: SES keys, a revoked Google token, an unknown Graph mailbox', async () => {
    const ses = await verify('--url', sandbox.urls.ses.replace('Secret', 'Wrong'));
    expect(ses.code).toBe(exitCodes.auth);
    expect(checkLines(ses.out)).toEqual(['PASS configuration', 'FAIL auth', 'SKIP sending', 'SKIP quota', 'SKIP production-access']);
    const gmail = await verify('--url', sandbox.urls.gmail.replace('sandbox-google-refresh-token', 'revoked-token'));
    expect(gmail.code).toBe(exitCodes.auth);
    expect(gmail.out).toMatch(/^FAIL auth +auth: .*invalid_grant/m);
    expect(gmail.out).toMatch(/mailport auth google/);
    const graph = await verify('--url', sandbox.urls.graph.replace('sender@', 'nobody@'));
    expect(graph.code).toBe(exitCodes.configuration);
    expect(checkLines(graph.out)).toEqual(['PASS configuration', 'PASS auth', 'FAIL mailbox']);
  });

  it('warns about the SES sandbox without failing; paused sending fails with exit code 6', async () => {
    await using limited = await startSandbox({ accounts: { ses: { productionAccess: false } } });
    const warned = await verify('--url', limited.urls.ses);
    expect(warned.code).toBe(exitCodes.ok);
    expect(warned.out).toMatch(/^WARN production-access +in the SES sandbox: verified recipients only/m);
    expect(warned.out).toMatch(/All 4 checks passed, 1 warning \(production-access\)\.\n$/);
    await using paused = await startSandbox({ accounts: { ses: { sendingEnabled: false } } });
    const failed = await verify('--url', paused.urls.ses);
    expect(failed.code).toBe(exitCodes.rejected);
    expect(checkLines(failed.out)).toEqual(['PASS configuration', 'PASS auth', 'FAIL sending', 'SKIP quota', 'SKIP production-access']);
    expect(failed.out).toMatch(/what to do: Resume sending/);
  });

  it('checks a failover URL member by member; the first failing member gives the exit code', async () => {
    const port = await refusedPort();
    const url = `failover(${sandbox.urls.graph} smtp://sandbox:sandbox-password@127.0.0.1:${port})?cooldown=30s`;
    const { code, out, err } = await verify('--url', url);
    expect(code).toBe(exitCodes.transient);
    expect(out).toMatch(/^PASS configuration +failover over 2 transports, cooldown 30s$/m);
    // Which member is being checked, while it is, and each one's outcome in one line.
    expect(err).toMatch(
      /^checking \[1\/2\] graph:\/\/sender@contoso\.example\?.*\nchecking \[2\/2\] smtp:\/\/sandbox:\*\*\*@127\.0\.0\.1:\d+\n$/,
    );
    for (const secret of secrets) expect(err).not.toContain(secret);
    expect(out).toMatch(/^INFO members +\[1\/2\] passed in \d+\.\d s; \[2\/2\] failed \(connect: transient\) in \d+\.\d s$/m);
    expect(out).toMatch(/^\[1\/2\] graph:\/\/sender@contoso\.example\?/m);
    expect(out).toMatch(/^\[2\/2\] smtp:\/\/sandbox:\*\*\*@127\.0\.0\.1:\d+$/m);
    expect(checkLines(out)).toEqual([
      'PASS configuration',
      'PASS configuration',
      'PASS auth',
      'PASS mailbox',
      'PASS configuration',
      'FAIL connect',
      'SKIP tls',
      'SKIP auth',
    ]);
    const weighted = await verify('--url', `roundrobin(${sandbox.urls.smtp}&weight=3 ${sandbox.urls.ses})`);
    expect(weighted.code).toBe(exitCodes.ok);
    expect(weighted.out).toMatch(/^PASS configuration +roundrobin over 2 transports/m);
  });

  it('--json prints the report, MAILPORT_URL is the default, and --timeout bounds a silent server', async () => {
    const io = memoryIo({ env: { MAILPORT_URL: sandbox.urls.smtp } });
    expect(await run(['verify', '--json'], io)).toBe(exitCodes.ok);
    const result = JSON.parse(io.out()) as VerifyResult;
    expect(result).toMatchObject({ ok: true, exitCode: 0, kind: 'single' });
    expect(result.report.lines.map((line) => `${line.status} ${line.name}`)).toEqual([
      'pass configuration',
      'pass connect',
      'pass tls',
      'pass auth',
      'info server',
      'info capabilities',
    ]);
    expect(result.report.capabilities).toMatchObject({ customHeaders: true, smtpUtf8: 'negotiated' });
    expect(result.report.details).toMatchObject({ smtpUtf8: true, authMethods: ['PLAIN', 'LOGIN', 'XOAUTH2'] });
    expect(io.out()).not.toContain('sandbox-password');

    sandbox.faults.inject({ endpoint: 'graph.getUser', action: 'stall' });
    const stalled = await verify('--url', sandbox.urls.graph, '--timeout', '300ms');
    expect(stalled.code).toBe(exitCodes.transient);
    expect(stalled.out).toMatch(/^FAIL connect +timeout: graph:\/\/sender@contoso\.example did not finish verifying within 0\.3 s$/m);
    expect((await verify('--timeout', 'soon')).code).toBe(exitCodes.usage);
  });
});
