import { describe, expect, it } from 'vitest';
import { type AuthFinding, conclude, type DoctorFinding, explain } from './doctor-explain.js';
import type { ProbeOutcome, ProbeResult } from './doctor-probe.js';
import { type DoctorTarget, defaultTargets, targetsFromHosts, targetsFromUrl } from './doctor-targets.js';
import { exitCodes } from './exit-codes.js';

const smtpHost = { host: 'smtp.office365.com', label: 'Microsoft 365 (Exchange Online) SMTP AUTH' };

function finding(
  target: Partial<DoctorTarget> & { port: number },
  outcome: ProbeOutcome | undefined,
  extra: Partial<ProbeResult> = {},
): DoctorFinding {
  const full: DoctorTarget = {
    host: 'mail.example.com',
    kind: target.port === 443 ? 'https' : target.port === 465 ? 'smtps' : 'smtp',
    role: 'given',
    served: undefined,
    label: undefined,
    ...target,
  };
  return {
    target: full,
    result:
      outcome === undefined
        ? undefined
        : { host: full.host, port: full.port, kind: full.kind, outcome, elapsedMs: 1, stage: 'done', ...extra },
  };
}

const verified = {
  protocol: 'TLSv1.3',
  authorized: true,
  error: undefined,
  subject: 'smtp.office365.com',
  issuer: 'DigiCert Inc',
  validTo: '',
};

describe('explain: one line per outcome', () => {
  // A real firewall drop cannot be staged on loopback without root; the doctor's own test makes
  // one with a stopped listener (a full backlog), and this table covers the wording of each outcome.
  it.each([
    [
      'no-answer',
      587,
      {},
      'fail',
      /^no answer in 5 s: a firewall probably drops it \(or the host does not serve this port\)$/,
      /commonly blocked/,
    ],
    ['no-answer', 443, {}, 'fail', /^no answer in 5 s/, /may require a proxy/],
    ['refused', 25, {}, 'fail', /^reachable, but the connection was refused/, undefined],
    ['unreachable', 587, { errorCode: 'ENETUNREACH' }, 'fail', /^no route to mail\.example\.com \(ENETUNREACH\)/, /network connection/],
    ['reset', 587, { errorCode: 'ECONNRESET' }, 'fail', /cut \(ECONNRESET\): a firewall or proxy closes it/, /HTTPS transport/],
    ['dns-failed', 587, { errorCode: 'ENOTFOUND' }, 'fail', /^DNS: mail\.example\.com does not resolve \(ENOTFOUND\)$/, /host name/],
    ['no-greeting', 587, {}, 'fail', /^connected, but no SMTP greeting in 5 s/, /smtps:\/\/ on 465/],
    ['not-smtp', 587, { message: 'SSH-2.0-OpenSSH_9.6' }, 'fail', /not with SMTP \("SSH-2\.0-OpenSSH_9\.6"\)/, /another service/],
    [
      'smtp-refused',
      25,
      { message: '554 5.7.1 Client host blocked' },
      'fail',
      /refuses this client: "554 5\.7\.1/,
      /Port 25 is for server-to-server/,
    ],
    ['no-starttls', 587, { greeting: '220 mail' }, 'fail', /offers no STARTTLS/, /smtps:\/\//],
    ['no-starttls', 25, { greeting: '220 mail' }, 'warn', /offers no STARTTLS/, /require_tls=false/],
    ['starttls-refused', 587, { message: '454 4.7.0 TLS not available' }, 'fail', /STARTTLS is offered but refused: "454/, /smtps/],
    [
      'tls-untrusted',
      587,
      { tls: { ...verified, authorized: false, error: 'SELF_SIGNED_CERT_IN_CHAIN', issuer: 'Contoso Proxy CA' } },
      'fail',
      /not trusted \(SELF_SIGNED_CERT_IN_CHAIN; TLSv1\.3, certificate for smtp\.office365\.com issued by Contoso Proxy CA\)$/,
      /--ca-file/,
    ],
    [
      'tls-hostname',
      587,
      { tls: { ...verified, authorized: false, error: 'ERR_TLS_CERT_ALTNAME_INVALID' } },
      'fail',
      /does not name mail\.example\.com/,
      /host name/,
    ],
    [
      'tls-expired',
      465,
      { tls: { ...verified, authorized: false, error: 'CERT_HAS_EXPIRED', validTo: 'Jan 1 2020' } },
      'fail',
      /expired .*Jan 1 2020/,
      /renew/,
    ],
    [
      'tls-failed',
      465,
      { errorCode: 'ERR_SSL_WRONG_VERSION_NUMBER', message: 'x:SSL routines:f:wrong version number:y' },
      'fail',
      /\(ERR_SSL_WRONG_VERSION_NUMBER: wrong version number\)$/,
      /smtp:\/\/ \(STARTTLS\)/,
    ],
    [
      'ok',
      587,
      { greeting: '220 ready', tls: verified, extensions: ['AUTH LOGIN XOAUTH2'] },
      'pass',
      /STARTTLS verified \(TLSv1\.3.*, verified\), AUTH LOGIN XOAUTH2$/,
      undefined,
    ],
    ['ok', 443, { tls: verified }, 'pass', /^TLS handshake verified/, undefined],
  ] as const)('%s on %i', (outcome, port, extra, status, text, advice) => {
    const explanation = explain(finding({ port }, outcome, extra as Partial<ProbeResult>), 5000);
    expect(explanation.status).toBe(status);
    expect(explanation.text).toMatch(text);
    if (advice === undefined) expect(explanation.advice).toBeUndefined();
    else expect(explanation.advice).toMatch(advice);
  });

  it('a port the provider does not serve is skipped, not probed', () => {
    expect(explain(finding({ ...smtpHost, port: 465, served: false }, undefined), 5000)).toEqual({
      status: 'skip',
      text: 'not probed: Microsoft 365 (Exchange Online) SMTP AUTH does not serve port 465',
    });
  });

  it('names the provider API to switch to for a blocked provider host', () => {
    const blocked = explain(finding({ ...smtpHost, port: 587, served: true }, 'no-answer'), 3000);
    expect(blocked.text).toBe('no answer in 3 s: a firewall probably drops it');
    expect(blocked.advice).toMatch(/graph:\/\/ \(Microsoft Graph\) sends over port 443 instead/);
  });
});

describe('conclude: the recommendation and the exit code', () => {
  const configured = [
    {
      redacted: 'smtp://ana%40contoso.com:***@smtp.office365.com:587',
      scheme: 'smtp',
      host: 'smtp.office365.com',
      port: 587,
      provider: targetsFromUrl('smtp://a:b@smtp.office365.com:587', {}).configured[0]?.provider,
    },
  ];
  const graph = { host: 'graph.microsoft.com', port: 443, label: 'Microsoft Graph', role: 'api' as const, served: true };

  it('SMTP blocked but HTTPS open: switch to the provider API, with the migrate command', () => {
    const { recommendations, exitCode } = conclude(
      [
        finding({ ...smtpHost, port: 587, role: 'configured', served: true }, 'no-answer'),
        finding({ ...smtpHost, port: 25, role: 'alternative', served: true }, 'no-answer'),
        finding(graph, 'ok', { tls: verified }),
      ],
      configured,
      [],
    );
    expect(exitCode).toBe(exitCodes.transient);
    expect(recommendations).toEqual([
      expect.stringMatching(
        /^Outbound SMTP is blocked from this network: ports 587, 25 got no answer, while HTTPS \(443\) to graph\.microsoft\.com works\. .*Switch to graph:\/\/ \(Microsoft 365 \(Exchange Online\) over its HTTPS API\).*"mailport migrate 'smtp:\/\/ana%40contoso\.com:\*\*\*@smtp\.office365\.com:587'"/,
      ),
    ]);
  });

  it('the configured port blocked but another works: use that port', () => {
    const { recommendations } = conclude(
      [
        finding({ host: 'smtp.gmail.com', port: 587, role: 'configured', served: true }, 'no-answer'),
        finding({ host: 'smtp.gmail.com', port: 465, role: 'alternative', served: true }, 'ok', { tls: verified }),
      ],
      [{ ...configured[0], redacted: 'smtp://a:***@smtp.gmail.com:587', host: 'smtp.gmail.com', provider: undefined } as never],
      [],
    );
    expect(recommendations[0]).toMatch(
      /^Port 587 is blocked here, but 465 works on smtp\.gmail\.com: use smtps:\/\/\.\.\.@smtp\.gmail\.com:465 \(implicit TLS\)/,
    );
  });

  it('only port 25 blocked: nothing to change; the exit code follows the configured port', () => {
    const { recommendations, exitCode } = conclude(
      [
        finding({ ...smtpHost, port: 587, role: 'configured', served: true }, 'ok', { tls: verified }),
        finding({ ...smtpHost, port: 25, role: 'alternative', served: true }, 'no-answer'),
      ],
      configured,
      [],
    );
    expect(exitCode).toBe(exitCodes.ok);
    expect(recommendations).toEqual([expect.stringMatching(/^Port 25 is blocked, as on most cloud hosts .*nothing to change\.$/)]);
  });

  it('untrusted certificates from one issuer on public hosts: TLS interception', () => {
    const intercepted = { ...verified, authorized: false, error: 'SELF_SIGNED_CERT_IN_CHAIN', issuer: 'Zscaler Inc.' };
    const { recommendations, exitCode } = conclude(
      [
        finding({ ...smtpHost, port: 587, role: 'configured', served: true }, 'tls-untrusted', { tls: intercepted }),
        finding(graph, 'tls-untrusted', { tls: intercepted }),
      ],
      configured,
      [],
    );
    expect(exitCode).toBe(exitCodes.configuration);
    expect(recommendations[0]).toMatch(
      /issued by Zscaler Inc\.\): a proxy or security software on this network intercepts TLS\. .*NODE_EXTRA_CA_CERTS/,
    );
  });

  it('authentication policies: Microsoft basic auth off, Google password refused', () => {
    const microsoft: AuthFinding = {
      transport: configured[0]?.redacted as string,
      host: 'smtp.office365.com',
      ok: false,
      detail: 'auth: Basic authentication refused',
      code: 'auth',
      providerCode: '5.7.139',
      policy: 'basic-auth-disabled',
      exitCode: exitCodes.auth,
    };
    const ok = finding({ ...smtpHost, port: 587, role: 'configured', served: true }, 'ok', { tls: verified });
    const result = conclude([ok], configured, [microsoft]);
    expect(result.exitCode).toBe(exitCodes.auth);
    expect(result.recommendations[0]).toMatch(
      /^Authentication policy: smtp\.office365\.com refuses passwords for SMTP \(5\.7\.139: .*Switch to graph:\/\//,
    );
    const google = conclude([ok], configured, [
      { ...microsoft, host: 'smtp.gmail.com', providerCode: '5.7.8', policy: 'password-refused' },
    ]);
    expect(google.recommendations[0]).toMatch(
      /Google refuses the account password over SMTP \(5\.7\.8\)\. Use an app password .*gmail:\/\//,
    );
  });

  it('nothing resolves: no DNS', () => {
    const { recommendations, exitCode } = conclude(
      [finding({ port: 587 }, 'dns-failed', { errorCode: 'ENOTFOUND' }), finding(graph, 'dns-failed', { errorCode: 'EAI_AGAIN' })],
      [],
      [],
    );
    expect(exitCode).toBe(exitCodes.configuration);
    expect(recommendations).toContain(
      'No host name resolves: this machine has no working DNS (offline, or a resolver that blocks these names).',
    );
  });
});

describe('targets', () => {
  const summary = (targets: readonly DoctorTarget[]): string[] =>
    targets.map((target) => `${target.role} ${target.host}:${target.port} ${target.kind}${target.served === false ? ' (not served)' : ''}`);

  it('an SMTP URL of a known provider: the configured port, its other ports, and its HTTPS API', () => {
    expect(summary(targetsFromUrl('smtp://a%40contoso.com:pw@smtp.office365.com:587', {}).targets)).toEqual([
      'configured smtp.office365.com:587 smtp',
      'alternative smtp.office365.com:25 smtp',
      'alternative smtp.office365.com:465 smtps (not served)',
      'alternative smtp.office365.com:2525 smtp (not served)',
      'api graph.microsoft.com:443 https',
      'api login.microsoftonline.com:443 https',
    ]);
    expect(summary(targetsFromUrl('smtps://AKIA:pw@email-smtp.eu-west-1.amazonaws.com', {}).targets)).toEqual([
      'configured email-smtp.eu-west-1.amazonaws.com:465 smtps',
      'alternative email-smtp.eu-west-1.amazonaws.com:25 smtp',
      'alternative email-smtp.eu-west-1.amazonaws.com:587 smtp',
      'alternative email-smtp.eu-west-1.amazonaws.com:2525 smtp (not served)',
      'alternative email-smtp.eu-west-1.amazonaws.com:2465 smtps',
      'alternative email-smtp.eu-west-1.amazonaws.com:2587 smtp',
      'api email.eu-west-1.amazonaws.com:443 https',
    ]);
  });

  it('an unknown SMTP host: every standard port, and the three APIs; oauth= adds its token endpoint', () => {
    expect(summary(targetsFromUrl('smtp://u:p@mail.example.net:2525?oauth=google', {}).targets)).toEqual([
      'configured mail.example.net:2525 smtp',
      'alternative mail.example.net:25 smtp',
      'alternative mail.example.net:465 smtps',
      'alternative mail.example.net:587 smtp',
      'api email.us-east-1.amazonaws.com:443 https',
      'api gmail.googleapis.com:443 https',
      'api graph.microsoft.com:443 https',
      'token oauth2.googleapis.com:443 https',
    ]);
  });

  it('the API transports: the API and the token endpoint, or what the URL points them at', () => {
    expect(summary(targetsFromUrl('ses://', { AWS_REGION: 'ap-south-1' }).targets)).toEqual([
      'configured email.ap-south-1.amazonaws.com:443 https',
    ]);
    expect(summary(targetsFromUrl('gmail://me@example.com', {}).targets)).toEqual([
      'configured gmail.googleapis.com:443 https',
      'token oauth2.googleapis.com:443 https',
    ]);
    expect(
      summary(targetsFromUrl('failover(graph://a@contoso.com?endpoint=https://graph.microsoft.us/v1.0 ses://eu-west-1)', {}).targets),
    ).toEqual([
      'configured graph.microsoft.us:443 https',
      'token login.microsoftonline.com:443 https',
      'configured email.eu-west-1.amazonaws.com:443 https',
    ]);
  });

  it('--host forms and the default set', () => {
    expect(
      summary(targetsFromHosts(['mail.example.net', 'smtps://10.0.0.1:4650', '[::1]:2525', 'graph.microsoft.com'], undefined)),
    ).toEqual([
      'given mail.example.net:25 smtp',
      'given mail.example.net:465 smtps',
      'given mail.example.net:587 smtp',
      'given mail.example.net:2525 smtp',
      'given mail.example.net:443 https',
      'given 10.0.0.1:4650 smtps',
      'given ::1:2525 smtp',
      'given graph.microsoft.com:25 smtp (not served)',
      'given graph.microsoft.com:465 smtps (not served)',
      'given graph.microsoft.com:587 smtp (not served)',
      'given graph.microsoft.com:2525 smtp (not served)',
      'given graph.microsoft.com:443 https',
    ]);
    expect(summary(targetsFromHosts(['mail.example.net'], [587, 2525]))).toEqual([
      'given mail.example.net:587 smtp',
      'given mail.example.net:2525 smtp',
    ]);
    const defaults = summary(defaultTargets()).filter((entry) => !entry.endsWith('(not served)'));
    expect(defaults).toEqual([
      'default smtp.gmail.com:25 smtp',
      'default smtp.gmail.com:465 smtps',
      'default smtp.gmail.com:587 smtp',
      'default gmail.googleapis.com:443 https',
      'default smtp.office365.com:25 smtp',
      'default smtp.office365.com:587 smtp',
      'default graph.microsoft.com:443 https',
      'default email-smtp.us-east-1.amazonaws.com:25 smtp',
      'default email-smtp.us-east-1.amazonaws.com:465 smtps',
      'default email-smtp.us-east-1.amazonaws.com:587 smtp',
      'default email-smtp.us-east-1.amazonaws.com:2465 smtps',
      'default email-smtp.us-east-1.amazonaws.com:2587 smtp',
      'default email.us-east-1.amazonaws.com:443 https',
    ]);
  });
});
