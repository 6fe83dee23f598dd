import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createTransport, MailError, parseDuration, parseTransportUrl, redactUrl } from '@mailport/core';
import { type AuthFinding, conclude, type DoctorFinding, explain } from '../doctor-explain.js';
import { type HostResolution, mapLimit, type ProbeResult, probeTarget, resolveHost } from '../doctor-probe.js';
import { type DoctorTarget, defaultTargets, type TargetPlan, targetsFromHosts, targetsFromUrl } from '../doctor-targets.js';
import { exitCodeFor, exitCodes, UsageError } from '../exit-codes.js';
import type { CliIo } from '../io.js';
import { printError } from '../output.js';
import { failedCheck, scrub, secretsIn, splitCompositeUrl, withoutWeight } from '../verify-report.js';

/** `mailport doctor --help`. */
export const doctorHelp: string = `mailport doctor: probe outbound connections and explain what is blocked

  mailport doctor [--url URL] [--host HOST ...] [--port PORT ...] [--timeout 5s] [--ca-file FILE] [--json]

Probes outbound TCP on 25, 465, 587, 2525 and 443 and says, port by port, what happened:
no answer (a firewall drops it), refused (nothing listens), DNS, no SMTP greeting, STARTTLS
offered or not, implicit TLS, and whether the TLS certificate verifies. It ends with what to
do: the port or the transport to switch to, and why. Nothing is sent; with an smtp:// URL that
has credentials it also tries AUTH once, to tell an authentication policy (basic auth turned
off: 535 5.7.139) from wrong credentials.

Which hosts:
  --url URL (default: $MAILPORT_URL)  the transport's own host and port; for SMTP also the
                  host's other SMTP ports and the HTTPS API it could move to; for ses://,
                  gmail:// and graph:// the API host and its token endpoint
  --host HOST     instead, this host (repeatable): HOST for the ports above, HOST:PORT, or
                  smtp://HOST:PORT, smtps://..., https://..., tcp://... to probe one port that way
  neither         smtp.gmail.com, smtp.office365.com, email-smtp.us-east-1.amazonaws.com and
                  their HTTPS APIs (gmail.googleapis.com, graph.microsoft.com, email.us-east-1.amazonaws.com)
Known provider hosts are probed on the ports the provider documents; the others are listed as SKIP.

  --port PORT     the ports to probe on a bare --host (repeatable; default 25 465 587 2525 443)
  --timeout TIME  the budget of each step (default 5s): DNS for every host at once, then each
                  probe's connect, greeting, TLS and EHLO together, 16 probes at a time; a run
                  takes about TIME, at most twice it (AUTH, in parallel, gets twice it too)
  --ca-file FILE  a PEM CA to trust besides the system's (a private server, a TLS-inspecting proxy)
  --no-auth       do not try AUTH with the URL's credentials
  --json          print the findings as JSON

mailport doctor dkim --domain DOMAIN --selector SELECTOR [--key FILE] compares the DKIM key
published in DNS with the one you sign with (mailport doctor dkim --help).

Exit codes: 0 nothing blocked (with --url: the transport's own endpoints and AUTH passed;
otherwise: every probe passed), 2 usage, 4 TLS, DNS or configuration, 5 authentication,
8 a port blocked, refused or silent.
`;

const parallelProbes = 16;

/** `mailport doctor`: outbound ports, TLS and SMTP authentication policy, explained. */
export async function runDoctor(argv: readonly string[], io: CliIo): Promise<number> {
  // `mailport doctor dkim`: the published DKIM key against the configured one, in a module of its own.
  if (argv[0] === 'dkim') return (await import('../doctor-dkim.js')).runDoctorDkim(argv.slice(1), io);
  const { values } = parseArgs({
    args: [...argv],
    options: {
      url: { type: 'string' },
      host: { type: 'string', multiple: true },
      port: { type: 'string', multiple: true },
      timeout: { type: 'string', default: '5s' },
      'ca-file': { type: 'string' },
      'no-auth': { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) {
    io.stdout.write(doctorHelp);
    return exitCodes.ok;
  }
  let timeoutMs: number;
  try {
    timeoutMs = parseDuration(values.timeout, '--timeout', '');
  } catch {
    throw new UsageError(`--timeout ${values.timeout} is not a duration: write 500ms, 5s or 1m`);
  }
  if (timeoutMs <= 0) throw new UsageError('--timeout must be above 0');
  const ports = values.port?.map((text) => {
    const port = Number(text);
    if (!Number.isInteger(port) || port < 1 || port > 65_535) throw new UsageError(`--port ${text} is not a TCP port`);
    return port;
  });
  if (ports !== undefined && values.host === undefined) throw new UsageError('--port applies to --host');
  const json = values.json;
  const url = values.host === undefined ? (values.url ?? io.env.MAILPORT_URL ?? '').trim() : (values.url ?? '').trim();
  const secrets = url === '' ? [] : secretsIn(url);
  const write = (text: string): void => {
    io.stdout.write(url === '' ? text : scrub(text, secrets));
  };
  let plan: TargetPlan;
  const ca: Buffer[] = [];
  try {
    if (values['ca-file'] !== undefined) ca.push(await readCaFile(values['ca-file'], io));
    if (values.host !== undefined) {
      plan = { targets: targetsFromHosts(values.host, ports), ca: [], configured: [], notes: [] };
      if (url !== '') plan = { ...plan, configured: targetsFromUrl(url, io.env).configured };
    } else if (url !== '') plan = targetsFromUrl(url, io.env);
    else plan = { targets: defaultTargets(), ca: [], configured: [], notes: [] };
  } catch (error) {
    printError(io, error, json);
    return exitCodeFor(error);
  }
  ca.push(...plan.ca);

  const hosts = [...new Set(plan.targets.filter((target) => target.served !== false).map((target) => target.host))];
  if (!json) {
    const count = plan.targets.filter((target) => target.served !== false).length;
    write(
      `mailport doctor: ${count} port${count === 1 ? '' : 's'} on ${hosts.length} host${hosts.length === 1 ? '' : 's'}` +
        `${url === '' ? '' : ` for ${redactUrl(url)}`}, ${timeoutMs / 1000} s per probe, in parallel\n`,
    );
  }
  const authTask =
    values['no-auth'] || url === '' ? Promise.resolve([]) : authFindings(url, io, timeoutMs, values['ca-file'] === undefined ? [] : ca);
  // DNS once per host, then every port of every host, at most parallelProbes at a time.
  const resolutions = new Map<string, HostResolution>();
  await mapLimit(hosts, parallelProbes, async (host) => {
    resolutions.set(host, await resolveHost(host, timeoutMs));
  });
  const findings: DoctorFinding[] = await mapLimit(plan.targets, parallelProbes, async (target): Promise<DoctorFinding> => {
    if (target.served === false) return { target, result: undefined };
    const resolution = resolutions.get(target.host) as HostResolution;
    if (!resolution.ok) {
      const result: ProbeResult = {
        ...probeTargetOf(target),
        outcome: 'dns-failed',
        elapsedMs: 0,
        stage: 'dns',
        errorCode: resolution.errorCode,
        message: resolution.message,
      };
      return { target, result };
    }
    return {
      target,
      result: await probeTarget(probeTargetOf(target), { timeoutMs, ca, addresses: resolution.addresses, signal: io.signal }),
    };
  });
  const auth = await authTask;
  const conclusion = conclude(findings, plan.configured, auth);
  if (json) {
    write(
      `${JSON.stringify(
        {
          url: url === '' ? undefined : redactUrl(url),
          timeoutMs,
          findings: findings.map((finding) => ({ ...finding.target, ...explain(finding, timeoutMs), result: finding.result })),
          auth,
          notes: plan.notes,
          recommendations: conclusion.recommendations,
          exitCode: conclusion.exitCode,
        },
        null,
        2,
      )}\n`,
    );
  } else {
    write(renderFindings(findings, auth, plan.notes, conclusion.recommendations, timeoutMs));
  }
  return conclusion.exitCode;
}

function probeTargetOf(target: DoctorTarget): { host: string; port: number; kind: DoctorTarget['kind'] } {
  return { host: target.host, port: target.port, kind: target.kind };
}

async function readCaFile(path: string, io: CliIo): Promise<Buffer> {
  try {
    return await readFile(resolve(io.cwd, path));
  } catch (error) {
    throw new MailError('configuration', `--ca-file ${path}: ${(error as Error).message}`, { remediation: 'Give the path of a PEM file.' });
  }
}

/**
 * Tries AUTH once with each SMTP URL that has credentials, through the SMTP transport's own
 * verify() and its error mapping, which knows Microsoft's 5.7.139 and Google's 5.7.8.
 */
async function authFindings(url: string, io: CliIo, timeoutMs: number, ca: readonly Buffer[]): Promise<AuthFinding[]> {
  const members = splitCompositeUrl(url)?.members.map(withoutWeight) ?? [url];
  const findings: AuthFinding[] = [];
  for (const member of members) {
    let parsed: ReturnType<typeof parseTransportUrl>;
    try {
      parsed = parseTransportUrl(member);
    } catch {
      continue;
    }
    if ((parsed.scheme !== 'smtp' && parsed.scheme !== 'smtps') || parsed.username === undefined) continue;
    const overrides = {
      connectionTimeoutMs: timeoutMs,
      greetingTimeoutMs: timeoutMs,
      socketTimeoutMs: timeoutMs,
      pool: false,
      ...(ca.length > 0 ? { ca: [...ca] } : {}),
    };
    const base = { transport: parsed.redacted, host: parsed.host };
    try {
      const transport = await createTransport(member, { env: io.env, adapters: { smtp: overrides, smtps: overrides } });
      try {
        const timeout = AbortSignal.timeout(timeoutMs * 2);
        const report = await (transport.verify?.({ signal: AbortSignal.any([io.signal, timeout]) }) ??
          Promise.reject(new MailError('unsupported', 'no verify()')));
        const check = report.checks.find((entry) => entry.name === 'auth');
        findings.push({ ...base, ok: true, detail: check?.detail ?? 'accepted', exitCode: exitCodes.ok });
      } finally {
        await transport.close?.();
      }
    } catch (error) {
      if (io.signal.aborted) throw io.signal.reason;
      if (!MailError.isInstance(error)) {
        findings.push({ ...base, ok: false, detail: `not tried: ${(error as Error)?.message ?? String(error)}`, exitCode: exitCodes.ok });
        continue;
      }
      const stage = failedCheck(parsed.scheme, error).name;
      if (stage !== 'auth') {
        // The connection or TLS failed before AUTH: the probes above explain that.
        findings.push({ ...base, ok: true, detail: `not reached: ${error.code}: ${error.message}`, exitCode: exitCodes.ok });
        continue;
      }
      const status = error.providerCode;
      const policy: AuthFinding['policy'] =
        status === '5.7.139' || status === '5.7.30' || /Basic authentication refused/i.test(error.message)
          ? 'basic-auth-disabled'
          : /app password/i.test(error.remediation ?? '')
            ? 'password-refused'
            : error.code === 'auth'
              ? 'credentials'
              : 'other';
      findings.push({
        ...base,
        ok: false,
        detail: `${error.code}: ${error.message}`,
        code: error.code,
        providerCode: status,
        remediation: error.remediation,
        policy,
        exitCode: exitCodeFor(error),
      });
    }
  }
  return findings;
}

const labels = { pass: 'PASS', warn: 'WARN', fail: 'FAIL', skip: 'SKIP' } as const;

function renderFindings(
  findings: readonly DoctorFinding[],
  auth: readonly AuthFinding[],
  notes: readonly string[],
  recommendations: readonly string[],
  timeoutMs: number,
): string {
  let out = '';
  const byHost = new Map<string, DoctorFinding[]>();
  for (const finding of findings) {
    const list = byHost.get(finding.target.host) ?? [];
    list.push(finding);
    byHost.set(finding.target.host, list);
  }
  for (const [host, list] of byHost) {
    const label = list[0]?.target.label;
    out += `\n${host}${label === undefined ? '' : `  (${label})`}\n`;
    const probed = list.filter((finding) => finding.result !== undefined);
    if (probed.length > 1 && probed.every((finding) => finding.result?.outcome === 'dns-failed')) {
      // One DNS failure explains every port of the host.
      const { text, advice } = explain(probed[0] as DoctorFinding, timeoutMs);
      out += `  FAIL  ${probed.map((finding) => finding.target.port).join(', ')}: ${text}\n${' '.repeat(22)}-> ${advice}\n`;
      for (const skipped of list.filter((finding) => finding.result === undefined)) {
        out += `  SKIP  ${String(skipped.target.port).padEnd(5)} ${skipped.target.kind.padEnd(5)}  ${explain(skipped, timeoutMs).text}\n`;
      }
      continue;
    }
    let lastAdvice: string | undefined;
    for (const finding of list) {
      const { status, text, advice } = explain(finding, timeoutMs);
      const role = finding.target.role === 'configured' ? 'configured: ' : finding.target.role === 'token' ? 'token endpoint: ' : '';
      out += `  ${labels[status]}  ${String(finding.target.port).padEnd(5)} ${finding.target.kind.padEnd(5)}  ${role}${text}\n`;
      // The same advice for the next port of the host would only repeat itself.
      if (advice !== undefined && status !== 'pass' && advice !== lastAdvice) out += `${' '.repeat(22)}-> ${advice}\n`;
      lastAdvice = advice;
    }
  }
  for (const finding of auth) {
    out += `\nAUTH with ${finding.transport}\n`;
    out += `  ${finding.ok ? (finding.detail.startsWith('not') ? 'SKIP' : 'PASS') : 'FAIL'}  ${finding.detail}\n`;
    if (!finding.ok && finding.remediation !== undefined) out += `${' '.repeat(8)}what to do: ${finding.remediation}\n`;
  }
  for (const note of notes) out += `\n${note}\n`;
  out += '\nRecommendation\n';
  for (const recommendation of recommendations) out += `  - ${recommendation}\n`;
  return out;
}
