import { parseArgs } from 'node:util';
import { parseDuration, redactUrl } from '@mailport/core';
import { exitCodes, UsageError } from '../exit-codes.js';
import type { CliIo } from '../io.js';
import { renderVerifyResult, scrub, secretsIn, type VerifyResult, verifyTransportUrl } from '../verify-report.js';

/** `mailport verify --help`. */
export const verifyHelp: string = `mailport verify: check a transport without sending anything

  mailport verify [--url URL] [--timeout 30s] [--json]

Creates the transport from --url (default: $MAILPORT_URL), then connects, negotiates TLS,
authenticates and reads what the provider reports, one PASS / FAIL line per check:
  smtp://, smtps://   configuration, connect, tls, auth; the server's EHLO extensions
  ses://              configuration, auth, sending, quota (24-hour and per-second), production access
  gmail://            configuration, auth, profile, send-as addresses
  graph://            configuration, auth, mailbox
and the transport's capabilities (max size, max recipients, custom headers, envelope,
SMTPUTF8, concurrency). A failover(...) or roundrobin(...) URL is checked member by member:
stderr says which member is being checked, and a members line sums up each one's outcome.
A failure says what to do; the checks after it are not run (SKIP). Credentials are never printed.

  --url URL        the transport URL (default: $MAILPORT_URL)
  --timeout TIME   longest wait for one transport's checks: 500ms, 10s, 2m (default 30s)
  --json           print the report as JSON

Exit codes: 0 every check passed (a WARN, such as the SES sandbox, still passes), 2 usage,
4 configuration or TLS, 5 auth, 6 sender refused (SES sending paused), 7 quota or rate limit,
8 connection failed or timed out; for failover(...) the first failing member decides.
`;

/** `mailport verify`: configuration, connection, TLS, authentication, quotas and capabilities of a transport. */
export async function runVerify(argv: readonly string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      url: { type: 'string' },
      timeout: { type: 'string', default: '30s' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) {
    io.stdout.write(verifyHelp);
    return exitCodes.ok;
  }
  let timeoutMs: number;
  try {
    timeoutMs = parseDuration(values.timeout, '--timeout', '');
  } catch {
    throw new UsageError(`--timeout ${values.timeout} is not a duration: write 500ms, 10s or 2m`);
  }
  if (timeoutMs <= 0) throw new UsageError('--timeout must be above 0');
  const url = (values.url ?? io.env.MAILPORT_URL ?? '').trim();
  let result: VerifyResult;
  if (url === '') {
    const line = {
      name: 'configuration',
      status: 'fail' as const,
      detail: 'configuration: No transport: give --url or set MAILPORT_URL',
      remediation: 'For example --url smtp://user:password@smtp.example.com:587, or MAILPORT_URL=ses://eu-west-1.',
      code: 'configuration' as const,
    };
    const report = {
      url: '',
      transport: undefined,
      lines: [line],
      capabilities: undefined,
      details: undefined,
      exitCode: exitCodes.configuration,
    };
    result = { ok: false, exitCode: exitCodes.configuration, url: '(none)', kind: 'single', report, members: [] };
  } else {
    // A member that does not answer takes up to --timeout: say which one is being tried meanwhile.
    const onMember = (position: number, total: number, memberUrl: string): void => {
      io.stderr.write(scrub(`checking [${position}/${total}] ${memberUrl}\n`, secretsIn(url)));
    };
    result = await verifyTransportUrl(url, { env: io.env, signal: io.signal, timeoutMs, onMember });
  }
  // Adapters keep credentials out of their messages; scrubbing the output is a second guard.
  const secrets = secretsIn(url);
  const text = values.json ? `${JSON.stringify(result, null, 2)}\n` : renderVerifyResult(result);
  io.stdout.write(url === '' ? text : scrub(text, secrets).replaceAll(url, redactUrl(url)));
  return result.exitCode;
}
