import { createMailer, createTransport, type Mailer } from '@mailport/core';
import { simpleParser } from 'mailparser';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTestSmtpServer, type TestSmtpServer } from '../test/smtp-test-server.js';
import { createSmtpTransport } from './smtp-transport.js';

const png = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==', 'base64');

describe('SMTP round trip', () => {
  let server: TestSmtpServer;
  let mailer: Mailer;

  beforeEach(async () => {
    server = await startTestSmtpServer({ password: { user: 'app', pass: 's3cret:p@ss' } });
    const transport = createSmtpTransport({
      host: server.host,
      port: server.port,
      requireTls: true,
      ca: server.ca,
      auth: { user: 'app', pass: 's3cret:p@ss' },
    });
    mailer = createMailer({ transport });
  });

  afterEach(async () => {
    await mailer.close();
    await server.close();
  });

  it('delivers every part of a full message, and Bcc only in the envelope', async () => {
    const attachment = Buffer.from(Array.from({ length: 4096 }, (_, index) => index % 256));
    const receipt = await mailer.send({
      from: { name: 'Zoë Łukasiewicz', address: 'zoe@shop.example' },
      to: ['Ana Núñez <ana@example.com>', 'bob@example.com'],
      cc: 'Carol <carol@example.org>',
      bcc: 'secret-audit@example.net',
      replyTo: 'support@shop.example',
      subject: 'Ваш заказ №42 ✓ — déjà vu',
      text: 'Hello Ana,\nyour order shipped.\n',
      html: '<p>Hello Ana, your order shipped.</p><img src="cid:logo@shop.example">',
      attachments: [
        { filename: 'facture-été.bin', content: attachment, contentType: 'application/octet-stream' },
        { filename: 'logo.png', content: png, contentType: 'image/png', contentId: 'logo@shop.example' },
      ],
      headers: { 'X-Order-Id': '42', 'X-Campaign': 'spring' },
      listUnsubscribe: { url: 'https://shop.example/unsubscribe?u=ana', mailto: 'unsubscribe@shop.example', oneClick: true },
    });

    expect(server.received).toHaveLength(1);
    const [received] = server.received;
    expect(received?.from).toBe('zoe@shop.example');
    expect(received?.to).toEqual(['ana@example.com', 'bob@example.com', 'carol@example.org', 'secret-audit@example.net']);
    expect(received?.user).toBe('app');

    const raw = received?.raw.toString('latin1') ?? '';
    expect(raw).not.toMatch(/^bcc:/im);
    expect(raw).not.toContain('secret-audit');

    const parsed = await simpleParser(received?.raw ?? Buffer.alloc(0));
    expect(parsed.messageId).toBe(receipt.messageId);
    expect(parsed.subject).toBe('Ваш заказ №42 ✓ — déjà vu');
    expect(parsed.from?.value).toEqual([{ name: 'Zoë Łukasiewicz', address: 'zoe@shop.example' }]);
    expect(parsed.to && !Array.isArray(parsed.to) ? parsed.to.value.map((a) => a.address) : []).toEqual([
      'ana@example.com',
      'bob@example.com',
    ]);
    expect(parsed.to && !Array.isArray(parsed.to) ? parsed.to.value[0]?.name : '').toBe('Ana Núñez');
    expect(parsed.cc && !Array.isArray(parsed.cc) ? parsed.cc.value[0]?.address : '').toBe('carol@example.org');
    expect(parsed.bcc).toBeUndefined();
    expect(parsed.replyTo?.value[0]?.address).toBe('support@shop.example');
    expect(parsed.text).toBe('Hello Ana,\nyour order shipped.\n');
    expect(parsed.html).toContain('<p>Hello Ana, your order shipped.</p>');
    expect(parsed.headers.get('x-order-id')).toBe('42');
    expect(parsed.headers.get('x-campaign')).toBe('spring');
    // mailparser folds List-* headers into one structured value, so read the raw lines.
    expect(parsed.headerLines.find((line) => line.key === 'list-unsubscribe-post')?.line).toBe(
      'List-Unsubscribe-Post: List-Unsubscribe=One-Click',
    );
    expect(String(parsed.headerLines.find((line) => line.key === 'list-unsubscribe')?.line)).toMatch(
      /^List-Unsubscribe: <https:\/\/shop\.example\/unsubscribe\?u=ana>,\r\n <mailto:unsubscribe@shop\.example>$/,
    );

    const file = parsed.attachments.find((part) => part.filename === 'facture-été.bin');
    expect(file?.content.equals(attachment)).toBe(true);
    const logo = parsed.attachments.find((part) => part.contentId === '<logo@shop.example>');
    expect(logo?.content.equals(png)).toBe(true);
    expect(logo?.contentDisposition).toBe('inline');
    expect(logo?.related).toBe(true);

    expect(receipt.transport).toBe(`smtp://127.0.0.1:${server.port}`);
    expect(receipt.accepted).toEqual(['ana@example.com', 'bob@example.com', 'carol@example.org', 'secret-audit@example.net']);
    expect(receipt.rejected).toEqual([]);
    expect(receipt.providerMessageId).toBeDefined();
    expect(receipt.response).toMatch(/^250 /);
    expect(receipt.attempts).toBe(1);
  });

  it('sends through a URL with credentials, and the URL never shows them', async () => {
    const url = `smtp://app:${encodeURIComponent('s3cret:p@ss')}@127.0.0.1:${server.port}?require_tls=true&ca_file=${encodeURIComponent(await writeCa(server.ca))}`;
    const transport = await createTransport(url);
    await using viaUrl = createMailer({ transport });
    const receipt = await viaUrl.send({ from: 'a@shop.example', to: 'b@example.com', text: 'hi' });
    expect(server.received.at(-1)?.to).toEqual(['b@example.com']);
    expect(String(transport)).not.toContain('s3cret');
    expect(receipt.transport).not.toContain('s3cret');
  });
});

async function writeCa(pem: string): Promise<string> {
  const { mkdtemp, writeFile } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const directory = await mkdtemp(join(tmpdir(), 'mailport-ca-'));
  const path = join(directory, 'ca.pem');
  await writeFile(path, pem);
  return path;
}
