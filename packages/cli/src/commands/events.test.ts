import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMailer } from '@mailport/core';
import { verpAddress } from '@mailport/core/verp';
import { createFileSuppressionStore } from '@mailport/events';
import { type Sandbox, startSandbox } from '@mailport/sandbox';
import nodemailer from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnCli } from '../../test/bulk-harness.js';
import { run } from '../cli.js';
import { exitCodes } from '../exit-codes.js';
import { memoryIo } from '../io.js';
import { parseEventsConfig } from './events.js';

const simulator = (local: string): string => `${local}@simulator.amazonses.com`;
const topic = 'arn:aws:sns:us-east-1:123456789012:mailport-sandbox-events';
/** expect.poll with room for a loaded machine. */
const poll = <T>(read: () => T | Promise<T>) => expect.poll(read, { timeout: 15_000, interval: 50 });

/** `mailport events` in this process, stopped by aborting its io's signal (as SIGTERM does). */
function startEvents(args: string[], cwd: string, env: Record<string, string> = {}) {
  const controller = new AbortController();
  const io = memoryIo({ cwd, env, signal: controller.signal });
  const exited = run(['events', ...args], io);
  return { io, exited, stop: () => controller.abort(new Error('stop')) };
}

/** Talks SMTP to the receiver up to RCPT TO and returns the reply to RCPT. */
async function sendRaw(port: number, recipient: string): Promise<string> {
  const socket = connect(port, '127.0.0.1');
  socket.setEncoding('utf8');
  // The receiver may drop the connection after QUIT: that is not this test's concern.
  socket.on('error', () => {});
  let buffer = '';
  const reply = async (): Promise<string> => {
    while (!/^\d{3} [^\n]*\r?\n/m.test(buffer)) {
      const [chunk] = (await once(socket, 'data')) as [string];
      buffer += chunk;
    }
    const line = /^(\d{3} [^\n]*)\r?\n/m.exec(buffer)?.[1] ?? '';
    buffer = '';
    return line;
  };
  await reply();
  socket.write('EHLO mx.example.org\r\n');
  await reply();
  socket.write('MAIL FROM:<>\r\n');
  await reply();
  socket.write(`RCPT TO:<${recipient}>\r\n`);
  const answer = await reply();
  socket.end('QUIT\r\n');
  await once(socket, 'close');
  return answer;
}

function events(out: string): Record<string, unknown>[] {
  return out
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe('mailport events: SES through the sandbox', () => {
  let sandbox: Sandbox;
  let directory: string;
  beforeAll(async () => {
    sandbox = await startSandbox();
    directory = await mkdtemp(join(tmpdir(), 'mailport-events-'));
  });
  afterAll(async () => {
    await sandbox.close();
    await rm(directory, { recursive: true, force: true });
  });

  it('confirms the subscription, prints each event once as a JSON line, joined to what send --send-log recorded, and feeds suppression', async () => {
    const config = join(directory, 'events.json');
    await writeFile(
      config,
      JSON.stringify({
        ses: {
          listen: '127.0.0.1:0',
          path: '/ses',
          topics: ['env:TOPIC'],
          basicAuth: { username: 'sns', password: 'env:SNS_PASSWORD' },
          certificates: { hosts: [`127.0.0.1:${sandbox.httpsPort}`], caFile: sandbox.caFile },
        },
        sendLog: 'send-log.jsonl',
        suppression: 'suppressions.jsonl',
      }),
    );
    const password = 'correct horse battery staple';
    const app = startEvents(['--config', 'events.json'], directory, { TOPIC: topic, SNS_PASSWORD: password });
    await poll(() => app.io.err()).toMatch(/SNS endpoint http:\/\/127\.0\.0\.1:\d+\/ses/);
    const endpoint = /SNS endpoint (http:\/\/\S+)/.exec(app.io.err())?.[1] ?? '';
    const subscription = sandbox.sns.subscribe({
      endpoint: endpoint.replace('http://', `http://sns:${encodeURIComponent(password)}@`),
      topicArn: topic,
    });
    await poll(() => sandbox.sns.subscriptions().find((found) => found.subscriptionArn === subscription.subscriptionArn)?.state).toBe(
      'confirmed',
    );

    const sent = memoryIo({ cwd: directory });
    const code = await run(
      [
        'send',
        '--url',
        sandbox.urls.ses,
        '--send-log',
        'send-log.jsonl',
        '--json',
        '--from',
        'app@example.com',
        '--to',
        simulator('bounce'),
        '--to',
        simulator('complaint'),
        '--subject',
        'Order',
        '--text',
        'x',
      ],
      sent,
    );
    expect(sent.err()).toBe('');
    expect(code).toBe(exitCodes.ok);
    const receipt = JSON.parse(sent.out()) as { messageId: string; providerMessageId: string };
    const logged = JSON.parse((await readFile(join(directory, 'send-log.jsonl'), 'utf8')).trim()) as Record<string, unknown>;
    expect(logged).toMatchObject({
      messageId: receipt.messageId,
      providerMessageId: receipt.providerMessageId,
      transport: expect.stringMatching(/^ses:/),
    });

    await sandbox.sns.idle();
    const seen = () => events(app.io.out()).map((event) => `${event.type} ${event.recipient}`);
    await poll(() =>
      seen()
        .filter((line) => /^(bounced|complained|delivered) /.test(line))
        .sort(),
    ).toEqual([`bounced ${simulator('bounce')}`, `complained ${simulator('complaint')}`, `delivered ${simulator('complaint')}`]);
    const printed = events(app.io.out());
    const bounce = printed.find((event) => event.type === 'bounced');
    expect(Object.keys(bounce ?? {})).toEqual([
      'id',
      'type',
      'timestamp',
      'source',
      'recipient',
      'messageId',
      'providerMessageId',
      'bounce',
      'delay',
      'complaint',
      'url',
      'tags',
      'metadata',
      'providerEventType',
      'joinedBy',
    ]);
    expect(bounce).toMatchObject({
      source: 'ses',
      messageId: receipt.messageId,
      providerMessageId: receipt.providerMessageId,
      bounce: { kind: 'hard' },
    });
    // Once each: ids do not repeat.
    expect(new Set(printed.map((event) => event.id)).size).toBe(printed.length);
    // The password is nowhere in what the command printed.
    expect(app.io.out() + app.io.err()).not.toContain(password);

    const store = createFileSuppressionStore(join(directory, 'suppressions.jsonl'));
    const blocked = await store.check([simulator('bounce'), simulator('complaint'), 'ana@example.org'], undefined);
    expect([...blocked.values()].map((entry) => `${entry.address} ${entry.reason} ${entry.scope}`).sort()).toEqual([
      `${simulator('bounce')} hard-bounce *`,
      `${simulator('complaint')} complaint *`,
    ]);

    // A forged post (no valid signature) gets a 4xx and prints nothing.
    const before = app.io.out();
    const forged = await fetch(endpoint, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`sns:${password}`).toString('base64')}`, 'x-amz-sns-message-type': 'Notification' },
      body: JSON.stringify({ Type: 'Notification', TopicArn: topic, Message: '{}', Signature: 'AAAA' }),
    });
    expect(forged.status).toBeGreaterThanOrEqual(400);
    expect(forged.status).toBeLessThan(500);
    expect((await fetch(endpoint.replace('/ses', '/other'))).status).toBe(404);
    expect(app.io.out()).toBe(before);

    app.stop();
    expect(await app.exited).toBe(exitCodes.ok);
    expect(app.io.err()).toContain('mailport events: stopped');
  });
});

describe('mailport events: bounces by SMTP from the sandbox', () => {
  let directory: string;
  beforeAll(async () => {
    directory = await mkdtemp(join(tmpdir(), 'mailport-events-smtp-'));
  });
  afterAll(() => rm(directory, { recursive: true, force: true }));

  it('receives the Postfix-style reports for a VERP envelope sender, joined to send --send-log, and refuses a forged VERP address', async () => {
    const secret = 'v'.repeat(40);
    await writeFile(
      join(directory, 'events.json'),
      JSON.stringify({
        smtp: { listen: '127.0.0.1:0', domain: 'bounces.shop.example', verpSecret: 'env:VERP_SECRET' },
        sendLog: 'send-log.jsonl',
        suppression: 'suppressions.jsonl',
      }),
    );
    const app = startEvents(['--config', 'events.json'], directory, { VERP_SECRET: secret });
    await poll(() => app.io.err()).toMatch(/bounce receiver for bounces\.shop\.example on 127\.0\.0\.1:\d+/);
    const port = Number(/on 127\.0\.0\.1:(\d+)/.exec(app.io.err())?.[1]);
    await using sandbox = await startSandbox({ bounces: { smtp: `smtp://127.0.0.1:${port}`, delayMs: 0 } });

    const url = new URL(sandbox.urls.smtp);
    url.searchParams.set('verp_domain', 'bounces.shop.example');
    url.searchParams.set('verp_secret', secret);
    const sent = memoryIo({ cwd: directory });
    const code = await run(
      [
        'send',
        '--url',
        url.href,
        '--send-log',
        'send-log.jsonl',
        '--json',
        '--from',
        'app@example.com',
        '--to',
        simulator('bounce'),
        '--to',
        simulator('delay'),
        '--subject',
        'Order',
        '--text',
        'x',
      ],
      sent,
    );
    expect(sent.err()).toBe('');
    expect(code).toBe(exitCodes.ok);
    const receipt = JSON.parse(sent.out()) as { messageId: string };
    await poll(() =>
      events(app.io.out())
        .map((event) => `${event.type} ${event.recipient} ${event.joinedBy}`)
        .sort(),
    ).toEqual([`bounced ${simulator('bounce')} verp`, `deferred ${simulator('delay')} verp`]);
    for (const event of events(app.io.out())) expect(event).toMatchObject({ source: 'smtp', messageId: receipt.messageId });
    const store = createFileSuppressionStore(join(directory, 'suppressions.jsonl'));
    expect([...(await store.check([simulator('bounce'), simulator('delay')], undefined)).keys()]).toEqual([simulator('bounce')]);

    // A return path whose HMAC does not verify is refused at RCPT: nothing is read, nothing printed.
    const forged = await sendRaw(port, 'bounces+aaaaaaaaaaaaaaaaaaaa-bbbbbbbbbbbbbbbb@bounces.shop.example');
    expect(forged).toMatch(/^5\d\d/);
    expect(app.io.out() + app.io.err()).not.toContain(secret);

    app.stop();
    expect(await app.exited).toBe(exitCodes.ok);
  });
});

describe('mailport events: a hostile report', () => {
  it('prints what a stranger wrote in a bounce as JSON no terminal acts on', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'mailport-events-hostile-'));
    try {
      const secret = 'h'.repeat(32);
      const messageId = '<m1@shop.example>';
      const envelopeFrom = verpAddress(messageId, { domain: 'bounces.shop.example', secret });
      await writeFile(
        join(directory, 'send-log.jsonl'),
        `${JSON.stringify({ messageId, transport: 'smtp', recipients: ['ana@example.org'], tags: [], metadata: {}, envelopeFrom, sentAt: new Date().toISOString() })}\n`,
      );
      await writeFile(
        join(directory, 'events.json'),
        JSON.stringify({ smtp: { listen: '127.0.0.1:0', domain: 'bounces.shop.example', verpSecret: secret }, sendLog: 'send-log.jsonl' }),
      );
      const app = startEvents(['--config', 'events.json', '--raw'], directory);
      await poll(() => app.io.err()).toMatch(/on 127\.0\.0\.1:\d+/);
      const port = Number(/on 127\.0\.0\.1:(\d+)/.exec(app.io.err())?.[1]);
      const hostile = '\u001b]0;pwned\u0007 \u009b31m \u2028 <script>';
      const raw = [
        'From: MAILER-DAEMON@mx.example.org',
        `To: ${envelopeFrom}`,
        'Subject: Undelivered Mail Returned to Sender',
        'MIME-Version: 1.0',
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b"',
        '',
        '--b',
        'Content-Type: text/plain; charset=utf-8',
        'Content-Transfer-Encoding: 8bit',
        '',
        `The mail system ${hostile}`,
        '--b',
        'Content-Type: message/delivery-status; charset=utf-8',
        '',
        `Reporting-MTA: dns; mx.example.org ${hostile}`,
        '',
        'Final-Recipient: rfc822; ana@example.org',
        'Action: failed',
        'Status: 5.1.1',
        `Diagnostic-Code: smtp; 550 5.1.1 user unknown ${hostile}`,
        '',
        '--b',
        'Content-Type: text/rfc822-headers',
        '',
        `Message-ID: ${messageId}`,
        'From: app@shop.example',
        'To: ana@example.org',
        '',
        '--b--',
        '',
      ].join('\r\n');
      const transport = nodemailer.createTransport({ host: '127.0.0.1', port, secure: false, ignoreTLS: true });
      await transport.sendMail({ envelope: { from: '', to: [envelopeFrom] }, raw: Buffer.from(raw, 'utf8') });
      transport.close();
      await poll(() => events(app.io.out()).map((event) => event.type)).toEqual(['bounced']);
      expect(app.io.out()).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029]/);
      expect(events(app.io.out())[0]).toMatchObject({ recipient: 'ana@example.org', messageId, joinedBy: 'verp' });
      // --raw: the report as received, hostile bytes included, still one safe line.
      expect(String(events(app.io.out())[0]?.raw)).toContain(`Diagnostic-Code: smtp; 550 5.1.1 user unknown ${hostile}`);
      app.stop();
      expect(await app.exited).toBe(exitCodes.ok);
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });
});

describe('mailport events: a suppression file that cannot be written', () => {
  it('says so on stderr and refuses the report (451), so that the sender keeps it and tries again', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'mailport-events-unwritable-'));
    try {
      const secret = 'u'.repeat(32);
      const messageId = '<m2@shop.example>';
      const envelopeFrom = verpAddress(messageId, { domain: 'bounces.shop.example', secret });
      await writeFile(
        join(directory, 'send-log.jsonl'),
        `${JSON.stringify({ messageId, transport: 'smtp', recipients: ['bo@example.org'], tags: [], metadata: {}, envelopeFrom, sentAt: new Date().toISOString() })}\n`,
      );
      await writeFile(
        join(directory, 'events.json'),
        JSON.stringify({
          smtp: { listen: '127.0.0.1:0', domain: 'bounces.shop.example', verpSecret: secret },
          sendLog: 'send-log.jsonl',
          suppression: 'no-such-directory/suppressions.jsonl',
        }),
      );
      const app = startEvents(['--config', 'events.json'], directory);
      await poll(() => app.io.err()).toMatch(/on 127\.0\.0\.1:\d+/);
      const port = Number(/on 127\.0\.0\.1:(\d+)/.exec(app.io.err())?.[1]);
      const raw = [
        'From: MAILER-DAEMON@mx.example.org',
        `To: ${envelopeFrom}`,
        'Subject: Undelivered Mail Returned to Sender',
        'MIME-Version: 1.0',
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b"',
        '',
        '--b',
        'Content-Type: text/plain',
        '',
        'The mail system',
        '--b',
        'Content-Type: message/delivery-status',
        '',
        'Reporting-MTA: dns; mx.example.org',
        '',
        'Final-Recipient: rfc822; bo@example.org',
        'Action: failed',
        'Status: 5.1.1',
        '',
        '--b',
        'Content-Type: text/rfc822-headers',
        '',
        `Message-ID: ${messageId}`,
        '',
        '--b--',
        '',
      ].join('\r\n');
      const transport = nodemailer.createTransport({ host: '127.0.0.1', port, secure: false, ignoreTLS: true });
      const refused = await transport.sendMail({ envelope: { from: '', to: [envelopeFrom] }, raw }).then(
        () => undefined,
        (error: { responseCode?: number }) => error.responseCode,
      );
      transport.close();
      expect(refused).toBe(451);
      expect(app.io.err()).toMatch(/1 event not taken, to come again: .*no-such-directory/);
      expect(app.io.out()).toBe('');
      app.stop();
      expect(await app.exited).toBe(exitCodes.ok);
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });
});

describe('mailport events: reports in the Gmail and Graph mailboxes of the sandbox', () => {
  let directory: string;
  beforeAll(async () => {
    directory = await mkdtemp(join(tmpdir(), 'mailport-events-mailbox-'));
  });
  afterAll(() => rm(directory, { recursive: true, force: true }));

  it('polls both mailboxes and prints the bounces joined to send --send-log', async () => {
    await using sandbox = await startSandbox();
    await writeFile(
      join(directory, 'events.json'),
      JSON.stringify({
        gmail: { url: 'env:GMAIL_URL', intervalSeconds: 1 },
        graph: { url: 'env:GRAPH_URL', intervalSeconds: 1 },
        sendLog: 'send-log.jsonl',
      }),
    );
    const app = startEvents(['--config', 'events.json'], directory, { GMAIL_URL: sandbox.urls.gmail, GRAPH_URL: sandbox.urls.graph });
    await poll(() => app.io.err()).toContain('running');
    const messageIds: Record<string, string> = {};
    for (const [api, from] of [
      ['gmail', 'user@example.com'],
      ['graph', 'sender@contoso.example'],
    ] as const) {
      const sent = memoryIo({ cwd: directory });
      const args = ['send', '--url', sandbox.urls[api], '--send-log', 'send-log.jsonl', '--json', '--from', from];
      expect(await run([...args, '--to', simulator('bounce'), '--subject', `via ${api}`, '--text', 'x'], sent)).toBe(exitCodes.ok);
      messageIds[api] = (JSON.parse(sent.out()) as { messageId: string }).messageId;
    }
    await poll(() =>
      events(app.io.out())
        .map((event) => `${event.source} ${event.type} ${event.recipient}`)
        .sort(),
    ).toEqual([`gmail bounced ${simulator('bounce')}`, `graph bounced ${simulator('bounce')}`]);
    for (const event of events(app.io.out())) expect(event.messageId).toBe(messageIds[event.source as string]);
    // The transport URLs' client secrets and refresh tokens are printed nowhere.
    expect(app.io.err()).toContain('gmail: reading the mailbox of user@example.com every 1 s');
    expect(app.io.err()).toContain('graph: reading the mailbox of sender@contoso.example every 1 s');
    for (const url of [sandbox.urls.gmail, sandbox.urls.graph]) {
      for (const [name, value] of new URL(url).searchParams) {
        if (/secret|token/.test(name)) expect(app.io.out() + app.io.err()).not.toContain(value);
      }
    }
    app.stop();
    expect(await app.exited).toBe(exitCodes.ok);
  });
});

describe('send --send-log', () => {
  it('records every row of a --csv run, and is refused with --queue or --dry-run', async () => {
    await using sandbox = await startSandbox();
    const directory = await mkdtemp(join(tmpdir(), 'mailport-send-log-'));
    try {
      await writeFile(join(directory, 'people.csv'), 'name,email\nAna,ana@example.org\nBo,bo@example.org\nCy,cy@example.org\n');
      const io = memoryIo({ cwd: directory });
      const args = [
        'send',
        '--csv',
        'people.csv',
        '--url',
        sandbox.urls.smtp,
        '--from',
        'app@example.com',
        '--subject',
        'Hi {{name}}',
        '--text',
        'x',
      ];
      expect(await run([...args, '--send-log', 'log.jsonl'], io)).toBe(exitCodes.ok);
      const lines = (await readFile(join(directory, 'log.jsonl'), 'utf8')).trimEnd().split('\n');
      const entries = lines.map((line) => JSON.parse(line) as { messageId: string; recipients: string[] });
      expect(entries.flatMap((entry) => entry.recipients).sort()).toEqual(['ana@example.org', 'bo@example.org', 'cy@example.org']);
      expect(new Set(entries.map((entry) => entry.messageId)).size).toBe(3);
      for (const extra of [['--dry-run'], ['--queue', 'redis://127.0.0.1:1']]) {
        const refused = memoryIo({ cwd: directory });
        expect(await run([...args, '--send-log', 'log.jsonl', ...extra], refused)).toBe(exitCodes.usage);
        expect(refused.err()).toContain('--send-log records what this command sends');
      }
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });
});

describe('mailport events as a process (dist/main.js)', () => {
  let directory: string;
  beforeAll(async () => {
    directory = await mkdtemp(join(tmpdir(), 'mailport-events-process-'));
  });
  afterAll(() => rm(directory, { recursive: true, force: true }));

  it('prints the bounce the sandbox mails back, as a user runs it, and stops on SIGTERM', async () => {
    const secret = 'p'.repeat(32);
    await writeFile(
      join(directory, 'bounces.json'),
      JSON.stringify({
        smtp: { listen: '127.0.0.1:0', domain: 'bounces.shop.example', verpSecret: 'env:VERP_SECRET' },
        sendLog: 'process-log.jsonl',
        suppression: 'process-suppressions.jsonl',
      }),
    );
    const child = spawnCli(['events', '--config', 'bounces.json'], { cwd: directory, env: { VERP_SECRET: secret } });
    await poll(() => child.err()).toContain('running');
    const port = Number(/127\.0\.0\.1:(\d+)/.exec(child.err())?.[1]);
    await using sandbox = await startSandbox({ bounces: { smtp: `smtp://127.0.0.1:${port}`, delayMs: 0 } });
    const url = new URL(sandbox.urls.smtp);
    url.searchParams.set('verp_domain', 'bounces.shop.example');
    url.searchParams.set('verp_secret', secret);
    const send = spawnCli(
      [
        'send',
        '--url',
        url.href,
        '--send-log',
        'process-log.jsonl',
        '--json',
        '--from',
        'app@example.com',
        '--to',
        simulator('bounce'),
        '--subject',
        'x',
        '--text',
        'y',
      ],
      { cwd: directory },
    );
    expect(await send.exited).toEqual({ code: 0, signal: null });
    const { messageId } = JSON.parse(send.out()) as { messageId: string };
    await poll(() => events(child.out()).map((event) => `${event.type} ${event.recipient} ${event.messageId}`)).toEqual([
      `bounced ${simulator('bounce')} ${messageId}`,
    ]);
    child.process.kill('SIGTERM');
    expect(await child.exited).toEqual({ code: 0, signal: null });
    expect(child.out() + child.err()).not.toContain(secret);
    const store = createFileSuppressionStore(join(directory, 'process-suppressions.jsonl'));
    expect((await store.check([simulator('bounce')], undefined)).get(simulator('bounce'))?.reason).toBe('hard-bounce');
  });

  it('prints the SES events the sandbox posts over SNS, as a user runs it', async () => {
    await using sandbox = await startSandbox();
    await writeFile(
      join(directory, 'ses-e2e.json'),
      JSON.stringify({
        ses: {
          listen: '127.0.0.1:0',
          topics: [topic],
          certificates: { hosts: [`127.0.0.1:${sandbox.httpsPort}`], caFile: sandbox.caFile },
        },
      }),
    );
    const child = spawnCli(['events', '--config', 'ses-e2e.json'], { cwd: directory });
    await poll(() => child.err()).toContain('running');
    const endpoint = /SNS endpoint (http:\/\/\S+)/.exec(child.err())?.[1] ?? '';
    const subscription = sandbox.sns.subscribe({ endpoint, topicArn: topic, signatureVersion: '2' });
    await poll(() => sandbox.sns.subscriptions().find((found) => found.subscriptionArn === subscription.subscriptionArn)?.state).toBe(
      'confirmed',
    );
    await using mailer = createMailer({ transport: sandbox.urls.ses });
    const receipt = await mailer.send({ from: 'app@example.com', to: simulator('complaint'), subject: 'x', text: 'y' });
    await poll(() =>
      events(child.out())
        .filter((event) => event.type === 'complained')
        .map((event) => event.messageId),
    ).toEqual([receipt.messageId]);
    child.process.kill('SIGTERM');
    expect(await child.exited).toEqual({ code: 0, signal: null });
  });

  it.each([
    ['SIGTERM', 'smtp'],
    ['SIGINT', 'ses'],
  ] as const)('stops cleanly on %s (exit 0), the %s receiver closed', async (signal, receiver) => {
    const config =
      receiver === 'smtp'
        ? { smtp: { listen: '127.0.0.1:0', domain: 'bounces.shop.example' }, sendLog: 'send-log.jsonl' }
        : { ses: { listen: '127.0.0.1:0', topics: [topic] } };
    await writeFile(join(directory, `${receiver}.json`), JSON.stringify(config));
    const child = spawnCli(['events', '--config', `${receiver}.json`], { cwd: directory });
    await poll(() => child.err()).toContain('running');
    const port = Number(/127\.0\.0\.1:(\d+)/.exec(child.err())?.[1]);
    child.process.kill(signal);
    expect(await child.exited).toEqual({ code: 0, signal: null });
    expect(child.err()).toContain('mailport events: stopped');
    // Nothing listens any more.
    const probe = connect(port, '127.0.0.1');
    const [error] = (await once(probe, 'error')) as [NodeJS.ErrnoException];
    expect(error.code).toBe('ECONNREFUSED');
  });
});

describe('mailport events: configuration', () => {
  let directory: string;
  beforeAll(async () => {
    directory = await mkdtemp(join(tmpdir(), 'mailport-events-config-'));
  });
  afterAll(() => rm(directory, { recursive: true, force: true }));

  const parse =
    (raw: unknown, env: Record<string, string> = {}) =>
    () =>
      parseEventsConfig(raw, { env, file: 'events.json' });
  const ses = { listen: '127.0.0.1:0', topics: [topic] };

  it.each([
    [[], '(top): must be a JSON object'],
    [{}, 'configure at least one receiver'],
    [{ sess: {} }, 'sess: unknown field'],
    [{ ses: { ...ses, topics: [] } }, 'ses.topics: list the SNS topic ARNs'],
    [{ ses: { ...ses, topics: ['*'] } }, 'ses.topics[0]: is not an SNS topic ARN'],
    [{ ses: { ...ses, listen: '0.0.0.0' } }, 'ses.listen: must be HOST:PORT'],
    [{ ses: { ...ses, listen: '127.0.0.1:99999' } }, 'ses.listen: must be HOST:PORT'],
    [{ ses: { ...ses, listen: 'env:NOPE' } }, 'ses.listen: the environment variable NOPE is not set'],
    [{ ses: { ...ses, path: 'ses' } }, 'ses.path: must be a URL path'],
    [{ ses: { ...ses, basicAuth: 'sns:pw' } }, 'ses.basicAuth: must be'],
    [{ ses: { ...ses, maxAgeMs: -1 } }, 'ses.maxAgeMs: must be a whole number'],
    [{ ses: { ...ses, certificates: { hosts: 'x' } } }, 'ses.certificates.hosts: must be a list'],
    [{ smtp: { domain: 'bounces.shop.example' } }, 'sendLog: required with smtp'],
    [{ smtp: { domain: 'not a domain' }, sendLog: 'x' }, 'smtp.domain: is not a domain name'],
    [{ smtp: { domain: 'bounces.shop.example', verpSecret: 'short' }, sendLog: 'x' }, 'smtp.verpSecret: must be at least 16 bytes'],
    [{ gmail: { url: 'graph://x' }, sendLog: 'x' }, 'gmail.url: must be a gmail:// transport URL'],
    [{ graph: { url: 'graph://x', intervalSeconds: 0 }, sendLog: 'x' }, 'graph.intervalSeconds: must be a number of seconds'],
    [{ ses, sendLog: 42 }, 'sendLog: must be a non-empty string'],
  ])('refuses %j naming the field', (raw, message) => {
    expect(parse(raw)).toThrow(message);
  });

  it('resolves env: values and notes secrets written in the file', () => {
    const config = parseEventsConfig(
      {
        ses: { ...ses, listen: '[::1]:8080', basicAuth: { username: 'sns', password: 'literal-password' } },
        smtp: { listen: 'env:LISTEN', domain: 'Bounces.Shop.Example', verpSecret: 'env:VERP' },
        sendLog: 'log.jsonl',
      },
      { env: { LISTEN: '127.0.0.1:2526', VERP: 'v'.repeat(32) }, file: 'events.json' },
    );
    expect(config.ses).toMatchObject({ host: '::1', port: 8080, path: '/ses' });
    expect(config.smtp).toMatchObject({ host: '127.0.0.1', port: 2526, domain: 'bounces.shop.example', verpSecret: 'v'.repeat(32) });
    expect(config.notes).toEqual(['ses.basicAuth.password is written in the file: put it in the environment and write "env:NAME"']);
    // Defaults: beside mailport dev (8025, 2525, 4443), never on its ports.
    const defaults = parseEventsConfig(
      { ses: { topics: [topic] }, smtp: { domain: 'bounces.shop.example' }, sendLog: 'x' },
      { env: {}, file: 'e' },
    );
    expect(defaults.ses).toMatchObject({ host: '127.0.0.1', port: 8080, path: '/ses' });
    expect(defaults.smtp).toMatchObject({ host: '127.0.0.1', port: 2526 });
    const exposed = parseEventsConfig(
      { ses: { ...ses, listen: '0.0.0.0:8080', basicAuth: { username: 'sns', password: 'env:PW' } } },
      { env: { PW: 'x' }, file: 'events.json' },
    );
    expect(exposed.notes).toEqual([expect.stringContaining('ses.listen 0.0.0.0: the endpoint is plain HTTP; serve it behind TLS')]);
  });

  it('notes a mailbox URL with a credential parameter written in the file, and not one naming a token file', () => {
    const notes = (url: string): readonly string[] =>
      parseEventsConfig({ gmail: { url }, sendLog: 'log.jsonl' }, { env: { URL: url }, file: 'events.json' }).notes;
    expect(notes('gmail://me?client_id=c&client_secret=s&refresh_token=r')).toEqual([
      'gmail.url holds a credential in the file: put it in the environment and write "env:NAME"',
    ]);
    expect(notes('gmail://sender@example.com?credentials_file=/etc/mailport/key.json')).toEqual([]);
    expect(notes('gmail://me?client_id=c&refresh_token_file=/var/lib/mailport/secret-token.json')).toEqual([]);
    expect(
      parseEventsConfig(
        { gmail: { url: 'env:URL' }, sendLog: 'log.jsonl' },
        { env: { URL: 'gmail://me?refresh_token=r' }, file: 'events.json' },
      ).notes,
    ).toEqual([]);
  });

  it('exits 2 without --config, 4 for a bad file or a port in use, naming what to change', async () => {
    const io = memoryIo({ cwd: directory });
    expect(await run(['events'], io)).toBe(exitCodes.usage);
    expect(io.err()).toContain('--config FILE is required');
    const help = memoryIo();
    expect(await run(['events', '--help'], help)).toBe(exitCodes.ok);
    expect(help.out()).toContain('mailport events --config events.json [--raw] [--quiet]');
    const both = memoryIo();
    expect(await run(['events', '--config', 'x.json', '--raw', '--quiet'], both)).toBe(exitCodes.usage);
    const top = memoryIo();
    await run(['--help'], top);
    expect(top.out()).toMatch(/\n {2}events +receive bounces/);
    expect(top.out()).toMatch(/\n {2}suppression +the addresses mail is not sent to/);

    await writeFile(join(directory, 'bad.json'), '{ "ses": ');
    const bad = memoryIo({ cwd: directory });
    expect(await run(['events', '--config', 'bad.json'], bad)).toBe(exitCodes.configuration);
    expect(bad.err()).toContain('not valid JSON');

    await writeFile(
      join(directory, 'ca.json'),
      JSON.stringify({ ses: { ...ses, certificates: { hosts: ['127.0.0.1:1'], caFile: 'missing.pem' } } }),
    );
    const noCa = memoryIo({ cwd: directory });
    expect(await run(['events', '--config', 'ca.json'], noCa)).toBe(exitCodes.configuration);
    expect(noCa.err()).toContain('ses.certificates.caFile');

    const taken = createServer().listen(0, '127.0.0.1');
    await once(taken, 'listening');
    const port = (taken.address() as { port: number }).port;
    await writeFile(join(directory, 'taken.json'), JSON.stringify({ ses: { ...ses, listen: `127.0.0.1:${port}` } }));
    const busy = memoryIo({ cwd: directory });
    expect(await run(['events', '--config', 'taken.json'], busy)).toBe(exitCodes.configuration);
    expect(busy.err()).toContain(`127.0.0.1:${port} is already in use`);
    expect(busy.err()).toContain('Change ses.listen');
    taken.close();
  });
});
