// The SMTP emulator's bounce scenarios: after accepting a message for bounce@, delay@ or ooto@
// simulator.amazonses.com, the sandbox plays the Postfix MTA that could not deliver it (or the
// recipient's vacation program) and mails the report back to the message's envelope sender, from
// the null sender, at the application's bounce receiver.
import { setTimeout as sleep } from 'node:timers/promises';
import nodemailer from 'nodemailer';
import type { EmulatorContext } from '../context.js';
import { fieldsNamed, fieldValue, splitMessage } from '../raw-message.js';
import { mailboxScenarioOf } from './mailbox-reports.js';
import { type BuiltSmtpReport, buildSmtpReport, reportingMta } from './postfix-report.js';

/** `startSandbox({ bounces })`: where the SMTP emulator mails the reports of its scenario recipients. */
export interface SandboxBounceOptions {
  /**
   * The bounce receiver, `smtp://127.0.0.1:PORT` (no credentials: reports are mailed as an MTA
   * mails them, from `<>`, with STARTTLS when offered and the certificate unchecked, as MTAs do).
   * Default: none (scenario recipients are accepted and nothing is mailed back).
   */
  readonly smtp?: string | undefined;
  /**
   * How long after accepting a message its report is mailed, in ms. Default 200: a real MTA takes
   * seconds to days, and the application records the send in its send log once the server has
   * answered, which the report must not overtake.
   */
  readonly delayMs?: number | undefined;
}

/** One recipient of an accepted message, with its RFC 3461 NOTIFY when the client gave one. */
export interface AcceptedRecipient {
  readonly address: string;
  /** Upper case: `FAILURE`, `DELAY`, `SUCCESS`, `NEVER`. */
  readonly notify?: readonly string[] | undefined;
}

/** A message the SMTP emulator accepted, as the bounce scenarios need it. */
export interface AcceptedSmtpMessage {
  readonly storeId: string;
  readonly raw: Buffer;
  /** MAIL FROM; `''` for the null sender. */
  readonly envelopeFrom: string;
  readonly recipients: readonly AcceptedRecipient[];
  /** RFC 3461 ENVID, xtext-decoded (smtp-server decodes it). */
  readonly envid?: string | undefined;
  readonly ret?: 'HDRS' | 'FULL' | undefined;
}

/** The SMTP emulator's bounce scenarios. */
export interface SmtpBounces {
  /** Starts the reports `message` calls for, in the background; never throws. */
  accepted(message: AcceptedSmtpMessage): void;
  /** Resolves once every report under way was delivered or given up. */
  idle(): Promise<void>;
  /** Waits for reports under way, then closes the SMTP client. */
  close(): Promise<void>;
}

// A receiver answering 4xx (or not answering) is tried again, as an MTA would, but briefly.
const retryDelaysMs = [250, 1_000];

/** Reads `smtp://host:port`; a TypeError for anything else (the caller's mistake, thrown by startSandbox). */
function parseTarget(url: string): { host: string; port: number } {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new TypeError('startSandbox: bounces.smtp must be a URL such as smtp://127.0.0.1:2525');
  }
  if (parsed.protocol !== 'smtp:' || parsed.hostname === '' || parsed.port === '' || parsed.username !== '' || parsed.search !== '') {
    throw new TypeError('startSandbox: bounces.smtp must be smtp://host:port, without credentials or parameters');
  }
  return { host: parsed.hostname.replace(/^\[(.*)\]$/, '$1'), port: Number(parsed.port) };
}

/**
 * The bounce scenarios of the SMTP emulator, delivering to `options.smtp`. Each report is recorded
 * in the sandbox's event log (channel `smtp`) with where it went and what the receiver answered.
 * A message from the null sender gets no report (RFC 5321 6.1), nor a recipient whose NOTIFY
 * leaves the report out (RFC 3461: `NEVER`, or a list without `FAILURE` or `DELAY`); auto-replies
 * are not DSNs and ignore NOTIFY, but never go to the null sender either (RFC 3834).
 */
export function createSmtpBounces(
  options: SandboxBounceOptions,
  context: Pick<EmulatorContext, 'events' | 'now'>,
): SmtpBounces | undefined {
  if (options.smtp === undefined) return undefined;
  const target = parseTarget(options.smtp);
  const delayMs = options.delayMs ?? 200;
  if (!Number.isFinite(delayMs) || delayMs < 0 || delayMs > 600_000)
    throw new TypeError('startSandbox: bounces.delayMs must be 0 to 600000');
  const pending = new Set<Promise<void>>();
  let closed = false;
  const transporter = nodemailer.createTransport({
    host: target.host,
    port: target.port,
    secure: false,
    name: reportingMta,
    // Opportunistic STARTTLS without certificate checks, as MTAs deliver (RFC 7435).
    tls: { rejectUnauthorized: false },
    connectionTimeout: 5_000,
    greetingTimeout: 5_000,
    socketTimeout: 10_000,
    disableFileAccess: true,
    disableUrlAccess: true,
    logger: false,
  });
  const where = `SMTP ${target.host.includes(':') ? `[${target.host}]` : target.host}:${target.port}`;

  const deliver = async (report: BuiltSmtpReport, to: string): Promise<string> => {
    let last = '';
    for (let attempt = 1; ; attempt++) {
      try {
        const info = (await transporter.sendMail({ envelope: { from: '', to: [to] }, raw: report.raw })) as { response?: string };
        return `${where} -> ${info.response ?? '250'} (attempt ${attempt})`;
      } catch (error) {
        const failure = error as { responseCode?: number; response?: string; message?: string };
        last = failure.response ?? failure.message ?? String(error);
        const permanent = failure.responseCode !== undefined && failure.responseCode >= 500;
        const delay = retryDelaysMs[attempt - 1];
        if (permanent || delay === undefined || closed) return `${where} -> ${last} (attempt ${attempt}, given up)`;
        await sleep(delay);
      }
    }
  };

  const report = async (
    message: AcceptedSmtpMessage,
    recipient: AcceptedRecipient,
    scenario: 'bounce' | 'delay' | 'ooto',
  ): Promise<void> => {
    const messageId = fieldsNamed(splitMessage(message.raw), 'Message-ID').map(fieldValue)[0] || undefined;
    const type = scenario === 'bounce' ? 'bounced' : scenario === 'delay' ? 'deferred' : 'auto-replied';
    const record = (detail: string): void => {
      context.events.record({ storeId: message.storeId, messageId, type, recipient: recipient.address, channel: 'smtp', detail });
    };
    if (message.envelopeFrom === '') return record('not mailed: the message came from the null sender');
    const notify = recipient.notify;
    const wanted = scenario === 'bounce' ? 'FAILURE' : 'DELAY';
    if (scenario !== 'ooto' && notify !== undefined && !notify.includes(wanted)) {
      return record(`not mailed: NOTIFY=${notify.join(',')}`);
    }
    await sleep(delayMs);
    const now = new Date(context.now());
    const built = await buildSmtpReport(scenario, {
      raw: message.raw,
      envelopeFrom: message.envelopeFrom,
      recipient: recipient.address,
      envid: message.envid,
      ret: message.ret,
      arrivedAt: now,
      now,
    });
    record(await deliver(built, message.envelopeFrom));
  };

  const idle = async (): Promise<void> => {
    while (pending.size > 0) await Promise.all([...pending]);
  };

  return {
    accepted(message) {
      if (closed) return;
      for (const recipient of message.recipients) {
        const scenario = mailboxScenarioOf(recipient.address);
        if (scenario === undefined) continue;
        const task: Promise<void> = report(message, recipient, scenario)
          .catch(() => {
            // A report that cannot be built or mailed never fails the send it is about.
          })
          .finally(() => pending.delete(task));
        pending.add(task);
      }
    },
    idle,
    async close() {
      closed = true;
      await idle();
      transporter.close();
    },
  };
}
