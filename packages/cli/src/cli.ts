import { readFileSync } from 'node:fs';
import { exitCodes, UsageError } from './exit-codes.js';
import type { CliIo } from './io.js';
import { printError } from './output.js';

type Command = (argv: readonly string[], io: CliIo) => Promise<number>;

// Each command is imported on use, so `mailport send --url smtp://...` loads no SDK it does not need.
const commands: Readonly<Record<string, { summary: string; load: () => Promise<Command> }>> = {
  send: {
    summary: 'send one message, or one per CSV row (bulk, with a journal); or enqueue them (--queue)',
    load: async () => (await import('./commands/send.js')).runSend,
  },
  verify: {
    summary: 'check a transport: configuration, connection, TLS, authentication, quotas',
    load: async () => (await import('./commands/verify.js')).runVerify,
  },
  doctor: {
    summary: 'probe outbound ports 25, 465, 587, 2525 and 443, and explain what is blocked',
    load: async () => (await import('./commands/doctor.js')).runDoctor,
  },
  migrate: {
    summary: 'from an SMTP URL to the equivalent HTTPS transport, with a safe failover',
    load: async () => (await import('./commands/migrate.js')).runMigrate,
  },
  auth: {
    summary: 'obtain an OAuth refresh token: mailport auth google | microsoft',
    load: async () => (await import('./commands/auth.js')).runAuth,
  },
  dev: {
    summary: 'start the local sandbox with a web inbox (http://127.0.0.1:8025)',
    load: async () => (await import('./commands/dev.js')).runDev,
  },
  worker: {
    summary: 'send what a Redis queue holds (@mailport/queue-bullmq) until SIGTERM',
    load: async () => (await import('./commands/worker.js')).runWorker,
  },
  queue: {
    summary: 'a Redis queue: counts, limits, dead letters (list, requeue, purge)',
    load: async () => (await import('./commands/queue.js')).runQueue,
  },
  events: {
    summary: 'receive bounces, complaints and deliveries (SES webhook, bounce mail, Gmail, Graph); print them',
    load: async () => (await import('./commands/events.js')).runEvents,
  },
  suppression: {
    summary: 'the addresses mail is not sent to: list, add, remove',
    load: async () => (await import('./commands/suppression.js')).runSuppression,
  },
};

/** The overall help. */
export function helpText(): string {
  const width = Math.max(...Object.keys(commands).map((name) => name.length));
  return `mailport: send email through SMTP, Amazon SES, the Gmail API or Microsoft Graph, chosen by one URL

Usage: mailport <command> [options]       mailport <command> --help

${Object.entries(commands)
  .map(([name, command]) => `  ${name.padEnd(width)}  ${command.summary}`)
  .join('\n')}

The transport comes from --url or MAILPORT_URL, for example:
  smtp://user:password@smtp.example.com:587    ses://eu-west-1
  gmail://me@example.com                       graph://sender@contoso.com?tenant=...&client_id=...
`;
}

function version(): string {
  const packageJson = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return packageJson.version;
}

/** Runs a command line (without the node and script arguments) and returns the exit code. */
export async function run(argv: readonly string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    io.stdout.write(helpText());
    return name === undefined ? exitCodes.usage : exitCodes.ok;
  }
  if (name === '--version' || name === '-v') {
    io.stdout.write(`${version()}\n`);
    return exitCodes.ok;
  }
  const command = commands[name];
  if (command === undefined) {
    io.stderr.write(`mailport: unknown command "${name}"\n\n${helpText()}`);
    return exitCodes.usage;
  }
  try {
    return await (await command.load())(rest, io);
  } catch (error) {
    // parseArgs throws TypeErrors with codes like ERR_PARSE_ARGS_UNKNOWN_OPTION for bad flags.
    const code = (error as { code?: string }).code;
    if (error instanceof UsageError || (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS'))) {
      io.stderr.write(`mailport ${name}: ${(error as Error).message}\nRun "mailport ${name} --help" for the options.\n`);
      return exitCodes.usage;
    }
    printError(io, error);
    return exitCodes.unexpected;
  }
}
