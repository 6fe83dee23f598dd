import { once } from 'node:events';
import { createMailer } from '@mailport/core';
import { type ParsedMail, simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { afterEach, describe, expect, it } from 'vitest';
import type { SandboxEvent } from '../events/event-log.js';
import { type Sandbox, startSandbox } from '../sandbox.js';

// The SMTP emulator's bounce scenarios, seen from a plain smtp-server standing in for the
// application's bounce receiver; what arrived is read with mailparser.

interface Arrival {
  readonly from: string;
  readonly to: readonly string[];
  readonly raw: Buffer;
}

interface Receiver {
  readonly url: string;
  readonly arrivals: Arrival[];
  /** Replies to give to DATA, in order; then 250. */
  readonly replies: { code: number; message: string }[];
  close(): Promise<void>;
}

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  while (cleanup.length > 0) await cleanup.pop()?.();
});

async function receiver(): Promise<Receiver> {
  const arrivals: Arrival[] = [];
  const replies: { code: number; message: string }[] = [];
  const server = new SMTPServer({
    disabledCommands: ['AUTH', 'STARTTLS'],
    authOptional: true,
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        const reply = replies.shift();
        if (reply !== undefined) return callback(Object.assign(new Error(reply.message), { responseCode: reply.code }));
        const mailFrom = session.envelope.mailFrom;
        arrivals.push({
          from: mailFrom === false ? 'none' : mailFrom.address,
          to: session.envelope.rcptTo.map((rcpt) => rcpt.address),
          raw: Buffer.concat(chunks),
        });
        callback();
      });
    },
  });
  server.listen(0, '127.0.0.1');
  await once(server.server, 'listening');
  const port = (server.server.address() as { port: number }).port;
  const close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  cleanup.push(close);
  return { url: `smtp://127.0.0.1:${port}`, arrivals, replies, close };
}

async function sandboxFor(target: Receiver): Promise<Sandbox> {
  const sandbox = await startSandbox({ bounces: { smtp: target.url, delayMs: 0 } });
  cleanup.push(() => sandbox.close());
  return sandbox;
}

/** The next `count` events the sandbox records. */
function nextEvents(sandbox: Sandbox, count = 1): Promise<SandboxEvent[]> {
  return new Promise((resolve) => {
    const seen: SandboxEvent[] = [];
    const listener = (event: SandboxEvent): void => {
      seen.push(event);
      if (seen.length === count) {
        sandbox.events.emitter.off('event', listener);
        resolve(seen);
      }
    };
    sandbox.events.emitter.on('event', listener);
  });
}

function mailerFor(sandbox: Sandbox, parameters = '') {
  const mailer = createMailer({ transport: `${sandbox.urls.smtp}&pool=false${parameters}` });
  cleanup.push(() => mailer.close());
  return mailer;
}

/** The body of the attachment with this content type, as text. */
function part(parsed: ParsedMail, contentType: string): string {
  const found = parsed.attachments.find((attachment) => attachment.contentType === contentType);
  expect(found, `a ${contentType} part`).toBeDefined();
  return found?.content.toString('utf8') ?? '';
}

describe('sandbox SMTP bounce scenarios', () => {
  it('bounce@: a Postfix DSN from <> to the envelope sender, with ENVID, status 5.1.1 and the original headers', async () => {
    const target = await receiver();
    const sandbox = await sandboxFor(target);
    const recorded = nextEvents(sandbox);
    const receipt = await mailerFor(sandbox, '&dsn=failure,delay&dsn_return=headers').send({
      from: 'shop@shop.example',
      envelope: { from: 'returns@shop.example' },
      to: 'bounce@simulator.amazonses.com',
      subject: 'Your order',
      text: 'Shipped.',
    });
    const [event] = await recorded;
    expect(event).toMatchObject({
      storeId: sandbox.store.last()?.id,
      messageId: receipt.messageId,
      type: 'bounced',
      recipient: 'bounce@simulator.amazonses.com',
      channel: 'smtp',
    });
    expect(event?.detail).toMatch(/^SMTP 127\.0\.0\.1:\d+ -> 250 .*\(attempt 1\)$/);

    expect(target.arrivals).toHaveLength(1);
    const [arrival] = target.arrivals;
    expect(arrival?.from).toBe('');
    expect(arrival?.to).toEqual(['returns@shop.example']);
    const parsed = await simpleParser(arrival?.raw ?? Buffer.alloc(0), { keepDeliveryStatus: true });
    expect(parsed.headers.get('content-type')).toMatchObject({ value: 'multipart/report', params: { 'report-type': 'delivery-status' } });
    expect(parsed.subject).toBe('Undelivered Mail Returned to Sender');
    expect(parsed.from?.value[0]?.address).toBe('MAILER-DAEMON@sandbox.mailport.test');
    expect(parsed.headers.get('auto-submitted')).toBe('auto-replied');
    expect(parsed.text).toContain('This is the mail system at host sandbox.mailport.test.');
    // Folded as Postfix folds it: at a space before column 76, continuations indented by four.
    expect(parsed.text?.replace(/\s+/g, ' ')).toContain(
      '<bounce@simulator.amazonses.com>: host inbound-smtp.simulator.amazonses.com[127.0.0.1] said: 550 5.1.1',
    );
    expect(parsed.text?.split('\n').every((line) => line.length <= 76)).toBe(true);
    const status = part(parsed, 'message/delivery-status');
    expect(status).toContain('Reporting-MTA: dns; sandbox.mailport.test\r\n');
    expect(status).toContain(`Original-Envelope-Id: ${receipt.messageId}\r\n`);
    expect(status).toContain('X-Postfix-Sender: rfc822; returns@shop.example\r\n');
    expect(status).toContain('Final-Recipient: rfc822; bounce@simulator.amazonses.com\r\n');
    expect(status).toContain('Action: failed\r\n');
    expect(status).toContain('Status: 5.1.1\r\n');
    expect(status).toMatch(/Diagnostic-Code: smtp; 550 5\.1\.1 <bounce@simulator\.amazonses\.com>: Recipient\r\n {4}address rejected/);
    const headers = part(parsed, 'text/rfc822-headers');
    expect(headers).toContain(`Message-ID: ${receipt.messageId}`);
    expect(headers).toContain('Subject: Your order');
    expect(headers).not.toContain('Shipped.');
  });

  it('delay@: a delay notice (Action: delayed, 4.4.7, Will-Retry-Until), headers only', async () => {
    const target = await receiver();
    const sandbox = await sandboxFor(target);
    const recorded = nextEvents(sandbox);
    const receipt = await mailerFor(sandbox).send({ from: 'shop@shop.example', to: 'delay@simulator.amazonses.com', text: 'x' });
    expect((await recorded)[0]).toMatchObject({ type: 'deferred', messageId: receipt.messageId });
    const parsed = await simpleParser(target.arrivals[0]?.raw ?? Buffer.alloc(0), { keepDeliveryStatus: true });
    expect(parsed.subject).toBe('Delayed Mail (still being retried)');
    expect(parsed.text).toContain('THIS IS A WARNING ONLY');
    const status = part(parsed, 'message/delivery-status');
    expect(status).toContain('Action: delayed\r\n');
    expect(status).toContain('Status: 4.4.7\r\n');
    expect(status).toMatch(/Will-Retry-Until: \w{3}, /);
    // No ENVID was given: none is reported.
    expect(status).not.toContain('Original-Envelope-Id');
    expect(part(parsed, 'text/rfc822-headers')).toContain(`Message-ID: ${receipt.messageId}`);
  });

  it('bounce@ without RET=HDRS returns the whole message as message/rfc822', async () => {
    const target = await receiver();
    const sandbox = await sandboxFor(target);
    const recorded = nextEvents(sandbox);
    const receipt = await mailerFor(sandbox).send({ from: 'shop@shop.example', to: 'bounce+x@simulator.amazonses.com', text: 'The body.' });
    await recorded;
    const parsed = await simpleParser(target.arrivals[0]?.raw ?? Buffer.alloc(0));
    const returned = await simpleParser(
      parsed.attachments.find((attachment) => attachment.contentType === 'message/rfc822')?.content ?? Buffer.alloc(0),
    );
    expect(returned.messageId).toBe(receipt.messageId);
    expect(returned.text?.trim()).toBe('The body.');
  });

  it('ooto@: an RFC 3834 auto-reply from the recipient, In-Reply-To the original, from <>', async () => {
    const target = await receiver();
    const sandbox = await sandboxFor(target);
    const recorded = nextEvents(sandbox);
    const receipt = await mailerFor(sandbox).send({
      from: 'shop@shop.example',
      to: 'ooto@simulator.amazonses.com',
      subject: 'Ça va ?',
      text: 'x',
    });
    expect((await recorded)[0]).toMatchObject({ type: 'auto-replied', messageId: receipt.messageId });
    expect(target.arrivals[0]?.from).toBe('');
    const parsed = await simpleParser(target.arrivals[0]?.raw ?? Buffer.alloc(0));
    expect(parsed.headers.get('auto-submitted')).toBe('auto-replied');
    expect(parsed.inReplyTo).toBe(receipt.messageId);
    expect(parsed.from?.value[0]?.address).toBe('ooto@simulator.amazonses.com');
    expect(parsed.subject).toBe('Out of Office: Ça va ?');
  });

  it('mails nothing when NOTIFY leaves the report out, nor for other recipients, and records why', async () => {
    const target = await receiver();
    const sandbox = await sandboxFor(target);
    const recorded = nextEvents(sandbox);
    await mailerFor(sandbox, '&dsn=never').send({
      from: 'shop@shop.example',
      to: ['ana@example.com', 'bounce@simulator.amazonses.com'],
      text: 'x',
    });
    const [event] = await recorded;
    expect(event).toMatchObject({ type: 'bounced', detail: 'not mailed: NOTIFY=NEVER' });
    const delayOnly = nextEvents(sandbox);
    await mailerFor(sandbox, '&dsn=delay').send({ from: 'shop@shop.example', to: 'bounce@simulator.amazonses.com', text: 'x' });
    expect((await delayOnly)[0]?.detail).toBe('not mailed: NOTIFY=DELAY');
    expect(target.arrivals).toEqual([]);
  });

  it('tries again after a 4xx, gives up on a 5xx, and the send is never the worse for it', async () => {
    const target = await receiver();
    const sandbox = await sandboxFor(target);
    target.replies.push({ code: 451, message: '4.3.0 Try later' });
    const retried = nextEvents(sandbox);
    await mailerFor(sandbox).send({ from: 'shop@shop.example', to: 'bounce@simulator.amazonses.com', text: 'x' });
    expect((await retried)[0]?.detail).toMatch(/-> 250 .*\(attempt 2\)$/);
    expect(target.arrivals).toHaveLength(1);

    target.replies.push({ code: 550, message: '5.1.1 No such bounce address' });
    const refused = nextEvents(sandbox);
    const receipt = await mailerFor(sandbox).send({ from: 'shop@shop.example', to: 'bounce@simulator.amazonses.com', text: 'x' });
    expect(receipt.accepted).toEqual(['bounce@simulator.amazonses.com']);
    expect((await refused)[0]?.detail).toMatch(/-> 550 5\.1\.1 No such bounce address \(attempt 1, given up\)$/);
    expect(target.arrivals).toHaveLength(1);
  });

  it('refuses a bounces.smtp that is not smtp://host:port', async () => {
    for (const smtp of [
      'http://127.0.0.1:25',
      'smtp://127.0.0.1',
      'smtp://user:pass@127.0.0.1:25',
      'not a url',
      'smtp://127.0.0.1:25?x=1',
    ]) {
      await expect(startSandbox({ bounces: { smtp } })).rejects.toThrow(TypeError);
    }
  });
});
