import { AssertionError } from 'node:assert';
import { once } from 'node:events';
import { connect, createServer } from 'node:net';
import { createMailer } from '@mailport/core';
import {
  assertNothingSent,
  assertSent,
  createTestTransport,
  findSent,
  type MemoryTransport,
  mailportMatchers,
  refusedPort,
  type SentMatch,
} from '@mailport/core/testing';
import { beforeEach, describe, expect, it } from 'vitest';

declare module 'vitest' {
  interface Matchers<R extends void | Promise<void> = void | Promise<void>, T = unknown> {
    toHaveSent(match?: SentMatch): R;
  }
}

expect.extend(mailportMatchers);

function assertionFrom(run: () => unknown): AssertionError {
  try {
    run();
  } catch (error) {
    if (error instanceof AssertionError) return error;
    throw error;
  }
  throw new Error('expected an AssertionError, but nothing was thrown');
}

describe('testing helpers', () => {
  let transport: MemoryTransport;

  beforeEach(async () => {
    transport = createTestTransport();
    const mailer = createMailer({ transport });
    await mailer.send({
      from: 'Shop <orders@shop.example>',
      to: ['Ana <ana@example.com>', 'bob@example.com'],
      cc: 'carol@example.org',
      bcc: 'audit@shop.example',
      subject: 'Your order #42',
      text: 'Thanks!\nSee you.',
      html: '<p>Thanks!</p>\n',
      headers: { 'X-Order-Id': '42', 'X-Tag': ['a', 'b'] },
      attachments: [{ filename: 'invoice.pdf', content: 'pdf' }],
    });
    await mailer.send({ from: 'orders@shop.example', to: 'dave@example.com', subject: 'Newsletter', text: 'News' });
  });

  it('gives the test transport its own id', () => {
    expect(transport.id).toBe('memory://test');
    expect(createTestTransport({ id: 'memory://other' }).id).toBe('memory://other');
  });

  it('finds messages by every kind of criterion', () => {
    const criteria: SentMatch[] = [
      { to: 'ana@example.com' },
      { to: ['ANA@example.com', 'bob@example.com'] },
      { cc: 'carol@example.org' },
      { bcc: 'audit@shop.example' },
      { subject: 'Your order #42' },
      { subject: /order #\d+/ },
      { text: 'Thanks!\nSee you.' },
      { text: /See you/ },
      { html: '<p>Thanks!</p>\n' },
      { headers: { 'x-order-id': '42' } },
      { headers: { 'X-Tag': 'b' } },
      { headers: { 'X-Order-Id': /^\d+$/ } },
      { attachments: ['invoice.pdf'] },
      { to: 'ana@example.com', subject: /order/, attachments: ['invoice.pdf'] },
    ];
    for (const match of criteria) {
      expect(findSent(transport, match).map((sent) => sent.message.subject)).toEqual(['Your order #42']);
    }
    expect(findSent(transport)).toHaveLength(2);
    expect(findSent(transport, { from: 'Orders@Shop.example' })).toHaveLength(2);
    expect(findSent(transport, { to: 'nobody@example.com' })).toEqual([]);
  });

  it('returns the one matching message from assertSent', () => {
    const sent = assertSent(transport, { to: 'dave@example.com' });
    expect(sent.message.subject).toBe('Newsletter');
    expect(assertSent(transport, { from: 'orders@shop.example' }, 2).message.subject).toBe('Your order #42');
  });

  it('explains an assertSent failure with what was sent and why each did not match', () => {
    const error = assertionFrom(() => assertSent(transport, { to: 'eve@example.com', subject: /refund/ }));
    const [first, second] = transport.sent;
    expect(error.message).toBe(
      [
        'expected 1 sent message(s) matching {"to":"eve@example.com","subject":"/refund/"}, found 0.',
        `  #1 ${first?.message.messageId} from Shop <orders@shop.example> to ana@example.com, bob@example.com, carol@example.org, audit@shop.example subject "Your order #42": to lacks eve@example.com; subject is "Your order #42"`,
        `  #2 ${second?.message.messageId} from orders@shop.example to dave@example.com subject "Newsletter": to lacks eve@example.com; subject is "Newsletter"`,
      ].join('\n'),
    );
  });

  it('names what differs in headers and attachments', () => {
    const error = assertionFrom(() =>
      assertSent(transport, { headers: { 'X-Order-Id': '43', 'X-Missing': 'x' }, attachments: ['terms.pdf'] }),
    );
    expect(error.message).toContain('header X-Order-Id is "42"');
    expect(error.message).toContain('header X-Missing is absent');
    expect(error.message).toContain('no attachment terms.pdf');
  });

  it('fails assertSent when more messages match than expected', () => {
    const error = assertionFrom(() => assertSent(transport, { from: 'orders@shop.example' }));
    expect(error.message).toMatch(/^expected 1 sent message\(s\) matching \{"from":"orders@shop.example"\}, found 2\./);
    expect(error.message).toContain(': matches');
  });

  it('says so when nothing was sent at all', () => {
    const empty = createTestTransport();
    expect(assertionFrom(() => assertSent(empty, { to: 'ana@example.com' })).message).toBe(
      'expected 1 sent message(s) matching {"to":"ana@example.com"}, found 0.\nNothing was sent.',
    );
    expect(() => assertNothingSent(empty)).not.toThrow();
  });

  it('lists what was sent when assertNothingSent fails', () => {
    const error = assertionFrom(() => assertNothingSent(transport));
    expect(error.message).toMatch(/^expected no sent messages, found 2\.\n {2}#1 <.+> from Shop <orders@shop\.example> to /);
    expect(error.message).toContain('subject "Newsletter": matches');
  });

  it('works as a vitest matcher', () => {
    expect(transport).toHaveSent({ to: 'ana@example.com' });
    expect(transport).toHaveSent();
    expect(transport).not.toHaveSent({ to: 'eve@example.com' });
    expect(() => expect(transport).toHaveSent({ to: 'eve@example.com' })).toThrow(/expected a message matching \{"to":"eve@example.com"\}/);
    expect(() => expect(transport).not.toHaveSent({ to: 'ana@example.com' })).toThrow(/expected no message matching .*, found 1/);
    expect(createTestTransport()).not.toHaveSent();
  });
});

describe('refusedPort', () => {
  it('gives a port outside the ephemeral range where the connection is refused, even while servers come and go on port 0', async () => {
    const servers = await Promise.all(
      Array.from({ length: 20 }, async () => {
        const server = createServer().listen(0, '127.0.0.1');
        await once(server, 'listening');
        return server;
      }),
    );
    try {
      const port = await refusedPort();
      expect(port).toBeGreaterThanOrEqual(20_000);
      expect(port).toBeLessThan(32_768);
      for (const server of servers) expect((server.address() as { port: number }).port).not.toBe(port);
      const socket = connect({ host: '127.0.0.1', port });
      const [error] = (await once(socket, 'error')) as [NodeJS.ErrnoException];
      expect(error.code).toBe('ECONNREFUSED');
    } finally {
      for (const server of servers) server.close();
    }
  });
});
