import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { createMailer } from '@mailport/core';
import { describe, expect, it } from 'vitest';
import { run } from '../cli.js';
import { exitCodes } from '../exit-codes.js';
import { memoryIo } from '../io.js';

/** Runs `mailport dev` in this process on ephemeral ports until `stop()`. */
async function startDev(extra: string[] = []) {
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
  const inbox = /^ {2}Inbox +(\S+)$/m.exec(io.out())?.[1] ?? '';
  const urls = Object.fromEntries([...io.out().matchAll(/^ {2}MAILPORT_URL='([^']+)'$/gm)].map(([, url = '']) => [url.split(':')[0], url]));
  return {
    io,
    inbox,
    urls: urls as Record<'smtp' | 'ses' | 'gmail' | 'graph', string>,
    stop: () => {
      controller.abort(new Error('interrupted'));
      return exit;
    },
  };
}

async function listen(port = 0): Promise<Server> {
  const server = createServer();
  server.listen(port, '127.0.0.1');
  await once(server, 'listening');
  return server;
}

const portOf = (server: Server): number => (server.address() as { port: number }).port;

describe('mailport dev', () => {
  it('prints the inbox and a working MAILPORT_URL per transport, logs arrivals, and stops on Ctrl-C', async () => {
    const dev = await startDev();
    expect(dev.inbox).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    expect(Object.keys(dev.urls)).toEqual(['smtp', 'ses', 'gmail', 'graph']);
    const from = { smtp: 'app@example.com', ses: 'app@example.com', gmail: 'user@example.com', graph: 'sender@contoso.example' };
    for (const api of ['smtp', 'ses', 'gmail', 'graph'] as const) {
      await using mailer = createMailer({ transport: dev.urls[api] });
      await mailer.send({ from: from[api], to: 'ana@example.org', subject: `via ${api}`, text: 'hello' });
    }
    const arrivals = dev.io
      .out()
      .split('\n')
      .filter((line) => /^\d\d:\d\d:\d\d {2}m-\d{6}/.test(line));
    expect(arrivals.map((line) => line.split(/\s+/)[2])).toEqual(['smtp', 'ses', 'gmail', 'graph']);
    expect(arrivals[0]).toMatch(/SMTP DATA {2}app@example\.com -> ana@example\.org {2}\d+ B$/);

    const page = await fetch(dev.inbox);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<title>mailport dev inbox</title>');
    // The control API wants the token from the file the banner names.
    const tokenFile = /^ {2}Token +(\S+)/m.exec(dev.io.out())?.[1] ?? '';
    const headers = { authorization: `Bearer ${(await readFile(tokenFile, 'utf8')).trim()}` };
    expect((await fetch(`${dev.inbox}sandbox/inbox/messages`)).status).toBe(401);
    const { messages } = (await (await fetch(`${dev.inbox}sandbox/inbox/messages`, { headers })).json()) as {
      messages: { subject: string }[];
    };
    expect(messages.map((message) => message.subject)).toEqual(['via graph', 'via gmail', 'via ses', 'via smtp']);

    expect(await dev.stop()).toBe(exitCodes.ok);
    expect(dev.io.err()).toContain('stopping');
    await expect(fetch(dev.inbox)).rejects.toThrow();
  });

  it('accepts SMTP without AUTH, as applications pointed at a dev inbox often send', async () => {
    const dev = await startDev();
    const port = /^ {2}SMTP +127\.0\.0\.1:(\d+)/m.exec(dev.io.out())?.[1];
    const caFile = /^ {2}CA +(\S+)$/m.exec(dev.io.out())?.[1] ?? '';
    await using mailer = createMailer({ transport: `smtp://127.0.0.1:${port}?ca_file=${encodeURIComponent(caFile)}` });
    await mailer.send({ from: 'app@example.com', to: 'ana@example.org', subject: 'no auth', text: 'hello' });
    expect(dev.io.out()).toMatch(/m-000001 {2}smtp/);
    expect(await dev.stop()).toBe(exitCodes.ok);
  });

  it('explains a port that is taken, names the flag, and leaves no listener behind', async () => {
    const taken = await listen();
    const spare = await listen();
    const smtpPort = portOf(spare);
    await new Promise((resolve) => spare.close(resolve));
    try {
      const io = memoryIo();
      const code = await run(['dev', '--port', String(portOf(taken)), '--smtp-port', String(smtpPort), '--https-port', '0'], io);
      expect(code).toBe(exitCodes.configuration);
      expect(io.err()).toBe(
        `mailport: configuration: Port ${portOf(taken)} on 127.0.0.1 is already in use\n` +
          '  what to do: Stop the program that holds it (another mailport dev?), or choose another port with --port (0: any free port).\n',
      );
      // The SMTP server had started: it must be closed again.
      (await listen(smtpPort)).close();
    } finally {
      taken.close();
    }
  });

  it('refuses a port that is not a port', async () => {
    const io = memoryIo();
    expect(await run(['dev', '--smtp-port', '70000'], io)).toBe(exitCodes.usage);
    expect(io.err()).toContain('--smtp-port must be a port number from 0 to 65535');
    expect(await run(['dev', '--host', '0.0.0.0'], io)).toBe(exitCodes.usage);
  });

  it('prints its help', async () => {
    const io = memoryIo();
    expect(await run(['dev', '--help'], io)).toBe(exitCodes.ok);
    expect(io.out()).toContain('mailport dev [--port 8025] [--smtp-port 2525] [--https-port 4443] [--open]');
  });
});
