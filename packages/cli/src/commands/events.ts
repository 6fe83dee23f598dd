import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { MailError } from '@mailport/core';
import type { MailEvent, SendLog } from '@mailport/events';
import { exitCodeFor, exitCodes, UsageError } from '../exit-codes.js';
import type { CliIo } from '../io.js';
import { configString, holdsCredential, isObject, readJsonConfig } from '../json-config.js';
import { printError } from '../output.js';

export const eventsHelp = `mailport events: receive what happened after the send and print it, one JSON line per event

  mailport events --config events.json [--raw] [--quiet]

  --config FILE   the receivers to run, JSON (below)
  --raw           add each event's "raw" field: the provider's event or the report as received
  --quiet         print no events (run the receivers for the suppression file only)

The configuration (JSON; any string may be "env:NAME", read from the environment at start):
  {
    "ses":   { "listen": "127.0.0.1:8080", "path": "/ses", "topics": ["arn:aws:sns:eu-west-1:123456789012:ses-events"],
               "basicAuth": { "username": "env:SNS_USER", "password": "env:SNS_PASSWORD" } },
    "smtp":  { "listen": "127.0.0.1:2526", "domain": "bounces.shop.example", "verpSecret": "env:VERP_SECRET" },
    "gmail": { "url": "env:GMAIL_URL", "intervalSeconds": 60 },
    "graph": { "url": "env:GRAPH_URL", "intervalSeconds": 60 },
    "sendLog": "send-log.jsonl",
    "suppression": "suppressions.jsonl"
  }
At least one of ses, smtp, gmail, graph. "ses" is an SNS HTTP(S) endpoint for SES event publishing
(put TLS in front of it); it verifies every message, accepts only the listed topics and confirms
their subscriptions. "smtp" is the bounce receiver for the VERP domain the SMTP transport uses
(verp_domain, verp_secret). "gmail" and "graph" read bounce reports from the sender's mailbox.
"sendLog" is the file "mailport send --send-log" and createFileSendLog write: reports are joined
to the messages it holds (required with smtp, gmail or graph). "suppression" is the file
"mailport suppression" and createFileSuppressionStore use: hard bounces, complaints, unsubscribes
and repeated soft bounces are added to it.
Other fields: ses.maxAgeMs, ses.maxBodyBytes, ses.certificates { hosts, caFile, timeoutMs }
(an SNS emulator such as mailport dev), smtp.local (the VERP local part, default bounces),
smtp.maxMessageBytes.

Each event: {"id","type","timestamp","source","recipient","messageId","providerMessageId",
"bounce","delay","complaint","url","tags","metadata","providerEventType","joinedBy"} (null when unknown).
An event is printed once (repeats, such as an SNS retry, are dropped).

Stopping: SIGTERM or Ctrl-C stops the receivers and exits 0; a second signal exits at once.
Exit codes: 0 stopped cleanly, 2 usage, 4 configuration (the file, a port in use).
`;

/** `mailport events --config FILE`, as read. */
export interface EventsConfig {
  readonly ses:
    | {
        readonly host: string;
        readonly port: number;
        readonly path: string;
        readonly topics: readonly string[];
        readonly basicAuth: { readonly username: string; readonly password: string } | undefined;
        readonly maxAgeMs: number | undefined;
        readonly maxBodyBytes: number | undefined;
        readonly certificates:
          | { readonly hosts: readonly string[]; readonly ca: string | undefined; readonly timeoutMs: number | undefined }
          | undefined;
      }
    | undefined;
  readonly smtp:
    | {
        readonly host: string;
        readonly port: number;
        readonly domain: string;
        readonly verpSecret: string | undefined;
        readonly local: string | undefined;
        readonly maxMessageBytes: number | undefined;
      }
    | undefined;
  readonly gmail: { readonly url: string; readonly intervalMs: number } | undefined;
  readonly graph: { readonly url: string; readonly intervalMs: number } | undefined;
  readonly sendLog: string | undefined;
  readonly suppression: string | undefined;
  /** Literal secrets in the file, for a note. */
  readonly notes: readonly string[];
}

/** `mailport events`. */
export async function runEvents(argv: readonly string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      config: { type: 'string' },
      raw: { type: 'boolean', default: false },
      quiet: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) {
    io.stdout.write(eventsHelp);
    return exitCodes.ok;
  }
  if (values.config === undefined) throw new UsageError('--config FILE is required');
  if (values.raw && values.quiet) throw new UsageError('--raw prints more, --quiet prints nothing: choose one');

  let config: EventsConfig;
  try {
    config = await readConfig(resolve(io.cwd, values.config), values.config, io);
  } catch (error) {
    printError(io, error);
    return exitCodeFor(error);
  }
  for (const note of config.notes) io.stderr.write(`mailport events: note: ${note}\n`);

  const events = await import('@mailport/events');
  const sendLog = config.sendLog === undefined ? undefined : events.createFileSendLog(resolve(io.cwd, config.sendLog));
  const suppression = config.suppression === undefined ? undefined : events.createFileSuppressionStore(resolve(io.cwd, config.suppression));
  const pipeline = events.createEventPipeline({
    ...(sendLog === undefined ? {} : { sendLog }),
    ...(suppression === undefined ? {} : { suppression }),
    onEvent: (event) => {
      if (!values.quiet) io.stdout.write(`${jsonLine(eventLine(event, values.raw))}\n`);
    },
  });
  // A failure (the suppression file cannot be written, ...) goes back to the source, which answers
  // 500 (SNS) or 451 (SMTP) so that the provider sends it again; it is said here too, or nobody would know.
  const onEvents = async (batch: readonly MailEvent[]): Promise<void> => {
    try {
      await pipeline.handle(batch);
    } catch (error) {
      io.stderr.write(
        `mailport events: ${batch.length} event${batch.length === 1 ? '' : 's'} not taken, to come again: ${printable((error as Error)?.message ?? String(error), 300)}\n`,
      );
      throw error;
    }
  };

  const closers: (() => Promise<void>)[] = [];
  const closeAll = async (): Promise<void> => {
    for (const close of closers.splice(0).reverse()) await close().catch(() => {});
  };
  try {
    if (config.ses !== undefined) {
      const ses = config.ses;
      const { createSesWebhook } = await import('@mailport/events/ses');
      const webhook = createSesWebhook({
        topics: ses.topics,
        onEvents,
        ...(ses.basicAuth === undefined ? {} : { basicAuth: ses.basicAuth }),
        ...(ses.maxAgeMs === undefined ? {} : { maxAgeMs: ses.maxAgeMs }),
        ...(ses.maxBodyBytes === undefined ? {} : { maxBodyBytes: ses.maxBodyBytes }),
        ...(ses.certificates === undefined
          ? {}
          : {
              certificates: {
                hosts: ses.certificates.hosts,
                ...(ses.certificates.ca === undefined ? {} : { ca: ses.certificates.ca }),
                ...(ses.certificates.timeoutMs === undefined ? {} : { timeoutMs: ses.certificates.timeoutMs }),
              },
            }),
      });
      const server = createServer((request, response) => {
        // Only the configured path reaches the webhook; a scanner's other paths get a bare 404.
        if (pathOf(request.url) !== ses.path) {
          response.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found\n');
          return;
        }
        webhook.node(request, response);
      });
      server.requestTimeout = 30_000;
      server.headersTimeout = 10_000;
      const port = await listen(server, ses.host, ses.port, 'ses.listen');
      closers.push(() => closeServer(server));
      io.stderr.write(
        `mailport events: ses: SNS endpoint http://${hostForUrl(ses.host)}:${port}${ses.path} (topics ${ses.topics.join(', ')})\n`,
      );
    }
    if (config.smtp !== undefined) {
      const smtp = config.smtp;
      const { createBounceReceiver } = await import('@mailport/events/smtp');
      const receiver = await createBounceReceiver({
        domain: smtp.domain,
        ...(smtp.verpSecret === undefined
          ? {}
          : { verp: { secret: smtp.verpSecret, ...(smtp.local === undefined ? {} : { local: smtp.local }) } }),
        sendLog: sendLog as SendLog,
        onEvents,
        host: smtp.host,
        port: smtp.port,
        ...(smtp.maxMessageBytes === undefined ? {} : { maxMessageBytes: smtp.maxMessageBytes }),
        // A report that made no event (not ours, a forged or unknown message) is said once, on stderr.
        onReport: (report) => {
          if (report.events.length === 0 && report.reason !== undefined)
            io.stderr.write(
              `mailport events: smtp: a report from <${printable(report.envelopeFrom, 300)}> made no event: ${printable(report.reason, 300)}\n`,
            );
        },
      }).catch((error: unknown) => {
        throw listenError(error, smtp.host, smtp.port, 'smtp.listen');
      });
      closers.push(() => receiver.close());
      io.stderr.write(`mailport events: smtp: bounce receiver for ${smtp.domain} on ${hostForUrl(smtp.host)}:${receiver.port}\n`);
    }
    for (const name of ['gmail', 'graph'] as const) {
      const mailbox = config[name];
      if (mailbox === undefined) continue;
      const { createGmailReportReader, createGraphReportReader } = await import('@mailport/events/mailbox');
      const create = name === 'gmail' ? createGmailReportReader : createGraphReportReader;
      const reader = create({
        url: mailbox.url,
        sendLog: sendLog as SendLog,
        onEvents,
        env: io.env,
        onError: (error) => io.stderr.write(`mailport events: ${name}: ${printable((error as Error)?.message ?? String(error), 300)}\n`),
      });
      reader.start(mailbox.intervalMs);
      closers.push(() => reader.stop());
      io.stderr.write(
        `mailport events: ${name}: reading the mailbox of ${mailboxName(mailbox.url)} every ${mailbox.intervalMs / 1000} s\n`,
      );
    }
  } catch (error) {
    await closeAll();
    printError(io, error);
    return exitCodeFor(error);
  }

  io.stderr.write('mailport events: running; SIGTERM or Ctrl-C stops\n');
  await new Promise<void>((resolveStop) => {
    if (io.signal.aborted) resolveStop();
    else io.signal.addEventListener('abort', () => resolveStop(), { once: true });
  });
  io.stderr.write('mailport events: stopping\n');
  await closeAll();
  io.stderr.write('mailport events: stopped\n');
  return exitCodes.ok;
}

/** One event as printed: every field, in this order, null when unknown. */
export function eventLine(event: MailEvent, raw: boolean): Record<string, unknown> {
  return {
    id: event.id,
    type: event.type,
    timestamp: event.timestamp,
    source: event.source,
    recipient: event.recipient ?? null,
    messageId: event.messageId ?? null,
    providerMessageId: event.providerMessageId ?? null,
    bounce:
      event.bounce === undefined
        ? null
        : {
            kind: event.bounce.kind,
            status: event.bounce.status ?? null,
            diagnostic: event.bounce.diagnostic ?? null,
            reportingMta: event.bounce.reportingMta ?? null,
            providerKind: event.bounce.providerKind ?? null,
          },
    delay:
      event.delay === undefined
        ? null
        : {
            status: event.delay.status ?? null,
            diagnostic: event.delay.diagnostic ?? null,
            reportingMta: event.delay.reportingMta ?? null,
            retryUntil: event.delay.retryUntil ?? null,
            providerKind: event.delay.providerKind ?? null,
          },
    complaint:
      event.complaint === undefined
        ? null
        : {
            feedbackType: event.complaint.feedbackType ?? null,
            userAgent: event.complaint.userAgent ?? null,
            arrivalDate: event.complaint.arrivalDate ?? null,
          },
    url: event.url ?? null,
    tags: event.tags,
    metadata: event.metadata,
    providerEventType: event.providerEventType ?? null,
    joinedBy: event.joinedBy ?? null,
    ...(raw ? { raw: rawValue(event.raw) } : {}),
  };
}

/**
 * One line of JSON that is safe on a terminal: JSON.stringify escapes the C0 controls (ESC among
 * them) but leaves DEL, the C1 controls (U+009B is a CSI to some terminals) and U+2028/U+2029 as
 * they are, and a diagnostic or a recipient is text a stranger wrote. The parsed value is the same.
 */
export function jsonLine(value: unknown): string {
  return JSON.stringify(value).replace(
    /[\u007f-\u009f\u2028\u2029]/g,
    (character) => `\\u${character.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/** The raw payload as JSON can carry it: bytes as text. */
function rawValue(raw: unknown): unknown {
  if (raw instanceof Uint8Array) return Buffer.from(raw).toString('utf8');
  return raw ?? null;
}

async function readConfig(path: string, display: string, io: CliIo): Promise<EventsConfig> {
  const raw = await readJsonConfig(path, display, 'events');
  const config = parseEventsConfig(raw, { env: io.env, file: display });
  if (config.ses?.certificates?.ca !== undefined) {
    const caFile = resolve(io.cwd, config.ses.certificates.ca);
    let ca: string;
    try {
      ca = await readFile(caFile, 'utf8');
    } catch (error) {
      throw new MailError('configuration', `${display}: ses.certificates.caFile: ${(error as Error).message}`, {
        remediation: 'Give the path of a PEM file (mailport dev prints its CA file).',
      });
    }
    return { ...config, ses: { ...config.ses, certificates: { ...config.ses.certificates, ca } } };
  }
  return config;
}

const sections: Readonly<Record<string, readonly string[]>> = {
  ses: ['listen', 'path', 'topics', 'basicAuth', 'maxAgeMs', 'maxBodyBytes', 'certificates'],
  smtp: ['listen', 'domain', 'verpSecret', 'local', 'maxMessageBytes'],
  gmail: ['url', 'intervalSeconds'],
  graph: ['url', 'intervalSeconds'],
};
const topFields = ['ses', 'smtp', 'gmail', 'graph', 'sendLog', 'suppression', '$schema'];

/**
 * Reads the parsed JSON of an events configuration; throws a `configuration` MailError naming the
 * field at fault. `ses.certificates.caFile` comes back, unread, in `certificates.ca`.
 */
export function parseEventsConfig(
  raw: unknown,
  options: { readonly env: Readonly<Record<string, string | undefined>>; readonly file: string },
): EventsConfig {
  const fail = (field: string, problem: string): never => {
    throw new MailError('configuration', `${options.file}: ${field}: ${problem}`, {
      remediation: 'Fix the events configuration (see mailport events --help for its fields), then start again.',
    });
  };
  if (!isObject(raw)) return fail('(top)', 'must be a JSON object');
  for (const field of Object.keys(raw)) if (!topFields.includes(field)) fail(field, `unknown field (known: ${topFields.join(', ')})`);
  const notes: string[] = [];
  const value = (field: string, input: unknown, secret = false): string => {
    const resolved = configString(field, input, options.env, fail);
    if (secret && resolved === input) notes.push(`${field} is written in the file: put it in the environment and write "env:NAME"`);
    return resolved;
  };
  const optional = (field: string, input: unknown, minimum: number): number | undefined =>
    input === undefined
      ? undefined
      : typeof input === 'number' && Number.isSafeInteger(input) && input >= minimum
        ? input
        : fail(field, `must be a whole number of at least ${minimum}`);
  const section = (name: string): Record<string, unknown> | undefined => {
    const input = raw[name];
    if (input === undefined) return undefined;
    if (!isObject(input)) return fail(name, 'must be an object');
    const known = sections[name] ?? [];
    for (const key of Object.keys(input)) if (!known.includes(key)) fail(`${name}.${key}`, `unknown field (known: ${known.join(', ')})`);
    return input;
  };
  const listen = (field: string, input: unknown, fallbackPort: number): { host: string; port: number } => {
    const text = input === undefined ? `127.0.0.1:${fallbackPort}` : value(field, input);
    const match = /^(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9.-]{1,253})):(\d{1,5})$/.exec(text);
    const port = Number(match?.[3]);
    if (match === null || port > 65_535)
      return fail(
        field,
        `must be HOST:PORT, such as 127.0.0.1:8080 ([::1]:8080 for IPv6; port 0: any free port), not ${JSON.stringify(text)}`,
      );
    return { host: (match[1] ?? match[2]) as string, port };
  };

  const sesInput = section('ses');
  let ses: EventsConfig['ses'];
  if (sesInput !== undefined) {
    const { host, port } = listen('ses.listen', sesInput.listen, 8080);
    const path = sesInput.path === undefined ? '/ses' : value('ses.path', sesInput.path);
    if (!/^\/[\w\-./~]{0,200}$/.test(path)) fail('ses.path', 'must be a URL path such as /ses');
    if (!Array.isArray(sesInput.topics) || sesInput.topics.length === 0)
      fail('ses.topics', 'list the SNS topic ARNs to accept: a valid signature proves only that some SNS topic sent the message');
    const topics = (sesInput.topics as unknown[]).map((topic, index) => {
      const arn = value(`ses.topics[${index}]`, topic);
      if (!/^arn:aws[\w-]*:sns:[a-z0-9-]+:\d{12}:[\w-]{1,256}$/.test(arn))
        fail(`ses.topics[${index}]`, `is not an SNS topic ARN: ${JSON.stringify(arn)}`);
      return arn;
    });
    let basicAuth: { username: string; password: string } | undefined;
    if (sesInput.basicAuth !== undefined) {
      if (!isObject(sesInput.basicAuth)) fail('ses.basicAuth', 'must be { "username": ..., "password": ... }');
      const auth = sesInput.basicAuth as Record<string, unknown>;
      basicAuth = {
        username: value('ses.basicAuth.username', auth.username),
        password: value('ses.basicAuth.password', auth.password, true),
      };
    }
    let certificates: NonNullable<EventsConfig['ses']>['certificates'];
    if (sesInput.certificates !== undefined) {
      if (!isObject(sesInput.certificates)) fail('ses.certificates', 'must be { "hosts": [...], "caFile": "...", "timeoutMs": N }');
      const input = sesInput.certificates as Record<string, unknown>;
      for (const key of Object.keys(input))
        if (!['hosts', 'caFile', 'timeoutMs'].includes(key))
          fail(`ses.certificates.${key}`, 'unknown field (known: hosts, caFile, timeoutMs)');
      const hosts =
        input.hosts === undefined
          ? []
          : Array.isArray(input.hosts)
            ? input.hosts
            : fail('ses.certificates.hosts', 'must be a list of HOST:PORT');
      certificates = {
        hosts: (hosts as unknown[]).map((host, index) => value(`ses.certificates.hosts[${index}]`, host)),
        ca: input.caFile === undefined ? undefined : value('ses.certificates.caFile', input.caFile),
        timeoutMs: optional('ses.certificates.timeoutMs', input.timeoutMs, 1),
      };
    }
    // This endpoint speaks plain HTTP: beyond loopback, a proxy must add TLS, or the password crosses the network in clear.
    if (basicAuth !== undefined && !['127.0.0.1', '::1', 'localhost'].includes(host))
      notes.push(
        `ses.listen ${host}: the endpoint is plain HTTP; serve it behind TLS (a reverse proxy), since SNS sends the basic auth password with every request`,
      );
    ses = {
      host,
      port,
      path,
      topics,
      basicAuth,
      maxAgeMs: optional('ses.maxAgeMs', sesInput.maxAgeMs, 1),
      maxBodyBytes: optional('ses.maxBodyBytes', sesInput.maxBodyBytes, 1),
      certificates,
    };
  }

  const smtpInput = section('smtp');
  let smtp: EventsConfig['smtp'];
  if (smtpInput !== undefined) {
    // 2526: mailport dev's own SMTP takes 2525, and the two are often run side by side.
    const { host, port } = listen('smtp.listen', smtpInput.listen, 2526);
    const domain = value('smtp.domain', smtpInput.domain).toLowerCase();
    if (!/^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}$/.test(domain))
      fail('smtp.domain', `is not a domain name: ${JSON.stringify(domain)}`);
    const verpSecret = smtpInput.verpSecret === undefined ? undefined : value('smtp.verpSecret', smtpInput.verpSecret, true);
    if (verpSecret !== undefined && Buffer.byteLength(verpSecret) < 16)
      fail('smtp.verpSecret', "must be at least 16 bytes (the transport's verp_secret)");
    smtp = {
      host,
      port,
      domain,
      verpSecret,
      local: smtpInput.local === undefined ? undefined : value('smtp.local', smtpInput.local),
      maxMessageBytes: optional('smtp.maxMessageBytes', smtpInput.maxMessageBytes, 1024),
    };
  }

  const mailbox = (name: 'gmail' | 'graph'): { url: string; intervalMs: number } | undefined => {
    const input = section(name);
    if (input === undefined) return undefined;
    const url = value(`${name}.url`, input.url, false);
    if (!url.startsWith(`${name}://`)) fail(`${name}.url`, `must be a ${name}:// transport URL (as MAILPORT_URL), or "env:NAME"`);
    if (!String(input.url).startsWith('env:') && holdsCredential(url))
      notes.push(`${name}.url holds a credential in the file: put it in the environment and write "env:NAME"`);
    const seconds = input.intervalSeconds === undefined ? 60 : input.intervalSeconds;
    if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds < 1 || seconds > 86_400)
      fail(`${name}.intervalSeconds`, 'must be a number of seconds from 1 to 86400');
    return { url, intervalMs: Math.round((seconds as number) * 1000) };
  };
  const gmail = mailbox('gmail');
  const graph = mailbox('graph');

  if (ses === undefined && smtp === undefined && gmail === undefined && graph === undefined)
    fail('(top)', 'configure at least one receiver: "ses", "smtp", "gmail" or "graph"');
  const sendLog = raw.sendLog === undefined ? undefined : value('sendLog', raw.sendLog);
  const suppression = raw.suppression === undefined ? undefined : value('suppression', raw.suppression);
  if (sendLog === undefined && (smtp !== undefined || gmail !== undefined || graph !== undefined))
    fail(
      'sendLog',
      'required with smtp, gmail or graph: bounce reports are joined to the messages the send log holds (mailport send --send-log FILE writes it)',
    );
  return { ses, smtp, gmail, graph, sendLog, suppression, notes };
}

function pathOf(url: string | undefined): string {
  const path = (url ?? '/').split('?')[0] ?? '/';
  return path;
}

function hostForUrl(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

function listen(server: Server, host: string, port: number, field: string): Promise<number> {
  return new Promise((resolveListen, reject) => {
    server.once('error', (error) => reject(listenError(error, host, port, field)));
    server.listen(port, host, () => {
      const address = server.address();
      resolveListen(typeof address === 'object' && address !== null ? address.port : port);
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolveClose) => {
    server.close(() => resolveClose());
    server.closeAllConnections();
  });
}

/** A port that could not be bound, as a configuration error naming the field to change. */
function listenError(error: unknown, host: string, port: number, field: string): unknown {
  const code = (error as { code?: string }).code;
  if (code !== 'EADDRINUSE' && code !== 'EACCES' && code !== 'EADDRNOTAVAIL' && code !== 'ENOTFOUND') return error;
  const problem =
    code === 'EADDRINUSE' ? 'is already in use' : code === 'EACCES' ? 'may not be bound by this user' : 'is not an address of this machine';
  return new MailError('configuration', `${hostForUrl(host)}:${port} ${problem}`, {
    remediation: `Change ${field} in the configuration (port 0: any free port).`,
    cause: error,
  });
}

/**
 * Text from a report, a provider, a file or an argument, safe for a terminal: the C0 and C1
 * controls, DEL and U+2028/U+2029 (escape sequences, line breaks) as `?`; the first `maxLength`
 * characters (default all). The commands that print a stranger's text share this one rule.
 */
export function printable(text: string, maxLength?: number): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, '?').slice(0, maxLength);
}

/**
 * The account a mailbox URL names (`gmail://user@example.com?...` -> `user@example.com`), for
 * messages: its query holds client secrets and refresh tokens, so no part of it is ever printed.
 */
function mailboxName(url: string): string {
  try {
    const parsed = new URL(url);
    return printable(`${decodeURIComponent(parsed.username)}${parsed.username === '' ? '' : '@'}${parsed.hostname}`, 300);
  } catch {
    return '(the configured account)';
  }
}
