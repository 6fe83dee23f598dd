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

/** An smtp:// URL for `target`, trusting its certificate. */
const urlFor = (target: TestSmtpServer): string =>
  `smtp://${target.host}:${target.port}?ca_file=${encodeURIComponent(caFile)}&connect_timeout=2s&greeting_timeout=1s&socket_timeout=2s`;

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
