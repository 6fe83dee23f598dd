import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMailer, MailError, type TokenProvider } from '@mailport/core';
import { refusedPort } from '@mailport/core/testing';
import {
  createEventPipeline,
  createMemorySendLog,
  createMemorySuppressionStore,
  type MailEvent,
  suppressionFilter,
} from '@mailport/events';
import { createGraphReportReader } from '@mailport/events/mailbox';
import { type Sandbox, startSandbox } from '@mailport/sandbox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

describe('createGraphReportReader against the sandbox Exchange Online mailbox', () => {
  let sandbox: Sandbox;
  beforeAll(async () => {
    sandbox = await startSandbox();
  });
  afterAll(() => sandbox.close());

  const reported = async (target: Sandbox, messageId: string): Promise<void> => {
    for (let attempt = 0; attempt < 300; attempt++) {
      if (target.events.list({ messageId }).some((event) => event.channel === 'graph-mailbox')) return;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    throw new Error(`no report about ${messageId}`);
  };
  const delegated = (scopes: readonly string[]): TokenProvider => ({
    getAccessToken: async () => ({
      token: sandbox.tokens.issue({
        issuer: 'microsoft',
        subject: 'sender@contoso.example',
        clientId: 'test',
        scopes: scopes.map((name) => `https://graph.microsoft.com/${name}`),
      }).token,
    }),
  });
  const drain = async (): Promise<void> => {
    await createGraphReportReader({ url: sandbox.urls.graph, sendLog: createMemorySendLog(), onEvents: () => {} }).poll();
  };

  it('joins the NDR, the delay notice and the auto-reply to the receipts; a second poll finds nothing new', async () => {
    const sendLog = createMemorySendLog();
    await using mailer = createMailer({ transport: sandbox.urls.graph, sendLog });
    const receipts = new Map<string, string>();
    for (const local of ['bounce', 'delay', 'ooto']) {
      const receipt = await mailer.send({
        from: 'sender@contoso.example',
        to: `${local}@simulator.amazonses.com`,
        subject: `Invoice for ${local}`,
        text: 'Hello',
        tags: ['billing'],
      });
      receipts.set(local, receipt.messageId);
      await reported(sandbox, receipt.messageId);
    }
    const seen: MailEvent[] = [];
    const reader = createGraphReportReader({ url: sandbox.urls.graph, sendLog, onEvents: (events) => void seen.push(...events) });
    expect(await reader.poll()).toEqual({ read: 3, events: 3, skipped: 0, unmatched: 0 });
    const byType = new Map(seen.map((event) => [event.type, event]));
    expect(byType.get('bounced')).toMatchObject({
      source: 'graph',
      messageId: receipts.get('bounce'),
      recipient: 'bounce@simulator.amazonses.com',
      bounce: { kind: 'hard', status: '5.1.10' },
      tags: ['billing'],
    });
    expect(byType.get('bounced')?.bounce?.diagnostic).toContain('RESOLVER.ADR.RecipientNotFound');
    expect(byType.get('deferred')).toMatchObject({ messageId: receipts.get('delay'), delay: { status: '4.4.7' } });
    expect(byType.get('auto-replied')).toMatchObject({ messageId: receipts.get('ooto') });
    expect(await reader.poll()).toEqual({ read: 0, events: 0, skipped: 0, unmatched: 0 });
    await reader.stop();
  });

  it("a delegated transport URL (refresh token file) asks for Mail.ReadWrite, not the transport's Mail.Send", async () => {
    await drain();
    const sendLog = createMemorySendLog();
    await using mailer = createMailer({ transport: sandbox.urls.graph, sendLog });
    const receipt = await mailer.send({ from: 'sender@contoso.example', to: 'bounce@simulator.amazonses.com', subject: 'Hi', text: 'x' });
    await reported(sandbox, receipt.messageId);
    const directory = await mkdtemp(join(tmpdir(), 'mailport-graph-reader-'));
    try {
      const tokenFile = join(directory, 'refresh-token');
      await writeFile(tokenFile, JSON.stringify({ refresh_token: sandbox.accounts.microsoft.refreshToken }), { mode: 0o600 });
      const url = new URL(sandbox.urls.graph.replace(/^graph:/, 'http:'));
      url.searchParams.delete('client_secret');
      url.searchParams.set('refresh_token_file', tokenFile);
      const delegatedUrl = url.href.replace(/^http:/, 'graph:');
      // The inbox routes take a delegated token only with Mail.Read(Write) in its scopes: the
      // transport's own scope, Mail.Send, would be refused (configuration, naming Mail.ReadWrite).
      const seen: MailEvent[] = [];
      const reader = createGraphReportReader({ url: delegatedUrl, sendLog, env: {}, onEvents: (events) => void seen.push(...events) });
      expect(await reader.poll()).toMatchObject({ events: 1 });
      expect(seen[0]).toMatchObject({ type: 'bounced', messageId: receipt.messageId });
      await reader.stop();
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });

  it('feeds suppression: after the NDR is read, the next send to that address makes no request', async () => {
    await drain();
    const sendLog = createMemorySendLog();
    const store = createMemorySuppressionStore();
    await using mailer = createMailer({ transport: sandbox.urls.graph, sendLog, suppression: suppressionFilter(store) });
    const first = await mailer.send({ from: 'sender@contoso.example', to: 'bounce@simulator.amazonses.com', subject: 'One', text: 'x' });
    await reported(sandbox, first.messageId);
    const pipeline = createEventPipeline({ sendLog, suppression: store });
    const reader = createGraphReportReader({ url: sandbox.urls.graph, sendLog, onEvents: (events) => pipeline.handle(events) });
    expect(await reader.poll()).toMatchObject({ events: 1 });
    const sends = sandbox.requests.count('graph.sendMail');
    expect(sends).toBeGreaterThan(0);
    await expect(
      mailer.send({ from: 'sender@contoso.example', to: 'Bounce@simulator.amazonses.com', subject: 'Two', text: 'x' }),
    ).rejects.toMatchObject({ code: 'recipient-rejected' });
    expect(sandbox.requests.count('graph.sendMail')).toBe(sends);
  });

  it('reads at most maxMessagesPerPoll; a report about an unknown message is marked read without events', async () => {
    await drain();
    await using unlogged = createMailer({ transport: sandbox.urls.graph });
    for (let index = 0; index < 3; index++) {
      const receipt = await unlogged.send({
        from: 'sender@contoso.example',
        to: 'bounce@simulator.amazonses.com',
        subject: `n${index}`,
        text: 'x',
      });
      await reported(sandbox, receipt.messageId);
    }
    const seen: MailEvent[] = [];
    const reader = createGraphReportReader({
      url: sandbox.urls.graph,
      sendLog: createMemorySendLog(),
      onEvents: (events) => void seen.push(...events),
      maxMessagesPerPoll: 2,
    });
    expect(await reader.poll()).toEqual({ read: 2, events: 0, skipped: 0, unmatched: 2 });
    expect(await reader.poll()).toEqual({ read: 1, events: 0, skipped: 0, unmatched: 1 });
    expect(await reader.poll()).toEqual({ read: 0, events: 0, skipped: 0, unmatched: 0 });
    expect(seen).toEqual([]);
  });

  it('names Mail.ReadWrite when the app or the token lacks it', async () => {
    await using sendOnly = await startSandbox({ accounts: { microsoft: { applicationPermissions: ['Mail.Send'] } } });
    const app = createGraphReportReader({ url: sendOnly.urls.graph, sendLog: createMemorySendLog(), onEvents: () => {} });
    const refused = await app.poll().catch((error: unknown) => error);
    expect(MailError.isInstance(refused)).toBe(true);
    expect(refused).toMatchObject({ code: 'configuration', statusCode: 403, providerCode: 'ErrorAccessDenied' });
    expect((refused as Error).message).toContain('Mail.ReadWrite');
    expect(String(refused)).not.toContain(sendOnly.accounts.microsoft.clientSecret);

    // Mail.Read lists and reads, but cannot mark read.
    await using mailer = createMailer({ transport: sandbox.urls.graph, sendLog: createMemorySendLog() });
    await reported(
      sandbox,
      (await mailer.send({ from: 'sender@contoso.example', to: 'ooto@simulator.amazonses.com', subject: 'r', text: 'x' })).messageId,
    );
    const reader = createGraphReportReader({
      url: sandbox.urls.graph,
      sendLog: createMemorySendLog(),
      onEvents: () => {},
      tokenProvider: delegated(['Mail.Read']),
    });
    await expect(reader.poll()).rejects.toMatchObject({ code: 'configuration', message: expect.stringContaining('Mail.ReadWrite') });
    const full = createGraphReportReader({
      url: sandbox.urls.graph,
      sendLog: createMemorySendLog(),
      onEvents: () => {},
      tokenProvider: delegated(['Mail.ReadWrite']),
    });
    expect(await full.poll()).toMatchObject({ read: 1, unmatched: 1 });
  });

  it('does not follow an @odata.nextLink to another host with the token', async () => {
    const authorizations: (string | undefined)[] = [];
    const server = createServer((request, response) => {
      authorizations.push(request.headers.authorization);
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ value: [], '@odata.nextLink': 'http://attacker.example/v1.0/steal' }));
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      const { port } = server.address() as AddressInfo;
      const reader = createGraphReportReader({
        url: `graph://sender@contoso.example?endpoint=${encodeURIComponent(`http://127.0.0.1:${port}/v1.0`)}`,
        sendLog: createMemorySendLog(),
        onEvents: () => {},
        tokenProvider: { getAccessToken: async () => ({ token: 'secret-token' }) },
      });
      const refused = await reader.poll().catch((error: unknown) => error);
      expect(refused).toMatchObject({ code: 'configuration', message: expect.stringContaining('nextLink') });
      expect(authorizations).toEqual(['Bearer secret-token']);
      expect(String(refused)).not.toContain('secret-token');
      await reader.stop();
    } finally {
      server.close();
    }
  });

  it('maps answers without a report: 429 is rate-limited, 500 transient, a closed port transient, all with the mailbox named', async () => {
    const statuses = [429, 500];
    const server = createServer((_request, response) => {
      const status = statuses.shift() ?? 503;
      response.writeHead(status, { 'content-type': 'application/json', 'retry-after': '7' });
      response.end(JSON.stringify({ error: { code: 'ApplicationThrottled', message: 'slow down \u0000\u202e' } }));
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    const make = (endpoint: string) =>
      createGraphReportReader({
        url: `graph://sender@contoso.example?endpoint=${encodeURIComponent(endpoint)}`,
        sendLog: createMemorySendLog(),
        onEvents: () => {},
        tokenProvider: { getAccessToken: async () => ({ token: 't' }) },
      });
    try {
      const reader = make(`http://127.0.0.1:${port}/v1.0`);
      await expect(reader.poll()).rejects.toMatchObject({ code: 'rate-limited', retryAfterMs: 7000 });
      const failed = await reader.poll().catch((error: unknown) => error);
      expect(failed).toMatchObject({ code: 'transient', statusCode: 500 });
      expect((failed as Error).message).toContain('sender@contoso.example');
      expect((failed as Error).message).not.toMatch(/[\u0000\u202e]/);
    } finally {
      server.close();
    }
    await expect(make(`http://127.0.0.1:${await refusedPort()}/v1.0`).poll()).rejects.toMatchObject({ code: 'transient' });
  });

  it('maps an untrusted certificate as core does for every adapter: configuration, with the remedy, not a transient to retry', async () => {
    const reader = createGraphReportReader({
      url: `graph://sender@contoso.example?endpoint=${encodeURIComponent(`${sandbox.httpsUrl}/v1.0`)}`,
      sendLog: createMemorySendLog(),
      onEvents: () => {},
      tokenProvider: { getAccessToken: async () => ({ token: 't' }) },
    });
    const failed = await reader.poll().catch((error: unknown) => error);
    expect(failed).toMatchObject({ code: 'configuration', retryable: false });
    expect((failed as MailError).message).toMatch(
      /list inbox of Graph mailbox sender@contoso\.example: the TLS certificate is not trusted/,
    );
    expect((failed as MailError).remediation).toMatch(/CA/);
    await reader.stop();
  });

  it('start() keeps polling after a failure, reporting each to onError; a throwing onError stops nothing', async () => {
    const url = `graph://sender@contoso.example?endpoint=${encodeURIComponent(`http://127.0.0.1:${await refusedPort()}/v1.0`)}`;
    const errors: unknown[] = [];
    let calls = 0;
    const reader = createGraphReportReader({
      url,
      sendLog: createMemorySendLog(),
      onEvents: () => {},
      tokenProvider: { getAccessToken: async () => ({ token: 't' }) },
      onError: (error) => {
        errors.push(error);
        calls++;
        if (calls === 1) throw new Error('the handler itself failed');
      },
    });
    reader.start(10);
    reader.start(10); // a second start is ignored
    while (errors.length < 3) await new Promise((resolve) => setTimeout(resolve, 10));
    await reader.stop();
    const settled = errors.length;
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(errors.length).toBe(settled);
    expect(errors.every((error) => MailError.isInstance(error) && error.code === 'transient')).toBe(true);
  });

  it('refuses bad options when created', () => {
    const sendLog = createMemorySendLog();
    const make = (url: string) => () => createGraphReportReader({ url, sendLog, onEvents: () => {} });
    expect(make('gmail://a@b.example')).toThrow(/not a graph:\/\/ URL/);
    expect(make('graph://contoso.example')).toThrow(/names no mailbox/);
    expect(make('graph://a@b.example?endpoint=ftp%3A%2F%2Fx')).toThrow(/endpoint/);
  });
});
