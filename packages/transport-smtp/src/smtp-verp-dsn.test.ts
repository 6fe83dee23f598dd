import { once } from 'node:events';
import { createConnection, createServer, type Server } from 'node:net';
import { inspect } from 'node:util';
import { createMailer, createTransport, MailError, parseTransportUrl } from '@mailport/core';
import { parseVerpAddress, verpToken } from '@mailport/core/verp';
import { simpleParser } from 'mailparser';
import { afterEach, describe, expect, it } from 'vitest';
import { startTestSmtpServer, type TestSmtpServer } from '../test/smtp-test-server.js';
import { createSmtpTransport } from './smtp-transport.js';

// VERP and RFC 3461 DSN through createMailer and an smtp:// URL, to a real smtp-server. What the
// client wrote is read off the wire by a TCP relay in front of the server, not from the server's parser.

const secret = 'verp-secret-of-at-least-16-bytes';
const domain = 'bounces.shop.example';
const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  while (cleanup.length > 0) await cleanup.pop()?.();
});

interface Recorded {
  readonly server: TestSmtpServer;
  readonly port: number;
  /** Every line the client sent, in order. */
  readonly lines: string[];
}

/** An smtp-server (DSN advertised unless `hideDSN`), behind a relay that records the client's command lines. */
async function recordedServer(options: { hideDSN?: boolean } = {}): Promise<Recorded> {
  const server = await startTestSmtpServer({ tls: false, server: { hideDSN: options.hideDSN ?? false } });
  const lines: string[] = [];
  const relay: Server = createServer((client) => {
    const upstream = createConnection(server.port, '127.0.0.1');
    let pending = '';
    client.on('data', (chunk: Buffer) => {
      pending += chunk.toString('latin1');
      const parts = pending.split('\r\n');
      pending = parts.pop() ?? '';
      lines.push(...parts);
    });
    client.pipe(upstream).pipe(client);
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });
  relay.listen(0, '127.0.0.1');
  await once(relay, 'listening');
  cleanup.push(() => server.close());
  cleanup.push(() => new Promise((resolve) => relay.close(resolve)));
  return { server, port: (relay.address() as { port: number }).port, lines };
}

function mailerFor(url: string) {
  const mailer = createMailer({ transport: url });
  cleanup.push(() => mailer.close());
  return mailer;
}

const command = (lines: readonly string[], verb: string): string[] => lines.filter((line) => line.toUpperCase().startsWith(verb));

describe('VERP and DSN on the wire', () => {
  it('sends MAIL FROM a VERP address with RET and ENVID, and NOTIFY on every RCPT', async () => {
    const { server, port, lines } = await recordedServer();
    const mailer = mailerFor(
      `smtp://127.0.0.1:${port}?pool=false&verp_domain=${domain}&verp_secret=${secret}&dsn=failure,delay&dsn_return=headers`,
    );
    const receipt = await mailer.send({
      from: 'shop@shop.example',
      to: ['ana@example.com', 'bob@example.org'],
      subject: 'Order shipped',
      text: 'On its way.',
    });

    const [mailFrom, ...otherMail] = command(lines, 'MAIL FROM:');
    expect(otherMail).toEqual([]);
    const address = /^MAIL FROM:<([^>]*)>/.exec(mailFrom ?? '')?.[1] ?? '';
    expect(address).toMatch(/^bounces\+[a-z2-7]{20}-[a-z2-7]{16}@bounces\.shop\.example$/);
    expect(parseVerpAddress(address, { domain, secret })).toBe(verpToken(receipt.messageId));
    expect(receipt.details?.envelopeFrom).toBe(address);
    expect(receipt.details?.dsn).toBe('requested');
    const params = (mailFrom ?? '').split(' ').slice(2);
    expect(params).toContain('RET=HDRS');
    // A core Message-ID is all xtext-safe characters: ENVID carries it as is.
    expect(params).toContain(`ENVID=${receipt.messageId}`);
    expect(command(lines, 'RCPT TO:')).toEqual([
      'RCPT TO:<ana@example.com> NOTIFY=FAILURE,DELAY',
      'RCPT TO:<bob@example.org> NOTIFY=FAILURE,DELAY',
    ]);

    // The server saw the VERP sender and the unchanged message.
    const [arrived] = server.received;
    expect(arrived?.from).toBe(address);
    const parsed = await simpleParser(arrived?.raw ?? Buffer.alloc(0));
    expect(parsed.messageId).toBe(receipt.messageId);
    expect(parsed.from?.value[0]?.address).toBe('shop@shop.example');
  });

  it('encodes "+" and "=" of a Message-ID as xtext in ENVID, and sends NOTIFY=NEVER and RET=FULL', async () => {
    const { port, lines } = await recordedServer();
    const mailer = mailerFor(`smtp://127.0.0.1:${port}?pool=false&dsn=never&dsn_return=full`);
    const receipt = await mailer.send({
      from: 'shop@shop.example',
      to: 'ana@example.com',
      messageId: '<a+b=c@shop.example>',
      text: 'x',
    });
    expect(receipt.messageId).toBe('<a+b=c@shop.example>');
    const [mailFrom] = command(lines, 'MAIL FROM:');
    expect(mailFrom).toMatch(/^MAIL FROM:<shop@shop\.example> /);
    expect(mailFrom?.split(' ')).toEqual(expect.arrayContaining(['RET=FULL', 'ENVID=<a+2Bb+3Dc@shop.example>']));
    expect(command(lines, 'RCPT TO:')).toEqual(['RCPT TO:<ana@example.com> NOTIFY=NEVER']);
    // Without VERP the envelope sender is the message's own.
    expect(receipt.details?.envelopeFrom).toBe('shop@shop.example');
    expect(receipt.details?.dsn).toBe('requested');
  });

  it('leaves ENVID out when the Message-ID is longer than RFC 3461 allows', async () => {
    const { port, lines } = await recordedServer();
    const mailer = mailerFor(`smtp://127.0.0.1:${port}?pool=false&dsn=failure`);
    const messageId = `<${'x'.repeat(120)}@shop.example>`;
    await mailer.send({ from: 'shop@shop.example', to: 'ana@example.com', messageId, text: 'x' });
    const [mailFrom] = command(lines, 'MAIL FROM:');
    expect(mailFrom).not.toContain('ENVID=');
    expect(command(lines, 'RCPT TO:')).toEqual(['RCPT TO:<ana@example.com> NOTIFY=FAILURE']);
  });

  it('sends none of the DSN parameters to a server without the DSN extension, and still delivers', async () => {
    const { server, port, lines } = await recordedServer({ hideDSN: true });
    const mailer = mailerFor(
      `smtp://127.0.0.1:${port}?pool=false&verp_domain=${domain}&verp_secret=${secret}&dsn=failure,delay&dsn_return=headers`,
    );
    const receipt = await mailer.send({ from: 'shop@shop.example', to: 'ana@example.com', text: 'x' });
    expect(receipt.accepted).toEqual(['ana@example.com']);
    const joined = lines.join('\n');
    expect(joined).not.toMatch(/NOTIFY=|RET=|ENVID=/);
    expect(receipt.details?.dsn).toBe('not-offered');
    expect(server.received[0]?.from).toBe(receipt.details?.envelopeFrom);
  });

  it('gives each message its own VERP address over one pooled connection', async () => {
    const { server, port } = await recordedServer();
    const mailer = mailerFor(`smtp://127.0.0.1:${port}?verp_domain=${domain}&verp_secret=${secret}`);
    const receipts = await Promise.all(
      [1, 2, 3].map((n) => mailer.send({ from: 'shop@shop.example', to: `u${n}@example.com`, text: String(n) })),
    );
    const senders = receipts.map((receipt) => receipt.details?.envelopeFrom as string);
    expect(new Set(senders).size).toBe(3);
    for (const receipt of receipts) {
      expect(parseVerpAddress(receipt.details?.envelopeFrom as string, { domain, secret })).toBe(verpToken(receipt.messageId));
    }
    expect(server.received.map((message) => message.from).sort()).toEqual([...senders].sort());
  });
});

describe('VERP and DSN configuration', () => {
  const base = 'smtp://127.0.0.1:2525';

  async function configurationError(url: string): Promise<MailError> {
    const error = await createTransport(url).then(
      () => new Error('expected a configuration error'),
      (caught: unknown) => caught,
    );
    expect(MailError.isInstance(error), String(error)).toBe(true);
    expect((error as MailError).code).toBe('configuration');
    expect(`${String(error)} ${inspect(error)}`).not.toContain(secret);
    return error as MailError;
  }

  it('wants both verp_domain and verp_secret, and names the missing one', async () => {
    expect((await configurationError(`${base}?verp_domain=${domain}`)).message).toContain('verp_secret is missing');
    expect((await configurationError(`${base}?verp_secret=${secret}`)).message).toContain('verp_domain is missing');
  });

  it('refuses a short secret, a domain that is not a DNS name, and hostile values, without echoing the secret', async () => {
    expect((await configurationError(`${base}?verp_domain=${domain}&verp_secret=short`)).message).toMatch(/at least 16 bytes/);
    for (const bad of [
      'bounces',
      'bounces..example',
      '-x.example',
      'a.example%0d%0aRCPT%20TO:<x@y>',
      `${'a'.repeat(64)}.example`,
      '%00.example',
    ]) {
      expect((await configurationError(`${base}?verp_domain=${bad}&verp_secret=${secret}`)).message).toMatch(/not a DNS name/);
    }
    expect(() => createSmtpTransport({ host: 'h.example', verp: { domain, secret, local: 'a+b' } })).toThrow(/verp\.local/);
    expect(() => createSmtpTransport({ host: 'h.example', verp: { domain, secret: new Uint8Array(8) } })).toThrow(/16 bytes/);
    expect(() => createSmtpTransport({ host: 'h.example', verp: { domain, secret: 42 as unknown as string } })).toThrow(/16 bytes/);
  });

  it('validates dsn and dsn_return', async () => {
    for (const bad of ['never,failure', 'bogus', 'failure,', '', 'FAILURE;DELAY']) {
      expect((await configurationError(`${base}?dsn=${encodeURIComponent(bad)}`)).message).toContain('dsn=');
    }
    expect((await configurationError(`${base}?dsn_return=hdrs`)).message).toContain('dsn_return=hdrs');
    expect(() => createSmtpTransport({ host: 'h.example', dsn: { notify: ['failure', 'sometimes' as 'delay'] } })).toThrow(/dsn notify/);
    expect(() => createSmtpTransport({ host: 'h.example', dsn: { notify: [] } })).toThrow(/dsn notify/);
    expect(() => createSmtpTransport({ host: 'h.example', dsn: { return: 'body' as 'full' } })).toThrow(/dsn return/);
    // Upper case and spaces are accepted in the URL.
    await expect(createTransport(`${base}?dsn=Failure,%20DELAY&dsn_return=FULL`)).resolves.toBeDefined();
  });

  it('never shows verp_secret: redacted URLs, the transport, errors', async () => {
    const url = `${base}?verp_domain=${domain}&verp_secret=${secret}&bogus=1`;
    expect(parseTransportUrl(url).redacted).toContain('verp_secret=***');
    expect(parseTransportUrl(url).redacted).not.toContain(secret);
    expect((await configurationError(url)).message).toContain('unknown parameter "bogus"');
    const transport = await createTransport(`${base}?verp_domain=${domain}&verp_secret=${secret}`);
    expect(`${String(transport)} ${inspect(transport, { depth: 10 })} ${JSON.stringify(transport)}`).not.toContain(secret);
    const typed = createSmtpTransport({ host: 'h.example', verp: { domain, secret: Buffer.from(secret) } });
    expect(inspect(typed, { depth: 10 })).not.toContain(secret);
  });
});
