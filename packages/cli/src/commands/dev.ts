import { spawn } from 'node:child_process';
import { parseArgs } from 'node:util';
import { MailError } from '@mailport/core';
import type { Sandbox, SandboxEvent, StoredMessage } from '@mailport/sandbox';
import { exitCodes, UsageError } from '../exit-codes.js';
import type { CliIo } from '../io.js';
import { printError } from '../output.js';
import { redactUrl } from '../worker-config.js';
import { printable } from './events.js';

export const devHelp = `mailport dev: a local sandbox for SMTP, Amazon SES, the Gmail API and Microsoft Graph, with a web inbox

  mailport dev [--port 8025] [--smtp-port 2525] [--https-port 4443] [--open]
               [--max-messages 10000] [--max-store-size 256MB]
               [--ses-events URL [--ses-events-signature 1|2]] [--bounces-to smtp://HOST:PORT]

  --port PORT             the inbox, and the SES, Gmail and Graph APIs over HTTP (default 8025)
  --smtp-port PORT        SMTP submission with STARTTLS; AUTH accepted, not required (default 2525)
  --https-port PORT       the HTTP routes over TLS: Microsoft's token endpoint needs it (default 4443)
  --open                  open the inbox in the default browser
  --max-messages N        keep at most N messages; the oldest are evicted (default 10000)
  --max-store-size SIZE   keep at most SIZE of messages (bytes, or 512kB, 256MB, 1GB; default 256MB)
  --ses-events URL        an SES event destination: post SNS notifications of what the SES API
                          accepted (a SubscriptionConfirmation first) to your webhook, as
                          http://user:password@127.0.0.1:8080/ses for Basic auth (repeatable)
  --ses-events-signature V  the SNS SignatureVersion of those posts, 1 (default) or 2
  --bounces-to URL        smtp://HOST:PORT of your bounce receiver (mailport events "smtp"):
                          where bounce@, delay@ and ooto@simulator.amazonses.com sent over SMTP
                          get their Postfix-style reports mailed

Everything listens on 127.0.0.1 only, and nothing sent to it leaves this machine. Port 0 lets the
system choose one. It prints the inbox URL and a MAILPORT_URL for each transport, logs each message
as it arrives, and runs until Ctrl-C; messages are kept in memory only, within the two limits (the
inbox says how many older ones were evicted). Events it reports (SNS posts, bounces mailed back)
are logged too, and shown next to each message in the inbox.

Scenario recipients: success@, bounce@, complaint@, ooto@, suppressionlist@ and (SMTP, Gmail,
Graph) delay@simulator.amazonses.com.
`;

const defaults = { port: 8025, smtpPort: 2525, httpsPort: 4443 };

/** `mailport dev`: starts the sandbox on loopback with the inbox on its HTTP listener, until Ctrl-C. */
export async function runDev(argv: readonly string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      port: { type: 'string' },
      'smtp-port': { type: 'string' },
      'https-port': { type: 'string' },
      open: { type: 'boolean', default: false },
      'max-messages': { type: 'string' },
      'max-store-size': { type: 'string' },
      'ses-events': { type: 'string', multiple: true },
      'ses-events-signature': { type: 'string' },
      'bounces-to': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) {
    io.stdout.write(devHelp);
    return exitCodes.ok;
  }
  const ports = {
    port: portOption('--port', values.port, defaults.port),
    smtpPort: portOption('--smtp-port', values['smtp-port'], defaults.smtpPort),
    httpsPort: portOption('--https-port', values['https-port'], defaults.httpsPort),
  };
  const maxMessages = countOption('--max-messages', values['max-messages']);
  const maxStoreBytes = sizeOption('--max-store-size', values['max-store-size']);
  const sesEvents = sesEventsOption(values['ses-events'] ?? [], values['ses-events-signature']);
  const bouncesTo = bouncesOption(values['bounces-to']);

  let sandbox: Sandbox;
  try {
    // Imported here, not with the module: the sandbox's certificate code is most of the CLI's
    // startup time, and `mailport dev --help` and usage errors need none of it.
    const { startSandbox } = await import('@mailport/sandbox');
    // Loopback only, and no option to change it: the inbox shows every message to whoever can reach it.
    sandbox = await startSandbox({
      host: '127.0.0.1',
      httpPort: ports.port,
      smtpPort: ports.smtpPort,
      httpsPort: ports.httpsPort,
      // Applications pointed at a dev inbox often send without credentials; AUTH is still offered and checked.
      smtpAuthOptional: true,
      maxMessages,
      maxStoreBytes,
      ...(sesEvents.length === 0 ? {} : { sesEvents }),
      ...(bouncesTo === undefined ? {} : { bounces: { smtp: bouncesTo } }),
    });
  } catch (error) {
    printError(io, listenError(error, ports));
    return exitCodes.configuration;
  }

  const inboxUrl = `${sandbox.httpUrl}/`;
  io.stdout.write(
    banner(sandbox, inboxUrl, [
      ...sesEvents.map(
        (destination) =>
          `  Events  SES events -> ${redactUrl(destination.endpoint)}  (SNS, signature version ${destination.signatureVersion}; certificates from ${sandbox.httpsUrl}, CA above)\n`,
      ),
      ...(bouncesTo === undefined ? [] : [`  Bounces -> ${bouncesTo}  (reports for scenario recipients sent over SMTP)\n`]),
    ]),
  );
  const unsubscribe = sandbox.store.subscribe((message) => io.stdout.write(describeArrival(message)));
  const onEvent = (event: SandboxEvent): void => {
    io.stdout.write(describeEvent(event));
  };
  sandbox.events.emitter.on('event', onEvent);
  if (values.open) openInBrowser(inboxUrl, io);

  await new Promise<void>((resolve) => {
    if (io.signal.aborted) resolve();
    else io.signal.addEventListener('abort', () => resolve(), { once: true });
  });
  unsubscribe();
  sandbox.events.emitter.off('event', onEvent);
  io.stderr.write('\nmailport dev: stopping\n');
  await sandbox.close();
  return exitCodes.ok;
}

function portOption(flag: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const port = Number(value);
  if (value.trim() === '' || !Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new UsageError(`${flag} must be a port number from 0 to 65535 (0: any free port), not "${value}"`);
  }
  return port;
}

/** `--ses-events URL` (repeatable) and `--ses-events-signature 1|2`, as the sandbox's event destinations. */
function sesEventsOption(urls: readonly string[], signature: string | undefined): { endpoint: string; signatureVersion: '1' | '2' }[] {
  if (signature !== undefined && urls.length === 0) throw new UsageError('--ses-events-signature goes with --ses-events URL');
  if (signature !== undefined && signature !== '1' && signature !== '2')
    throw new UsageError(`--ses-events-signature must be 1 or 2, not "${printable(signature)}"`);
  return urls.map((url) => {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new UsageError(`--ses-events must be an http:// or https:// URL, not "${printable(redactUrl(url))}"`);
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
      throw new UsageError(`--ses-events must be an http:// or https:// URL, not "${printable(redactUrl(url))}"`);
    return { endpoint: url, signatureVersion: signature === '2' ? '2' : '1' };
  });
}

/** `--bounces-to smtp://HOST:PORT`. */
function bouncesOption(url: string | undefined): string | undefined {
  if (url === undefined) return undefined;
  if (!/^smtp:\/\/(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]{1,253}):\d{1,5}\/?$/.test(url))
    throw new UsageError(`--bounces-to must be smtp://HOST:PORT (your bounce receiver), not "${printable(url)}"`);
  return url.replace(/\/$/, '');
}

function countOption(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const count = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(count) || count < 1) {
    throw new UsageError(`${flag} must be a whole number of at least 1, not "${value}"`);
  }
  return count;
}

/** `268435456`, `512kB`, `256MB`, `1GB` (powers of 1024, as the inbox shows them). */
function sizeOption(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const match = /^\s*(\d+(?:\.\d+)?)\s*(b|kb|k|mb|m|gb|g)?\s*$/i.exec(value);
  const unit = { b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[(match?.[2] ?? 'b').toLowerCase().charAt(0) as 'b' | 'k' | 'm' | 'g'];
  const bytes = match === null ? Number.NaN : Math.floor(Number(match[1]) * unit);
  if (!Number.isSafeInteger(bytes) || bytes < 1) {
    throw new UsageError(`${flag} must be a size such as 256MB, 512kB or 1GB (or a number of bytes), not "${value}"`);
  }
  return bytes;
}

/** A port that could not be bound, as a configuration error naming the flag to change. */
function listenError(error: unknown, ports: { port: number; smtpPort: number; httpsPort: number }): unknown {
  const { code, port } = error as { code?: string; port?: number };
  if (code !== 'EADDRINUSE' && code !== 'EACCES') return error;
  const flag = port === ports.smtpPort ? '--smtp-port' : port === ports.httpsPort ? '--https-port' : '--port';
  const problem = code === 'EADDRINUSE' ? 'is already in use' : 'may not be bound by this user';
  return new MailError('configuration', `Port ${port ?? '?'} on 127.0.0.1 ${problem}`, {
    remediation:
      code === 'EADDRINUSE'
        ? `Stop the program that holds it (another mailport dev?), or choose another port with ${flag} (0: any free port).`
        : `Choose a port above 1023 with ${flag}.`,
    cause: error,
  });
}

function banner(sandbox: Sandbox, inboxUrl: string, extra: readonly string[]): string {
  const quote = (text: string): string => `'${text.replace(/'/g, `'\\''`)}'`;
  return `mailport dev: nothing sent here leaves this machine

  Inbox   ${inboxUrl}

  SMTP    ${sandbox.host}:${sandbox.smtpPort}  (STARTTLS; AUTH accepted, not required)
  HTTP    ${sandbox.httpUrl}  (SES v2, Gmail API, Microsoft Graph, /sandbox API)
  HTTPS   ${sandbox.httpsUrl}  (the same; Microsoft's token endpoint needs it)
  CA      ${sandbox.caFile}
  Keeps   the newest ${sandbox.store.limits.maxMessages.toLocaleString('en-US')} messages, ${formatBytes(sandbox.store.limits.maxBytes)} at most (older ones are evicted)
  Token   ${sandbox.controlTokenFile}  (the /sandbox API wants "Authorization: Bearer <its content>"; the inbox needs none)
${extra.join('')}
Send through any of them:
  MAILPORT_URL=${quote(sandbox.urls.smtp)}
  MAILPORT_URL=${quote(sandbox.urls.ses)}
  MAILPORT_URL=${quote(sandbox.urls.gmail)}
  MAILPORT_URL=${quote(sandbox.urls.graph)}

Ctrl-C to stop.
`;
}

function formatBytes(bytes: number): string {
  for (const [unit, size] of [
    ['GB', 1024 ** 3],
    ['MB', 1024 ** 2],
    ['kB', 1024],
  ] as const) {
    if (bytes >= size) return `${Number((bytes / size).toFixed(1))} ${unit}`;
  }
  return `${bytes} B`;
}

function describeEvent(event: SandboxEvent): string {
  const time = event.at.slice(11, 19);
  // The recipient and the detail can carry what a sender wrote: no escape sequence reaches the terminal.
  const line = `${time}  ${event.storeId ?? event.id}  ${event.type}  ${event.recipient ?? '-'}  via ${event.channel}: ${event.detail}`;
  return `${printable(line, 500)}\n`;
}

function describeArrival(message: StoredMessage): string {
  const time = message.receivedAt.slice(11, 19);
  const size = message.size < 1024 ? `${message.size} B` : `${(message.size / 1024).toFixed(1)} kB`;
  return `${time}  ${message.id}  ${message.api.padEnd(5)}  ${message.operation}  ${message.envelope.from || '<>'} -> ${message.envelope.to.join(', ')}  ${size}\n`;
}

function openInBrowser(url: string, io: CliIo): void {
  const [command, args] =
    process.platform === 'darwin'
      ? ['open', [url]]
      : process.platform === 'win32'
        ? ['cmd', ['/c', 'start', '""', url]]
        : ['xdg-open', [url]];
  const complain = (reason: string): void => {
    io.stderr.write(`mailport dev: could not open a browser (${reason}); open ${url} yourself\n`);
  };
  try {
    const child = spawn(command, args, { stdio: 'ignore', detached: true });
    child.once('error', (error) => complain(error.message));
    child.unref();
  } catch (error) {
    complain((error as Error).message);
  }
}
