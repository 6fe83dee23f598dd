import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAccessPolicy } from './access.js';
import { resolveAccounts, type SandboxAccountOverrides, type SandboxAccounts } from './accounts.js';
import { createSmtpBounces, type SandboxBounceOptions } from './bounces/smtp-bounces.js';
import type { EmulatorContext } from './context.js';
import { createControlApi } from './control.js';
import { createSandboxEventLog, type SandboxEventLog } from './events/event-log.js';
import { createFaultInjector, type FaultInjector } from './faults.js';
import { createGmailEmulator } from './gmail/index.js';
import { createGraphEmulator } from './graph/index.js';
import { type RouteSummary, startHttpFrontend } from './http.js';
import { createInbox } from './inbox/inbox-routes.js';
import { createRequestLog, type RequestLog } from './requests.js';
import { createSesEmulator } from './ses/index.js';
import { createSnsEmulator, createSnsHub, type SandboxSns, type SesEventDestination } from './ses/sns/index.js';
import { startSmtpEmulator } from './smtp.js';
import { createMessageStore, type MessageStore } from './store.js';
import { sandboxCertificate, type TlsIdentity } from './tls.js';
import { createTokenRegistry, type TokenRegistry } from './tokens.js';

/** Options of {@link startSandbox}. Every port defaults to 0 (an ephemeral port). */
export interface SandboxOptions {
  /** Interface to bind. Default `127.0.0.1`; the sandbox is meant for loopback only. */
  host?: string | undefined;
  smtpPort?: number | undefined;
  /** Plain HTTP: SES, Gmail, Graph and the sandbox's own API. */
  httpPort?: number | undefined;
  /** The same routes over TLS (MSAL only talks to an https authority). */
  httpsPort?: number | undefined;
  /** Credentials and identities, merged over the defaults. */
  accounts?: SandboxAccountOverrides | undefined;
  /** Lifetime of issued access tokens, in seconds. Default 3600. */
  tokenTtlSeconds?: number | undefined;
  /** Largest SMTP message, in bytes (SIZE). Default 50 MB. */
  smtpMaxMessageBytes?: number | undefined;
  /** Accept SMTP mail without AUTH. Default false. */
  smtpAuthOptional?: boolean | undefined;
  /** Key and certificate to serve; default: one generated for localhost and 127.0.0.1. */
  tls?: TlsIdentity | undefined;
  /** Most messages the store keeps; past it the oldest are evicted (the inbox says how many). Default 10,000. */
  maxMessages?: number | undefined;
  /** Most bytes of raw messages the store keeps; past it the oldest are evicted. Default 256 MB. */
  maxStoreBytes?: number | undefined;
  /**
   * The token the control API (`/sandbox/...`) requires, as `Authorization: Bearer TOKEN`; at least
   * 16 characters. Default: 32 random bytes, new at every start.
   */
  controlToken?: string | undefined;
  /**
   * Host names the HTTP listeners answer besides loopback ones (`localhost`, `*.localhost`,
   * `127.0.0.0/8`, `[::1]`) and `host`: a container's service name, say. Every name added is one
   * a web page could rebind to this sandbox if its owner controls that name's DNS.
   */
  allowedHosts?: readonly string[] | undefined;
  /**
   * Bounce scenarios: where the SMTP emulator mails the Postfix-shaped reports for
   * `bounce@simulator.amazonses.com` (5.1.1), `delay@` (a delay notice, 4.4.7) and `ooto@` (an RFC
   * 3834 auto-reply), from `<>` to the message's envelope sender: `{ smtp: 'smtp://127.0.0.1:PORT' }`.
   */
  bounces?: SandboxBounceOptions | undefined;
  /**
   * SES event destinations: SNS topics subscribed over HTTP(S) to the application's webhook. Each
   * gets a signed `SubscriptionConfirmation` once the sandbox listens, then, once confirmed, SES's
   * event records (Send, Delivery, Bounce, Complaint, driven by the mailbox simulator's addresses)
   * for every message the SES emulator accepts. More can be added later with `sandbox.sns.subscribe()`.
   */
  sesEvents?: readonly SesEventDestination[] | undefined;
}

/** mailport transport URLs that send to this sandbox, credentials included. */
export interface SandboxTransportUrls {
  readonly smtp: string;
  readonly ses: string;
  readonly gmail: string;
  readonly graph: string;
}

/** A running sandbox. */
export interface Sandbox {
  readonly host: string;
  readonly smtpPort: number;
  readonly httpPort: number;
  readonly httpsPort: number;
  /** `http://127.0.0.1:PORT`, no trailing slash. */
  readonly httpUrl: string;
  /** `https://127.0.0.1:PORT`, no trailing slash. */
  readonly httpsUrl: string;
  /** PEM of the certificate every TLS endpoint uses; trust it as a CA. */
  readonly ca: string;
  /** The same PEM in a file, for `ca_file=` and `NODE_EXTRA_CA_CERTS`. */
  readonly caFile: string;
  readonly accounts: SandboxAccounts;
  readonly store: MessageStore;
  /** What the sandbox reported after accepting messages: SES event notifications, bounces mailed back. */
  readonly events: SandboxEventLog;
  /** SES event destinations over SNS: their subscriptions, and `subscribe()` to add one. */
  readonly sns: SandboxSns;
  readonly faults: FaultInjector;
  readonly tokens: TokenRegistry;
  /** Every request and SMTP transaction seen, to check what a client sent (or that it sent nothing). */
  readonly requests: RequestLog;
  readonly urls: SandboxTransportUrls;
  /** The control API's token for this run: send `Authorization: Bearer ${controlToken}` to `/sandbox/...`. */
  readonly controlToken: string;
  /** The same token in a file only this user can read (0600), for scripts and other processes. */
  readonly controlTokenFile: string;
  /** Every HTTP route, on both listeners, with its access (see the README's threat model). */
  readonly routes: readonly RouteSummary[];
  close(): Promise<void>;
}

/**
 * Starts the sandbox in this process: an SMTP submission server and one HTTP(S) front end that
 * speaks Amazon SES v2, the Gmail API with Google's token endpoint, and Microsoft Graph with the
 * Entra token endpoint. Every accepted message lands in `store`.
 *
 * @example
 * ```ts
 * await using sandbox = await startSandbox();
 * const mailer = createMailer({ transport: sandbox.urls.ses });
 * await mailer.send({ from: 'app@example.com', to: 'ana@example.org', text: 'hi' });
 * sandbox.store.last()?.api; // 'ses'
 * ```
 */
export async function startSandbox(options: SandboxOptions = {}): Promise<Sandbox & AsyncDisposable> {
  const host = options.host ?? '127.0.0.1';
  const accounts = resolveAccounts(options.accounts);
  const tls = options.tls ?? (await sandboxCertificate());
  const store = createMessageStore({ maxMessages: options.maxMessages, maxBytes: options.maxStoreBytes });
  const faults = createFaultInjector();
  const tokens = createTokenRegistry(options.tokenTtlSeconds ?? 3600);
  const requests = createRequestLog();
  const urls = { http: '', https: '' };
  const events = createSandboxEventLog();
  const context: EmulatorContext = { accounts, store, tokens, urls, now: Date.now, events };
  // Before anything listens: a malformed bounces.smtp is the caller's mistake, thrown as a TypeError.
  const bounces = createSmtpBounces(options.bounces ?? {}, context);
  // Before anything listens: a malformed destination is the caller's mistake, thrown as a TypeError.
  const sns = createSnsHub(context, { destinations: options.sesEvents ?? [], ca: tls.cert });
  const access = createAccessPolicy({ token: options.controlToken, boundHost: host, allowedHosts: options.allowedHosts });
  // mkdtemp makes the directory 0700; the token file is 0600 besides.
  const directory = await mkdtemp(join(tmpdir(), 'mailport-sandbox-'));
  const caFile = join(directory, 'ca.pem');
  const controlTokenFile = join(directory, 'control-token');
  await writeFile(caFile, tls.cert);
  await writeFile(controlTokenFile, `${access.token}\n`, { mode: 0o600 });

  let transportUrls: SandboxTransportUrls | undefined;
  const info = (): Record<string, unknown> => ({
    host,
    smtpPort: smtp.port,
    httpUrl: urls.http,
    httpsUrl: urls.https,
    caFile,
    urls: transportUrls,
    accounts: {
      ...accounts,
      google: { ...accounts.google, serviceAccount: { ...accounts.google.serviceAccount, privateKey: '(see the process)' } },
    },
  });
  const smtp = await startSmtpEmulator(
    {
      host,
      port: options.smtpPort ?? 0,
      tls,
      maxMessageBytes: options.smtpMaxMessageBytes,
      authOptional: options.smtpAuthOptional,
      bounces,
    },
    context,
    faults,
    requests,
  ).catch(async (error: unknown) => {
    await rm(directory, { recursive: true, force: true });
    throw error;
  });
  const inbox = createInbox({ store, capabilityUrl: access.capabilityUrl, events });
  const frontend = await startHttpFrontend({
    host,
    httpPort: options.httpPort ?? 0,
    httpsPort: options.httpsPort ?? 0,
    tls,
    faults,
    log: requests,
    access,
    emulators: [
      createControlApi({ store, faults, tokens, info }),
      createSesEmulator(context, { onAccepted: sns.publish }),
      createSnsEmulator(sns),
      createGmailEmulator(context),
      createGraphEmulator(context),
      inbox,
    ],
  }).catch(async (error: unknown) => {
    // A taken HTTP port must not leave the SMTP server listening (the process would never exit).
    inbox.close();
    await smtp.close();
    await rm(directory, { recursive: true, force: true });
    throw error;
  });
  const urlHost = host.includes(':') ? `[${host}]` : host;
  urls.http = `http://${urlHost}:${frontend.httpPort}`;
  urls.https = `https://${urlHost}:${frontend.httpsPort}`;
  sns.start();
  transportUrls = transportUrlsFor({ accounts, urlHost, smtpPort: smtp.port, http: urls.http, https: urls.https, caFile });

  let closed: Promise<void> | undefined;
  const close = (): Promise<void> => {
    inbox.close();
    closed ??= Promise.all([sns.close(), smtp.close(), frontend.close()]).then(() => rm(directory, { recursive: true, force: true }));
    return closed;
  };
  return {
    host,
    smtpPort: smtp.port,
    httpPort: frontend.httpPort,
    httpsPort: frontend.httpsPort,
    httpUrl: urls.http,
    httpsUrl: urls.https,
    ca: tls.cert,
    caFile,
    accounts,
    store,
    events,
    sns: {
      subscriptions: sns.subscriptions,
      subscribe: sns.subscribe,
      idle: sns.idle,
      get signingCertUrl() {
        return sns.signingCertUrl;
      },
    },
    faults,
    tokens,
    requests,
    urls: transportUrls,
    controlToken: access.token,
    controlTokenFile,
    routes: frontend.routes,
    close,
    [Symbol.asyncDispose]: close,
  };
}

function transportUrlsFor(options: {
  accounts: SandboxAccounts;
  urlHost: string;
  smtpPort: number;
  http: string;
  https: string;
  caFile: string;
}): SandboxTransportUrls {
  const { accounts, urlHost, http, https, caFile } = options;
  const encode = encodeURIComponent;
  const [smtpUser, smtpPassword] = Object.entries(accounts.smtp.users)[0] ?? ['sandbox', 'sandbox-password'];
  const [googleRefreshToken, googleUser] = Object.entries(accounts.google.refreshTokens)[0] ?? ['', 'user@example.com'];
  const [gmailLocal, gmailDomain] = googleUser.split('@') as [string, string];
  const [graphLocal, graphDomain] = (accounts.microsoft.mailboxes[0] ?? 'sender@contoso.example').split('@') as [string, string];
  return Object.freeze({
    smtp: `smtp://${encode(smtpUser)}:${encode(smtpPassword)}@${urlHost}:${options.smtpPort}?ca_file=${encode(caFile)}`,
    ses:
      `ses://${encode(accounts.ses.accessKeyId)}:${encode(accounts.ses.secretAccessKey)}@${accounts.ses.region}` +
      `?endpoint=${encode(http)}`,
    gmail:
      `gmail://${encode(gmailLocal)}@${gmailDomain}?client_id=${encode(accounts.google.clientId)}` +
      `&client_secret=${encode(accounts.google.clientSecret)}&refresh_token=${encode(googleRefreshToken)}` +
      `&token_url=${encode(`${http}/token`)}&endpoint=${encode(`${http}/`)}`,
    graph:
      `graph://${encode(graphLocal)}@${graphDomain}?tenant=${encode(accounts.microsoft.tenantId)}` +
      `&client_id=${encode(accounts.microsoft.clientId)}&client_secret=${encode(accounts.microsoft.clientSecret)}` +
      `&authority_host=${encode(https)}&endpoint=${encode(`${http}/v1.0`)}&ca_file=${encode(caFile)}`,
  });
}
