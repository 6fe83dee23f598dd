import { once } from 'node:events';
import { createConnection, type Socket } from 'node:net';
import { PassThrough } from 'node:stream';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Secret } from '@mailport/core';
import { verpAddress } from '@mailport/core/verp';
import nodemailer from 'nodemailer';
import { generate } from 'selfsigned';
import { afterEach, describe, expect, it } from 'vitest';
import { buildSmtpReport } from '../../../sandbox/src/bounces/postfix-report.js';
import type { MailEvent } from '../model.js';
import { createMemorySendLog } from '../send-log.js';
import { readData } from './bounce-receiver.js';
import { type BounceReceiverOptions, type BounceReceiverReport, createBounceReceiver } from './index.js';

// The bounce receiver over real sockets, with nodemailer as the client (and a raw socket for what
// no client library would send).

const domain = 'bounces.shop.example';
const secret = 'the-verp-secret-0123456789';
const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  while (cleanup.length > 0) await cleanup.pop()?.();
});

const sentMessageId = '<order-42@shop.example>';

async function sendLogWithOrder() {
  const sendLog = createMemorySendLog();
  await sendLog.record({
    messageId: sentMessageId,
    providerMessageId: 'SBX000001',
    transport: 'smtp://smtp.shop.example:587',
    recipients: ['ana@example.com'],
    tags: ['orders'],
    metadata: { order: '42' },
    envelopeFrom: verpAddress(sentMessageId, { domain, secret }),
    sentAt: new Date().toISOString(),
  });
  return sendLog;
}

/** A Postfix bounce for ana@example.com about the sent order, as the sandbox builds it. */
async function postfixBounce(messageId = sentMessageId): Promise<Buffer> {
  const original = Buffer.from(
    `From: shop@shop.example\r\nTo: ana@example.com\r\nSubject: Order\r\nMessage-ID: ${messageId}\r\n\r\nShipped.\r\n`,
  );
  const report = await buildSmtpReport('bounce', {
    raw: original,
    envelopeFrom: verpAddress(messageId, { domain, secret }),
    recipient: 'ana@example.com',
    ret: 'HDRS',
    arrivedAt: new Date(),
    now: new Date(),
  });
  return report.raw;
}

interface Started {
  readonly port: number;
  readonly events: MailEvent[][];
  readonly reports: BounceReceiverReport[];
}

async function start(overrides: Partial<BounceReceiverOptions> = {}): Promise<Started> {
  const events: MailEvent[][] = [];
  const reports: BounceReceiverReport[] = [];
  const receiver = await createBounceReceiver({
    domain,
    verp: { secret },
    sendLog: await sendLogWithOrder(),
    onEvents: (batch) => void events.push([...batch]),
    onReport: (report) => void reports.push(report),
    port: 0,
    ...overrides,
  });
  cleanup.push(() => receiver.close());
  return { port: receiver.port, events, reports };
}

function client(port: number) {
  const transporter = nodemailer.createTransport({ host: '127.0.0.1', port, secure: false, ignoreTLS: true, logger: false });
  cleanup.push(async () => transporter.close());
  return transporter;
}

interface SmtpFailure {
  responseCode?: number;
  response?: string;
  command?: string;
}

async function failure(promise: Promise<unknown>): Promise<SmtpFailure> {
  return promise.then(
    () => {
      throw new Error('expected the server to refuse');
    },
    (error: unknown) => error as SmtpFailure,
  );
}

describe('createBounceReceiver', () => {
  it('takes a Postfix bounce to a VERP address from <>, joins it by VERP, and answers 250', async () => {
    const { port, events, reports } = await start();
    const info = await client(port).sendMail({
      envelope: { from: '', to: [verpAddress(sentMessageId, { domain, secret })] },
      raw: await postfixBounce(),
    });
    expect(info.response).toMatch(/^250 /);
    expect(events).toHaveLength(1);
    const [event] = events[0] ?? [];
    expect(event).toMatchObject({
      type: 'bounced',
      source: 'smtp',
      messageId: sentMessageId,
      recipient: 'ana@example.com',
      joinedBy: 'verp',
      tags: ['orders'],
      metadata: { order: '42' },
      bounce: { kind: 'hard', status: '5.1.1', reportingMta: 'sandbox.mailport.test' },
    });
    expect(reports).toMatchObject([{ envelopeFrom: '', joinedBy: 'verp' }]);
  });

  it('refuses a forged VERP address at RCPT, before any data', async () => {
    const { port, events, reports } = await start();
    const genuine = verpAddress(sentMessageId, { domain, secret });
    const forged = verpAddress(sentMessageId, { domain, secret: 'someone-elses-secret-012345' });
    const tampered = genuine.replace(/-([a-z2-7])/, (_match, first: string) => `-${first === 'a' ? 'b' : 'a'}`);
    for (const address of [
      forged,
      tampered,
      `bounces+${'a'.repeat(20)}-${'b'.repeat(16)}@${domain}`,
      `postmaster@${domain}`,
      'ana@example.com',
    ]) {
      const error = await failure(client(port).sendMail({ envelope: { from: '', to: [address] }, raw: await postfixBounce() }));
      expect(error.responseCode, address).toBe(550);
      expect(error.command).toBe('RCPT TO');
      expect(error.response).toMatch(/^550 5\.1\.1 /);
    }
    expect(events).toEqual([]);
    expect(reports).toEqual([]);
  });

  it('without verp, takes any address at the domain and joins by ENVID, Message-ID or In-Reply-To', async () => {
    const { port, events } = await start({ verp: undefined });
    await client(port).sendMail({ envelope: { from: '', to: [`bounces@${domain}`] }, raw: await postfixBounce() });
    expect(events[0]?.[0]).toMatchObject({ type: 'bounced', joinedBy: 'message-id', messageId: sentMessageId });
    const error = await failure(client(port).sendMail({ envelope: { from: '', to: ['bounces@other.example'] }, raw: 'x' }));
    expect(error.responseCode).toBe(550);
  });

  it('answers 250 only once onEvents has resolved', async () => {
    let release: () => void = () => {};
    let called: () => void = () => {};
    const handlerCalled = new Promise<void>((resolve) => {
      called = resolve;
    });
    const { port } = await start({
      onEvents: () =>
        new Promise<void>((resolve) => {
          release = resolve;
          called();
        }),
    });
    let settled = false;
    const sending = client(port)
      .sendMail({ envelope: { from: '', to: [verpAddress(sentMessageId, { domain, secret })] }, raw: await postfixBounce() })
      .finally(() => {
        settled = true;
      });
    await handlerCalled;
    // The handler holds the reply: the client is still waiting.
    await new Promise((resolve) => setImmediate(resolve));
    expect(settled).toBe(false);
    release();
    expect((await sending).response).toMatch(/^250 /);
  });

  it('answers 451 4.3.0 when onEvents throws or takes too long, so the MTA retries; the retry gives the same event ids', async () => {
    let fail = true;
    const taken: MailEvent[] = [];
    const { port } = await start({
      onEvents: (batch) => {
        if (fail) throw new Error('database down');
        taken.push(...batch);
      },
    });
    // The same report each time, as an MTA retries it.
    const raw = await postfixBounce();
    const send = async () => client(port).sendMail({ envelope: { from: '', to: [verpAddress(sentMessageId, { domain, secret })] }, raw });
    const error = await failure(send());
    expect(error.responseCode).toBe(451);
    expect(error.response).toMatch(/^451 4\.3\.0 /);
    expect(error.response).not.toContain('database down');
    fail = false;
    await send();
    await send();
    expect(taken).toHaveLength(2);
    expect(taken[0]?.messageId).toBe(sentMessageId);
    expect(taken[1]?.id).toBe(taken[0]?.id);

    const slow = await start({ onEvents: () => new Promise(() => {}), handlerTimeoutMs: 100 });
    const timedOut = await failure(
      client(slow.port).sendMail({
        envelope: { from: '', to: [verpAddress(sentMessageId, { domain, secret })] },
        raw: await postfixBounce(),
      }),
    );
    expect(timedOut.responseCode).toBe(451);
  });

  it('answers 451 when the send log fails, and keeps its error to itself', async () => {
    const broken = await sendLogWithOrder();
    const { port, events } = await start({
      sendLog: {
        ...broken,
        get: broken.get.bind(broken),
        getByProviderId: broken.getByProviderId.bind(broken),
        record: broken.record.bind(broken),
        getByVerpToken: () => Promise.reject(new Error('connection to db.internal:5432 refused')),
      },
    });
    const error = await failure(
      client(port).sendMail({ envelope: { from: '', to: [verpAddress(sentMessageId, { domain, secret })] }, raw: await postfixBounce() }),
    );
    expect(error.responseCode).toBe(451);
    expect(error.response).not.toContain('db.internal');
    expect(events).toEqual([]);
  });

  it('takes a report about a message it never sent, and malformed mail, with 250 and no event', async () => {
    const { port, events, reports } = await start();
    const to = [verpAddress('<never-sent@shop.example>', { domain, secret })];
    await client(port).sendMail({ envelope: { from: '', to }, raw: await postfixBounce('<never-sent@shop.example>') });
    const hostile = [
      'not a message at all',
      'Content-Type: multipart/report; boundary="x"\r\n\r\n--x\r\nContent-Type: message/delivery-status\r\n\r\nAction: failed\r\nStatus: 9.9.9.9\r\n',
      `Content-Type: multipart/mixed; boundary="a"\r\n\r\n${'--a\r\nContent-Type: multipart/mixed; boundary="a"\r\n\r\n'.repeat(500)}`,
      `Subject: ${'\u0000\u202e'.repeat(2000)}\r\nContent-Type: text/plain; charset=x-unknown\r\n\r\n${'=?utf-8?B?'.repeat(1000)}`,
    ];
    for (const raw of hostile) {
      const info = await client(port).sendMail({ envelope: { from: 'mailer-daemon@example.org', to }, raw });
      expect(info.response).toMatch(/^250 /);
    }
    expect(events).toEqual([]);
    expect(reports).toHaveLength(1 + hostile.length);
    expect(reports[0]?.reason).toMatch(/not in the send log/);
  });

  it('refuses a message over maxMessageBytes with 552, and more recipients than maxRecipients with 452', async () => {
    const { port, events } = await start({ maxMessageBytes: 2_000, maxRecipients: 2 });
    const to = verpAddress(sentMessageId, { domain, secret });
    const big = await failure(
      client(port).sendMail({ envelope: { from: '', to: [to] }, raw: `Subject: x\r\n\r\n${'x'.repeat(5_000)}\r\n` }),
    );
    expect([552, 523]).toContain(big.responseCode);
    const many = await client(port)
      .sendMail({
        envelope: { from: '', to: ['<a@x>', '<b@x>', '<c@x>'].map((id) => verpAddress(id, { domain, secret })) },
        raw: 'Subject: x\r\n\r\nx\r\n',
      })
      .catch((error: SmtpFailure) => error);
    expect(JSON.stringify(many)).toMatch(/452/);
    expect(events.length).toBeLessThanOrEqual(1);
  });

  it('keeps nothing of a message past maxMessageBytes while smtp-server streams the rest of it', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const stream = Object.assign(new PassThrough(), { sizeExceeded: false });
    const read = readData(stream);
    stream.write(Buffer.from('Subject: x\r\n\r\n'));
    // smtp-server sets sizeExceeded once its count passes SIZE, then writes the chunk.
    stream.sizeExceeded = true;
    const past = (() => {
      const chunk = Buffer.alloc(4 * 1024 * 1024, 'x');
      stream.write(chunk);
      return new WeakRef(chunk);
    })();
    stream.end();
    await expect(read).resolves.toBeUndefined();
    await new Promise((resolve) => setImmediate(resolve));
    gc();
    expect(past.deref()).toBeUndefined();
  });

  it('offers no AUTH and no STARTTLS, and survives a hostile session on a raw socket', async () => {
    const { port } = await start({ maxMessagesPerConnection: 1 });
    const socket = createConnection(port, '127.0.0.1');
    cleanup.push(async () => socket.destroy());
    const lines = conversation(socket);
    expect(await lines.next()).toMatch(/^220 /);
    const ehlo = await lines.command('EHLO attacker.example');
    expect(ehlo).toMatch(/^250[ -]/);
    expect(ehlo).not.toMatch(/AUTH|STARTTLS/);
    expect(await lines.command('AUTH PLAIN AGFkbWluAHBhc3N3b3Jk')).toMatch(/^5\d\d /);
    expect(await lines.command('STARTTLS')).toMatch(/^5\d\d /);
    expect(await lines.command('MAIL FROM:<>')).toMatch(/^250 /);
    expect(await lines.command(`RCPT TO:<${'a'.repeat(5000)}@${domain}>`)).toMatch(/^5\d\d /);
    expect(await lines.command('RCPT TO:<bounces+\u0000@bounces.shop.example>')).toMatch(/^5\d\d /);
    expect(await lines.command(`RCPT TO:<${verpAddress(sentMessageId, { domain, secret })}> NOTIFY=NEVER`)).toMatch(/^250 /);
    expect(await lines.command('DATA')).toMatch(/^354 /);
    expect(await lines.command('Subject: x\r\n\r\nbody\r\n.')).toMatch(/^250 /);
    // One message per connection here: the next MAIL FROM is turned away.
    expect(await lines.command('MAIL FROM:<>')).toMatch(/^421 /);
  });

  it('checks its options', async () => {
    const base = { sendLog: await sendLogWithOrder(), onEvents: () => {}, port: 0 };
    await expect(createBounceReceiver({ ...base, domain: 'not a domain' })).rejects.toThrow(/DNS name/);
    await expect(createBounceReceiver({ ...base, domain, verp: { secret: 'short' } })).rejects.toThrow(/16 bytes/);
    // Not a string or bytes: refused now, not answered 451 at every RCPT.
    await expect(createBounceReceiver({ ...base, domain, verp: { secret: new Secret(secret) as unknown as string } })).rejects.toThrow(
      /a string or a Uint8Array/,
    );
    await expect(createBounceReceiver({ ...base, domain, maxMessageBytes: -1 })).rejects.toThrow(/maxMessageBytes/);
    await expect(createBounceReceiver({ ...base, domain, name: 'mx.example\r\n250 injected' })).rejects.toThrow(/name/);
  });

  it('offers STARTTLS with the key and certificate it is given', async () => {
    const { cert, private: key } = await generate([{ name: 'commonName', value: 'localhost' }], {
      keyType: 'ec',
      curve: 'P-256',
      extensions: [{ name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }] }],
    });
    const { port, events } = await start({ tls: { key, cert } });
    const transporter = nodemailer.createTransport({ host: '127.0.0.1', port, secure: false, requireTLS: true, tls: { ca: cert } });
    cleanup.push(async () => transporter.close());
    const info = await transporter.sendMail({
      envelope: { from: '', to: [verpAddress(sentMessageId, { domain, secret })] },
      raw: await postfixBounce(),
    });
    expect(info.response).toMatch(/^250 /);
    expect(events).toHaveLength(1);
  });
});

/** Reads an SMTP conversation line by line (multi-line replies joined). */
function conversation(socket: Socket) {
  let buffer = '';
  const waiting: ((line: string) => void)[] = [];
  const ready: string[] = [];
  let reply: string[] = [];
  socket.on('data', (chunk: Buffer) => {
    buffer += chunk.toString('latin1');
    for (let end = buffer.indexOf('\r\n'); end !== -1; end = buffer.indexOf('\r\n')) {
      const line = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      reply.push(line);
      if (/^\d{3} /.test(line) || !/^\d{3}-/.test(line)) {
        const whole = reply.join('\n');
        reply = [];
        const next = waiting.shift();
        if (next === undefined) ready.push(whole);
        else next(whole);
      }
    }
  });
  const closed = once(socket, 'close').then(() => 'closed');
  const next = (): Promise<string> => {
    const line = ready.shift();
    if (line !== undefined) return Promise.resolve(line);
    return Promise.race([new Promise<string>((resolve) => waiting.push(resolve)), closed]);
  };
  return {
    next,
    async command(text: string): Promise<string> {
      socket.write(`${text}\r\n`);
      return next();
    },
  };
}
