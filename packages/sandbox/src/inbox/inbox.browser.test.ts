import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createMailer } from '@mailport/core';
import { simpleParser } from 'mailparser';
import nodemailer from 'nodemailer';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findChromium, launchChromium, skipUnlessFound } from '../../test/find-chromium.js';
import { logoPng } from '../../test/logo-png.js';
import { type Sandbox, startSandbox } from '../sandbox.js';

const chromiumFound = findChromium();
const root = fileURLToPath(new URL('../../../../', import.meta.url));
// The docs' screenshots are rewritten with MAILPORT_UPDATE_SCREENSHOTS=1 (as dev.browser.test.ts does); otherwise they go to test-results/.
const images = process.env.MAILPORT_UPDATE_SCREENSHOTS === '1' ? join(root, 'docs', 'images') : join(root, 'test-results');

const welcomeHtml = `<!doctype html>
<html><head><meta name="viewport" content="width=device-width"><style>
  body { margin: 0; padding: 24px; background: #f4f5f8; font-family: Arial, sans-serif; color: #1f2430; }
  .card { max-width: 560px; margin: 0 auto; background: #fff; border-radius: 10px; padding: 28px; }
  h1 { font-size: 22px; margin: 14px 0 8px; }
  .cols { display: flex; flex-wrap: wrap; gap: 12px; }
  .cols div { flex: 1 1 220px; background: #eef2fb; border-radius: 8px; padding: 12px; }
  a.button { display: inline-block; margin-top: 16px; padding: 10px 18px; background: #2f5bd3; color: #fff; border-radius: 6px; text-decoration: none; }
</style></head>
<body><div class="card">
  <img src="cid:logo@shop.example" alt="Shop" width="48" height="48">
  <h1>Welcome to the shop, Ana</h1>
  <p>Your account is ready. Your first invoice and the terms are attached.</p>
  <div class="cols"><div><b>Orders</b><br>Track what you bought.</div><div><b>Returns</b><br>30 days, free.</div></div>
  <a class="button" href="https://shop.example/account">Open your account</a>
</div></body></html>`;

/** One message with two attachments and one inline image: the list and the tab must both say 2. */
function welcome(to: string) {
  return {
    from: 'Shop <orders@shop.example>',
    to,
    subject: 'Welcome to the shop',
    text: 'Welcome, Ana.\nYour account is ready.',
    html: welcomeHtml,
    attachments: [
      { filename: 'invoice-1001.pdf', content: Buffer.from('%PDF-1.4\n% not really a PDF\n'), contentType: 'application/pdf' },
      { filename: 'terms.txt', content: 'Be nice.\n', contentType: 'text/plain' },
      { filename: 'logo.png', content: logoPng(), contentType: 'image/png', cid: 'logo@shop.example' },
    ],
  };
}

/** About 150 kB with 1,000 attachments: mailparser alone never finishes it (issue 8). */
function thousandAttachments(): Buffer {
  const lines = [
    'From: Batch <batch@example.com>',
    'To: ana@example.org',
    'Subject: One thousand attachments',
    'MIME-Version: 1.0',
    'Content-Type: multipart/mixed; boundary="b"',
    '',
    '--b',
    'Content-Type: text/plain; charset=utf-8',
    '',
    'The nightly export, one file per row.',
  ];
  for (let index = 0; index < 1000; index++) {
    lines.push(
      '--b',
      'Content-Type: text/csv',
      `Content-Disposition: attachment; filename="row-${String(index).padStart(4, '0')}.csv"`,
      'Content-Transfer-Encoding: base64',
      '',
      Buffer.from(`id,value\n${index},${'x'.repeat(40)}\n`).toString('base64'),
    );
  }
  lines.push('--b--', '');
  return Buffer.from(lines.join('\r\n'));
}

function smtpTransport(sandbox: Sandbox, pool = false) {
  return nodemailer.createTransport({
    host: '127.0.0.1',
    port: sandbox.smtpPort,
    pool,
    maxConnections: 6,
    maxMessages: Number.POSITIVE_INFINITY,
    auth: { user: 'sandbox', pass: 'sandbox-password' },
    tls: { ca: sandbox.ca },
  });
}

function control(sandbox: Sandbox): Record<string, string> {
  const token = (sandbox as { controlToken?: string }).controlToken;
  return token === undefined ? {} : { authorization: `Bearer ${token}` };
}

/** Long tasks (over 50 ms) on the page's main thread, recorded from before its first script runs. */
const recordLongTasks = (): void => {
  const tasks: number[] = [];
  (window as unknown as { longTasks: number[] }).longTasks = tasks;
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) tasks.push(Math.round(entry.duration));
  }).observe({ type: 'longtask', buffered: true });
};
/** expect.poll with room for a loaded machine (its default is 1 s). */
const poll = <T>(read: () => T | Promise<T>, timeout = 10_000) => expect.poll(read, { timeout, interval: 50 });
const longTasks = (page: Page): Promise<number[]> => page.evaluate(() => (window as unknown as { longTasks: number[] }).longTasks);

describe.skipIf(skipUnlessFound(chromiumFound))('the dev inbox in Chromium', () => {
  let browser: Browser;

  beforeAll(async () => {
    await mkdir(images, { recursive: true });
    browser = await launchChromium('path' in chromiumFound ? chromiumFound.path : '');
  });

  afterAll(async () => {
    await browser?.close();
  });

  async function openInbox(sandbox: Sandbox, hash = ''): Promise<Page> {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 }, acceptDownloads: true });
    await page.addInitScript(recordLongTasks);
    await page.goto(`${sandbox.httpUrl}/${hash}`);
    await poll(() => page.locator('#status').getAttribute('data-state')).toBe('live');
    return page;
  }

  describe('reading messages', () => {
    let sandbox: Sandbox;
    let page: Page;
    beforeAll(async () => {
      sandbox = await startSandbox();
    });
    afterAll(async () => {
      await page?.close();
      await sandbox?.close();
    });

    it('counts attachments once, marks read and unread, shows the HTML source and preview widths, deletes, and confirms Clear all', async () => {
      const smtp = smtpTransport(sandbox);
      await smtp.sendMail(welcome('Ana Lima <ana@example.org>'));
      await smtp.sendMail({ from: 'app@example.com', to: 'bo@example.org', subject: 'Password reset', text: 'Your code is 123456.' });
      await smtp.sendMail({ from: 'app@example.com', to: 'cy@example.org', subject: 'Weekly digest', text: 'Nothing new this week.' });
      smtp.close();
      const [welcomeRaw] = sandbox.store.list().map((message) => message.raw);
      // An independent parser: two parts to download, one image the HTML shows.
      const independent = await simpleParser(welcomeRaw as Buffer);
      expect(independent.attachments.filter((part) => !part.related).map((part) => part.filename)).toEqual([
        'invoice-1001.pdf',
        'terms.txt',
      ]);
      expect(independent.attachments.filter((part) => part.related).map((part) => part.filename)).toEqual(['logo.png']);

      page = await openInbox(sandbox);
      const items = page.locator('#messages li');
      await poll(() => items.count()).toBe(3);
      const row = page.locator('#messages li', { hasText: 'Welcome to the shop' });
      expect(await row.locator('.clip').textContent()).toBe('2');
      expect(await row.getAttribute('class')).toContain('unread');
      expect(await page.locator('#messages li.unread').count()).toBe(3);
      await page.screenshot({ path: join(images, 'inbox-list.png') });

      // Opening marks it read, in the store too; the message view counts the same 2 and the inline image apart.
      await row.locator('a').click();
      const detail = page.locator('#detail article');
      await poll(() => detail.locator('h2').textContent()).toBe('Welcome to the shop');
      await poll(() => sandbox.store.isRead(sandbox.store.list()[0]?.id ?? '')).toBe(true);
      // "unread" contains "read": wait for the class to lose "unread", then check it is "read".
      await poll(() => row.getAttribute('class')).not.toContain('unread');
      expect(await row.getAttribute('class')).toContain('read');
      expect(await detail.locator('[data-tab="attachments"] .tab-count').textContent()).toBe('(2)');
      expect(await detail.locator('[data-tab="attachments"] .tab-note').textContent()).toBe(' +1 inline');
      // The protocol is named once: "SMTP" then "DATA", not "SMTP SMTP DATA".
      expect(await detail.locator('.via').innerText()).toMatch(/^SMTP\s+DATA\s+received/);
      expect(await detail.locator('.via').innerText()).not.toMatch(/SMTP\s+SMTP/);
      const frame = page.frameLocator('#detail iframe');
      await poll(() => frame.locator('img').evaluate((image: HTMLImageElement) => image.complete && image.naturalWidth)).toBe(48);
      await page.screenshot({ path: join(images, 'inbox-message.png') });

      await page.click('[data-tab="attachments"]');
      expect(await page.locator('#panel li[data-inline="false"] .name').allTextContents()).toEqual(['invoice-1001.pdf', 'terms.txt']);
      expect(await page.locator('#panel li[data-inline="true"] .name').allTextContents()).toEqual(['logo.png']);

      // Preview widths: the frame is 375 px wide as a phone, 768 px as a tablet.
      await page.click('[data-tab="html"]');
      await page.click('.widths [data-width="phone"]');
      expect(await page.locator('#detail iframe').evaluate((frame) => frame.getBoundingClientRect().width)).toBe(375);
      await poll(() => frame.locator('h1').textContent()).toBe('Welcome to the shop, Ana');
      await page.screenshot({ path: join(images, 'inbox-phone.png') });
      await page.click('.widths [data-width="tablet"]');
      expect(await page.locator('#detail iframe').evaluate((frame) => frame.getBoundingClientRect().width)).toBe(768);
      await page.click('.widths [data-width="desktop"]');
      expect(await page.locator('#detail iframe').evaluate((frame) => frame.getBoundingClientRect().width)).toBeGreaterThan(800);

      // The HTML source, as text: the markup shows, nothing renders.
      await page.click('[data-tab="source"]');
      await poll(() => page.locator('#panel pre.source').textContent()).toContain('<h1>Welcome to the shop, Ana</h1>');
      expect(await page.locator('#panel pre.source').textContent()).toContain('src="cid:logo@shop.example"');

      // Mark unread, and read again: the row and the store follow.
      const id = sandbox.store.list()[0]?.id ?? '';
      await page.click('#toggle-read');
      await poll(() => sandbox.store.isRead(id)).toBe(false);
      await poll(() => row.getAttribute('class')).toContain('unread');
      expect(await page.locator('#toggle-read').textContent()).toBe('Mark read');
      await page.click('#toggle-read');
      await poll(() => sandbox.store.isRead(id)).toBe(true);
      expect(await page.locator('#toggle-read').textContent()).toBe('Mark unread');

      // Delete one: gone from the store and the list; the next message opens.
      await page.click('#delete-message');
      await poll(() => items.count()).toBe(2);
      expect(sandbox.store.get(id)).toBeUndefined();
      expect(await page.locator('#count').textContent()).toBe('2 messages, newest first');
      await poll(() => page.locator('#detail article h2').textContent()).toBe('Password reset');
      // The keys still move through the (virtual) list.
      await page.keyboard.press('k');
      await poll(() => page.locator('#detail article h2').textContent()).toBe('Weekly digest');
      expect(await page.locator('#messages li', { hasText: 'Weekly digest' }).locator('a').getAttribute('aria-current')).toBe('true');
      await page.keyboard.press('j');
      await poll(() => page.locator('#detail article h2').textContent()).toBe('Password reset');

      // Clear all asks first: Cancel keeps everything, Delete all deletes.
      await page.click('#clear');
      expect(await page.locator('#confirm-clear').isVisible()).toBe(true);
      expect(await page.locator('#confirm-clear-text').textContent()).toBe(
        'Delete all 2 messages from the sandbox? This cannot be undone.',
      );
      await page.click('#confirm-clear button[value="cancel"]');
      expect(await page.locator('#confirm-clear').isVisible()).toBe(false);
      expect(sandbox.store.size).toBe(2);
      await page.click('#clear');
      await page.click('#confirm-clear-delete');
      await poll(() => items.count()).toBe(0);
      expect(sandbox.store.size).toBe(0);
      expect(await page.locator('#empty').isVisible()).toBe(true);
    });

    it('lists a message with 1,000 attachments at once, opens it with a warning, and stays live', async () => {
      sandbox.store.clear();
      const smtp = smtpTransport(sandbox);
      await smtp.sendMail({ from: 'app@example.com', to: 'ana@example.org', subject: 'Before the batch', text: 'first' });
      const raw = thousandAttachments();
      expect(raw.length).toBeGreaterThan(140_000);
      await smtp.sendMail({ envelope: { from: 'batch@example.com', to: ['ana@example.org'] }, raw });

      const started = Date.now();
      await page.goto(`${sandbox.httpUrl}/`);
      const items = page.locator('#messages li');
      await poll(() => items.count()).toBe(2);
      await poll(() => page.locator('#status').getAttribute('data-state')).toBe('live');
      expect(Date.now() - started).toBeLessThan(5_000);
      const heavy = page.locator('#messages li', { hasText: 'One thousand attachments' });
      expect(await heavy.locator('.warn-mark').getAttribute('title')).toMatch(/more than 500 MIME parts/);

      await heavy.locator('a').click();
      await poll(() => page.locator('#detail article h2').textContent()).toBe('One thousand attachments');
      expect(await page.locator('#detail .warning').textContent()).toMatch(
        /shown in part: it has more than 500 MIME parts; the first \d+ attachments are shown/,
      );
      expect(await page.locator('#detail article').getAttribute('data-parse')).toBe('partial');
      // One count: the list and the tab say the same number, both marked "+" (there are more than were read).
      const listed = await heavy.locator('.clip').textContent();
      expect(listed).toMatch(/^\d{3}\+$/);
      expect(await page.locator('[data-tab="attachments"] .tab-count').textContent()).toBe(`(${listed})`);
      expect(await page.locator('#panel pre.text').textContent()).toBe('The nightly export, one file per row.');
      await page.click('[data-tab="raw"]');
      await poll(() => page.locator('#panel pre.raw').textContent()).toContain('row-0999.csv');

      // Another message opens, and the feed still delivers.
      await page.click('#messages li:has-text("Before the batch") a');
      await poll(() => page.locator('#detail article h2').textContent()).toBe('Before the batch');
      await smtp.sendMail({ from: 'app@example.com', to: 'ana@example.org', subject: 'After the batch', text: 'third' });
      smtp.close();
      await poll(() => items.count()).toBe(3);
      expect(await items.first().locator('.subject').textContent()).toBe('After the batch');
      expect(await page.locator('#status').getAttribute('data-state')).toBe('live');
      const list = (await (await fetch(`${sandbox.httpUrl}/sandbox/inbox/messages`, { headers: control(sandbox) })).json()) as {
        messages: { subject: string }[];
      };
      expect(list.messages.map((message) => message.subject)).toEqual(['After the batch', 'One thousand attachments', 'Before the batch']);
    });

    it('answers malformed percent-encoding with 400 and survives a malformed fragment', async () => {
      for (const path of ['/sandbox/messages/%E0%A4%A/parsed', '/sandbox/messages/%zz', '/sandbox/messages/m-1/attachments/%']) {
        const response = await fetch(`${sandbox.httpUrl}${path}`, { headers: control(sandbox) });
        expect(response.status, path).toBe(400);
      }
      const fragment = await openInbox(sandbox, '#%E0%A4%A');
      await poll(() => fragment.locator('#messages li').count()).toBe(sandbox.store.size);
      expect(await fragment.locator('#detail').textContent()).toContain('This message is no longer in the sandbox.');
      await fragment.locator('#messages li a').first().click();
      await poll(() => fragment.locator('#detail article h2').textContent()).toBe('After the batch');
      await fragment.close();
    });
  });

  describe('ten thousand messages', () => {
    it('stays responsive while 10,000 arrive over SMTP: no main-thread task over 200 ms', async () => {
      await using sandbox = await startSandbox();
      const page = await openInbox(sandbox);
      const total = 10_000;
      const smtp = smtpTransport(sandbox, true);
      const started = Date.now();
      const sends: Promise<unknown>[] = [];
      for (let index = 0; index < total; index++) {
        sends.push(
          smtp.sendMail({
            from: 'Burst <burst@example.com>',
            to: `user-${index}@example.org`,
            subject: `Burst message ${index + 1}`,
            text: `Message ${index + 1} of ${total}.`,
          }),
        );
      }
      // While they arrive, the page answers: scroll and open a message.
      await poll(() => sandbox.store.size, 30_000).toBeGreaterThan(2_000);
      await page.locator('#scroller').evaluate((scroller) => scroller.scrollBy(0, 3000));
      await page.locator('#messages li a').nth(2).click();
      await poll(() => page.locator('#detail article h2').textContent()).toMatch(/^Burst message \d+$/);
      await Promise.all(sends);
      smtp.close();
      const sent = Date.now() - started;
      await poll(() => page.locator('#count').textContent(), 30_000).toBe('10,000 messages, newest first');
      const tasks = await longTasks(page);
      const longest = Math.max(0, ...tasks);
      console.log(`10,000 over SMTP in ${sent} ms; long tasks: ${tasks.length}, longest ${longest} ms`);
      expect(longest).toBeLessThan(200);
      // Only the rows in view are in the DOM.
      expect(await page.locator('#messages li').count()).toBeLessThan(60);
      await page.close();
    }, 120_000);

    it('loads 10,000 stored messages at once, scrolls to the oldest, and opens it', async () => {
      await using sandbox = await startSandbox();
      for (let index = 0; index < 10_000; index++) {
        sandbox.store.add({
          api: index % 2 === 0 ? 'ses' : 'smtp',
          operation: index % 2 === 0 ? 'SendEmail (Raw)' : 'SMTP DATA',
          envelope: { from: 'app@example.com', to: [`user-${index}@example.org`] },
          raw: Buffer.from(
            `From: App <app@example.com>\r\nTo: user-${index}@example.org\r\nSubject: Stored ${index + 1}\r\n` +
              `Date: ${new Date(Date.UTC(2026, 0, 1, 0, 0, index)).toUTCString()}\r\n\r\nBody ${index + 1}\r\n`,
          ),
          metadata: {},
        });
      }
      const started = Date.now();
      const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
      await page.addInitScript(recordLongTasks);
      await page.goto(`${sandbox.httpUrl}/`);
      await poll(() => page.locator('#count').textContent(), 20_000).toBe('10,000 messages, newest first');
      const loaded = Date.now() - started;
      await page.locator('#scroller').evaluate((scroller) => {
        scroller.scrollTop = scroller.scrollHeight;
      });
      await poll(() => page.locator('#messages li').last().locator('.subject').textContent()).toBe('Stored 1');
      await page.locator('#messages li').last().locator('a').click();
      await poll(() => page.locator('#detail article h2').textContent()).toBe('Stored 1');
      // Search across all of them.
      await page.fill('#search', 'user-9999@');
      await poll(() => page.locator('#count').textContent()).toBe('1 of 10,000 messages match');
      const tasks = await longTasks(page);
      console.log(`10,000 stored: page ready in ${loaded} ms; long tasks: ${tasks.length}, longest ${Math.max(0, ...tasks)} ms`);
      expect(Math.max(0, ...tasks)).toBeLessThan(200);
      await page.close();
    }, 90_000);
  });

  describe('the store cap', () => {
    it('evicts the oldest past the cap, says so on the page, and keeps the store and caches within it', async () => {
      await using sandbox = await startSandbox({ maxMessages: 50, maxStoreBytes: 64 * 1024 });
      const page = await openInbox(sandbox);
      const smtp = smtpTransport(sandbox, true);
      await Promise.all(
        Array.from({ length: 80 }, (_, index) =>
          smtp.sendMail({ from: 'app@example.com', to: 'ana@example.org', subject: `Capped ${index + 1}`, text: 'x'.repeat(200) }),
        ),
      );
      await poll(() => page.locator('#evicted').textContent()).toBe('30 older messages were evicted (cap: 50 messages / 64.0 kB)');
      expect(sandbox.store.size).toBe(50);
      expect(sandbox.store.evicted).toBe(30);
      expect(await page.locator('#count').textContent()).toBe('50 messages, newest first');
      // The bytes cap: 1 kB messages, 64 kB at most.
      await Promise.all(
        Array.from({ length: 100 }, (_, index) =>
          smtp.sendMail({ from: 'app@example.com', to: 'ana@example.org', subject: `Big ${index + 1}`, text: 'y'.repeat(1024) }),
        ),
      );
      smtp.close();
      expect(sandbox.store.bytes).toBeLessThanOrEqual(64 * 1024);
      expect(sandbox.store.size).toBeLessThan(64);
      const newest = /Subject: (.*)\r\n/.exec(sandbox.store.last()?.raw.toString() ?? '')?.[1];
      await poll(() => page.locator('#messages li').first().locator('.subject').textContent()).toBe(newest);
      const held = sandbox.store.size;
      await poll(() => page.locator('#count').textContent()).toBe(`${held} messages, newest first`);
      // The oldest still held opens; an evicted one is gone.
      const oldest = sandbox.store.list()[0];
      const response = await fetch(`${sandbox.httpUrl}/sandbox/messages/m-000001/parsed`, { headers: control(sandbox) });
      expect(response.status).toBe(404);
      await page.goto(`${sandbox.httpUrl}/#${oldest?.id}`);
      await poll(() => page.locator('#detail article h2').textContent()).toBe(/Subject: (.*)\r\n/.exec(oldest?.raw.toString() ?? '')?.[1]);
      await page.close();
    });
  });

  describe("a message's events", () => {
    it('shows what the Gmail mailbox scenarios reported, in the list and in the message (screenshot)', async () => {
      await using sandbox = await startSandbox();
      await using mailer = createMailer({ transport: sandbox.urls.gmail });
      const receipt = await mailer.send({
        from: 'Shop <user@example.com>',
        to: ['bounce@simulator.amazonses.com', 'delay@simulator.amazonses.com'],
        subject: 'Your order #10042 has shipped',
        text: 'Hello,\n\nYour order is on its way.',
        html: '<p>Hello,</p><p>Your order <b>#10042</b> is on its way.</p>',
      });
      await poll(() => sandbox.events.list({ messageId: receipt.messageId }).length).toBe(2);
      const id = sandbox.store.list().find((message) => message.api === 'gmail')?.id ?? '';
      const page = await openInbox(sandbox, `#${id}`);
      await poll(() => page.locator('#detail .events li .event-type').allTextContents()).toEqual(['bounced', 'deferred']);
      await poll(() => page.locator(`#messages li[data-id="${id}"] .event-badge`).allTextContents()).toEqual(['bounced', 'deferred']);
      await page.screenshot({ path: join(images, 'inbox-events.png') });
      await page.close();
    });

    it('shows the events recorded before and after opening it, hostile text as text', async () => {
      await using sandbox = await startSandbox();
      const smtp = smtpTransport(sandbox);
      const info = await smtp.sendMail({ from: 'app@example.com', to: 'ana@example.org', subject: 'Order shipped', text: 'On its way.' });
      smtp.close();
      const id = sandbox.store.last()?.id ?? '';
      const hostile = '<img src=x onerror="window.pwned=1">';
      sandbox.events.record({
        storeId: id,
        messageId: info.messageId,
        type: 'bounced',
        recipient: `x${hostile}@example.org`,
        channel: 'smtp',
        detail: `550 5.1.1 ${hostile}`,
      });
      const page = await openInbox(sandbox, `#${id}`);
      const events = page.locator('#detail .events li');
      await poll(() => events.count()).toBe(1);
      expect(await events.first().locator('.event-type').textContent()).toBe('bounced');
      expect(await events.first().locator('.event-detail').textContent()).toBe(`550 5.1.1 ${hostile}`);
      expect(await page.locator('#detail .events img').count()).toBe(0);
      // Live, through the feed; a hostile type names no CSS class.
      sandbox.events.record({
        storeId: id,
        messageId: info.messageId,
        type: 'x" onclick="y',
        recipient: 'ana@example.org',
        channel: 'sns',
        detail: 'POST -> 200',
      });
      await poll(() => events.count()).toBe(2);
      expect(await events.nth(1).getAttribute('class')).toBe('event event-unknown');
      // The list shows the types as badges on the message's row, live.
      const badges = page.locator(`#messages li[data-id="${id}"] .event-badge`);
      await poll(() => badges.allTextContents()).toEqual(['bounced', 'x" onclick="y']);
      expect(await badges.nth(1).getAttribute('class')).toBe('event-badge event-unknown');
      await page.reload();
      await poll(() => badges.allTextContents()).toEqual(['bounced', 'x" onclick="y']);
      expect(await page.evaluate(() => (window as unknown as { pwned?: number }).pwned)).toBeUndefined();
      await page.close();
    });
  });

  afterAll(async () => {
    // The screenshots are part of the docs: keep them readable.
    for (const name of ['inbox-list.png', 'inbox-message.png', 'inbox-phone.png']) {
      expect((await readFile(join(images, name))).length).toBeGreaterThan(10_000);
    }
  });
});
