import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMailer, MailError, type SendErrorEvent } from '@mailport/core';
import { simpleParser } from 'mailparser';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startTestSmtpServer, type TestSmtpServer } from '../test/smtp-test-server.js';

// Fidelity of what reaches a real smtp-server, through createMailer and an smtp:// URL.

let directory: string;
let caFile: string;
const cleanup: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'mailport-smtp-fidelity-'));
});
afterAll(() => rm(directory, { recursive: true, force: true }));
afterEach(async () => {
  while (cleanup.length > 0) await cleanup.pop()?.();
});

async function server(options: Parameters<typeof startTestSmtpServer>[0] = {}): Promise<TestSmtpServer> {
  const started = await startTestSmtpServer(options);
  cleanup.push(() => started.close());
  caFile ??= join(directory, 'ca.pem');
  await writeFile(caFile, started.ca);
  return started;
}

/** An smtp:// URL for `target`, trusting its certificate, with `credentials` (`user:pass`) when given. */
const urlFor = (target: TestSmtpServer, credentials?: string): string =>
  `smtp://${credentials === undefined ? '' : `${credentials}@`}${target.host}:${target.port}?ca_file=${encodeURIComponent(caFile)}&connect_timeout=2s&greeting_timeout=1s&socket_timeout=2s`;

function mailerFor(url: string, events: SendErrorEvent[] = []) {
  const mailer = createMailer({ transport: url, hooks: { onError: (event) => void events.push(event) } });
  cleanup.push(() => mailer.close());
  return mailer;
}

async function failure(promise: Promise<unknown>): Promise<MailError> {
  const error = await promise.then(
    () => new Error('expected the send to fail'),
    (caught: unknown) => caught,
  );
  expect(MailError.isInstance(error), String(error)).toBe(true);
  return error as MailError;
}

describe('SMTPUTF8 to an internationalised domain', () => {
  it('sends to josé@bücher.example and user@bücher.example when the server offers SMTPUTF8', async () => {
    const target = await server();
    const receipt = await mailerFor(urlFor(target)).send({
      from: 'app@shop.example',
      to: ['josé@bücher.example', 'user@bücher.example'],
      subject: 'Bestellung',
      text: 'Versandt.',
    });
    expect(receipt.accepted).toHaveLength(2);
    const [arrived] = target.received;
    expect(arrived?.smtpUtf8).toBe(true);
    // Under SMTPUTF8 either form of the domain is valid (nodemailer writes U-labels next to a
    // non-ASCII local part, A-labels next to an ASCII one); smtp-server reports both as U-labels.
    expect(arrived?.to).toEqual(['josé@bücher.example', 'user@bücher.example']);
    const parsed = await simpleParser(arrived?.raw ?? Buffer.alloc(0));
    const headerTo = (Array.isArray(parsed.to) ? parsed.to : [parsed.to]).flatMap((to) => to?.value ?? []).map((entry) => entry.address);
    expect(headerTo).toHaveLength(2);
    expect(headerTo[0]).toMatch(/^josé@(bücher|xn--bcher-kva)\.example$/);
    expect(headerTo[1]).toMatch(/^user@(bücher|xn--bcher-kva)\.example$/);
  });

  it('still refuses an address nodemailer would rewrite into another mailbox', async () => {
    const target = await server();
    const error = await failure(
      mailerFor(urlFor(target)).send({
        from: 'app@shop.example',
        to: 'ana@example.com',
        subject: 'Hi',
        text: 'Hi',
        envelope: { from: 'app@shop.example', to: ['"a@b"@example.com'] },
      }),
    );
    expect(error.code).toBe('invalid-message');
    expect(target.received).toHaveLength(0);
  });
});

describe('credentials in the URL and a server that offers no AUTH', () => {
  it('fails with auth, not retried, and nothing is delivered', async () => {
    // No password configured: the test server disables AUTH and takes mail without it.
    const target = await server();
    const events: SendErrorEvent[] = [];
    const error = await failure(
      mailerFor(urlFor(target, 'app:secret-password'), events).send({
        from: 'app@shop.example',
        to: 'ana@example.com',
        subject: 'Hi',
        text: 'Hi',
      }),
    );
    expect(error).toMatchObject({ code: 'auth', retryable: false });
    expect(error.message).toMatch(/offers no authentication/);
    expect(error.remediation).toMatch(/remove the credentials/);
    expect(JSON.stringify(error)).not.toContain('secret-password');
    expect(events.map((event) => event.willRetry)).toEqual([false]);
    expect(target.received).toHaveLength(0);
  });

  it('the same server without credentials in the URL takes the message', async () => {
    const target = await server();
    await mailerFor(urlFor(target)).send({ from: 'app@shop.example', to: 'ana@example.com', subject: 'Hi', text: 'Hi' });
    expect(target.received).toHaveLength(1);
    expect(target.received[0]?.user).toBeUndefined();
  });

  it('a server that offers AUTH still authenticates as before', async () => {
    const target = await server({ password: { user: 'app', pass: 'secret-password' } });
    await mailerFor(urlFor(target, 'app:secret-password')).send({
      from: 'app@shop.example',
      to: 'ana@example.com',
      subject: 'Hi',
      text: 'Hi',
    });
    expect(target.received[0]?.user).toBe('app');
  });
});

describe('text that looks like an RFC 2047 encoded-word', () => {
  it('reads back literally in the Subject and in a custom header', async () => {
    const target = await server();
    const subject = 'Re: =?ISO-8859-1?Q?Caf=E9?= menu';
    const note = 'a =?UTF-8?B?4pyT?= b';
    await mailerFor(urlFor(target)).send({
      from: 'app@shop.example',
      to: 'ana@example.com',
      subject,
      text: 'Hi',
      headers: { 'X-Note': note },
    });
    const raw = target.received[0]?.raw ?? Buffer.alloc(0);
    const parsed = await simpleParser(raw);
    // Not "Re: Café menu" and "a ✓ b": a decoder shows the text that was given.
    expect(parsed.subject).toBe(subject);
    // mailparser leaves custom headers undecoded: decode this one as it decodes a Subject.
    const header = raw.toString('latin1').match(/^X-Note: .*(?:\r\n[ \t].*)*/m)?.[0] ?? '';
    const decoded = await simpleParser(Buffer.from(`${header.replace(/^X-Note:/, 'Subject:')}\r\n\r\n`, 'latin1'));
    expect(decoded.subject).toBe(note);
  });
});
