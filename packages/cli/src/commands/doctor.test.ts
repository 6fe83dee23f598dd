import { type ChildProcess, spawn } from 'node:child_process';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { refusedPort } from '@mailport/core/testing';
import { type Sandbox, sandboxCertificate, startSandbox } from '@mailport/sandbox';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { run } from '../cli.js';
import { probeTarget } from '../doctor-probe.js';
import { exitCodes } from '../exit-codes.js';
import { memoryIo } from '../io.js';

async function listen(server: Server | SMTPServer): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = (server instanceof SMTPServer ? server.server : server).address() as { port: number };
  return address.port;
}

/**
 * A port whose SYNs go unanswered, as behind a firewall that drops them, made without root: a
 * listener in a stopped process never accepts, so once its backlog is full Linux drops further
 * SYNs (tcp_abort_on_overflow=0, the default) and a connect times out.
 */
async function droppingPort(): Promise<{ port: number; close: () => void }> {
  const child: ChildProcess = spawn(
    process.execPath,
    ['-e', "const s=require('net').createServer();s.listen({port:0,host:'127.0.0.1',backlog:1},()=>console.log(s.address().port))"],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const port = Number(await new Promise<string>((resolve) => child.stdout?.once('data', (data) => resolve(String(data).trim()))));
  process.kill(child.pid as number, 'SIGSTOP');
  const fillers: Socket[] = [];
  for (let attempt = 0; attempt < 16; attempt++) {
    const socket = connect(port, '127.0.0.1');
    socket.on('error', () => {});
    fillers.push(socket);
    const accepted = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), 250);
      socket.once('connect', () => {
        clearTimeout(timer);
        resolve(true);
      });
    });
    if (!accepted) break;
  }
  return {
    port,
    close: () => {
      for (const socket of fillers) socket.destroy();
      process.kill(child.pid as number, 'SIGCONT');
      child.kill();
    },
  };
}

// "FAIL  4242  smtp   no answer ..." -> "FAIL 4242 smtp no answer"
function line(out: string, port: number): string {
  const found = out.split('\n').find((text) => new RegExp(`^ {2}(PASS|FAIL|WARN|SKIP) +${port} `).test(text));
  return (found ?? '').trim().replace(/ +/g, ' ');
}

describe.skipIf(process.platform === 'win32')('mailport doctor', () => {
  let sandbox: Sandbox;
  let silent: Server;
  let silentPort: number;
  let closedPort: number;
  let plain: SMTPServer;
  let plainPort: number;
  let implicit: SMTPServer;
  let implicitPort: number;
  let dropping: { port: number; close: () => void };
  beforeAll(async () => {
    sandbox = await startSandbox();
    // Accepts and never says a word.
    silent = createServer(() => {});
    silentPort = await listen(silent);
    closedPort = await refusedPort();
    plain = new SMTPServer({ disabledCommands: ['STARTTLS'], authOptional: true, banner: 'plain relay' });
    plainPort = await listen(plain);
    const certificate = await sandboxCertificate();
    implicit = new SMTPServer({ secure: true, key: certificate.key, cert: certificate.cert, authOptional: true });
    implicitPort = await listen(implicit);
    dropping = await droppingPort();
  });
  afterAll(async () => {
    dropping.close();
    silent.close();
    await new Promise<void>((resolve) => plain.close(() => resolve()));
    await new Promise<void>((resolve) => implicit.close(() => resolve()));
    await sandbox.close();
  });
  beforeEach(() => sandbox.faults.clear());

  const doctor = async (...argv: string[]): Promise<{ code: number; out: string; err: string }> => {
    const io = memoryIo();
    const code = await run(['doctor', ...argv], io);
    expect(io.out()).not.toContain('sandbox-password');
    return { code, out: io.out(), err: io.err() };
  };

  it('classifies each loopback port: SMTP with STARTTLS, no greeting, refused, no STARTTLS, implicit TLS, HTTPS', async () => {
    const { code, out, err } = await doctor(
      '--timeout',
      '2s',
      '--ca-file',
      sandbox.caFile,
      '--host',
      `127.0.0.1:${sandbox.smtpPort}`,
      '--host',
      `smtp://127.0.0.1:${silentPort}`,
      '--host',
      `127.0.0.1:${closedPort}`,
      '--host',
      `smtp://127.0.0.1:${plainPort}`,
      '--host',
      `smtps://127.0.0.1:${implicitPort}`,
      '--host',
      `https://127.0.0.1:${sandbox.httpsPort}`,
    );
    expect(err).toBe('');
    expect(line(out, sandbox.smtpPort)).toMatch(
      /^PASS \d+ smtp SMTP answers \("220 .*"\), STARTTLS verified \(TLSv1\.3, certificate for mailport sandbox issued by mailport sandbox CA, verified\), AUTH PLAIN LOGIN XOAUTH2$/,
    );
    expect(line(out, silentPort)).toMatch(/^FAIL \d+ smtp connected, but no SMTP greeting in 2 s: something in between/);
    expect(line(out, closedPort)).toMatch(
      /^FAIL \d+ smtp reachable, but the connection was refused: nothing listens on port \d+, or a firewall rejects it$/,
    );
    // Loopback relays may run without TLS: a warning, not a failure.
    expect(line(out, plainPort)).toMatch(
      /^WARN \d+ smtp SMTP answers \("220 .*plain relay"\) but offers no STARTTLS; AUTH LOGIN PLAIN in clear text$/,
    );
    expect(line(out, implicitPort)).toMatch(/^PASS \d+ smtps SMTP answers \("220 .*"\), implicit TLS verified \(TLSv1\.3/);
    expect(line(out, sandbox.httpsPort)).toMatch(/^PASS \d+ https TLS handshake verified \(TLSv1\.3, certificate for mailport sandbox/);
    expect(out).toMatch(/-> Try smtps:\/\/ on 465, or an HTTPS transport sends over port 443 instead/);
    // Given hosts: every probe counts, and a refused or silent port is a network failure.
    expect(code).toBe(exitCodes.transient);
  });

  it('explains certificate and protocol failures: an untrusted CA, and plain SMTP where implicit TLS was expected', async () => {
    const { code, out } = await doctor(
      '--timeout',
      '2s',
      '--host',
      `127.0.0.1:${sandbox.smtpPort}`,
      '--host',
      `https://localhost:${sandbox.httpsPort}`,
      '--host',
      `smtps://127.0.0.1:${plainPort}`,
    );
    expect(code).toBe(exitCodes.configuration);
    expect(line(out, sandbox.smtpPort)).toMatch(
      /^FAIL \d+ smtp TLS completes but the certificate is not trusted \(SELF_SIGNED_CERT_IN_CHAIN; TLSv1\.3, certificate for mailport sandbox issued by mailport sandbox CA\)$/,
    );
    expect(line(out, sandbox.httpsPort)).toMatch(/^FAIL \d+ https TLS completes but the certificate is not trusted/);
    expect(line(out, plainPort)).toMatch(
      /^FAIL \d+ smtps the TLS handshake failed \(ERR_SSL_WRONG_VERSION_NUMBER: wrong version number\)$/,
    );
    expect(out).toMatch(/-> This port does not speak implicit TLS: use smtp:\/\/ \(STARTTLS\), usually on 587\./);
    expect(out).toMatch(/-> A private CA: trust it with --ca-file here and ca_file= in the URL/);
  });

  it('a port that drops SYNs is "no answer", and with HTTPS working the advice is an HTTPS transport', async () => {
    const { code, out } = await doctor(
      '--timeout',
      '1s',
      '--ca-file',
      sandbox.caFile,
      '--host',
      `smtp://127.0.0.1:${dropping.port}`,
      '--host',
      `https://127.0.0.1:${sandbox.httpsPort}`,
    );
    expect(code).toBe(exitCodes.transient);
    expect(line(out, dropping.port)).toBe(
      `FAIL ${dropping.port} smtp no answer in 1 s: a firewall probably drops it (or the host does not serve this port)`,
    );
    expect(out).toMatch(
      /-> Outbound SMTP ports are commonly blocked on cloud hosts, CI runners and container platforms; an HTTPS transport/,
    );
    expect(out).toMatch(
      new RegExp(
        `Recommendation\\n {2}- Outbound SMTP is blocked from this network: port ${dropping.port} got no answer, while HTTPS \\(443\\) to 127\\.0\\.0\\.1 works\\. .*Switch to ses:// \\(Amazon SES\\), gmail:// \\(Gmail / Google Workspace\\) or graph:// \\(Microsoft 365\\)`,
      ),
    );
  });

  it('the probe itself: a timeout is no-answer within the budget, and nothing is thrown', async () => {
    const started = performance.now();
    const result = await probeTarget({ host: '127.0.0.1', port: dropping.port, kind: 'smtp' }, { timeoutMs: 400 });
    expect(result).toMatchObject({ outcome: 'no-answer', stage: 'connect', errorCode: 'ETIMEDOUT' });
    expect(performance.now() - started).toBeLessThan(2000);
    expect(await probeTarget({ host: 'name.invalid', port: 587, kind: 'smtp' }, { timeoutMs: 2000 })).toMatchObject({
      outcome: 'dns-failed',
    });
  });

  it('with the sandbox SMTP URL: probes the configured port, tries AUTH, and finds nothing wrong', async () => {
    const { code, out } = await doctor('--timeout', '3s', '--url', sandbox.urls.smtp);
    expect(code).toBe(exitCodes.ok);
    expect(line(out, sandbox.smtpPort)).toMatch(/^PASS \d+ smtp configured: SMTP answers/);
    expect(out).toMatch(/\nAUTH with smtp:\/\/sandbox:\*\*\*@127\.0\.0\.1:\d+\?ca_file=.*\n {2}PASS {2}password accepted for sandbox\n/);
    expect(out).toMatch(/Recommendation\n {2}- Nothing is blocked: the network lets the configured transport through/);
  });

  it('an authentication policy (535 5.7.139) points at Graph or OAuth, with exit code 5', async () => {
    sandbox.faults.inject({
      endpoint: 'smtp.AUTH',
      count: 3,
      status: 535,
      message: '5.7.139 Authentication unsuccessful, basic authentication is disabled.',
    });
    const io = memoryIo({ env: { MAILPORT_URL: sandbox.urls.smtp } });
    const code = await run(['doctor', '--timeout', '3s'], io);
    expect(code).toBe(exitCodes.auth);
    expect(io.out()).toMatch(/ {2}FAIL {2}auth: Basic authentication refused: .*"535 5\.7\.139 /);
    expect(io.out()).toMatch(
      /Authentication policy: 127\.0\.0\.1 refuses passwords for SMTP \(5\.7\.139: SMTP AUTH with basic authentication is disabled .*Switch to graph:\/\/ \(Microsoft Graph over HTTPS with OAuth\): "mailport migrate 'smtp:\/\/sandbox:\*\*\*@/,
    );
    expect(io.out()).toMatch(/oauth=microsoft&tenant=TENANT_ID&client_id=CLIENT_ID/);
    // --no-auth leaves AUTH alone.
    sandbox.faults.clear();
    sandbox.faults.inject({ endpoint: 'smtp.AUTH', count: 3, status: 535, message: '5.7.139 Authentication unsuccessful' });
    const skipped = await doctor('--timeout', '3s', '--url', sandbox.urls.smtp, '--no-auth');
    expect(skipped.code).toBe(exitCodes.ok);
    expect(skipped.out).not.toMatch(/AUTH with/);
  });

  it('for the API transports: the API endpoint and the token endpoint; --json prints the findings', async () => {
    const graph = await doctor('--timeout', '3s', '--url', sandbox.urls.graph);
    expect(graph.code).toBe(exitCodes.ok);
    expect(line(graph.out, sandbox.httpPort)).toBe(`PASS ${sandbox.httpPort} tcp configured: connected to 127.0.0.1 (plain HTTP endpoint)`);
    expect(line(graph.out, sandbox.httpsPort)).toMatch(/^PASS \d+ https token endpoint: TLS handshake verified/);
    expect(graph.out).not.toContain('sandbox~client~secret');

    const io = memoryIo();
    expect(await run(['doctor', '--json', '--timeout', '3s', '--url', sandbox.urls.ses], io)).toBe(exitCodes.ok);
    const report = JSON.parse(io.out()) as { findings: { port: number; role: string; status: string; result: { outcome: string } }[] };
    expect(report.findings).toEqual([
      expect.objectContaining({
        port: sandbox.httpPort,
        role: 'configured',
        status: 'pass',
        result: expect.objectContaining({ outcome: 'ok' }),
      }),
    ]);
    expect(io.out()).not.toContain('Secret%2FAccess');
  });

  it('refuses bad options with exit code 2, and a bad URL with 4', async () => {
    expect((await doctor('--timeout', 'soon')).code).toBe(exitCodes.usage);
    expect((await doctor('--port', '25')).code).toBe(exitCodes.usage);
    expect((await doctor('--host', 'example.com', '--port', '99999')).code).toBe(exitCodes.usage);
    const memory = await doctor('--url', 'memory://');
    expect(memory.code).toBe(exitCodes.ok);
    expect(memory.out).toMatch(/memory:\/\/ has no network endpoint to probe/);
    expect((await doctor('--url', 'pigeon://coop')).code).toBe(exitCodes.configuration);
    const io = memoryIo();
    expect(await run(['doctor', '--url', 'smtp://user:pa@ss@'], io)).toBe(exitCodes.configuration);
    expect(io.err()).toMatch(/does not parse/);
  });
});
