import { Resolver } from 'node:dns/promises';
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { MailError, parseDuration } from '@mailport/core';
import { compareDkimRecord, type DkimKey, type DkimRecord, dkimRecord, parseDkimRecord, resolveDkimOptions } from '@mailport/core/dkim';
import { exitCodeFor, exitCodes, UsageError } from './exit-codes.js';
import type { CliIo } from './io.js';
import { printError } from './output.js';

/** `mailport doctor dkim --help`. */
export const doctorDkimHelp: string = `mailport doctor dkim: compare the DKIM key published in DNS with the one you sign with

  mailport doctor dkim --domain DOMAIN --selector SELECTOR [--key FILE] [--dns-server HOST[:PORT]] [--timeout 5s] [--json]

Looks up the TXT record at SELECTOR._domainkey.DOMAIN and checks it: a DKIM key record (v=DKIM1,
k=rsa or k=ed25519, p=), not revoked, allowing sha256 and email. With --key, the private key the
mailer signs with (the privateKey of createMailer's dkim option), it also checks that the record
publishes that key's public half, and prints the record to publish when it does not, or when
there is none yet. Nothing is sent.

  --domain DOMAIN      the signing domain (d=), such as shop.example
  --selector SELECTOR  the selector (s=), such as s2025
  --key FILE           the private key: PEM (PKCS #8 or PKCS #1), DER, or an Ed25519 seed in base64
  --dns-server SERVER  ask this DNS server (an IP address, optionally :PORT) instead of the system's
  --timeout TIME       how long to wait for DNS (default 5s)
  --json               print the result as JSON

Exit codes: 0 the record is good (and publishes --key), 2 usage, 4 no record, a malformed one, or
one that does not match --key, 8 DNS did not answer.
`;

/** How TXT records are looked up: node:dns by default; tests pass their own. */
export type TxtLookup = (name: string) => Promise<string[][]>;

/** Options of {@link runDoctorDkim}, for tests. */
export interface DoctorDkimOptions {
  readonly resolveTxt?: TxtLookup | undefined;
}

/** What `doctor dkim` found, as `--json` prints it. */
export interface DkimReport {
  readonly name: string;
  readonly server: string;
  /** Every TXT record at the name, each joined from its strings. */
  readonly published: readonly string[];
  readonly record: DkimRecord | undefined;
  readonly ok: boolean;
  readonly problems: readonly string[];
  readonly notes: readonly string[];
  /** The record to publish for --key, when it is missing or different. */
  readonly publish: { readonly name: string; readonly value: string } | undefined;
}

/** `mailport doctor dkim`: the published DKIM key record against the configured key. */
export async function runDoctorDkim(argv: readonly string[], io: CliIo, options: DoctorDkimOptions = {}): Promise<number> {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      domain: { type: 'string' },
      selector: { type: 'string' },
      key: { type: 'string' },
      'dns-server': { type: 'string' },
      timeout: { type: 'string', default: '5s' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) {
    io.stdout.write(doctorDkimHelp);
    return exitCodes.ok;
  }
  if (values.domain === undefined || values.selector === undefined) throw new UsageError('doctor dkim needs --domain and --selector');
  let timeoutMs: number;
  try {
    timeoutMs = parseDuration(values.timeout, '--timeout', '');
  } catch {
    throw new UsageError(`--timeout ${values.timeout} is not a duration: write 500ms, 5s or 1m`);
  }
  if (timeoutMs <= 0) throw new UsageError('--timeout must be above 0');
  const server = values['dns-server'] === undefined ? undefined : dnsServer(values['dns-server']);
  const json = values.json;

  let key: DkimKey | undefined;
  let name: string;
  try {
    const privateKey = values.key === undefined ? undefined : await readFile(resolve(io.cwd, values.key));
    // Without --key the names are still checked the way the mailer checks them; any valid key will do for that.
    const [resolved] = resolveDkimOptions({
      keys: [{ domain: values.domain, selector: values.selector, privateKey: privateKey ?? placeholderKey }],
    }).keys as [DkimKey];
    name = `${resolved.selector}._domainkey.${resolved.domain}`;
    key = privateKey === undefined ? undefined : resolved;
  } catch (error) {
    const shown = MailError.isInstance(error)
      ? error
      : new MailError('configuration', `Cannot read --key ${values.key}: ${(error as Error).message}`, { cause: error });
    printError(io, shown, json);
    return exitCodeFor(shown);
  }

  const lookup = options.resolveTxt ?? systemLookup(server, timeoutMs);
  let published: string[];
  try {
    published = (await lookup(name)).map((strings) => strings.join(''));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'ENOTFOUND' && code !== 'ENODATA') {
      const failure = new MailError('transient', `DNS did not answer for ${name} (${code ?? (error as Error).message})`, {
        remediation:
          server === undefined
            ? 'Check the network, or ask a DNS server you trust with --dns-server.'
            : `Check that ${server} answers DNS.`,
        cause: error,
      });
      printError(io, failure, json);
      return exitCodeFor(failure);
    }
    published = [];
  }

  const report = evaluate(name, server ?? 'system resolver', published, key);
  if (json) io.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  else io.stdout.write(describe(report, key));
  return report.ok ? exitCodes.ok : exitCodes.configuration;
}

function evaluate(name: string, server: string, published: readonly string[], key: DkimKey | undefined): DkimReport {
  const publish = key === undefined ? undefined : dkimRecord(key);
  const candidates = published.filter((text) => /^\s*v\s*=\s*DKIM1\b/.test(text) || /(^|;)\s*p\s*=/.test(text));
  const base = { name, server, published };
  if (candidates.length === 0) {
    return {
      ...base,
      record: undefined,
      ok: false,
      problems: [
        published.length === 0 ? `no TXT record at ${name}` : `no DKIM key record among the ${published.length} TXT records at ${name}`,
      ],
      notes: [],
      publish,
    };
  }
  if (candidates.length > 1) {
    return {
      ...base,
      record: undefined,
      ok: false,
      problems: [`${candidates.length} DKIM records at ${name}: verifiers fail or pick one at random; keep one`],
      notes: [],
      publish,
    };
  }
  let record: DkimRecord;
  try {
    record = parseDkimRecord(candidates[0] as string);
  } catch (error) {
    return { ...base, record: undefined, ok: false, problems: [(error as Error).message], notes: [], publish };
  }
  const problems: string[] = [];
  const notes: string[] = [];
  if (key === undefined) {
    if (record.publicKey === '') problems.push('the record revokes the key (p= is empty)');
    if (record.keyType !== 'rsa' && record.keyType !== 'ed25519') problems.push(`k=${record.keyType} is neither rsa nor ed25519`);
    if (record.flags.includes('y')) notes.push('t=y: the domain is testing DKIM; verifiers may treat failures as unsigned');
    notes.push('no --key given: the record was not compared with the key the mailer signs with');
  } else {
    const comparison = compareDkimRecord(record, key);
    problems.push(...comparison.problems);
    notes.push(...comparison.notes);
  }
  const ok = problems.length === 0;
  return { ...base, record, ok, problems, notes, publish: ok ? undefined : publish };
}

function describe(report: DkimReport, key: DkimKey | undefined): string {
  const lines = [`mailport doctor dkim: ${report.name} (${report.server})`];
  for (const text of report.published) lines.push(`  TXT    ${text}`);
  if (report.ok) {
    const what =
      key === undefined
        ? `an ${report.record?.keyType === 'ed25519' ? 'Ed25519' : 'RSA'} key`
        : `the configured ${key.algorithm === 'rsa-sha256' ? `RSA ${key.bits}-bit` : 'Ed25519'} key`;
    lines.push(`  OK     publishes ${what}`);
  }
  for (const problem of report.problems) lines.push(`  FAIL   ${problem}`);
  for (const note of report.notes) lines.push(`  NOTE   ${note}`);
  if (report.publish !== undefined) {
    lines.push('', `Publish this TXT record at ${report.publish.name}:`, `  ${report.publish.value}`);
    if (report.publish.value.length > 255) {
      lines.push('  (longer than 255 characters: enter it as several quoted strings of one record; most DNS consoles split it for you)');
    }
  }
  return `${lines.join('\n')}\n`;
}

function systemLookup(server: string | undefined, timeoutMs: number): TxtLookup {
  const resolver = new Resolver({ timeout: timeoutMs, tries: 1 });
  if (server !== undefined) resolver.setServers([server]);
  return (name) => resolver.resolveTxt(name);
}

/** `HOST` or `HOST:PORT` (IPv6 as `[::1]:53`), as `Resolver.setServers` takes it. */
function dnsServer(text: string): string {
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  const [host, port] =
    bracketed !== null ? [bracketed[1] ?? '', bracketed[2]] : text.includes(':') && isIP(text) !== 6 ? text.split(':') : [text, undefined];
  if (isIP(host ?? '') === 0) throw new UsageError(`--dns-server ${text} is not an IP address (HOST or HOST:PORT)`);
  if (port !== undefined && !(Number(port) >= 1 && Number(port) <= 65_535))
    throw new UsageError(`--dns-server ${text}: ${port} is not a port`);
  if (port === undefined) return host as string;
  return isIP(host as string) === 6 ? `[${host}]:${port}` : `${host}:${port}`;
}

// RFC 8032 7.1, test 1: a valid key, only so that --domain and --selector are checked as the mailer checks them.
const placeholderKey = 'nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A=';
