import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMailer, MailError, type TokenProvider } from '@mailport/core';
import { createMemorySendLog, type MailEvent } from '@mailport/events';
import { createGmailReportReader } from '@mailport/events/mailbox';
import { type Sandbox, startSandbox } from '@mailport/sandbox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const scope = (name: string): string => `https://www.googleapis.com/auth/gmail.${name}`;

describe('createGmailReportReader against the sandbox Gmail mailbox', () => {
  let sandbox: Sandbox;
  beforeAll(async () => {
    sandbox = await startSandbox();
  });
  afterAll(() => sandbox.close());

  /** Waits until the sandbox put its report about `messageId` into the inbox (right after the send). */
  const reported = async (messageId: string): Promise<void> => {
    for (let attempt = 0; attempt < 300; attempt++) {
      if (sandbox.events.list({ messageId }).some((event) => event.channel === 'gmail-mailbox')) return;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    throw new Error(`no report about ${messageId}`);
  };
  const tokens = (scopes: readonly string[]): TokenProvider => ({
    getAccessToken: async () => ({
      token: sandbox.tokens.issue({ issuer: 'google', subject: 'user@example.com', clientId: 'test', scopes }).token,
    }),
  });
  /** Drains what is in the inbox now, so that each test starts from an empty one. */
  const drain = async (): Promise<void> => {
    await createGmailReportReader({ url: sandbox.urls.gmail, sendLog: createMemorySendLog(), onEvents: () => {} }).poll();
  };

  it('joins the reports for bounce@, delay@ and ooto@ to the receipts; a second poll finds nothing new', async () => {
    await drain();
    const sendLog = createMemorySendLog();
    await using mailer = createMailer({ transport: sandbox.urls.gmail, sendLog });
    const receipts = new Map<string, string>();
    for (const local of ['bounce', 'delay', 'ooto']) {
      const receipt = await mailer.send({
        from: 'user@example.com',
        to: `${local}@simulator.amazonses.com`,
        subject: `Order for ${local}`,
        text: 'Hello',
        tags: ['orders'],
        metadata: { order: local },
      });
      receipts.set(local, receipt.messageId);
      await reported(receipt.messageId);
    }
    const seen: MailEvent[] = [];
    const reader = createGmailReportReader({ url: sandbox.urls.gmail, sendLog, onEvents: (events) => void seen.push(...events) });
    expect(await reader.poll()).toEqual({ read: 3, events: 3, skipped: 0, unmatched: 0 });
    const byType = new Map(seen.map((event) => [event.type, event]));
    expect(byType.get('bounced')).toMatchObject({
      source: 'gmail',
      messageId: receipts.get('bounce'),
      recipient: 'bounce@simulator.amazonses.com',
      bounce: { kind: 'hard', status: '5.1.1', reportingMta: 'googlemail.com' },
      tags: ['orders'],
      metadata: { order: 'bounce' },
    });
    expect(byType.get('deferred')).toMatchObject({ messageId: receipts.get('delay'), delay: { status: '4.4.7' } });
    expect(byType.get('auto-replied')).toMatchObject({ messageId: receipts.get('ooto'), recipient: 'ooto@simulator.amazonses.com' });
    expect(new Set(seen.map((event) => event.id)).size).toBe(3);

    expect(await reader.poll()).toEqual({ read: 0, events: 0, skipped: 0, unmatched: 0 });
    // A new reader (a restarted process) finds nothing either: the label says they were processed.
    expect(await createGmailReportReader({ url: sandbox.urls.gmail, sendLog, onEvents: () => {} }).poll()).toMatchObject({ read: 0 });
    await reader.stop();
  });

  it('labels a report about a message the send log never saw, with no events; leaves ordinary mail alone', async () => {
    await drain();
    await using unlogged = createMailer({ transport: sandbox.urls.gmail });
    const stranger = await unlogged.send({ from: 'user@example.com', to: 'bounce@simulator.amazonses.com', subject: 'x', text: 'x' });
    await reported(stranger.messageId);
    // Mail to one's own address lands in the inbox: not a report.
    await unlogged.send({ from: 'user@example.com', to: 'user@example.com', subject: 'Lunch?', text: 'Are you free?' });
    const seen: MailEvent[] = [];
    const reader = createGmailReportReader({
      url: sandbox.urls.gmail,
      sendLog: createMemorySendLog(),
      onEvents: (events) => void seen.push(...events),
    });
    expect(await reader.poll()).toEqual({ read: 2, events: 0, skipped: 1, unmatched: 1 });
    expect(seen).toEqual([]);
    expect(await reader.poll()).toEqual({ read: 0, events: 0, skipped: 0, unmatched: 0 });
    // The ordinary message is still unread and unlabelled: a new reader looks at it once more.
    expect(await createGmailReportReader({ url: sandbox.urls.gmail, sendLog: createMemorySendLog(), onEvents: () => {} }).poll()).toEqual({
      read: 1,
      events: 0,
      skipped: 1,
      unmatched: 0,
    });
  });

  it('does not label a report until onEvents resolved: a failing handler gets the same event ids next time', async () => {
    await drain();
    const sendLog = createMemorySendLog();
    await using mailer = createMailer({ transport: sandbox.urls.gmail, sendLog });
    const receipt = await mailer.send({ from: 'user@example.com', to: 'bounce@simulator.amazonses.com', subject: 'Retry', text: 'x' });
    await reported(receipt.messageId);
    const first: MailEvent[] = [];
    const failing = createGmailReportReader({
      url: sandbox.urls.gmail,
      sendLog,
      onEvents: (events) => {
        first.push(...events);
        throw new Error('database down');
      },
    });
    await expect(failing.poll()).rejects.toThrow('database down');
    const second: MailEvent[] = [];
    const reader = createGmailReportReader({ url: sandbox.urls.gmail, sendLog, onEvents: (events) => void second.push(...events) });
    expect(await reader.poll()).toMatchObject({ events: 1, unmatched: 0 });
    expect(second.map((event) => event.id)).toEqual(first.map((event) => event.id));
  });

  it('makes the label again when someone deleted it while the reader ran', async () => {
    await drain();
    const sendLog = createMemorySendLog();
    await using mailer = createMailer({ transport: sandbox.urls.gmail, sendLog });
    const reader = createGmailReportReader({ url: sandbox.urls.gmail, sendLog, onEvents: () => {} });
    await reported(
      (await mailer.send({ from: 'user@example.com', to: 'bounce@simulator.amazonses.com', subject: 'a', text: 'x' })).messageId,
    );
    expect(await reader.poll()).toMatchObject({ events: 1 });
    const bearer = `Bearer ${sandbox.tokens.issue({ issuer: 'google', subject: 'user@example.com', clientId: 't', scopes: ['https://mail.google.com/'] }).token}`;
    const labels = (await (await fetch(`${sandbox.httpUrl}/gmail/v1/users/me/labels`, { headers: { authorization: bearer } })).json()) as {
      labels: { id: string; name: string }[];
    };
    const id = labels.labels.find((label) => label.name === 'mailport-processed')?.id;
    const deleted = await fetch(`${sandbox.httpUrl}/gmail/v1/users/me/labels/${id}`, {
      method: 'DELETE',
      headers: { authorization: bearer },
    });
    expect(deleted.status).toBe(204);
    // The processed report is unlabelled again and comes back: the same event id, which the pipeline drops.
    await reported(
      (await mailer.send({ from: 'user@example.com', to: 'delay@simulator.amazonses.com', subject: 'b', text: 'x' })).messageId,
    );
    expect(await reader.poll()).toMatchObject({ events: 2 });
    expect(await reader.poll()).toMatchObject({ read: 0 });
  });

  it('start() polls until stop(); a service account URL asks for gmail.modify itself', async () => {
    await drain();
    const directory = await mkdtemp(join(tmpdir(), 'mailport-gmail-reader-'));
    try {
      const account = sandbox.accounts.google.serviceAccount;
      const keyFile = join(directory, 'key.json');
      await writeFile(
        keyFile,
        JSON.stringify({
          type: 'service_account',
          client_email: account.clientEmail,
          private_key: account.privateKey,
          private_key_id: account.privateKeyId,
        }),
      );
      const url = `gmail://user@example.com?credentials_file=${encodeURIComponent(keyFile)}&token_url=${encodeURIComponent(`${sandbox.httpUrl}/token`)}&endpoint=${encodeURIComponent(`${sandbox.httpUrl}/`)}`;
      const sendLog = createMemorySendLog();
      await using mailer = createMailer({ transport: sandbox.urls.gmail, sendLog });
      const receipt = await mailer.send({ from: 'user@example.com', to: 'bounce@simulator.amazonses.com', subject: 'Loop', text: 'x' });
      await reported(receipt.messageId);
      let resolve: (events: readonly MailEvent[]) => void = () => {};
      const promise = new Promise<readonly MailEvent[]>((done) => {
        resolve = done;
      });
      const errors: unknown[] = [];
      const reader = createGmailReportReader({
        url,
        sendLog,
        onEvents: (events) => resolve(events),
        onError: (error) => errors.push(error),
      });
      reader.start(20);
      const events = await promise;
      await reader.stop();
      expect(errors).toEqual([]);
      expect(events[0]).toMatchObject({ type: 'bounced', messageId: receipt.messageId });
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });

  it('names the missing scope: a gmail.send token cannot read, a gmail.readonly one cannot label', async () => {
    const sendOnly = createGmailReportReader({
      url: sandbox.urls.gmail,
      sendLog: createMemorySendLog(),
      onEvents: () => {},
      tokenProvider: tokens([scope('send')]),
    });
    const refused = await sendOnly.poll().catch((error: unknown) => error);
    expect(MailError.isInstance(refused)).toBe(true);
    expect(refused).toMatchObject({ code: 'configuration', statusCode: 403 });
    expect((refused as Error).message).toContain(scope('modify'));
    // gmail.readonly lists and reads, then cannot label: the events were handed over and come again next time.
    const sendLog = createMemorySendLog();
    await using mailer = createMailer({ transport: sandbox.urls.gmail, sendLog });
    await reported(
      (await mailer.send({ from: 'user@example.com', to: 'bounce@simulator.amazonses.com', subject: 'RO', text: 'x' })).messageId,
    );
    const handed: MailEvent[] = [];
    const readOnly = createGmailReportReader({
      url: sandbox.urls.gmail,
      sendLog,
      onEvents: (events) => void handed.push(...events),
      tokenProvider: tokens([scope('readonly')]),
    });
    await expect(readOnly.poll()).rejects.toMatchObject({ code: 'configuration', message: expect.stringContaining(scope('modify')) });
    expect(handed).toHaveLength(1);
    await drain();
    const stranger = createGmailReportReader({
      url: sandbox.urls.gmail,
      sendLog: createMemorySendLog(),
      onEvents: () => {},
      tokenProvider: { getAccessToken: async () => ({ token: 'ya29.forged' }) },
    });
    const denied = await stranger.poll().catch((error: unknown) => error);
    expect(denied).toMatchObject({ code: 'auth', statusCode: 401 });
    expect(String(denied)).not.toContain('ya29.forged');
  });

  it('refuses bad options when created, and never prints the URL credentials', () => {
    const sendLog = createMemorySendLog();
    const make =
      (url: string, extra: Record<string, unknown> = {}) =>
      () =>
        createGmailReportReader({ url, sendLog, onEvents: () => {}, ...extra });
    expect(make('graph://a@b.example')).toThrow(/not a gmail:\/\/ URL/);
    expect(make('gmail://nobody')).toThrow(/names no mailbox/);
    expect(make('not a url')).toThrow(MailError);
    expect(make(sandbox.urls.gmail, { label: '' })).toThrow(/label/);
    expect(make(sandbox.urls.gmail, { maxMessagesPerPoll: 0 })).toThrow(/maxMessagesPerPoll/);
    expect(make(sandbox.urls.gmail, { onEvents: 'nope' })).toThrow(/onEvents/);
    try {
      make('ses://AKIA:very-secret@us-east-1')();
    } catch (error) {
      expect(String(error)).not.toContain('very-secret');
    }
    const reader = createGmailReportReader({ url: sandbox.urls.gmail, sendLog, onEvents: () => {} });
    expect(() => reader.start(0)).toThrow(RangeError);
  });
});
