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
  --help              show this

Prints the transport URLs to use (MAILPORT_URL=...), then runs until interrupted.`;

const { values } = parseArgs({
  options: {
    host: { type: 'string', default: '127.0.0.1' },
    'smtp-port': { type: 'string', default: '2525' },
    'http-port': { type: 'string', default: '4010' },
    'https-port': { type: 'string', default: '4443' },
    ephemeral: { type: 'boolean', default: false },
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

const sandbox = await startSandbox({
  host: values.host,
  smtpPort: port(values['smtp-port']),
  httpPort: port(values['http-port']),
  httpsPort: port(values['https-port']),
});

console.log(`mailport sandbox
  SMTP   ${sandbox.host}:${sandbox.smtpPort} (STARTTLS, AUTH PLAIN/LOGIN/XOAUTH2)
  HTTP   ${sandbox.httpUrl}   (SES v2, Gmail API, Graph, /sandbox API)
  HTTPS  ${sandbox.httpsUrl}  (the same; Microsoft's token endpoint needs it)
  CA     ${sandbox.caFile}

Transport URLs (MAILPORT_URL=...):
  ${sandbox.urls.smtp}
  ${sandbox.urls.ses}
  ${sandbox.urls.gmail}
  ${sandbox.urls.graph}

Inbox: ${sandbox.httpUrl}/   Messages: ${sandbox.httpUrl}/sandbox/messages   Faults: POST ${sandbox.httpUrl}/sandbox/faults
Ctrl-C to stop.`);

const stop = (): void => {
  sandbox.close().then(() => process.exit(0));
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
