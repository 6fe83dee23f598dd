// The polling loop both mailbox readers share: list what is not processed yet, fetch each message,
// parse and join it, hand the events over, and only then mark it processed.
import { MailError, type TokenProvider } from '@mailport/core';
import type { VerpOptions } from '@mailport/core/verp';
import type { EventSource, MailEvent, SendLog } from '../model.js';
import { joinReport } from '../reports/report-join.js';
import { parseReport } from '../reports/report-parse.js';
import { MessageTooLarge } from './mailbox-http.js';

/** Options both mailbox readers take. */
export interface MailboxReportReaderOptions {
  /** The transport URL the application sends with (`gmail://...`, `graph://...`): its mailbox and credentials. */
  readonly url: string;
  /** The send log the mailer writes: a report is believed only about a message in it. */
  readonly sendLog: SendLog;
  /**
   * Takes each message's events. The message is marked processed only after this resolves; when
   * it throws, the poll rejects and the message is read again next time (event ids are stable).
   */
  onEvents(events: readonly MailEvent[]): void | Promise<void>;
  /**
   * Access tokens instead of the URL's credentials: a delegated Graph token with Mail.ReadWrite,
   * or a test's. Default: built from the URL by the transport package's OAuth layer.
   */
  readonly tokenProvider?: TokenProvider | undefined;
  /** Where the OAuth layer reads credentials the URL leaves out (`GOOGLE_*`, `AZURE_*`). Default `process.env`. */
  readonly env?: Readonly<Record<string, string | undefined>> | undefined;
  /** The SMTP transport's VERP settings, when the same send log holds VERP-signed messages. */
  readonly verp?: VerpOptions | undefined;
  /** Most messages fetched in one poll. Default 100. */
  readonly maxMessagesPerPoll?: number | undefined;
  /** A larger message is left alone (counted as skipped). Default 10 MB. */
  readonly maxMessageBytes?: number | undefined;
  /** Longest silence of one API request, in ms. Default 30 000. */
  readonly timeoutMs?: number | undefined;
  /** Failures of the polls `start()` runs. Default: `console.error` with the error's message (which never holds a secret). */
  readonly onError?: ((error: unknown) => void) | undefined;
}

/** What one poll did. */
export interface MailboxPollResult {
  /** Messages fetched. */
  readonly read: number;
  /** Events handed to `onEvents`. */
  readonly events: number;
  /**
   * Messages left as they were: not a report (a person's reply), or too large. They stay unread and
   * unlabelled, and this reader does not fetch them again until it is created anew.
   */
  readonly skipped: number;
  /** Reports about no message in the send log: marked processed, no events. */
  readonly unmatched: number;
}

/** A polling reader of a mailbox's bounce reports. */
export interface MailboxReportReader {
  /** Reads once: at most `maxMessagesPerPoll` messages. A poll already running is joined, not repeated. */
  poll(): Promise<MailboxPollResult>;
  /** Polls now and then every `intervalMs` after the previous poll ends (default 60 000, at least 10). Failures go to `onError`. */
  start(intervalMs?: number): void;
  /** Stops polling; resolves once a running poll has finished. */
  stop(): Promise<void>;
}

/** What a provider adapter does for the loop. */
export interface MailboxAdapter {
  /** Ids of messages not yet processed, newest first, leaving out `known` (skipped before), at most `limit`. */
  list(limit: number, known: ReadonlySet<string>): Promise<string[]>;
  /** The message's bytes; `undefined` when it is gone (deleted since the listing) or the answer held none. */
  fetch(id: string): Promise<Uint8Array | undefined>;
  /** Labels it `mailport-processed` (Gmail) or marks it read (Graph). */
  markProcessed(id: string): Promise<void>;
  close(): void;
}

/** How many skipped ids a reader remembers. */
const rememberSkipped = 10_000;

/** Validated numbers of {@link MailboxReportReaderOptions}. */
export function readerLimits(
  options: MailboxReportReaderOptions,
  name: string,
): { maxMessages: number; maxBytes: number; timeoutMs: number } {
  const positive = (option: string, value: number | undefined, fallback: number): number => {
    const result = value ?? fallback;
    if (!Number.isSafeInteger(result) || result < 1)
      throw new MailError('configuration', `${name}: ${option} must be a positive whole number`);
    return result;
  };
  if (typeof options.onEvents !== 'function') throw new MailError('configuration', `${name}: onEvents must be a function`);
  if (typeof options.sendLog?.get !== 'function') throw new MailError('configuration', `${name}: sendLog is required`);
  return {
    maxMessages: positive('maxMessagesPerPoll', options.maxMessagesPerPoll, 100),
    maxBytes: positive('maxMessageBytes', options.maxMessageBytes, 10 * 1024 * 1024),
    timeoutMs: positive('timeoutMs', options.timeoutMs, 30_000),
  };
}

/**
 * The reader around an adapter, which is made on first use (loading the provider's OAuth layer)
 * and again after `stop()`.
 */
export function createMailboxReader(
  options: MailboxReportReaderOptions,
  settings: { source: EventSource; mailbox: string; maxMessages: number; maxBytes: number; connect: () => Promise<MailboxAdapter> },
): MailboxReportReader {
  const skipped = new Set<string>();
  let adapter: Promise<MailboxAdapter> | undefined;
  let running: Promise<MailboxPollResult> | undefined;
  let timer: NodeJS.Timeout | undefined;
  let started = false;

  const remember = (id: string): void => {
    skipped.add(id);
    if (skipped.size > rememberSkipped) skipped.delete(skipped.values().next().value as string);
  };

  const pollOnce = async (): Promise<MailboxPollResult> => {
    adapter ??= settings.connect().catch((error: unknown) => {
      adapter = undefined;
      throw error;
    });
    const mailbox = await adapter;
    const counts = { read: 0, events: 0, skipped: 0, unmatched: 0 };
    for (const id of await mailbox.list(settings.maxMessages, skipped)) {
      // An answer past the limit is not read to its end: left alone, as a message over it.
      const raw = await mailbox.fetch(id).catch((error: unknown) => {
        if (error instanceof MessageTooLarge) return 'too-large' as const;
        throw error;
      });
      if (raw === undefined) continue;
      counts.read++;
      if (raw === 'too-large' || raw.byteLength > settings.maxBytes) {
        remember(id);
        counts.skipped++;
        continue;
      }
      const report = await parseReport(raw, { maxBytes: settings.maxBytes });
      if (report.kind === 'unrecognised') {
        remember(id);
        counts.skipped++;
        continue;
      }
      const joined = await joinReport(report, {
        sendLog: options.sendLog,
        source: settings.source,
        verp: options.verp,
        envelopeTo: settings.mailbox,
      });
      if (joined.events.length > 0) {
        await options.onEvents(joined.events);
        counts.events += joined.events.length;
      } else counts.unmatched++;
      await mailbox.markProcessed(id);
    }
    return counts;
  };

  const poll = (): Promise<MailboxPollResult> => {
    running ??= pollOnce().finally(() => {
      running = undefined;
    });
    return running;
  };

  const report = (error: unknown): void => {
    try {
      if (options.onError !== undefined) options.onError(error);
      else console.error(`mailport ${settings.source} report reader: ${error instanceof Error ? error.message : String(error)}`);
    } catch {
      // A throwing onError must not become an unhandled rejection that stops the process.
    }
  };

  return {
    poll,
    start(intervalMs = 60_000) {
      if (!Number.isFinite(intervalMs) || intervalMs < 10) throw new RangeError('start: intervalMs must be at least 10');
      if (started) return;
      started = true;
      const tick = (): void => {
        timer = undefined;
        poll()
          .catch(report)
          .finally(() => {
            if (started) {
              timer = setTimeout(tick, intervalMs);
              timer.unref();
            }
          });
      };
      tick();
    },
    async stop() {
      started = false;
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      await running?.catch(() => undefined);
      const open = adapter;
      adapter = undefined;
      (await open?.catch(() => undefined))?.close();
    },
  };
}

/** Loads a transport package's OAuth layer, or says which package to install. */
export async function loadOAuth<Module>(packageName: string, reader: string): Promise<Module> {
  // A variable specifier: the package is an optional peer, loaded only when a reader is used.
  const specifier: string = `${packageName}/oauth`;
  try {
    return (await import(specifier)) as Module;
  } catch (error) {
    throw new MailError('configuration', `${reader} needs the package ${packageName}: ${(error as Error).message}`, {
      remediation: `Run: npm install ${packageName}`,
      cause: error,
    });
  }
}
