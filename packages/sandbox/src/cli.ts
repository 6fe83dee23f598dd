#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { startSandbox } from './sandbox.js';

const usage = `mailport-sandbox: a local SMTP server and stand-ins for Amazon SES v2, the Gmail API and Microsoft Graph

Usage: mailport-sandbox [options]

  --host HOST         interface to bind (default 127.0.0.1; the sandbox is meant for loopback)
  --smtp-port PORT    SMTP submission with STARTTLS and AUTH (default 2525)
  --http-port PORT    SES, Gmail, Graph and the /sandbox API over HTTP (default 4010)
  --https-port PORT   the same over HTTPS, for the Microsoft token endpoint (default 4443)
  --ephemeral         let the system choose every port
  --max-messages N    keep at most N messages; the oldest are evicted (default 10000)
  --max-store-size S  keep at most S of messages: bytes, or 512kB, 256MB, 1GB (default 256MB)
  --allow-host NAME   answer HTTP requests addressed to NAME too (repeatable; default: loopback names only)
  --help              show this

Prints the transport URLs to use (MAILPORT_URL=...) and the file that holds the control API's token
(send it as "Authorization: Bearer TOKEN" to /sandbox/...; MAILPORT_SANDBOX_TOKEN sets it), then
runs until interrupted.`;

const { values } = parseArgs({
  options: {
    host: { type: 'string', default: '127.0.0.1' },
    'smtp-port': { type: 'string', default: '2525' },
    'http-port': { type: 'string', default: '4010' },
    'https-port': { type: 'string', default: '4443' },
    ephemeral: { type: 'boolean', default: false },
    'max-messages': { type: 'string' },
    'max-store-size': { type: 'string' },
    'allow-host': { type: 'string', multiple: true, default: [] },
    help: { type: 'boolean', default: false },
  },
  strict: true,
});

if (values.help) {
  console.log(usage);
  process.exit(0);
}

const port = (value: string | undefined): number => {
  const number = Number(value);
  if (!Number.isInteger(number) || number < 0 || number > 65_535) {
    console.error(`not a port: ${value}\n\n${usage}`);
    process.exit(2);
  }
  return values.ephemeral ? 0 : number;
};

/** `--max-messages 5000`, `--max-store-size 256MB`: undefined when not given. */
const limit = (flag: string, value: string | undefined, units: boolean): number | undefined => {
  if (value === undefined) return undefined;
  const match = (units ? /^\s*(\d+(?:\.\d+)?)\s*(b|kb|k|mb|m|gb|g)?\s*$/i : /^\s*(\d+)\s*()$/).exec(value);
  const unit = { b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[(match?.[2] || 'b').toLowerCase().charAt(0) as 'b' | 'k' | 'm' | 'g'];
  const number = match === null ? Number.NaN : Math.floor(Number(match[1]) * unit);
  if (!Number.isSafeInteger(number) || number < 1) {
    console.error(`${flag}: not ${units ? 'a size (256MB, 512kB, 1GB or bytes)' : 'a whole number of at least 1'}: ${value}\n\n${usage}`);
    process.exit(2);
  }
  return number;
};

const sandbox = await startSandbox({
  maxMessages: limit('--max-messages', values['max-messages'], false),
  maxStoreBytes: limit('--max-store-size', values['max-store-size'], true),
  host: values.host,
  smtpPort: port(values['smtp-port']),
  httpPort: port(values['http-port']),
  httpsPort: port(values['https-port']),
  allowedHosts: values['allow-host'],
  controlToken: process.env.MAILPORT_SANDBOX_TOKEN || undefined,
}).catch((error: unknown) => {
  console.error(`mailport-sandbox: ${(error as Error).message}`);
  process.exit(1);
});

console.log(`mailport sandbox
  SMTP   ${sandbox.host}:${sandbox.smtpPort} (STARTTLS, AUTH PLAIN/LOGIN/XOAUTH2)
  HTTP   ${sandbox.httpUrl}   (SES v2, Gmail API, Graph, /sandbox API)
  HTTPS  ${sandbox.httpsUrl}  (the same; Microsoft's token endpoint needs it)
  CA     ${sandbox.caFile}
  Token  ${sandbox.controlTokenFile}  (the /sandbox API wants "Authorization: Bearer <its content>")

Transport URLs (MAILPORT_URL=...):
  ${sandbox.urls.smtp}
  ${sandbox.urls.ses}
  ${sandbox.urls.gmail}
  ${sandbox.urls.graph}

Inbox: ${sandbox.httpUrl}/
Messages: curl -H "Authorization: Bearer $(cat ${sandbox.controlTokenFile})" ${sandbox.httpUrl}/sandbox/messages
Ctrl-C to stop.`);

const stop = (): void => {
  sandbox.close().then(() => process.exit(0));
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
