import { readFileSync } from 'node:fs';
import { isLoopback, MailError, parseTransportUrl, type TransportUrl } from '@mailport/core';
import type { ProbeKind, ProbeTarget } from './doctor-probe.js';
import { defaultApiHosts, identifySmtpHost, type SmtpHostMatch } from './migrate-providers.js';
import providerHosts from './provider-hosts.json' with { type: 'json' };
import { splitCompositeUrl, withoutWeight } from './verify-report.js';

/** The ports the doctor probes on a host when not told otherwise. */
export const standardPorts: readonly number[] = [25, 465, 587, 2525, 443];

/** Why a target is probed; `configured` targets decide the exit code when a URL is given. */
export type TargetRole = 'configured' | 'token' | 'alternative' | 'api' | 'given' | 'default';

/** A probe target with what the doctor knows about it. */
export interface DoctorTarget extends ProbeTarget {
  readonly role: TargetRole;
  /** False for a port the provider does not serve (not probed), true when it documents it, undefined when unknown. */
  readonly served: boolean | undefined;
  /** What the host is: `Microsoft 365 (Exchange Online) SMTP AUTH`, `the Gmail API`, ... */
  readonly label: string | undefined;
}

/** The configured transport as the recommendations need it. */
export interface ConfiguredTransport {
  /** Credentials replaced by `***`. */
  readonly redacted: string;
  readonly scheme: string;
  readonly host: string;
  readonly port: number | undefined;
  /** The provider of an SMTP host, when known. */
  readonly provider: SmtpHostMatch | undefined;
}

/** Targets, the CA certificates the URL names, and the transports they came from. */
export interface TargetPlan {
  readonly targets: readonly DoctorTarget[];
  readonly ca: readonly Buffer[];
  readonly configured: readonly ConfiguredTransport[];
  /** Members the doctor cannot probe (memory://, file://), with why. */
  readonly notes: readonly string[];
}

/** `smtps` for the implicit-TLS ports, `https` for 443, `smtp` (STARTTLS) otherwise. */
export function kindForPort(port: number): ProbeKind {
  if (port === 465 || port === 2465) return 'smtps';
  if (port === 443 || port === 8443) return 'https';
  return 'smtp';
}

const apiLabels: ReadonlyArray<[RegExp, string]> = providerHosts.apiLabels.map(({ hostPattern, label }) => [
  new RegExp(hostPattern),
  label,
]);

/** What an HTTPS API host is, or undefined. */
export function apiLabel(host: string): string | undefined {
  return apiLabels.find(([pattern]) => pattern.test(host.toLowerCase()))?.[1];
}

/** Targets for a provider's SMTP host: its documented ports (the others marked not served) and its API hosts. */
function providerTargets(match: SmtpHostMatch, role: TargetRole, ports: readonly number[]): DoctorTarget[] {
  const targets: DoctorTarget[] = ports
    .filter((port) => port !== 443)
    .map((port) => ({
      host: match.host,
      port,
      kind: kindForPort(port),
      role,
      served: match.smtpPorts.includes(port),
      label: match.name,
    }));
  // SES documents 2465 and 2587 as well: the ports to try when the usual ones are blocked.
  for (const port of match.smtpPorts) {
    if (!ports.includes(port)) targets.push({ host: match.host, port, kind: kindForPort(port), role, served: true, label: match.name });
  }
  for (const host of match.apiHosts) targets.push({ host, port: 443, kind: 'https', role: 'api', served: true, label: apiLabel(host) });
  return targets;
}

/**
 * Reads `--host` values: `HOST` (the standard ports, or `ports`), `HOST:PORT`, or
 * `smtp://HOST:PORT`, `smtps://`, `https://`, `http://` / `tcp://` (connect only) for one port
 * probed that way. Known provider hosts get their documented ports and API hosts.
 */
export function targetsFromHosts(values: readonly string[], ports: readonly number[] | undefined): DoctorTarget[] {
  const targets: DoctorTarget[] = [];
  for (const value of values) {
    const schemed = /^(smtp|smtps|https|http|tcp):\/\/(\[[^\]]+\]|[^:/?#]+)(?::(\d+))?\/?$/i.exec(value.trim());
    if (schemed !== null) {
      const scheme = (schemed[1] as string).toLowerCase();
      const kind: ProbeKind = scheme === 'http' || scheme === 'tcp' ? 'tcp' : (scheme as ProbeKind);
      const defaultPort = { smtp: 587, smtps: 465, https: 443, http: 80, tcp: 0 }[scheme] ?? 0;
      const port = schemed[3] === undefined ? defaultPort : Number(schemed[3]);
      const host = (schemed[2] as string).replace(/^\[|\]$/g, '');
      targets.push({ host, port: checkPort(port, value), kind, role: 'given', served: undefined, label: apiLabel(host) });
      continue;
    }
    const withPort = /^(\[[^\]]+\]|[^:[\]]+):(\d+)$/.exec(value.trim());
    if (withPort !== null) {
      const host = (withPort[1] as string).replace(/^\[|\]$/g, '');
      const port = checkPort(Number(withPort[2]), value);
      targets.push({ host, port, kind: kindForPort(port), role: 'given', served: undefined, label: apiLabel(host) });
      continue;
    }
    const host = value.trim().replace(/^\[|\]$/g, '');
    if (host === '' || /[\s/@]/.test(host)) throw new MailError('configuration', `--host ${value} is not a host name`);
    const match = identifySmtpHost(host);
    if (match !== undefined) {
      targets.push(...providerTargets(match, 'given', ports ?? standardPorts));
      continue;
    }
    const label = apiLabel(host);
    for (const port of ports ?? standardPorts) {
      // An API host serves HTTPS only: probing its SMTP ports would only time out.
      const served = label === undefined ? undefined : port === 443;
      targets.push({ host, port, kind: kindForPort(port), role: 'given', served, label });
    }
  }
  return dedupe(targets);
}

function checkPort(port: number, value: string): number {
  if (!Number.isInteger(port) || port < 1 || port > 65_535)
    throw new MailError('configuration', `${value}: port ${port} is not a TCP port`);
  return port;
}

/** The hosts probed when nothing is configured: the three providers' SMTP hosts and their HTTPS APIs. */
export function defaultTargets(): DoctorTarget[] {
  const targets: DoctorTarget[] = [];
  for (const host of ['smtp.gmail.com', 'smtp.office365.com', 'email-smtp.us-east-1.amazonaws.com']) {
    const match = identifySmtpHost(host) as SmtpHostMatch;
    targets.push(...providerTargets({ ...match, apiHosts: match.apiHosts.slice(0, 1) }, 'default', standardPorts));
  }
  return dedupe(targets).map((target) => (target.role === 'api' ? { ...target, role: 'default' } : target));
}

function endpointTarget(value: string, role: TargetRole): DoctorTarget | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return undefined;
  }
  const https = url.protocol === 'https:';
  const port = url.port === '' ? (https ? 443 : 80) : Number(url.port);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  return { host, port, kind: https ? 'https' : 'tcp', role, served: true, label: apiLabel(host) };
}

function readCa(url: TransportUrl): Buffer[] {
  const file = url.params.get('ca_file');
  if (file === undefined) return [];
  try {
    return [readFileSync(file)];
  } catch (error) {
    throw new MailError('configuration', `Transport URL ${url.redacted}: cannot read ca_file ${file}: ${(error as Error).message}`);
  }
}

/**
 * The targets for a transport URL: for SMTP, the configured host and port, the host's other
 * SMTP ports and the HTTPS API it could move to (not for a loopback host); for the API
 * transports, the API host and its token endpoint, as the URL's `endpoint` (or its old names
 * `root_url` and `base_url`), `token_url` or `authority_host` override them. `failover(...)` and
 * `roundrobin(...)` are the union of their members.
 */
export function targetsFromUrl(text: string, env: Readonly<Record<string, string | undefined>>): TargetPlan {
  const composite = splitCompositeUrl(text);
  if (composite !== undefined) {
    const plans = composite.members.map((member) => targetsFromUrl(withoutWeight(member), env));
    return {
      targets: dedupe(plans.flatMap((plan) => plan.targets)),
      ca: plans.flatMap((plan) => plan.ca),
      configured: plans.flatMap((plan) => plan.configured),
      notes: plans.flatMap((plan) => plan.notes),
    };
  }
  const url = parseTransportUrl(text);
  const ca = readCa(url);
  const targets: DoctorTarget[] = [];
  let provider: SmtpHostMatch | undefined;
  const notes: string[] = [];
  switch (url.scheme) {
    case 'smtp':
    case 'smtps': {
      if (url.host === '') throw new MailError('configuration', `Transport URL ${url.redacted} has no host`);
      const port = url.port ?? (url.scheme === 'smtps' ? 465 : 587);
      provider = identifySmtpHost(url.host);
      targets.push({
        host: url.host,
        port,
        kind: url.scheme === 'smtps' ? 'smtps' : 'smtp',
        role: 'configured',
        served: provider === undefined ? true : provider.smtpPorts.includes(port) || undefined,
        label: provider?.name,
      });
      if (!isLoopback(url.host)) {
        if (provider !== undefined) targets.push(...providerTargets(provider, 'alternative', standardPorts));
        else {
          for (const other of standardPorts.filter((candidate) => candidate !== port && candidate !== 443)) {
            targets.push({
              host: url.host,
              port: other,
              kind: kindForPort(other),
              role: 'alternative',
              served: undefined,
              label: undefined,
            });
          }
          for (const scheme of ['ses', 'gmail', 'graph'] as const) {
            const host = defaultApiHosts(scheme)[0] as string;
            targets.push({ host, port: 443, kind: 'https', role: 'api', served: true, label: apiLabel(host) });
          }
        }
      }
      const oauth = url.params.get('oauth')?.toLowerCase();
      if (oauth === 'google') {
        const token = endpointTarget(url.params.get('token_url') ?? 'https://oauth2.googleapis.com/token', 'token');
        if (token !== undefined) targets.push(token);
      } else if (oauth === 'microsoft') {
        const authority = url.params.get('authority_host') ?? env.AZURE_AUTHORITY_HOST ?? 'https://login.microsoftonline.com';
        const token = endpointTarget(authority, 'token');
        if (token !== undefined) targets.push(token);
      }
      break;
    }
    case 'ses': {
      const region = url.host || env.AWS_REGION || env.AWS_DEFAULT_REGION || 'us-east-1';
      const endpoint = url.params.get('endpoint');
      const target = endpointTarget(endpoint ?? `https://email.${region}.amazonaws.com`, 'configured');
      if (target !== undefined) targets.push(target);
      break;
    }
    case 'gmail': {
      const api = endpointTarget(url.params.get('endpoint') ?? url.params.get('root_url') ?? 'https://gmail.googleapis.com/', 'configured');
      const token = endpointTarget(url.params.get('token_url') ?? 'https://oauth2.googleapis.com/token', 'token');
      if (api !== undefined) targets.push(api);
      if (token !== undefined) targets.push(token);
      break;
    }
    case 'graph': {
      const base = endpointTarget(
        url.params.get('endpoint') ?? url.params.get('base_url') ?? 'https://graph.microsoft.com/v1.0',
        'configured',
      );
      const authority = endpointTarget(
        url.params.get('authority_host') ?? env.AZURE_AUTHORITY_HOST ?? 'https://login.microsoftonline.com',
        'token',
      );
      if (base !== undefined) targets.push(base);
      if (authority !== undefined) targets.push(authority);
      break;
    }
    case 'memory':
    case 'file':
      notes.push(`${url.redacted} has no network endpoint to probe.`);
      break;
    default:
      throw new MailError('configuration', `Unknown transport scheme "${url.scheme}://" in ${url.redacted}`, {
        remediation: 'Use smtp://, smtps://, ses://, gmail://, graph://, memory:// or file://.',
      });
  }
  return {
    targets: dedupe(targets),
    ca,
    configured: [{ redacted: url.redacted, scheme: url.scheme, host: url.host, port: url.port, provider }],
    notes,
  };
}

const rolePriority: Readonly<Record<TargetRole, number>> = { configured: 0, token: 1, given: 2, api: 3, alternative: 4, default: 5 };

/** One target per host and port: the most important role wins, the first kind is kept. */
function dedupe(targets: readonly DoctorTarget[]): DoctorTarget[] {
  const byKey = new Map<string, DoctorTarget>();
  for (const target of targets) {
    const key = `${target.host.toLowerCase()}|${target.port}`;
    const existing = byKey.get(key);
    if (existing === undefined) byKey.set(key, target);
    else if (rolePriority[target.role] < rolePriority[existing.role]) byKey.set(key, { ...existing, role: target.role });
  }
  return [...byKey.values()];
}
