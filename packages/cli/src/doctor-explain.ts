import { isLoopback, type MailErrorCode } from '@mailport/core';
import type { ProbeOutcome, ProbeResult } from './doctor-probe.js';
import type { ConfiguredTransport, DoctorTarget, TargetRole } from './doctor-targets.js';
import { exitCodes } from './exit-codes.js';

/** A probed (or skipped) target with its result. */
export interface DoctorFinding {
  readonly target: DoctorTarget;
  /** Undefined for a target that was not probed (a port the provider does not serve). */
  readonly result: ProbeResult | undefined;
}

/** How a finding reads: a status, one line, and for a failure what to switch to and why. */
export interface Explanation {
  readonly status: 'pass' | 'warn' | 'fail' | 'skip';
  readonly text: string;
  readonly advice?: string | undefined;
}

/** What an AUTH attempt with the configured SMTP credentials found. */
export interface AuthFinding {
  /** The SMTP URL, redacted. */
  readonly transport: string;
  readonly host: string;
  readonly ok: boolean;
  readonly detail: string;
  readonly code?: MailErrorCode | undefined;
  /** The enhanced status code (`5.7.139`) or provider code. */
  readonly providerCode?: string | undefined;
  readonly remediation?: string | undefined;
  /** The reason class: a provider's policy against passwords, or credentials simply refused. */
  readonly policy?: 'basic-auth-disabled' | 'password-refused' | 'credentials' | 'other' | undefined;
  readonly exitCode: number;
}

const httpsSwitch =
  'an HTTPS transport sends over port 443 instead: ses:// (Amazon SES), gmail:// (Gmail / Google Workspace) or graph:// (Microsoft 365)';

// "...:SSL routines:tls_validate_record_header:wrong version number:..." -> "wrong version number".
function opensslReason(message: string | undefined): string | undefined {
  if (message === undefined) return undefined;
  return /routines:[^:]*:([^:]+)/.exec(message)?.[1] ?? message.slice(0, 120);
}

function isSmtpKind(result: { kind: string }): boolean {
  return result.kind === 'smtp' || result.kind === 'smtps';
}

function seconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(1))} s`;
}

function switchFor(finding: DoctorFinding): string {
  const provider = finding.target.label;
  if (/Gmail|Google/.test(provider ?? '')) return 'gmail:// (the Gmail API) sends over port 443 instead';
  if (/Microsoft|Outlook/.test(provider ?? '')) return 'graph:// (Microsoft Graph) sends over port 443 instead';
  if (/SES/.test(provider ?? '')) return 'ses:// (the SES API) sends over port 443 instead';
  return httpsSwitch;
}

/**
 * One line per finding, saying what happened and, for a failure, what to do or switch to.
 * Pure: a table of outcomes, tested without a network.
 */
export function explain(finding: DoctorFinding, timeoutMs: number): Explanation {
  const { target, result } = finding;
  if (result === undefined) {
    return { status: 'skip', text: `not probed: ${target.label ?? target.host} does not serve port ${target.port}` };
  }
  const smtp = isSmtpKind(result);
  const tls = result.tls;
  const tlsText =
    tls === undefined
      ? ''
      : `${tls.protocol ?? 'TLS'}, certificate for ${tls.subject ?? '?'} issued by ${tls.issuer ?? '?'}${tls.authorized ? ', verified' : ''}`;
  const auth = result.extensions?.find((line) => /^AUTH\b/i.test(line));
  const unserved = target.served === undefined ? ' (or the host does not serve this port)' : '';
  switch (result.outcome) {
    case 'ok': {
      if (result.kind === 'tcp') return { status: 'pass', text: `connected to ${result.address ?? target.host} (plain HTTP endpoint)` };
      if (result.kind === 'https') return { status: 'pass', text: `TLS handshake verified (${tlsText})` };
      const how = result.kind === 'smtps' ? 'implicit TLS' : 'STARTTLS';
      return {
        status: 'pass',
        text: `SMTP answers ("${result.greeting ?? ''}"), ${how} verified (${tlsText})${auth === undefined ? ', no AUTH offered' : `, ${auth}`}`,
      };
    }
    case 'dns-failed':
      return {
        status: 'fail',
        text: `DNS: ${target.host} does not resolve (${result.errorCode ?? 'error'})`,
        advice: 'Check the host name; if no name resolves, this machine has no working DNS (offline, or a resolver that blocks it).',
      };
    case 'no-answer':
      return {
        status: 'fail',
        text: `no answer in ${seconds(timeoutMs)}: a firewall probably drops it${unserved}`,
        advice: smtp
          ? `Outbound SMTP ports are commonly blocked on cloud hosts, CI runners and container platforms; ${switchFor(finding)}.`
          : 'Outbound HTTPS to this host is filtered here: this network may require a proxy, or an allow rule for the host.',
      };
    case 'refused':
      return {
        status: 'fail',
        text: `reachable, but the connection was refused: nothing listens on port ${target.port}, or a firewall rejects it`,
        advice: target.role === 'configured' ? 'Check the host and port in the URL, and that the server is running.' : undefined,
      };
    case 'unreachable':
      return {
        status: 'fail',
        text: `no route to ${target.host} (${result.errorCode}): this machine has no network path there`,
        advice: 'Check the network connection (an IPv6-only or offline machine, or a VPN that does not route there).',
      };
    case 'reset':
      return {
        status: 'fail',
        text: `connected, then the connection was cut (${result.errorCode ?? 'reset'}): a firewall or proxy closes it`,
        advice: smtp ? `${switchFor(finding)}.` : 'A proxy or firewall interferes with HTTPS to this host.',
      };
    case 'no-greeting':
      return {
        status: 'fail',
        text: `connected, but no SMTP greeting in ${seconds(timeoutMs)}: ${
          target.port === 465 || target.port === 2465
            ? 'the port may expect implicit TLS (smtps://), or something in between holds the connection'
            : 'something in between (a transparent proxy, antivirus or firewall) holds the connection, or the server expects implicit TLS (smtps://)'
        }`,
        advice: `Try smtps:// on 465, or ${switchFor(finding)}.`,
      };
    case 'stalled':
      return {
        status: 'fail',
        text: `answered, then went silent during ${result.stage} (${result.greeting ?? 'no greeting'})`,
        advice: 'Something in between interferes with the session (a proxy or security software inspecting SMTP or TLS).',
      };
    case 'not-smtp':
      return {
        status: 'fail',
        text: `answered, but not with SMTP ("${result.message ?? ''}"): something else listens here`,
        advice: 'Check the port; a proxy or another service answers on it.',
      };
    case 'smtp-refused':
      return {
        status: 'fail',
        text: `the server refuses this client: "${result.message ?? ''}"`,
        advice:
          target.port === 25
            ? 'Port 25 is for server-to-server relay and often refuses cloud and dynamic addresses: submit on 587 or 465 with credentials.'
            : 'The server does not accept connections from this address.',
      };
    case 'no-starttls':
      return {
        // Port 25 relays and loopback servers often run without TLS; mailport allows plain SMTP on loopback.
        status: target.port === 25 || isLoopback(target.host) ? 'warn' : 'fail',
        text: `SMTP answers ("${result.greeting ?? ''}") but offers no STARTTLS${auth === undefined ? '' : `; ${auth} in clear text`}`,
        advice:
          'mailport requires TLS before sending credentials: use smtps:// if the host serves 465, or add require_tls=false only for a trusted local relay.',
      };
    case 'starttls-refused':
      return {
        status: 'fail',
        text: `STARTTLS is offered but refused: "${result.message ?? ''}"`,
        advice: 'Use smtps:// on 465 if the host serves it; the server cannot encrypt on this port now.',
      };
    case 'tls-untrusted':
      return {
        status: 'fail',
        text: `TLS completes but the certificate is not trusted (${tls?.error ?? result.errorCode}; ${tlsText})`,
        advice:
          'A private CA: trust it with --ca-file here and ca_file= in the URL. Issued by a proxy or antivirus you do not recognise: TLS is intercepted on this network.',
      };
    case 'tls-hostname':
      return {
        status: 'fail',
        text: `the certificate does not name ${target.host} (${tlsText})`,
        advice: 'Use the host name the certificate is for (not an IP address or a CNAME of your own), or TLS is intercepted.',
      };
    case 'tls-expired':
      return {
        status: 'fail',
        text: `the certificate has expired or is not valid yet (valid until ${tls?.validTo ?? '?'}; ${tlsText})`,
        advice: 'The server must renew its certificate (or this machine clock is wrong); mailport never turns verification off.',
      };
    case 'tls-failed':
      return {
        status: 'fail',
        text: `the TLS handshake failed (${[result.errorCode, opensslReason(result.message)].filter((part) => part !== undefined).join(': ')})`,
        advice:
          result.kind === 'smtps'
            ? 'This port does not speak implicit TLS: use smtp:// (STARTTLS), usually on 587.'
            : 'Check the port and that the server speaks TLS; an old server may offer only TLS versions below 1.2.',
      };
    default:
      return { status: 'fail', text: `failed: ${result.errorCode ?? ''} ${result.message ?? ''}`.trim() };
  }
}

const networkBlocked: ReadonlySet<ProbeOutcome> = new Set(['no-answer', 'unreachable', 'reset']);
const opened = (outcome: ProbeOutcome): boolean => !['dns-failed', 'no-answer', 'refused', 'unreachable', 'reset'].includes(outcome);
const tlsProblems: ReadonlySet<ProbeOutcome> = new Set(['tls-untrusted', 'tls-hostname', 'tls-expired']);

/** The exit code a failed finding stands for: a network failure is temporary (8), TLS and DNS are configuration (4). */
export function findingExitCode(outcome: ProbeOutcome): number {
  if (outcome === 'ok') return exitCodes.ok;
  if (['no-answer', 'refused', 'unreachable', 'reset', 'no-greeting', 'stalled'].includes(outcome)) return exitCodes.transient;
  return exitCodes.configuration;
}

/** What the doctor concluded, for the recommendation and the exit code. */
export interface Conclusion {
  readonly recommendations: readonly string[];
  readonly exitCode: number;
}

/**
 * The recommendation at the end: which ports are blocked and what to switch to, TLS trust,
 * STARTTLS, and the authentication policy the AUTH attempt found. Pure.
 *
 * The exit code: with a configured URL, 0 when its own endpoints (and AUTH, when tried) passed;
 * with hosts given or the default set, 0 when every probe passed. Otherwise the code of the first failure (8 for the
 * network, 4 for TLS and DNS, 5 for authentication).
 */
export function conclude(
  findings: readonly DoctorFinding[],
  configured: readonly ConfiguredTransport[],
  auth: readonly AuthFinding[],
): Conclusion {
  const probed = findings.filter((finding): finding is DoctorFinding & { result: ProbeResult } => finding.result !== undefined);
  const recommendations: string[] = [];
  const smtpProbes = probed.filter((finding) => isSmtpKind(finding.result) && finding.target.served !== false);
  const httpsProbes = probed.filter((finding) => finding.result.kind === 'https' || finding.result.kind === 'tcp');
  const httpsOk = httpsProbes.filter((finding) => finding.result.outcome === 'ok');
  const portList = (list: readonly DoctorFinding[]): string => [...new Set(list.map((finding) => finding.target.port))].join(', ');
  const smtpConfigured = configured.filter((transport) => transport.scheme === 'smtp' || transport.scheme === 'smtps');
  const migrateHint =
    smtpConfigured.length > 0
      ? ` "mailport migrate '${smtpConfigured[0]?.redacted}'" prints the URL, the credentials to create and a failover URL.`
      : '';
  const target =
    smtpConfigured[0]?.provider !== undefined
      ? `${smtpConfigured[0].provider.scheme}:// (${smtpConfigured[0].provider.name.replace(/ SMTP.*$/, '')} over its HTTPS API)`
      : 'ses:// (Amazon SES), gmail:// (Gmail / Google Workspace) or graph:// (Microsoft 365), whichever hosts your mail';

  for (const finding of auth.filter((entry) => !entry.ok)) {
    if (finding.policy === 'basic-auth-disabled') {
      recommendations.push(
        `Authentication policy: ${finding.host} refuses passwords for SMTP (${finding.providerCode ?? '535 5.7.139'}: SMTP AUTH with basic authentication is disabled for the tenant or the mailbox). Switch to graph:// (Microsoft Graph over HTTPS with OAuth)${migrateHint ? `:${migrateHint}` : '.'} Or keep SMTP with OAuth: add oauth=microsoft&tenant=TENANT_ID&client_id=CLIENT_ID to the URL (an Entra app with SMTP.SendAsApp, or a user's token from "mailport auth microsoft").`,
      );
    } else if (finding.policy === 'password-refused') {
      recommendations.push(
        `Authentication policy: Google refuses the account password over SMTP (${finding.providerCode ?? '535 5.7.8'}). Use an app password (with 2-Step Verification), OAuth with oauth=google (a refresh token from "mailport auth google"), or switch to gmail:// (the Gmail API over HTTPS).${migrateHint}`,
      );
    } else {
      recommendations.push(
        `Authentication failed at ${finding.host}: ${finding.detail}. ${finding.remediation ?? 'Check the user name and password.'} Providers are retiring passwords for SMTP: OAuth (oauth=google or oauth=microsoft) or the API transports avoid them.`,
      );
    }
  }

  const smtpOpen = smtpProbes.filter((finding) => opened(finding.result.outcome));
  const smtpBlocked = smtpProbes.filter((finding) => networkBlocked.has(finding.result.outcome));
  if (smtpProbes.length > 0 && smtpOpen.length === 0 && smtpBlocked.length > 0) {
    if (httpsOk.length > 0) {
      recommendations.push(
        `Outbound SMTP is blocked from this network: port${smtpBlocked.length === 1 ? '' : 's'} ${portList(smtpBlocked)} got no answer, while HTTPS (443) to ${[...new Set(httpsOk.map((finding) => finding.target.host))].join(', ')} works. Cloud hosts, CI runners and container platforms commonly block outbound SMTP; port 443 is left open. Switch to ${target}: it sends over HTTPS.${migrateHint}`,
      );
    } else if (httpsProbes.length > 0) {
      recommendations.push(
        `Neither SMTP (port${smtpBlocked.length === 1 ? '' : 's'} ${portList(smtpBlocked)}) nor HTTPS (443) gets through: this machine is offline or needs a proxy. The HTTPS transports need only outbound 443 to their API hosts: ask for it to be allowed.`,
      );
    } else {
      recommendations.push(
        `Outbound SMTP is blocked from this network (port${smtpBlocked.length === 1 ? '' : 's'} ${portList(smtpBlocked)}). ${httpsSwitch}; "mailport doctor --host graph.microsoft.com" (or gmail.googleapis.com, email.REGION.amazonaws.com) checks that 443 gets through.`,
      );
    }
  } else if (smtpBlocked.length > 0 && smtpOpen.length > 0) {
    const configuredBlocked = smtpBlocked.filter((finding) => finding.target.role === 'configured');
    const working = smtpOpen.filter((finding) => finding.result.outcome === 'ok');
    if (configuredBlocked.length > 0 && working.length > 0) {
      const blocked = configuredBlocked[0] as DoctorFinding;
      const alternative = working.find((finding) => finding.target.port !== 25) ?? (working[0] as DoctorFinding);
      const scheme = alternative.result?.kind === 'smtps' ? 'smtps' : 'smtp';
      recommendations.push(
        `Port ${blocked.target.port} is blocked here, but ${alternative.target.port} works on ${alternative.target.host}: use ${scheme}://...@${alternative.target.host}:${alternative.target.port}${scheme === 'smtps' ? ' (implicit TLS)' : ' (STARTTLS)'}, or ${target} over HTTPS.`,
      );
    } else if (smtpBlocked.every((finding) => finding.target.port === 25)) {
      recommendations.push(
        'Port 25 is blocked, as on most cloud hosts and home connections: it is meant for server-to-server relay. Submission on 587 or 465 works, and that is what mailport uses: nothing to change.',
      );
    } else if (working.length > 0) {
      recommendations.push(
        `Some SMTP ports are blocked (${portList(smtpBlocked)}) while others work (${portList(working)}): use one that works, or an HTTPS transport.`,
      );
    }
  }

  const tlsIssues = probed.filter((finding) => tlsProblems.has(finding.result.outcome));
  if (tlsIssues.length > 0) {
    const issuers = [...new Set(tlsIssues.map((finding) => finding.result.tls?.issuer).filter((issuer) => issuer !== undefined))];
    const hosts = [...new Set(tlsIssues.map((finding) => finding.target.host))];
    // A provider's public host with an untrusted certificate, or several hosts with one issuer: someone in between re-signs TLS.
    const publicHosts = [...new Set(tlsIssues.filter((finding) => !isLoopback(finding.target.host)).map((finding) => finding.target.host))];
    const knownProvider = tlsIssues.some((finding) => finding.target.label !== undefined && !isLoopback(finding.target.host));
    const intercepted = (publicHosts.length > 1 && issuers.length === 1) || knownProvider;
    if (tlsIssues.every((finding) => finding.result.outcome === 'tls-untrusted') && intercepted) {
      recommendations.push(
        `TLS to ${hosts.join(', ')} is not trusted (issued by ${issuers.join(', ') || 'an unknown CA'}): a proxy or security software on this network intercepts TLS. Trust its CA for every transport with NODE_EXTRA_CA_CERTS=/path/ca.pem (or ca_file= in SMTP and Graph URLs), or ask for these hosts to be exempted from inspection.`,
      );
    } else {
      recommendations.push(
        `TLS to ${hosts.join(', ')} does not verify: ${tlsIssues.map((finding) => explain(finding, 0).advice).find((advice) => advice !== undefined)} mailport never turns certificate verification off.`,
      );
    }
  }
  const noStarttls = smtpProbes.filter(
    (finding) => finding.result.outcome === 'no-starttls' && finding.target.port !== 25 && !isLoopback(finding.target.host),
  );
  if (noStarttls.length > 0) {
    recommendations.push(
      `${portList(noStarttls)} on ${noStarttls[0]?.target.host} offers no STARTTLS: mailport refuses to send credentials unencrypted. Use smtps:// on 465 if the server has it; require_tls=false is for a trusted local relay only.`,
    );
  }
  if (smtpOpen.length > 0 && smtpOpen.every((finding) => finding.result.outcome === 'no-greeting')) {
    recommendations.push(
      'Connections to the SMTP ports open, but no server ever greets: something on this network (a transparent proxy, antivirus) intercepts SMTP. Try smtps:// on 465, or switch to an HTTPS transport.',
    );
  }
  const dnsFailed = probed.filter((finding) => finding.result.outcome === 'dns-failed');
  if (dnsFailed.length > 0 && dnsFailed.length === probed.length) {
    recommendations.push('No host name resolves: this machine has no working DNS (offline, or a resolver that blocks these names).');
  }
  const httpsConfigured = probed.filter(
    (finding) =>
      (finding.result.kind === 'https' || finding.result.kind === 'tcp') &&
      isCritical(finding.target.role) &&
      finding.result.outcome !== 'ok',
  );
  if (httpsConfigured.length > 0 && smtpConfigured.length < configured.length) {
    recommendations.push(
      `The transport's API endpoint${httpsConfigured.length === 1 ? '' : 's'} ${httpsConfigured.map((finding) => `${finding.target.host}:${finding.target.port}`).join(', ')} did not answer properly (see above). The transport cannot work from here until outbound HTTPS to ${httpsConfigured.length === 1 ? 'it' : 'them'} does.`,
    );
  }

  // The exit code: the configured transport's own endpoints when a URL was given, else every probe.
  const critical = probed.filter((finding) => isCritical(finding.target.role));
  const decisive = critical.length > 0 ? critical : probed;
  const failedProbe = decisive.find((finding) => explain(finding, 0).status === 'fail');
  const failedAuth = auth.find((entry) => !entry.ok);
  const exitCode =
    failedProbe !== undefined ? findingExitCode(failedProbe.result.outcome) : failedAuth !== undefined ? failedAuth.exitCode : exitCodes.ok;
  if (recommendations.length === 0) {
    recommendations.push(
      exitCode === exitCodes.ok
        ? configured.length > 0
          ? 'Nothing is blocked: the network lets the configured transport through. If sending still fails, "mailport verify" checks authentication, quotas and permissions.'
          : 'Nothing is blocked on the probed ports. "mailport verify --url URL" checks a transport end to end.'
        : 'See the failures above.',
    );
  }
  return { recommendations, exitCode };
}

function isCritical(role: TargetRole): boolean {
  return role === 'configured' || role === 'token';
}
