import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createMailer } from '@mailport/core';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findChromium, launchChromium, skipUnlessFound } from '../../../sandbox/test/find-chromium.js';
import { logoPng } from '../../../sandbox/test/logo-png.js';
import { run } from '../cli.js';
import { exitCodes } from '../exit-codes.js';
import { memoryIo } from '../io.js';

// MAILPORT_CHROMIUM, Debian's chromium (.ci/run installs it) or Playwright's; playwright-core downloads none.
// Without one the suite is skipped, with the install command; in CI it fails instead.
const chromiumFound = findChromium();
const chromiumPath = 'path' in chromiumFound ? chromiumFound.path : '';
const root = fileURLToPath(new URL('../../../../', import.meta.url));
const screenshot = join(root, 'test-results', 'inbox.png');

const logo = logoPng();
// Bytes that would not survive a text round trip: every value 0-255.
const invoice = Buffer.from(Array.from({ length: 2048 }, (_, index) => (index * 7) % 256));

const orderHtml = (name: string, order: string): string => `<!doctype html>
<html><head><style>
  body { margin: 0; padding: 28px; background: #f4f5f8; font-family: Arial, sans-serif; color: #1f2430; }
  .card { max-width: 520px; background: #fff; border-radius: 10px; padding: 28px; }
  h1 { font-size: 22px; margin: 14px 0 8px; }
  td { padding: 6px 0; border-bottom: 1px solid #eceef2; }
  .total td { font-weight: bold; border: 0; }
  a.button { display: inline-block; margin-top: 16px; padding: 10px 18px; background: #2f5bd3; color: #fff; border-radius: 6px; text-decoration: none; }
</style></head>
<body><div class="card">
  <img src="cid:logo@shop.example" alt="Shop" width="48" height="48">
  <h1>Thanks for your order, ${name}</h1>
  <p>Order <b>#${order}</b> is confirmed and will ship tomorrow. Your invoice is attached.</p>
  <table width="100%" cellspacing="0">
    <tr><td>Espresso beans, 1 kg</td><td align="right">€24.00</td></tr>
    <tr><td>Shipping</td><td align="right">€4.90</td></tr>
    <tr class="total"><td>Total</td><td align="right">€28.90</td></tr>
  </table>
  <a class="button" href="https://shop.example/orders/${order}">View your order</a>
</div>
<script>document.body.setAttribute('data-script-ran', 'yes'); parent.document.title = 'hijacked';</script>
</body></html>`;

const senders = {
  smtp: 'Shop <orders@shop.example>',
  ses: 'Shop <orders@shop.example>',
  gmail: 'user@example.com',
  graph: 'sender@contoso.example',
};
const recipients = {
  smtp: 'Ana Lima <ana@example.org>',
  ses: 'Bo Chen <bo@example.org>',
  gmail: 'Cy Diaz <cy@example.org>',
  graph: 'Di Park <di@example.org>',
};

function order(api: keyof typeof senders, number: string) {
  const name = recipients[api].split(' ')[0] ?? '';
  return {
    from: senders[api],
    to: recipients[api],
    bcc: 'audit@shop.example',
    subject: `Order #${number} confirmed`,
    text: `Thanks for your order, ${name}.\nOrder #${number} will ship tomorrow.`,
    html: orderHtml(name, number),
    attachments: [
      { filename: `invoice-${number}.pdf`, content: invoice, contentType: 'application/pdf' },
      { filename: 'logo.png', content: logo, contentType: 'image/png', contentId: '<logo@shop.example>' },
    ],
  };
}

describe.skipIf(skipUnlessFound(chromiumFound))('mailport dev: the inbox in a real browser', () => {
  let browser: Browser;
  let page: Page;
  const controller = new AbortController();
  const io = memoryIo({ signal: controller.signal });
  let exit: Promise<number>;
  let inbox = '';
  let urls: Record<'smtp' | 'ses' | 'gmail' | 'graph', string>;

  beforeAll(async () => {
    exit = run(['dev', '--port', '0', '--smtp-port', '0', '--https-port', '0'], io);
    while (!io.out().includes('Ctrl-C to stop')) {
      if (io.err() !== '') throw new Error(`mailport dev failed: ${io.err()}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    inbox = /^ {2}Inbox +(\S+)$/m.exec(io.out())?.[1] ?? '';
    urls = Object.fromEntries(
      [...io.out().matchAll(/^ {2}MAILPORT_URL='([^']+)'$/gm)].map(([, url = '']) => [url.split(':')[0], url]),
    ) as typeof urls;
    browser = await launchChromium(chromiumPath);
    page = await browser.newPage({ viewport: { width: 1280, height: 800 }, acceptDownloads: true });
  });

  afterAll(async () => {
    await browser?.close();
    controller.abort(new Error('interrupted'));
    if (exit !== undefined) expect(await exit).toBe(exitCodes.ok);
  });

  it('shows what arrived through each transport, live, and clears it', async () => {
    const numbers = { smtp: '1041', ses: '1042', gmail: '1043', graph: '1044' };
    for (const api of ['smtp', 'ses', 'gmail', 'graph'] as const) {
      await using mailer = createMailer({ transport: urls[api] });
      await mailer.send(order(api, numbers[api]));
    }

    await page.goto(inbox);
    const items = page.locator('#messages li');
    await expect.poll(() => items.count()).toBe(4);
    // Newest first, each labelled with the API it came through.
    expect(await items.evaluateAll((nodes) => nodes.map((node) => node.getAttribute('data-api')))).toEqual([
      'graph',
      'gmail',
      'ses',
      'smtp',
    ]);
    expect(await page.locator('#messages .badge').allTextContents()).toEqual(['graph', 'gmail', 'ses', 'smtp']);
    expect(await page.locator('#count').textContent()).toBe('4 messages, newest first');
    expect(await page.locator('#status').getAttribute('data-state')).toBe('live');

    // Search by recipient, then by subject.
    await page.fill('#search', 'bo@example');
    await expect.poll(() => items.count()).toBe(1);
    expect(await items.first().getAttribute('data-api')).toBe('ses');
    await page.fill('#search', '#1043');
    await expect.poll(() => items.count()).toBe(1);
    expect(await items.first().getAttribute('data-api')).toBe('gmail');
    await page.fill('#search', 'audit@shop');
    await expect.poll(() => items.count()).toBe(4);
    await page.fill('#search', '');

    // The Graph message: its HTML, text, headers, raw source and attachments.
    await page.click('#messages li[data-api="graph"] a');
    const detail = page.locator('#detail article');
    await expect.poll(() => detail.locator('h2').textContent()).toBe('Order #1044 confirmed');
    expect(await page.locator('#messages a[aria-current="true"]').count()).toBe(1);
    expect(await page.locator('#messages li[data-api="graph"] a').getAttribute('aria-current')).toBe('true');
    expect(await detail.locator('.api-name').textContent()).toBe('Microsoft Graph');
    expect(await detail.locator('.operation').textContent()).toMatch(/^sendMail/);
    const fields = await detail.locator('.fields').innerText();
    expect(fields).toMatch(/To\s+Di Park <di@example\.org>/);
    expect(fields).toMatch(/Bcc\s+audit@shop\.example \(envelope only: not in the headers\)/);
    expect(fields).toMatch(/Envelope\s+from sender@contoso\.example to di@example\.org, audit@shop\.example/);

    const iframe = detail.locator('iframe');
    expect(await iframe.getAttribute('sandbox')).toBe('allow-popups allow-popups-to-escape-sandbox');
    const frame = page.frameLocator('#detail iframe');
    expect(await frame.locator('h1').textContent()).toBe('Thanks for your order, Di');
    // The inline image came from the sandbox through cid:, and the message's script never ran.
    await expect.poll(() => frame.locator('img').evaluate((image: HTMLImageElement) => image.complete && image.naturalWidth)).toBe(48);
    expect(await frame.locator('body').getAttribute('data-script-ran')).toBeNull();
    expect(await page.title()).toBe('(4) mailport dev inbox');

    await page.screenshot({ path: screenshot });
    if (process.env.MAILPORT_UPDATE_SCREENSHOTS === '1') {
      await mkdir(join(root, 'docs', 'images'), { recursive: true });
      await page.screenshot({ path: join(root, 'docs', 'images', 'dev-inbox.png') });
    }

    await page.click('[data-tab="text"]');
    expect(await page.locator('#panel pre.text').textContent()).toBe('Thanks for your order, Di.\nOrder #1044 will ship tomorrow.');
    await page.click('[data-tab="headers"]');
    expect(await page.locator('#panel table').innerText()).toMatch(/Subject\s+Order #1044 confirmed/);
    await page.click('[data-tab="raw"]');
    await expect.poll(() => page.locator('#panel pre.raw').textContent()).toMatch(/^[\s\S]*Subject: Order #1044 confirmed\r?\n/);
    expect(await page.locator('#panel pre.raw').textContent()).not.toMatch(/^Bcc:/im);

    await page.click('[data-tab="attachments"]');
    const invoiceRow = page.locator('#panel li', { hasText: 'invoice-1044.pdf' });
    expect(await invoiceRow.locator('.kind').textContent()).toBe('application/pdf, 2.0 kB');
    const [download] = await Promise.all([page.waitForEvent('download'), invoiceRow.locator('a.download').click()]);
    expect(download.suggestedFilename()).toBe('invoice-1044.pdf');
    expect(await readFile(await download.path())).toEqual(invoice);

    // A new message appears without a reload.
    await using mailer = createMailer({ transport: urls.smtp });
    await mailer.send({ ...order('smtp', '1045'), subject: 'Order #1045 confirmed' });
    await expect.poll(() => items.count()).toBe(5);
    expect(await items.first().locator('.subject').textContent()).toBe('Order #1045 confirmed');
    expect(await page.locator('#detail h2').textContent()).toBe('Order #1044 confirmed');

    // Clear all asks first.
    await page.click('#clear');
    await page.click('#confirm-clear-delete');
    await expect.poll(() => items.count()).toBe(0);
    expect(await page.locator('#empty').isVisible()).toBe(true);
    expect(await page.locator('#count').textContent()).toBe('No messages');
    // Asked from the page, which holds the control API's cookie.
    const { messages } = (await page.evaluate(() => fetch('/sandbox/messages').then((response) => response.json()))) as {
      messages: unknown[];
    };
    expect(messages).toEqual([]);
  });
});
