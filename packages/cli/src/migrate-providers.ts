import { adapterPackages, isSecretParameter, redactUrl, type TransportUrl } from '@mailport/core';
import providerHosts from './provider-hosts.json' with { type: 'json' };

/** The HTTPS transport a known SMTP host moves to. */
export type MigrationScheme = 'gmail' | 'graph' | 'ses';

/** A provider's SMTP host, recognised by name. */
export interface SmtpHostMatch {
  /** `google`, `microsoft` or `amazon-ses`. */
  readonly provider: 'google' | 'microsoft' | 'amazon-ses';
  /** Which of the provider's SMTP services the host is. */
  readonly service: 'gmail' | 'gmail-relay' | 'office365' | 'outlook-com' | 'exchange-direct-send' | 'ses';
  /** A readable name: `Microsoft 365 (Exchange Online) SMTP AUTH`. */
  readonly name: string;
  readonly host: string;
  /** The AWS region of an SES host. */
  readonly region?: string | undefined;
  /** The ports the provider documents for this host. */
  readonly smtpPorts: readonly number[];
  /** The HTTPS hosts (port 443) the replacement transport talks to: the API, then its token endpoint. */
  readonly apiHosts: readonly string[];
  readonly scheme: MigrationScheme;
  /** The npm package of the replacement transport. */
  readonly packageName: string;
}

interface SmtpHostEntry {
  readonly provider: SmtpHostMatch['provider'];
  readonly service: SmtpHostMatch['service'];
  readonly name: string;
  readonly hosts?: readonly string[];
  readonly hostSuffix?: string;
  readonly hostPattern?: string;
  readonly ports: readonly number[];
  readonly scheme: MigrationScheme;
  readonly apiHosts?: readonly string[];
}

// Data, not code (as nodemailer keeps lib/well-known/services.json): one entry per provider host.
const smtpHosts = providerHosts.smtpHosts as readonly SmtpHostEntry[];
const apiHosts: Readonly<Record<MigrationScheme, readonly string[]>> = providerHosts.apiHosts;

/** `{region}` and `{fips}` in a name or host, from a host pattern's named groups. */
function fill(template: string, groups: Readonly<Record<string, string | undefined>>): string {
  return template.replace(/\{(\w+)\}/g, (_, name: string) => groups[name] ?? '');
}

/** The HTTPS hosts each API transport needs by default: the API, then its token endpoint. */
export function defaultApiHosts(scheme: MigrationScheme, region = 'us-east-1'): readonly string[] {
  // SES's credentials come from the AWS SDK's chain, often without a network call: its API host only.
  return apiHosts[scheme].map((host) => fill(host, { region }));
}

/**
 * Recognises the SMTP hosts of Google, Microsoft and Amazon SES (provider-hosts.json), with the
 * ports each provider documents.
 */
export function identifySmtpHost(host: string): SmtpHostMatch | undefined {
  const name = host.toLowerCase().replace(/\.$/, '');
  for (const entry of smtpHosts) {
    let groups: Readonly<Record<string, string | undefined>> | undefined;
    if (entry.hosts?.includes(name) === true || (entry.hostSuffix !== undefined && name.endsWith(entry.hostSuffix))) groups = {};
    else if (entry.hostPattern !== undefined) groups = new RegExp(entry.hostPattern).exec(name)?.groups ?? undefined;
    if (groups === undefined) continue;
    return {
      provider: entry.provider,
      service: entry.service,
      name: fill(entry.name, groups),
      host: name,
      region: groups.region,
      smtpPorts: entry.ports,
      apiHosts: entry.apiHosts === undefined ? defaultApiHosts(entry.scheme) : entry.apiHosts.map((api) => fill(api, groups)),
      scheme: entry.scheme,
      packageName: adapterPackages[entry.scheme] as string,
    };
  }
  return undefined;
}

/** One way to create the credentials, step by step. */
export interface CredentialRecipe {
  readonly title: string;
  readonly steps: readonly string[];
}

/** What `mailport migrate` prints, as data (also its `--json` output). */
export interface MigrationPlan {
  /** The SMTP URL given, redacted unless secrets are shown. */
  readonly from: string;
  /** The provider, or undefined for a host mailport does not know. */
  readonly provider: SmtpHostMatch | undefined;
  /** The equivalent HTTPS transport URL; UPPER_CASE words are placeholders to fill in. */
  readonly transportUrl: string | undefined;
  readonly packageName: string | undefined;
  /** Why the HTTPS transport is better here. */
  readonly why: readonly string[];
  /** Environment variables the new URL reads, with what to put in them. */
  readonly environment: readonly string[];
  /** Ways to create the credentials at the provider. */
  readonly credentials: readonly CredentialRecipe[];
  /** What behaves differently after the switch. */
  readonly changes: readonly string[];
  /** `failover(new old)`: the new transport first, the old SMTP URL as the fallback. */
  readonly failoverUrl: string | undefined;
  /** For an unknown host: the options. */
  readonly options: readonly string[];
  /** Whether secrets were left in the URLs (`--show-secrets`). */
  readonly secretsShown: boolean;
}

// Parameters of an SMTP URL's OAuth setup that mean the same on the API transport's URL.
const googleCarried = ['client_id', 'client_secret', 'refresh_token', 'token_url', 'credentials_file'];
const microsoftCarried = ['tenant', 'client_id', 'client_secret', 'certificate_path', 'certificate_password', 'authority_host', 'ca_file'];

/**
 * Builds the migration from an SMTP URL: the equivalent HTTPS transport URL, the credentials to
 * create, what changes, and the `failover(new old)` URL. Pure: reads no file and no network.
 * Secrets in the URLs are `***` unless `showSecrets` (the user's own password, for their terminal).
 */
export function planMigration(url: TransportUrl, original: string, options: { showSecrets?: boolean } = {}): MigrationPlan {
  const showSecrets = options.showSecrets === true;
  const shown = (text: string): string => (showSecrets ? text : redactUrl(text));
  const from = shown(original);
  const match = identifySmtpHost(url.host);
  const user = url.username;
  const mailbox = user !== undefined && /^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(user) ? user : undefined;
  const oauth = url.params.get('oauth')?.toLowerCase();
  const base = { from, secretsShown: showSecrets };
  if (match === undefined) {
    return {
      ...base,
      provider: undefined,
      transportUrl: undefined,
      packageName: undefined,
      why: [],
      environment: [],
      credentials: [],
      changes: [],
      failoverUrl: undefined,
      options: unknownHostOptions(url.host, original),
    };
  }
  const carry = (names: readonly string[]): string[] =>
    names.filter((name) => url.params.has(name)).map((name) => `${name}=${encodeURIComponent(url.params.get(name) as string)}`);
  const query = (pairs: readonly string[]): string => (pairs.length === 0 ? '' : `?${pairs.join('&')}`);
  const address = mailbox === undefined ? 'SENDER@YOUR-DOMAIN' : encodeMailbox(mailbox);
  let plan: Omit<MigrationPlan, 'from' | 'secretsShown' | 'failoverUrl' | 'options'>;
  if (match.scheme === 'gmail') plan = googlePlan(match, address, oauth === 'google' ? carry(googleCarried) : [], query);
  else if (match.scheme === 'graph') plan = microsoftPlan(match, address, oauth === 'microsoft' ? carry(microsoftCarried) : [], query);
  else plan = sesPlan(match, user);
  const transportUrl = plan.transportUrl as string;
  return {
    ...base,
    ...plan,
    transportUrl: shown(transportUrl),
    failoverUrl: shown(`failover(${transportUrl} ${original.trim()})`),
    options: [],
  };
}

// `ana.lopez@contoso.com` stays readable; characters a URL's user part cannot hold are encoded.
function encodeMailbox(mailbox: string): string {
  const at = mailbox.lastIndexOf('@');
  return `${encodeURIComponent(mailbox.slice(0, at))}@${mailbox.slice(at + 1)}`;
}

function googlePlan(
  match: SmtpHostMatch,
  address: string,
  carried: readonly string[],
  query: (pairs: readonly string[]) => string,
): Omit<MigrationPlan, 'from' | 'secretsShown' | 'failoverUrl' | 'options'> {
  const hasClient = carried.some((pair) => pair.startsWith('client_id='));
  const serviceAccount = carried.some((pair) => pair.startsWith('credentials_file='));
  const relay = match.service === 'gmail-relay';
  const environment =
    hasClient || serviceAccount
      ? ['The OAuth settings of your SMTP URL carry over: the Gmail API accepts the https://mail.google.com/ scope that SMTP needed.']
      : [
          'GOOGLE_CLIENT_ID, GOOGLE_CLIENT_SECRET, GOOGLE_REFRESH_TOKEN: user OAuth (the same variables oauth=google reads for SMTP), or',
          'GOOGLE_APPLICATION_CREDENTIALS=/path/key.json: a service account with domain-wide delegation (Google Workspace)',
        ];
  if (serviceAccount) {
    environment.push(
      'A service account asks for gmail.send by default: add https://www.googleapis.com/auth/gmail.send to its domain-wide delegation, or add scopes=https://mail.google.com/ to the URL.',
    );
  }
  return {
    provider: match,
    transportUrl: `gmail://${address}${query(carried)}`,
    packageName: match.packageName,
    why: [
      'The Gmail API sends over HTTPS (port 443), which networks leave open where outbound SMTP ports are often blocked (cloud hosts, CI runners, containers).',
      'Google refuses the account password over SMTP: it needs an app password (with 2-Step Verification) or OAuth. The API uses OAuth with the narrow gmail.send scope, and no password to leak.',
      'The exact MIME mailport renders is sent, Bcc included; errors say whether to retry (rate limits and daily quotas are told apart).',
      ...(relay
        ? [
            'The SMTP relay service may authenticate by IP address and send as any address of your domain; the Gmail API sends as one mailbox (or its send-as aliases): use one gmail:// URL per sending mailbox, with a service account to act for each.',
          ]
        : []),
    ],
    environment,
    credentials: [
      {
        title: 'User OAuth (any Gmail or Google Workspace account)',
        steps: [
          'Google Cloud console (https://console.cloud.google.com/): create or pick a project, then APIs & Services > Library > Gmail API > Enable.',
          'Google Auth Platform (the OAuth consent screen): fill in Branding and Audience, and under Data access add the scope https://www.googleapis.com/auth/gmail.send (add gmail.settings.basic to send from aliases). While the app is in testing, add the sending account as a test user; refresh tokens of apps in testing expire after 7 days, so publish the app for production.',
          'Clients > Create client > Desktop app: note the client ID and the client secret.',
          'Run "mailport auth google --client-id CLIENT_ID --print-env" (with GOOGLE_CLIENT_SECRET set; add --send-as for aliases) and consent as the sending account: it prints the GOOGLE_CLIENT_ID, GOOGLE_CLIENT_SECRET and GOOGLE_REFRESH_TOKEN lines for your environment (without --print-env it saves them in a file only you can read).',
        ],
      },
      {
        title: 'Service account with domain-wide delegation (Google Workspace only)',
        steps: [
          'In the same project: IAM & Admin > Service accounts > Create service account, then Keys > Add key > JSON. Keep the file secret.',
          "Note the service account's unique ID (its OAuth 2 client ID).",
          'Google Admin console: Security > Access and data control > API controls > Domain-wide delegation > Add new: that client ID with the scope https://www.googleapis.com/auth/gmail.send (add gmail.settings.basic for aliases). It can take a while to apply.',
          `Use gmail://${address}?credentials_file=/path/key.json (or GOOGLE_APPLICATION_CREDENTIALS): the service account then sends as that mailbox.`,
        ],
      },
    ],
    changes: [
      'The From must be the account or one of its verified send-as aliases; mailport checks it before sending (aliases need a token that can read them, such as gmail.settings.basic).',
      'Gmail limits: 100 recipients per message, 35 MB, and for Google Workspace 2,000 messages and 10,000 recipients a day.',
      'Sent messages appear in the Sent folder of the mailbox, as with SMTP.',
    ],
  };
}

function microsoftPlan(
  match: SmtpHostMatch,
  address: string,
  carried: readonly string[],
  query: (pairs: readonly string[]) => string,
): Omit<MigrationPlan, 'from' | 'secretsShown' | 'failoverUrl' | 'options'> {
  const consumer = match.service === 'outlook-com';
  const pairs = [...carried];
  if (consumer) {
    if (!pairs.some((pair) => pair.startsWith('tenant='))) pairs.unshift('tenant=consumers');
    if (!pairs.some((pair) => pair.startsWith('client_id='))) pairs.push('client_id=CLIENT_ID');
  } else {
    if (!pairs.some((pair) => pair.startsWith('tenant='))) pairs.unshift('tenant=TENANT_ID');
    if (!pairs.some((pair) => pair.startsWith('client_id='))) pairs.splice(1, 0, 'client_id=CLIENT_ID');
  }
  const hasSecret = carried.some((pair) => pair.startsWith('client_secret=') || pair.startsWith('certificate_path='));
  const delegatedSteps = [
    consumer
      ? 'Entra admin center (https://entra.microsoft.com/): App registrations > New registration, with "Personal Microsoft accounts" among the supported account types; under Authentication allow public client flows.'
      : 'Entra admin center (https://entra.microsoft.com/): App registrations > New registration; under Authentication allow public client flows. Note the Application (client) ID.',
    'API permissions: Microsoft Graph > Delegated permissions > Mail.Send and offline_access.',
    `Run "mailport auth microsoft --client-id CLIENT_ID${consumer ? ' --tenant consumers' : ' --tenant TENANT_ID'}" and sign in as the sending user (device code) to obtain a refresh token.`,
    'Microsoft rotates refresh tokens on every use: mailport auth microsoft saves the token to a file, and graph://USER?refresh_token_file=PATH reads it and writes each new token back (in code: onRefreshToken, see the Graph transport README).',
  ];
  return {
    provider: match,
    transportUrl: `graph://${address}${query(pairs)}`,
    packageName: match.packageName,
    why: [
      'Exchange Online keeps basic authentication (passwords) for SMTP AUTH until the end of December 2026, then turns it off by default for existing tenants (the final removal date is to be announced in the second half of 2027). Once it is off, the server answers "535 5.7.139" and SMTP with a password stops working.',
      'Microsoft Graph sends over HTTPS (port 443) with OAuth: no password, and no outbound SMTP port to be blocked.',
      'In MIME mode (the default) every header, the Message-ID and both bodies arrive as mailport rendered them; messages up to 150 MB go through upload sessions.',
      ...(match.service === 'exchange-direct-send'
        ? [
            'Direct send and connector relay (port 25 to the MX endpoint) send without a mailbox; Graph sends from a mailbox: pick the mailbox (a shared mailbox works) that the messages should come from.',
          ]
        : []),
    ],
    environment: consumer
      ? ['Outlook.com accounts have no tenant for app-only access: Graph sends for them with delegated OAuth only (below).']
      : hasSecret
        ? [
            'The tenant, client ID and secret of your oauth=microsoft SMTP URL carry over; the app now needs the Graph application permission Mail.Send (SMTP.SendAsApp covers SMTP only).',
          ]
        : [
            "AZURE_CLIENT_SECRET: the client secret's Value (or AZURE_CLIENT_CERTIFICATE_PATH: a PEM with the certificate and its private key)",
            'AZURE_TENANT_ID and AZURE_CLIENT_ID may replace tenant= and client_id= in the URL.',
          ],
    credentials: consumer
      ? [{ title: 'Delegated OAuth (the only way for Outlook.com mailboxes)', steps: delegatedSteps }]
      : [
          {
            title: 'App-only (client credentials): a service or daemon that sends as one or more mailboxes',
            steps: [
              'Entra admin center (https://entra.microsoft.com/): App registrations > New registration. Note the Application (client) ID and the Directory (tenant) ID.',
              'API permissions > Add a permission > Microsoft Graph > Application permissions > Mail.Send (and Mail.ReadWrite if messages may exceed 3 MB, for the draft and upload path). Then Grant admin consent.',
              'Certificates & secrets: New client secret, and copy its Value (not the Secret ID) into AZURE_CLIENT_SECRET; or upload a certificate and point certificate_path at the PEM with its private key.',
              `Restrict the app to the mailboxes it may send as; without that, Mail.Send lets it send as any mailbox of the tenant. In Exchange Online PowerShell: New-ApplicationAccessPolicy -AppId CLIENT_ID -PolicyScopeGroupId SENDERS_GROUP -AccessRight RestrictAccess -Description "mailport" (or use RBAC for Applications), then Test-ApplicationAccessPolicy -Identity ${decodeURIComponent(address)} -AppId CLIENT_ID.`,
            ],
          },
          { title: "Delegated OAuth: one user's own mailbox, without an admin-granted application permission", steps: delegatedSteps },
        ],
    changes: [
      'The From must be the mailbox in the URL, or an address it has Send As rights on (ErrorSendAsDenied otherwise).',
      'A copy is saved to Sent Items (in MIME mode always; mode=json with save_to_sent_items=false to turn it off).',
      'Graph allows 4 requests in flight per mailbox (mailport keeps to it) and 500 recipients per message; Exchange Online sending limits (30 messages a minute, 10,000 recipients a day) still apply.',
    ],
  };
}

function sesPlan(
  match: SmtpHostMatch,
  smtpUser: string | undefined,
): Omit<MigrationPlan, 'from' | 'secretsShown' | 'failoverUrl' | 'options'> {
  const region = match.region as string;
  const fips = match.host.startsWith('email-smtp-fips.');
  return {
    provider: match,
    transportUrl: fips ? `ses://${region}?endpoint=https://email-fips.${region}.amazonaws.com` : `ses://${region}`,
    packageName: match.packageName,
    why: [
      'The SES API is reached over HTTPS (port 443): no outbound SMTP port to be blocked (EC2 also throttles port 25 by default).',
      'Credentials come from the AWS SDK default chain: an IAM role on AWS (instance profile, ECS task role, EKS, Lambda), a profile or environment variables; no long-lived SMTP password to store and rotate.',
      "SES's answers are typed: throttling, the daily quota, an unverified identity and a suspended account are told apart, and mailport retries only what can succeed.",
    ],
    environment: [
      'Nothing, on AWS with a role; elsewhere AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY of an IAM user (not the SMTP credentials).',
      `AWS_REGION is not needed: the region is in the URL (${region}).`,
    ],
    credentials: [
      {
        title: 'IAM credentials for the SES API',
        steps: [
          `SES SMTP credentials are not API credentials: the SMTP user name${smtpUser === undefined ? '' : ` (${smtpUser})`} is an access key ID, but the SMTP password is derived from the secret access key and cannot sign API requests.`,
          'IAM console: create a role for where the code runs (EC2 instance profile, ECS task role, EKS service account, Lambda execution role), or outside AWS an IAM user with an access key.',
          `Attach a policy that allows ses:SendEmail and ses:SendRawEmail on your identities (arn:aws:ses:${region}:ACCOUNT_ID:identity/*), and ses:GetAccount for "mailport verify" and rate_limit=auto.`,
          'Give the code the credentials through the default chain: the role itself, AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY. Keys in the URL (ses://KEY:SECRET@REGION) are for development.',
          `Nothing to verify again: the identities (domains and addresses) verified in ${region} and the account's production access are shared by SES SMTP and the API. If "mailport verify" reports the SES sandbox, request production access (SES console > Account dashboard).`,
        ],
      },
    ],
    changes: [
      'SES replaces the Message-ID (<MessageId@email.amazonses.com> in us-east-1, <MessageId@REGION.amazonses.com> elsewhere); the receipt reports the one recipients see.',
      "Limits: 50 recipients and 40 MB per message; no SMTPUTF8 (non-ASCII local parts); quotas count recipients (rate_limit=auto keeps under the account's sending rate).",
      'Add configuration_set=NAME to the URL to keep event publishing (bounces, complaints, deliveries) as with the X-SES-CONFIGURATION-SET header.',
    ],
  };
}

function unknownHostOptions(host: string, original: string): string[] {
  const target = host === '' ? 'this host' : host;
  return [
    `Keep SMTP. If a port is blocked, "mailport doctor --host ${target}" shows which ports answer: smtps:// on 465, or 2525, often pass where 25 and 587 do not.`,
    'If the domain\'s mail is hosted by Google Workspace or Microsoft 365, send through its API instead: gmail://SENDER@YOUR-DOMAIN or graph://SENDER@YOUR-DOMAIN?tenant=TENANT_ID&client_id=CLIENT_ID ("mailport migrate smtp.gmail.com" or "mailport migrate smtp.office365.com" prints the steps).',
    'Or send through Amazon SES over HTTPS: ses://REGION, after verifying the domain in SES ("mailport migrate email-smtp.us-east-1.amazonaws.com" prints the steps).',
    `Whichever you choose, switch over safely with failover(NEW_URL ${redactUrl(original.trim())}): the new transport first, this one as the fallback.`,
  ];
}

/** True when a URL parameter of the old SMTP URL would carry a secret into the new URL. */
export function carriesSecrets(url: TransportUrl): boolean {
  return url.password !== undefined || [...url.params.keys()].some(isSecretParameter);
}
