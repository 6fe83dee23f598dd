import { describe, expect, it } from 'vitest';
import { run } from '../cli.js';
import { exitCodes } from '../exit-codes.js';
import { memoryIo } from '../io.js';
import type { MigrationPlan } from '../migrate-providers.js';

async function migrate(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const io = memoryIo();
  const code = await run(['migrate', ...argv], io);
  return { code, out: io.out(), err: io.err() };
}

async function plan(...argv: string[]): Promise<MigrationPlan> {
  const { code, out } = await migrate(...argv, '--json');
  expect(code).toBe(exitCodes.ok);
  return JSON.parse(out) as MigrationPlan;
}

describe('mailport migrate', () => {
  it('Microsoft 365: graph:// with the Entra steps and a failover URL, the password redacted', async () => {
    const { code, out, err } = await migrate('smtp://ana%40contoso.com:Hunter2%21Pass@smtp.office365.com:587');
    expect(err).toBe('');
    expect(code).toBe(exitCodes.ok);
    expect(out).not.toContain('Hunter2');
    expect(out).toMatchInlineSnapshot(`
      "smtp://ana%40contoso.com:***@smtp.office365.com:587 is Microsoft 365 (Exchange Online) SMTP AUTH.

      Equivalent HTTPS transport: Microsoft Graph (npm install @mailport/transport-graph)
        graph://ana@contoso.com?tenant=TENANT_ID&client_id=CLIENT_ID

      Why
        - Exchange Online keeps basic authentication (passwords) for SMTP AUTH until the end of December
          2026, then turns it off by default for existing tenants (the final removal date is to be
          announced in the second half of 2027). Once it is off, the server answers "535 5.7.139" and SMTP
          with a password stops working.
        - Microsoft Graph sends over HTTPS (port 443) with OAuth: no password, and no outbound SMTP port
          to be blocked.
        - In MIME mode (the default) every header, the Message-ID and both bodies arrive as mailport
          rendered them; messages up to 150 MB go through upload sessions.

      Credentials it reads
        - AZURE_CLIENT_SECRET: the client secret's Value (or AZURE_CLIENT_CERTIFICATE_PATH: a PEM with the
          certificate and its private key)
        - AZURE_TENANT_ID and AZURE_CLIENT_ID may replace tenant= and client_id= in the URL.

      Create them: App-only (client credentials): a service or daemon that sends as one or more mailboxes
        1. Entra admin center (https://entra.microsoft.com/): App registrations > New registration. Note
           the Application (client) ID and the Directory (tenant) ID.
        2. API permissions > Add a permission > Microsoft Graph > Application permissions > Mail.Send (and
           Mail.ReadWrite if messages may exceed 3 MB, for the draft and upload path). Then Grant admin
           consent.
        3. Certificates & secrets: New client secret, and copy its Value (not the Secret ID) into
           AZURE_CLIENT_SECRET; or upload a certificate and point certificate_path at the PEM with its
           private key.
        4. Restrict the app to the mailboxes it may send as; without that, Mail.Send lets it send as any
           mailbox of the tenant. In Exchange Online PowerShell: New-ApplicationAccessPolicy -AppId
           CLIENT_ID -PolicyScopeGroupId SENDERS_GROUP -AccessRight RestrictAccess -Description "mailport"
           (or use RBAC for Applications), then Test-ApplicationAccessPolicy -Identity ana@contoso.com
           -AppId CLIENT_ID.

      Create them: Delegated OAuth: one user's own mailbox, without an admin-granted application permission
        1. Entra admin center (https://entra.microsoft.com/): App registrations > New registration; under
           Authentication allow public client flows. Note the Application (client) ID.
        2. API permissions: Microsoft Graph > Delegated permissions > Mail.Send and offline_access.
        3. Run "mailport auth microsoft --client-id CLIENT_ID --tenant TENANT_ID" and sign in as the
           sending user (device code) to obtain a refresh token.
        4. Microsoft rotates refresh tokens on every use: mailport auth microsoft saves the token to a
           file, and graph://USER?refresh_token_file=PATH reads it and writes each new token back (in
           code: onRefreshToken, see the Graph transport README).

      What changes
        - The From must be the mailbox in the URL, or an address it has Send As rights on
          (ErrorSendAsDenied otherwise).
        - A copy is saved to Sent Items (in MIME mode always; mode=json with save_to_sent_items=false to
          turn it off).
        - Graph allows 4 requests in flight per mailbox (mailport keeps to it) and 500 recipients per
          message; Exchange Online sending limits (30 messages a minute, 10,000 recipients a day) still
          apply.

      Safe switch-over
        1. Check the new transport: mailport verify --url 'graph://ana@contoso.com?tenant=TENANT_ID&client_id=CLIENT_ID'
        2. Deploy the failover URL, new transport first and the old SMTP URL as the fallback:
           MAILPORT_URL='failover(graph://ana@contoso.com?tenant=TENANT_ID&client_id=CLIENT_ID smtp://ana%40contoso.com:***@smtp.office365.com:587)'
           Microsoft Graph sends; an error raised before a message is handed over (auth, configuration,
           throttling, an outage) sends it through SMTP instead. Never an unknown outcome, so nothing is
           sent twice.
        3. Receipts name the transport that sent (receipt.transport and receipt.route, or mailport send
           --json): once only graph:// appears for a while, set MAILPORT_URL to the graph:// URL alone.

      UPPER_CASE words are placeholders: fill them in.
      Secrets are shown as ***: put yours back, or run with --show-secrets.
      "
    `);
  });

  it('Gmail: gmail:// for the account; an oauth=google URL carries its client over', async () => {
    const { code, out } = await migrate('smtps://billing%40example.com:app-password@smtp.gmail.com:465');
    expect(code).toBe(exitCodes.ok);
    expect(out).toMatchInlineSnapshot(`
      "smtps://billing%40example.com:***@smtp.gmail.com:465 is Gmail / Google Workspace SMTP.

      Equivalent HTTPS transport: the Gmail API (npm install @mailport/transport-gmail-api)
        gmail://billing@example.com

      Why
        - The Gmail API sends over HTTPS (port 443), which networks leave open where outbound SMTP ports
          are often blocked (cloud hosts, CI runners, containers).
        - Google refuses the account password over SMTP: it needs an app password (with 2-Step
          Verification) or OAuth. The API uses OAuth with the narrow gmail.send scope, and no password to
          leak.
        - The exact MIME mailport renders is sent, Bcc included; errors say whether to retry (rate limits
          and daily quotas are told apart).

      Credentials it reads
        - GOOGLE_CLIENT_ID, GOOGLE_CLIENT_SECRET, GOOGLE_REFRESH_TOKEN: user OAuth (the same variables
          oauth=google reads for SMTP), or
        - GOOGLE_APPLICATION_CREDENTIALS=/path/key.json: a service account with domain-wide delegation
          (Google Workspace)

      Create them: User OAuth (any Gmail or Google Workspace account)
        1. Google Cloud console (https://console.cloud.google.com/): create or pick a project, then APIs &
           Services > Library > Gmail API > Enable.
        2. Google Auth Platform (the OAuth consent screen): fill in Branding and Audience, and under Data
           access add the scope https://www.googleapis.com/auth/gmail.send (add gmail.settings.basic to
           send from aliases). While the app is in testing, add the sending account as a test user;
           refresh tokens of apps in testing expire after 7 days, so publish the app for production.
        3. Clients > Create client > Desktop app: note the client ID and the client secret.
        4. Run "mailport auth google --client-id CLIENT_ID --print-env" (with GOOGLE_CLIENT_SECRET set;
           add --send-as for aliases) and consent as the sending account: it prints the GOOGLE_CLIENT_ID,
           GOOGLE_CLIENT_SECRET and GOOGLE_REFRESH_TOKEN lines for your environment (without --print-env
           it saves them in a file only you can read).

      Create them: Service account with domain-wide delegation (Google Workspace only)
        1. In the same project: IAM & Admin > Service accounts > Create service account, then Keys > Add
           key > JSON. Keep the file secret.
        2. Note the service account's unique ID (its OAuth 2 client ID).
        3. Google Admin console: Security > Access and data control > API controls > Domain-wide
           delegation > Add new: that client ID with the scope https://www.googleapis.com/auth/gmail.send
           (add gmail.settings.basic for aliases). It can take a while to apply.
        4. Use gmail://billing@example.com?credentials_file=/path/key.json (or
           GOOGLE_APPLICATION_CREDENTIALS): the service account then sends as that mailbox.

      What changes
        - The From must be the account or one of its verified send-as aliases; mailport checks it before
          sending (aliases need a token that can read them, such as gmail.settings.basic).
        - Gmail limits: 100 recipients per message, 35 MB, and for Google Workspace 2,000 messages and
          10,000 recipients a day.
        - Sent messages appear in the Sent folder of the mailbox, as with SMTP.

      Safe switch-over
        1. Check the new transport: mailport verify --url 'gmail://billing@example.com'
        2. Deploy the failover URL, new transport first and the old SMTP URL as the fallback:
           MAILPORT_URL='failover(gmail://billing@example.com smtps://billing%40example.com:***@smtp.gmail.com:465)'
           The Gmail API sends; an error raised before a message is handed over (auth, configuration,
           throttling, an outage) sends it through SMTP instead. Never an unknown outcome, so nothing is
           sent twice.
        3. Receipts name the transport that sent (receipt.transport and receipt.route, or mailport send
           --json): once only gmail:// appears for a while, set MAILPORT_URL to the gmail:// URL alone.

      UPPER_CASE words are placeholders: fill them in.
      Secrets are shown as ***: put yours back, or run with --show-secrets.
      "
    `);
    const carried = await plan(
      'smtp://billing%40example.com@smtp.gmail.com:587?oauth=google&client_id=123.apps.googleusercontent.com&client_secret=s3cr3t-value&refresh_token=1//refresh-value',
    );
    expect(carried.transportUrl).toBe(
      'gmail://billing@example.com?client_id=123.apps.googleusercontent.com&client_secret=***&refresh_token=***',
    );
    expect(carried.environment[0]).toMatch(/carry over/);
    expect(JSON.stringify(carried)).not.toMatch(/s3cr3t|refresh-value/);
  });

  it('Amazon SES: ses://REGION, IAM credentials rather than the SMTP ones', async () => {
    const { code, out } = await migrate('smtp://AKIAEXAMPLEKEY000000:BExampleSmtpPassword@email-smtp.eu-west-1.amazonaws.com:587');
    expect(code).toBe(exitCodes.ok);
    expect(out).toMatchInlineSnapshot(`
      "smtp://AKIAEXAMPLEKEY000000:***@email-smtp.eu-west-1.amazonaws.com:587 is Amazon SES SMTP in
      eu-west-1.

      Equivalent HTTPS transport: Amazon SES v2 (npm install @mailport/transport-ses)
        ses://eu-west-1

      Why
        - The SES API is reached over HTTPS (port 443): no outbound SMTP port to be blocked (EC2 also
          throttles port 25 by default).
        - Credentials come from the AWS SDK default chain: an IAM role on AWS (instance profile, ECS task
          role, EKS, Lambda), a profile or environment variables; no long-lived SMTP password to store and
          rotate.
        - SES's answers are typed: throttling, the daily quota, an unverified identity and a suspended
          account are told apart, and mailport retries only what can succeed.

      Credentials it reads
        - Nothing, on AWS with a role; elsewhere AWS_PROFILE, or AWS_ACCESS_KEY_ID and
          AWS_SECRET_ACCESS_KEY of an IAM user (not the SMTP credentials).
        - AWS_REGION is not needed: the region is in the URL (eu-west-1).

      Create them: IAM credentials for the SES API
        1. SES SMTP credentials are not API credentials: the SMTP user name (AKIAEXAMPLEKEY000000) is an
           access key ID, but the SMTP password is derived from the secret access key and cannot sign API
           requests.
        2. IAM console: create a role for where the code runs (EC2 instance profile, ECS task role, EKS
           service account, Lambda execution role), or outside AWS an IAM user with an access key.
        3. Attach a policy that allows ses:SendEmail and ses:SendRawEmail on your identities
           (arn:aws:ses:eu-west-1:ACCOUNT_ID:identity/*), and ses:GetAccount for "mailport verify" and
           rate_limit=auto.
        4. Give the code the credentials through the default chain: the role itself, AWS_PROFILE, or
           AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY. Keys in the URL (ses://KEY:SECRET@REGION) are for
           development.
        5. Nothing to verify again: the identities (domains and addresses) verified in eu-west-1 and the
           account's production access are shared by SES SMTP and the API. If "mailport verify" reports
           the SES sandbox, request production access (SES console > Account dashboard).

      What changes
        - SES replaces the Message-ID (<MessageId@email.amazonses.com> in us-east-1,
          <MessageId@REGION.amazonses.com> elsewhere); the receipt reports the one recipients see.
        - Limits: 50 recipients and 40 MB per message; no SMTPUTF8 (non-ASCII local parts); quotas count
          recipients (rate_limit=auto keeps under the account's sending rate).
        - Add configuration_set=NAME to the URL to keep event publishing (bounces, complaints, deliveries)
          as with the X-SES-CONFIGURATION-SET header.

      Safe switch-over
        1. Check the new transport: mailport verify --url 'ses://eu-west-1'
        2. Deploy the failover URL, new transport first and the old SMTP URL as the fallback:
           MAILPORT_URL='failover(ses://eu-west-1 smtp://AKIAEXAMPLEKEY000000:***@email-smtp.eu-west-1.amazonaws.com:587)'
           Amazon SES v2 sends; an error raised before a message is handed over (auth, configuration,
           throttling, an outage) sends it through SMTP instead. Never an unknown outcome, so nothing is
           sent twice.
        3. Receipts name the transport that sent (receipt.transport and receipt.route, or mailport send
           --json): once only ses:// appears for a while, set MAILPORT_URL to the ses:// URL alone.

      UPPER_CASE words are placeholders: fill them in.
      Secrets are shown as ***: put yours back, or run with --show-secrets.
      "
    `);
  });

  it('an unknown host: says so and lists the options', async () => {
    const { code, out } = await migrate('smtp://app:pw-12345@mail.example.net:587');
    expect(code).toBe(exitCodes.ok);
    expect(out).toMatchInlineSnapshot(`
      "smtp://app:***@mail.example.net:587 is not a provider mailport knows, so there is no one equivalent
      HTTPS transport. The options:
        - Keep SMTP. If a port is blocked, "mailport doctor --host mail.example.net" shows which ports
          answer: smtps:// on 465, or 2525, often pass where 25 and 587 do not.
        - If the domain's mail is hosted by Google Workspace or Microsoft 365, send through its API
          instead: gmail://SENDER@YOUR-DOMAIN or
          graph://SENDER@YOUR-DOMAIN?tenant=TENANT_ID&client_id=CLIENT_ID ("mailport migrate
          smtp.gmail.com" or "mailport migrate smtp.office365.com" prints the steps).
        - Or send through Amazon SES over HTTPS: ses://REGION, after verifying the domain in SES
          ("mailport migrate email-smtp.us-east-1.amazonaws.com" prints the steps).
        - Whichever you choose, switch over safely with failover(NEW_URL
          smtp://app:***@mail.example.net:587): the new transport first, this one as the fallback.
      "
    `);
  });

  it('recognises every known host, a bare host name, and the relay and Outlook.com variants', async () => {
    const cases: [string, string, string][] = [
      ['smtp.gmail.com', 'gmail', 'gmail://SENDER@YOUR-DOMAIN'],
      ['smtp-relay.gmail.com', 'gmail-relay', 'gmail://SENDER@YOUR-DOMAIN'],
      ['smtp.office365.com', 'office365', 'graph://SENDER@YOUR-DOMAIN?tenant=TENANT_ID&client_id=CLIENT_ID'],
      [
        'smtp://ana%40outlook.com:pw@smtp-mail.outlook.com:587',
        'outlook-com',
        'graph://ana@outlook.com?tenant=consumers&client_id=CLIENT_ID',
      ],
      [
        'contoso-com.mail.protection.outlook.com',
        'exchange-direct-send',
        'graph://SENDER@YOUR-DOMAIN?tenant=TENANT_ID&client_id=CLIENT_ID',
      ],
      ['email-smtp.us-west-2.amazonaws.com', 'ses', 'ses://us-west-2'],
      ['email-smtp-fips.us-east-1.amazonaws.com', 'ses', 'ses://us-east-1?endpoint=https://email-fips.us-east-1.amazonaws.com'],
    ];
    for (const [input, service, url] of cases) {
      const result = await plan(input);
      expect(result.provider?.service, input).toBe(service);
      expect(result.transportUrl, input).toBe(url);
      expect(result.failoverUrl, input).toMatch(new RegExp(`^failover\\(${url.replace(/[?.()*]/g, '\\$&')} smtps?://`));
    }
  });

  it('carries a Microsoft OAuth setup over, and --show-secrets prints the secrets back', async () => {
    const url =
      'smtp://ana%40contoso.com@smtp.office365.com:587?oauth=microsoft&tenant=contoso.onmicrosoft.com&client_id=11111111-2222-3333-4444-555555555555&client_secret=abc~secret~value';
    const redacted = await plan(url);
    expect(redacted.transportUrl).toBe(
      'graph://ana@contoso.com?tenant=contoso.onmicrosoft.com&client_id=11111111-2222-3333-4444-555555555555&client_secret=***',
    );
    expect(redacted.environment[0]).toMatch(/Mail\.Send/);
    const shown = await plan(url, '--show-secrets');
    expect(shown.transportUrl).toContain('client_secret=abc~secret~value');
    expect(shown.failoverUrl).toBe(`failover(${shown.transportUrl} ${url})`);
    expect(shown.secretsShown).toBe(true);
  });

  it('an HTTPS URL needs no migration; other input is refused with the right exit code', async () => {
    const already = await migrate('graph://sender@contoso.com?tenant=t&client_id=c&client_secret=topsecret');
    expect(already.code).toBe(exitCodes.ok);
    expect(already.out).toMatch(/already an HTTPS transport/);
    expect(already.out).not.toContain('topsecret');
    for (const command of ['migrate', 'verify', 'doctor']) {
      const io = memoryIo();
      expect(await run([command, '--help'], io)).toBe(exitCodes.ok);
      expect(io.out()).toMatch(new RegExp(`^mailport ${command}: .*\\n[\\s\\S]*Exit codes: 0 `));
    }
    expect((await migrate()).code).toBe(exitCodes.usage);
    expect((await migrate('a', 'b')).code).toBe(exitCodes.usage);
    const memory = await migrate('memory://');
    expect(memory.code).toBe(exitCodes.configuration);
    expect(memory.err).toMatch(/not an SMTP URL/);
    expect((await migrate('failover(smtp://a:b@smtp.gmail.com ses://eu-west-1)')).code).toBe(exitCodes.configuration);
    expect((await migrate('smtp://[::1')).code).toBe(exitCodes.configuration);
  });
});
