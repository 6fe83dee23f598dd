import {
  adapterPackages,
  createTransport,
  formatBytes,
  isSecretParameter,
  MailError,
  type MailErrorCode,
  parseTransportUrl,
  redactUrl,
  type Transport,
  type TransportCapabilities,
  type VerifyReport,
} from '@mailport/core';
import { exitCodeFor, exitCodes } from './exit-codes.js';

/** How one line of the report ended. `info` lines state facts; only `fail` fails the run. */
export type CheckStatus = 'pass' | 'warn' | 'fail' | 'skip' | 'info';

/** One line of `mailport verify`. */
export interface CheckLine {
  /** `configuration`, `connect`, `tls`, `auth`, `quota`, ..., or `capabilities` for an info line. */
  readonly name: string;
  readonly status: CheckStatus;
  readonly detail: string;
  /** What to do, for a failure. */
  readonly remediation?: string | undefined;
  /** The `MailError` code of a failure. */
  readonly code?: MailErrorCode | undefined;
}

/** The report for one transport URL. */
export interface TransportVerification {
  /** The URL with credentials replaced by `***`. */
  readonly url: string;
  /** The transport id (never holds credentials), once the URL was understood. */
  readonly transport: string | undefined;
  readonly lines: readonly CheckLine[];
  readonly capabilities: TransportCapabilities | undefined;
  /** What the provider reported (`VerifyReport.details`). */
  readonly details: Readonly<Record<string, unknown>> | undefined;
  /** 0 when every check passed, else the exit code of the first failure. */
  readonly exitCode: number;
}

/** The whole report: one transport, or a failover / round robin URL and each of its members. */
export interface VerifyResult {
  readonly ok: boolean;
  readonly exitCode: number;
  readonly url: string;
  readonly kind: 'single' | 'failover' | 'roundrobin';
  /** For a single URL, its report; for a composite one, the checks of the composite itself. */
  readonly report: TransportVerification;
  /** For `failover(...)` and `roundrobin(...)`: one report per member, in order. */
  readonly members: readonly TransportVerification[];
}

/** Options of {@link verifyTransportUrl}. */
export interface VerifyOptions {
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Aborts everything (Ctrl-C): the abort reason is thrown. */
  readonly signal?: AbortSignal | undefined;
  /** How long one transport's verify() may take. */
  readonly timeoutMs: number;
  /**
   * Called before each member of a `failover(...)` or `roundrobin(...)` URL is checked, with its
   * position from 1 and its URL without credentials, to say which one is being tried while it runs.
   */
  readonly onMember?: ((position: number, total: number, url: string) => void) | undefined;
}

/** The members of `failover(...)` / `roundrobin(...)` and the composite's own query, or undefined for a single URL. */
export function splitCompositeUrl(text: string): { kind: 'failover' | 'roundrobin'; members: string[]; query: string } | undefined {
  const match = /^(failover|roundrobin)\(([\s\S]*)\)(?:\?([^()]*))?$/i.exec(text.trim());
  if (match === null) return undefined;
  const members: string[] = [];
  let depth = 0;
  let current = '';
  for (const char of match[2] as string) {
    if (char === '(') depth++;
    if (char === ')') depth--;
    if (/\s/.test(char) && depth === 0) {
      if (current !== '') members.push(current);
      current = '';
    } else current += char;
  }
  if (current !== '') members.push(current);
  return { kind: (match[1] as string).toLowerCase() as 'failover' | 'roundrobin', members, query: match[3] ?? '' };
}

/** A round robin member without its `weight=` (which belongs to the composite, not the transport). */
export function withoutWeight(member: string): string {
  const own = member.lastIndexOf(')') + 1;
  const head = member.slice(0, own);
  const tail = member
    .slice(own)
    .replace(/([?&])weight=[^&]*(&?)/, (_match, separator: string, next: string) => (next === '&' ? separator : ''))
    .replace(/\?$/, '');
  return head + tail;
}

/** Every credential in a transport URL (passwords and secret parameters, members included), to scrub from output. */
export function secretsIn(text: string): string[] {
  const composite = splitCompositeUrl(text);
  if (composite !== undefined) return composite.members.flatMap(secretsIn);
  try {
    const url = parseTransportUrl(text);
    const secrets = [...url.params].filter(([name]) => isSecretParameter(name)).map(([, value]) => value);
    if (url.password !== undefined) secrets.push(url.password.reveal());
    // Short values would match ordinary words; adapters never print secrets anyway: this is a second guard.
    return secrets.filter((secret) => secret.length >= 4);
  } catch {
    return [];
  }
}

/** Replaces every secret (and its percent-encoded form) in `text` with `***`. */
export function scrub(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) {
    out = out.replaceAll(secret, '***').replaceAll(encodeURIComponent(secret), '***');
  }
  return out;
}

// The checks each adapter's verify() reports, in order, so that a failure can say which were not run.
const expectedChecks: Readonly<Record<string, readonly string[]>> = {
  smtp: ['connect', 'tls', 'auth'],
  smtps: ['connect', 'tls', 'auth'],
  ses: ['auth', 'sending', 'quota', 'production-access'],
  gmail: ['auth', 'profile', 'send-as'],
  graph: ['auth', 'mailbox'],
};

/**
 * Which check a verify() failure belongs to, and which earlier checks it proves passed: an SMTP
 * server that refuses AUTH was reached and negotiated TLS first; a Graph mailbox lookup that
 * is refused with 403 got a token first.
 */
export function failedCheck(scheme: string, error: MailError): { name: string; passedBefore: readonly string[] } {
  const message = error.message;
  if (error.code === 'timeout' || error.code === 'transient' || error.code === 'unknown-outcome') {
    // A failure at the provider's own endpoint after authentication is still a failure to reach it.
    return { name: 'connect', passedBefore: [] };
  }
  if (scheme === 'smtp' || scheme === 'smtps') {
    if (error.code === 'auth' || /\bAUTH\b|credentials|authentication method/i.test(message)) {
      return { name: 'auth', passedBefore: ['connect', 'tls'] };
    }
    if (/TLS|certificate|STARTTLS/i.test(message)) return { name: 'tls', passedBefore: ['connect'] };
    return { name: 'connect', passedBefore: [] };
  }
  if (scheme === 'ses') {
    if (error.code === 'sender-rejected') return { name: 'sending', passedBefore: ['auth'] };
    return { name: 'auth', passedBefore: [] };
  }
  if (scheme === 'gmail') {
    if (error.code !== 'auth' && /Gmail sendAs/.test(message)) return { name: 'send-as', passedBefore: ['auth', 'profile'] };
    if (error.code !== 'auth' && /Gmail getProfile/.test(message)) return { name: 'profile', passedBefore: ['auth'] };
    return { name: 'auth', passedBefore: [] };
  }
  if (scheme === 'graph') {
    if (error.code !== 'auth' && /Graph getUser/.test(message)) return { name: 'mailbox', passedBefore: ['auth'] };
    return { name: 'auth', passedBefore: [] };
  }
  return { name: 'verify', passedBefore: [] };
}

function passedDetail(name: string, scheme: string, host: string, port: number | undefined): string {
  if (name === 'connect') return `${host}:${port ?? (scheme === 'smtps' ? 465 : 587)} answered`;
  if (name === 'tls') return 'negotiated before authentication (or not offered on loopback)';
  if (name === 'auth') return scheme === 'smtp' || scheme === 'smtps' ? 'accepted' : 'access token obtained and accepted';
  return 'passed';
}

/** Capabilities in one line: what this transport can carry. */
export function describeCapabilities(capabilities: TransportCapabilities, details?: Readonly<Record<string, unknown>>): string {
  const yes = (value: boolean): string => (value ? 'yes' : 'no');
  const headers = capabilities.customHeaders;
  const utf8 =
    capabilities.smtpUtf8 === 'negotiated'
      ? details?.smtpUtf8 === true
        ? 'yes (the server offers it)'
        : details?.smtpUtf8 === false
          ? 'no (the server does not offer it)'
          : 'if the server offers it'
      : yes(capabilities.smtpUtf8);
  const serverSize = typeof details?.size === 'number' ? ` (server SIZE ${formatBytes(details.size)})` : '';
  return [
    `max size ${capabilities.maxMessageSize === undefined ? 'not declared' : formatBytes(capabilities.maxMessageSize)}${serverSize}`,
    `max recipients ${capabilities.maxRecipients ?? 'no limit'}`,
    `custom headers ${typeof headers === 'boolean' ? yes(headers) : headers.description}`,
    `separate envelope ${yes(capabilities.envelope)}`,
    `SMTPUTF8 ${utf8}`,
    `concurrency ${capabilities.concurrency}`,
  ].join(', ');
}

// Facts from VerifyReport.details worth a line of their own; everything is in --json.
function detailLines(scheme: string, details: Readonly<Record<string, unknown>>): CheckLine[] {
  if (scheme === 'smtp' || scheme === 'smtps') {
    const extensions = Array.isArray(details.extensions) ? (details.extensions as string[]) : [];
    const tls = typeof details.tlsProtocol === 'string' ? `; ${details.tlsProtocol}` : '; not encrypted';
    return [{ name: 'server', status: 'info', detail: `EHLO: ${extensions.join(', ') || '(no extensions)'}${tls}` }];
  }
  if (scheme === 'ses') {
    const region = typeof details.region === 'string' ? details.region : '?';
    return [
      { name: 'account', status: 'info', detail: `region ${region}, configuration set ${String(details.configurationSet ?? 'none')}` },
    ];
  }
  if (scheme === 'graph') {
    return [{ name: 'graph', status: 'info', detail: `mode ${String(details.mode)}, ${String(details.endpoint)}` }];
  }
  return [];
}

function failureLine(name: string, error: MailError): CheckLine {
  return { name, status: 'fail', detail: `${error.code}: ${error.message}`, remediation: error.remediation, code: error.code };
}

/** Creates the transport for one URL, runs its verify() and reports every check. Never throws for a transport failure. */
export async function verifySingle(text: string, options: VerifyOptions): Promise<TransportVerification> {
  const url = redactUrl(text);
  const lines: CheckLine[] = [];
  let scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(text)?.[1]?.toLowerCase() ?? '';
  const expected = expectedChecks[scheme] ?? ['verify'];
  const notRun = (after: string, done: readonly string[]): void => {
    for (const name of expected) {
      if (!done.includes(name)) lines.push({ name, status: 'skip', detail: `not run: ${after} failed` });
    }
  };
  let transport: Transport;
  let host = '';
  let port: number | undefined;
  try {
    const parsed = parseTransportUrl(text);
    scheme = parsed.scheme;
    host = parsed.host;
    port = parsed.port;
    transport = await createTransport(text, { env: options.env });
  } catch (error) {
    const mailError = MailError.isInstance(error)
      ? error
      : new MailError('configuration', (error as Error)?.message ?? String(error), { cause: error });
    lines.push(failureLine('configuration', mailError));
    notRun('configuration', []);
    return { url, transport: undefined, lines, capabilities: undefined, details: undefined, exitCode: exitCodeFor(mailError) };
  }
  const packageName = adapterPackages[scheme];
  lines.push({
    name: 'configuration',
    status: 'pass',
    detail: `${transport.id}: URL understood${packageName === undefined ? '' : `, ${packageName} loaded`}`,
  });
  let details: Readonly<Record<string, unknown>> | undefined;
  let exitCode: number = exitCodes.ok;
  try {
    if (transport.verify === undefined) {
      lines.push({ name: 'verify', status: 'skip', detail: `${transport.id} has no server to check` });
    } else {
      const timeout = AbortSignal.timeout(options.timeoutMs);
      const signal = options.signal === undefined ? timeout : AbortSignal.any([options.signal, timeout]);
      let report: VerifyReport;
      try {
        report = await transport.verify({ signal });
      } catch (error) {
        if (options.signal?.aborted === true) throw options.signal.reason;
        const mailError = timeout.aborted
          ? new MailError('timeout', `${transport.id} did not finish verifying within ${options.timeoutMs / 1000} s`, {
              remediation: 'Run "mailport doctor" to see whether the network lets the connection through, or raise --timeout.',
            })
          : MailError.isInstance(error)
            ? error
            : undefined;
        if (mailError === undefined) throw error;
        const { name, passedBefore } = failedCheck(scheme, mailError);
        for (const before of passedBefore) lines.push({ name: before, status: 'pass', detail: passedDetail(before, scheme, host, port) });
        lines.push(failureLine(name, mailError));
        notRun(name, [...passedBefore, name]);
        exitCode = exitCodeFor(mailError);
        report = { transport: transport.id, checks: [], details: {} };
      }
      for (const check of report.checks) {
        // The SES sandbox still sends (to verified recipients): a warning, not a failure of the configuration.
        const status: CheckStatus = check.ok ? 'pass' : check.name === 'production-access' ? 'warn' : 'fail';
        lines.push({ name: check.name, status, detail: check.detail });
        if (status === 'fail' && exitCode === exitCodes.ok)
          exitCode = check.name === 'quota' ? exitCodes.rateLimited : exitCodes.configuration;
      }
      if (report.checks.length > 0) {
        details = report.details;
        lines.push(...detailLines(scheme, report.details));
      }
    }
    lines.push({ name: 'capabilities', status: 'info', detail: describeCapabilities(transport.capabilities, details) });
    return { url, transport: transport.id, lines, capabilities: transport.capabilities, details, exitCode };
  } finally {
    await transport.close?.();
  }
}

/**
 * Verifies a transport URL: creates the transport (a bad URL or a missing package is a failed
 * `configuration` check), runs its `verify()`, and reports one line per check plus its
 * capabilities. A `failover(...)` or `roundrobin(...)` URL is checked as a whole, then member
 * by member.
 */
export async function verifyTransportUrl(text: string, options: VerifyOptions): Promise<VerifyResult> {
  const composite = splitCompositeUrl(text);
  if (composite === undefined) {
    const report = await verifySingle(text, options);
    return { ok: report.exitCode === exitCodes.ok, exitCode: report.exitCode, url: report.url, kind: 'single', report, members: [] };
  }
  const url = redactUrl(text);
  let whole: Transport;
  try {
    whole = await createTransport(text, { env: options.env });
  } catch (error) {
    const mailError = MailError.isInstance(error) ? error : new MailError('configuration', String((error as Error)?.message ?? error));
    const report: TransportVerification = {
      url,
      transport: undefined,
      lines: [failureLine('configuration', mailError), { name: 'members', status: 'skip', detail: 'not run: configuration failed' }],
      capabilities: undefined,
      details: undefined,
      exitCode: exitCodeFor(mailError),
    };
    return { ok: false, exitCode: report.exitCode, url, kind: composite.kind, report, members: [] };
  }
  await whole.close?.();
  const cooldown = new URLSearchParams(composite.query).get('cooldown') ?? '60s';
  const lines: CheckLine[] = [
    {
      name: 'configuration',
      status: 'pass',
      detail: `${composite.kind} over ${composite.members.length} transport${composite.members.length === 1 ? '' : 's'}, cooldown ${cooldown}`,
    },
    {
      name: 'capabilities',
      status: 'info',
      detail: `${describeCapabilities(whole.capabilities)} (the most any member carries: a message goes to a member that can take it)`,
    },
  ];
  // One after the other: the output stays in order, and two members on one server do not compete.
  const members: TransportVerification[] = [];
  const outcomes: string[] = [];
  for (const [index, member] of composite.members.entries()) {
    const memberUrl = withoutWeight(member);
    const position = `[${index + 1}/${composite.members.length}]`;
    options.onMember?.(index + 1, composite.members.length, redactUrl(memberUrl));
    const started = performance.now();
    const verification = await verifySingle(memberUrl, options);
    const seconds = `${((performance.now() - started) / 1000).toFixed(1)} s`;
    const failure = verification.lines.find((line) => line.status === 'fail');
    outcomes.push(`${position} ${failure === undefined ? 'passed' : `failed (${failure.name}: ${failure.code ?? 'error'})`} in ${seconds}`);
    members.push(verification);
  }
  // Each member's outcome in one line, so that a slow or failing member stands out before the details.
  lines.push({ name: 'members', status: 'info', detail: outcomes.join('; ') });
  const failed = members.find((member) => member.exitCode !== exitCodes.ok);
  const exitCode = failed?.exitCode ?? exitCodes.ok;
  const report: TransportVerification = { url, transport: whole.id, lines, capabilities: whole.capabilities, details: undefined, exitCode };
  return { ok: failed === undefined, exitCode, url, kind: composite.kind, report, members };
}

const labels: Readonly<Record<CheckStatus, string>> = { pass: 'PASS', warn: 'WARN', fail: 'FAIL', skip: 'SKIP', info: 'INFO' };

function renderLines(lines: readonly CheckLine[]): string {
  const width = Math.max(12, ...lines.map((line) => line.name.length));
  let out = '';
  for (const line of lines) {
    out += `${labels[line.status]} ${line.name.padEnd(width)}  ${line.detail}\n`;
    if (line.remediation !== undefined) out += `${' '.repeat(width + 7)}what to do: ${line.remediation}\n`;
  }
  return out;
}

/** The report as the terminal shows it: one line per check, then a summary. */
export function renderVerifyResult(result: VerifyResult): string {
  let out = `mailport verify ${result.url}\n\n${renderLines(result.report.lines)}`;
  result.members.forEach((member, index) => {
    out += `\n[${index + 1}/${result.members.length}] ${member.url}\n${renderLines(member.lines)}`;
  });
  const all = [...result.report.lines, ...result.members.flatMap((member) => member.lines)];
  const counted = all.filter((line) => line.status === 'pass' || line.status === 'fail' || line.status === 'warn');
  const failures = all.filter((line) => line.status === 'fail');
  const warnings = all.filter((line) => line.status === 'warn');
  const warned =
    warnings.length === 0
      ? ''
      : `, ${warnings.length} warning${warnings.length === 1 ? '' : 's'} (${warnings.map((line) => line.name).join(', ')})`;
  if (failures.length === 0) {
    out += `\nAll ${counted.length - warnings.length} checks passed${warned}.\n`;
  } else {
    out += `\n${failures.length} check${failures.length === 1 ? '' : 's'} failed (${failures.map((line) => line.name).join(', ')})${warned}: exit code ${result.exitCode}.\n`;
  }
  return out;
}
