import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Sandbox, startSandbox } from '@mailport/sandbox';
import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { run } from '../cli.js';
import { exitCodes } from '../exit-codes.js';
import { memoryIo } from '../io.js';

describe('mailport send', () => {
  let sandbox: Sandbox;
  let directory: string;
  beforeAll(async () => {
    sandbox = await startSandbox();
    directory = await mkdtemp(join(tmpdir(), 'mailport-cli-'));
    await writeFile(join(directory, 'body.html'), '<p>Hello <b>Ana</b></p>');
    await writeFile(join(directory, 'report.csv'), 'a,b\n1,2\n');
  });
  afterAll(() => sandbox.close());
  beforeEach(() => {
    sandbox.store.clear();
    sandbox.faults.clear();
  });

  it.each(['smtp', 'ses', 'gmail', 'graph'] as const)('sends one message through %s:// and prints the receipt', async (api) => {
    const from = { smtp: 'app@example.com', ses: 'app@example.com', gmail: 'user@example.com', graph: 'sender@contoso.example' }[api];
    const io = memoryIo({ cwd: directory });
    const code = await run(
      [
        'send',
        '--url',
        sandbox.urls[api],
        '--from',
        from,
        '--to',
        'Ana <ana@example.org>',
        '--bcc',
        'audit@example.net',
        '--subject',
        'Report',
        '--text',
        'See attached.',
        '--html-file',
        'body.html',
        '--attach',
        'report.csv',
        '--header',
        'X-Job: 42',
      ],
      io,
    );
    expect(io.err()).toBe('');
    expect(code).toBe(exitCodes.ok);
    expect(io.out()).toMatch(/^sent <.+>\n {2}via/);
    const stored = sandbox.store.last();
    expect(stored?.api).toBe(api);
    expect([...(stored?.envelope.to ?? [])].sort()).toEqual(['ana@example.org', 'audit@example.net']);
    const parsed = await simpleParser(stored?.raw ?? Buffer.alloc(0));
    expect(parsed.html).toContain('<p>Hello <b>Ana</b></p>');
    expect(parsed.attachments[0]?.filename).toBe('report.csv');
    expect(parsed.attachments[0]?.content.toString()).toBe('a,b\n1,2\n');
    expect(parsed.headers.get('x-job')).toBe('42');
  });

  it('prints the receipt as JSON with --json', async () => {
    const io = memoryIo({ env: { MAILPORT_URL: sandbox.urls.smtp, MAILPORT_FROM: 'app@example.com' } });
    expect(await run(['send', '--to', 'ana@example.org', '--subject', 'x', '--text', 'y', '--json'], io)).toBe(exitCodes.ok);
    const receipt = JSON.parse(io.out()) as { messageId: string; accepted: string[] };
    expect(receipt.accepted).toEqual(['ana@example.org']);
    expect((await simpleParser(sandbox.store.last()?.raw ?? Buffer.alloc(0))).messageId).toBe(receipt.messageId);
  });

  it('--dry-run prints the MIME and sends nothing, without a URL', async () => {
    const io = memoryIo();
    expect(
      await run(['send', '--dry-run', '--from', 'app@example.com', '--to', 'ana@example.org', '--subject', 'Dry', '--text', 'run'], io),
    ).toBe(exitCodes.ok);
    expect(io.out()).toMatch(/^Subject: Dry\r$/m);
    expect(io.err()).toMatch(/dry run: nothing sent/);
    expect(sandbox.store.size).toBe(0);
  });

  it('exit codes tell what went wrong', async () => {
    const base = ['send', '--from', 'app@example.com', '--to', 'ana@example.org', '--text', 'x'];
    const io = () => memoryIo();
    expect(await run([...base, '--url', sandbox.urls.smtp, '--to', 'not an address'], io())).toBe(exitCodes.invalidInput);
    expect(await run(base, io())).toBe(exitCodes.configuration);
    expect(await run([...base, '--url', 'pigeon://coop'], io())).toBe(exitCodes.configuration);
    expect(await run([...base, '--url', sandbox.urls.smtp.replace('sandbox-password', 'wrong')], io())).toBe(exitCodes.auth);
    sandbox.faults.inject({ endpoint: 'smtp.RCPT', count: 5, status: 550, message: '5.1.1 No such user' });
    const rejected = io();
    expect(await run([...base, '--url', sandbox.urls.smtp], rejected)).toBe(exitCodes.rejected);
    expect(rejected.err()).toMatch(/recipient-rejected: .*\n {2}what to do: /);
    sandbox.faults.clear();
    sandbox.faults.inject({
      endpoint: 'ses.SendEmail',
      count: 5,
      status: 429,
      code: 'TooManyRequestsException',
      message: 'Maximum sending rate exceeded.',
    });
    expect(await run([...base, '--url', sandbox.urls.ses], io())).toBe(exitCodes.rateLimited);
    sandbox.faults.clear();
    sandbox.faults.inject({ endpoint: 'smtp.DATA', action: 'drop' });
    expect(await run([...base, '--url', sandbox.urls.smtp], io())).toBe(exitCodes.unknownOutcome);
    expect(await run(['send', '--bogus'], io())).toBe(exitCodes.usage);
    expect(await run(['send', '--to', 'a@example.org', '--dry-run'], io())).toBe(exitCodes.usage);
  });

  it('a temporary failure exits 8 after the retries', async () => {
    sandbox.faults.inject({ endpoint: 'smtp.MAIL', count: 10, status: 451, message: '4.3.0 Try later' });
    const io = memoryIo({ env: { MAILPORT_URL: sandbox.urls.smtp } });
    expect(await run(['send', '--from', 'app@example.com', '--to', 'ana@example.org', '--text', 'x', '--json'], io)).toBe(
      exitCodes.transient,
    );
    expect(JSON.parse(io.err()).error).toMatchObject({ code: 'transient', retryable: true });
  });

  it('SIGTERM while the provider has not answered: exit 143, and it says the message may have been sent', async () => {
    sandbox.faults.inject({ endpoint: 'smtp.DATA', action: 'stall' });
    const controller = new AbortController();
    const io = memoryIo({ env: { MAILPORT_URL: sandbox.urls.smtp }, signal: controller.signal });
    const sending = run(['send', '--from', 'app@example.com', '--to', 'ana@example.org', '--text', 'x'], io);
    await new Promise((resolve) => setTimeout(resolve, 300));
    controller.abort(Object.assign(new Error('terminated (SIGTERM)'), { signal: 'SIGTERM' }));
    expect(await sending).toBe(exitCodes.terminated);
    expect(io.err()).toBe('mailport send: terminated (SIGTERM) before the provider answered: the message may or may not have been sent\n');
  });
});
