import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage } from 'node:http';
import { get } from 'node:https';
import { createMailer } from '@mailport/core';
import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { describe, expect, it } from 'vitest';
import { run } from '../cli.js';
import { exitCodes } from '../exit-codes.js';
import { memoryIo } from '../io.js';

/** expect.poll with room for a loaded machine. */
const poll = <T>(read: () => T | Promise<T>) => expect.poll(read, { timeout: 15_000, interval: 50 });

/** Runs `mailport dev` in this process on ephemeral ports until `stop()`. */
async function startDev(extra: string[]) {
  const controller = new AbortController();
  const io = memoryIo({ signal: controller.signal });
  let exited = false;
  const exit = run(['dev', '--port', '0', '--smtp-port', '0', '--https-port', '0', ...extra], io).finally(() => {
    exited = true;
  });
  while (!io.out().includes('Ctrl-C to stop')) {
    if (exited) throw new Error(`mailport dev exited with ${await exit}: ${io.err()}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  const urls = Object.fromEntries([...io.out().matchAll(/^ {2}MAILPORT_URL='([^']+)'$/gm)].map(([, url = '']) => [url.split(':')[0], url]));
  return {
    io,
    urls: urls as Record<'smtp' | 'ses' | 'gmail' | 'graph', string>,
    stop: () => {
      controller.abort(new Error('interrupted'));
      return exit;
    },
  };
}

async function body(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function visit(url: string, ca: string): Promise<void> {
  return new Promise((resolve, reject) => {
    get(url, { ca }, (response) => {
      response.resume();
      response.on('end', () => resolve());
    }).on('error', reject);
  });
}

describe('mailport dev: event flags', () => {
  it('--ses-events posts signed SNS messages (version 2 when asked) to the URL, and the banner hides its password', async () => {
    let ca = '';
    const posts: { authorization: string | undefined; body: Record<string, unknown> }[] = [];
    const app = createServer(async (request, response) => {
      const text = await body(request);
      // Basic auth as SNS does it: the first try has no credentials and is challenged.
      if (request.headers.authorization === undefined) {
        response.writeHead(401, { 'www-authenticate': 'Basic realm="sns"' }).end();
        return;
      }
      const message = JSON.parse(text) as Record<string, unknown>;
      posts.push({ authorization: request.headers.authorization, body: message });
      // Confirmed as an application does it: by visiting the SubscribeURL (the sandbox's https listener).
      if (message.Type === 'SubscriptionConfirmation') await visit(String(message.SubscribeURL), ca);
      response.writeHead(200).end();
    });
    app.listen(0, '127.0.0.1');
    await once(app, 'listening');
    const port = (app.address() as { port: number }).port;
    const password = 's3cret-pa55';
    const dev = await startDev(['--ses-events', `http://sns:${password}@127.0.0.1:${port}/hook`, '--ses-events-signature', '2']);
    ca = await readFile(/^ {2}CA +(\S+)$/m.exec(dev.io.out())?.[1] ?? '', 'utf8');
    try {
      expect(dev.io.out()).toMatch(
        new RegExp(`Events  SES events -> http://sns:\\*\\*\\*@127\\.0\\.0\\.1:${port}/hook  \\(SNS, signature version 2`),
      );
      expect(dev.io.out()).not.toContain(password);
      await poll(() => posts.map((post) => post.body.Type)).toContain('SubscriptionConfirmation');
      expect(posts[0]?.body).toMatchObject({ SignatureVersion: '2' });
      expect(posts[0]?.authorization).toBe(`Basic ${Buffer.from(`sns:${password}`).toString('base64')}`);

      await using mailer = createMailer({ transport: dev.urls.ses });
      await mailer.send({ from: 'app@example.com', to: 'bounce@simulator.amazonses.com', subject: 'x', text: 'y' });
      await poll(() => posts.filter((post) => post.body.Type === 'Notification').length).toBeGreaterThan(0);
      // What the sandbox posted is logged on the terminal too.
      await poll(() => dev.io.out()).toMatch(/ m-000001 {2}\w+ {2}bounce@simulator\.amazonses\.com {2}via sns: /);
    } finally {
      expect(await dev.stop()).toBe(exitCodes.ok);
      app.close();
    }
  });

  it('--bounces-to mails the report of a bounce@ scenario to the given SMTP server, and logs it', async () => {
    const received: Buffer[] = [];
    const receiver = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      onData(stream, _session, callback) {
        const chunks: Buffer[] = [];
        stream.on('data', (chunk: Buffer) => chunks.push(chunk));
        stream.on('end', () => {
          received.push(Buffer.concat(chunks));
          callback();
        });
      },
    });
    receiver.listen(0, '127.0.0.1');
    await once(receiver.server, 'listening');
    const port = (receiver.server.address() as { port: number }).port;
    const dev = await startDev(['--bounces-to', `smtp://127.0.0.1:${port}`]);
    try {
      expect(dev.io.out()).toContain(`Bounces -> smtp://127.0.0.1:${port}`);
      await using mailer = createMailer({ transport: dev.urls.smtp });
      await mailer.send({ from: 'app@example.com', to: 'bounce@simulator.amazonses.com', subject: 'Order', text: 'y' });
      await poll(() => received.length).toBe(1);
      const report = await simpleParser(received[0] as Buffer);
      expect(report.headers.get('content-type')).toMatchObject({ value: 'multipart/report' });
      await poll(() => dev.io.out()).toMatch(/bounced {2}bounce@simulator\.amazonses\.com {2}via smtp: /);
    } finally {
      expect(await dev.stop()).toBe(exitCodes.ok);
      receiver.close();
    }
  });

  it('refuses malformed event flags, naming them', async () => {
    for (const [args, message] of [
      [['--ses-events', 'ftp://x/'], '--ses-events must be an http:// or https:// URL'],
      [['--ses-events', 'not a url'], '--ses-events must be an http:// or https:// URL'],
      [['--ses-events-signature', '2'], '--ses-events-signature goes with --ses-events URL'],
      [['--ses-events', 'http://127.0.0.1:1/x', '--ses-events-signature', '3'], '--ses-events-signature must be 1 or 2'],
      [['--bounces-to', 'http://127.0.0.1:25'], '--bounces-to must be smtp://HOST:PORT'],
      [['--bounces-to', 'smtp://u:p@127.0.0.1:25'], '--bounces-to must be smtp://HOST:PORT'],
    ] as const) {
      const io = memoryIo();
      expect(await run(['dev', ...args], io)).toBe(exitCodes.usage);
      expect(io.err()).toContain(message);
    }
  });
});
