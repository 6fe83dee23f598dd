import { createMailer } from '@mailport/core';
import { describe, expect, it } from 'vitest';
import { run } from '../cli.js';
import { exitCodes } from '../exit-codes.js';
import { memoryIo } from '../io.js';

describe('mailport dev: the store cap', () => {
  it('keeps the newest --max-messages and says so', async () => {
    const controller = new AbortController();
    const io = memoryIo({ signal: controller.signal });
    const exit = run(
      ['dev', '--port', '0', '--smtp-port', '0', '--https-port', '0', '--max-messages', '3', '--max-store-size', '1.5MB'],
      io,
    );
    while (!io.out().includes('Ctrl-C to stop')) {
      if (io.err() !== '') throw new Error(`mailport dev failed: ${io.err()}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(io.out()).toMatch(/^ {2}Keeps {3}the newest 3 messages, 1\.5 MB at most \(older ones are evicted\)$/m);
    const smtp = /^ {2}MAILPORT_URL='(smtp:[^']+)'$/m.exec(io.out())?.[1] ?? '';
    await using mailer = createMailer({ transport: smtp });
    for (let index = 1; index <= 5; index++) {
      await mailer.send({ from: 'app@example.com', to: 'ana@example.org', subject: `Capped ${index}`, text: 'hello' });
    }
    const inbox = /^ {2}Inbox +(\S+)$/m.exec(io.out())?.[1] ?? '';
    const tokenFile = /^ {2}Token +(\S+)/m.exec(io.out())?.[1];
    const headers: Record<string, string> = {};
    if (tokenFile !== undefined) {
      const { readFile } = await import('node:fs/promises');
      headers.authorization = `Bearer ${(await readFile(tokenFile, 'utf8')).trim()}`;
    }
    const listing = (await (await fetch(`${inbox}sandbox/inbox/messages`, { headers })).json()) as {
      messages: { subject: string }[];
      evicted: number;
      limits: { maxMessages: number; maxBytes: number };
    };
    expect(listing.messages.map((message) => message.subject)).toEqual(['Capped 5', 'Capped 4', 'Capped 3']);
    expect(listing.evicted).toBe(2);
    expect(listing.limits).toEqual({ maxMessages: 3, maxBytes: 1.5 * 1024 * 1024 });
    controller.abort(new Error('interrupted'));
    expect(await exit).toBe(exitCodes.ok);
  });

  it.each([
    [['--max-messages', '0'], /--max-messages must be a whole number of at least 1, not "0"/],
    [['--max-messages', '1e3'], /--max-messages must be a whole number/],
    [['--max-store-size', 'lots'], /--max-store-size must be a size such as 256MB/],
    [['--max-store-size', '0MB'], /--max-store-size must be a size/],
  ])('refuses %j', async (flags, message) => {
    const io = memoryIo();
    expect(await run(['dev', '--port', '0', ...flags], io)).toBe(exitCodes.usage);
    expect(io.err()).toMatch(message);
  });
});
