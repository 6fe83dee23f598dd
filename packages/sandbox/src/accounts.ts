import { generateKeyPairSync } from 'node:crypto';

/** Credentials and identities the sandbox accepts. Every field has a working default. */
export interface SandboxAccounts {
  readonly smtp: {
    /** AUTH PLAIN / LOGIN users: name -> password. XOAUTH2 takes tokens from the Google and Microsoft endpoints. */
    readonly users: Readonly<Record<string, string>>;
  };
  readonly ses: {
    readonly region: string;
    readonly accessKeyId: string;
    readonly secretAccessKey: string;
    /** GetAccount SendQuota. */
    readonly maxSendRate: number;
    readonly max24HourSend: number;
    /** false puts the account in the SES sandbox: only verified recipients, 200 a day. */
    readonly productionAccess: boolean;
    /** Verified identities: addresses or whole domains. The From must be one. */
    readonly verifiedIdentities: readonly string[];
    /** Configuration sets that exist; any other `ConfigurationSetName` gets NotFoundException. */
    readonly configurationSets: readonly string[];
    /** Stored email templates by name, for `Template.TemplateName` (inline `TemplateContent` needs none). */
    readonly templates: Readonly<Record<string, { readonly subject?: string; readonly text?: string; readonly html?: string }>>;
    /** false answers sends with SendingPausedException (GetAccount SendingEnabled). */
    readonly sendingEnabled: boolean;
    /** `SHUTDOWN` answers sends with AccountSuspendedException (GetAccount EnforcementStatus). */
    readonly enforcementStatus: 'HEALTHY' | 'PROBATION' | 'SHUTDOWN';
  };
  readonly google: {
    readonly clientId: string;
    readonly clientSecret: string;
    /** Refresh token -> the user it was granted by. */
    readonly refreshTokens: Readonly<Record<string, string>>;
    /** Gmail users and their send-as addresses (the primary address first). */
    readonly users: Readonly<Record<string, { readonly sendAs: readonly string[] }>>;
    /** A service account with domain-wide delegation over `users`. */
    readonly serviceAccount: {
      readonly clientEmail: string;
      readonly privateKeyId: string;
      readonly privateKey: string;
      readonly publicKey: string;
    };
  };
  readonly microsoft: {
    readonly tenantId: string;
    readonly clientId: string;
    readonly clientSecret: string;
    /** Mailboxes the app may send as (an application access policy would scope it so). */
    readonly mailboxes: readonly string[];
    /** A delegated refresh token for `delegatedUser`; every use rotates it. */
    readonly refreshToken: string;
    readonly delegatedUser: string;
    /** PEM certificates registered on the app, for client-assertion (certificate) credentials. Default none. */
    readonly certificates: readonly string[];
    /**
     * Application permissions granted to the app (app-only tokens), as an admin consented to them.
     * The inbox routes check Mail.Read / Mail.ReadWrite against it. Default: Mail.Send and Mail.ReadWrite.
     */
    readonly applicationPermissions?: readonly string[] | undefined;
    /** The device code flow's polling `interval`, in seconds (Entra answers 5); a fraction makes tests fast. */
    readonly deviceCodeIntervalSeconds: number;
    /** How long a device code and its user code live, in seconds (Entra: 900). */
    readonly deviceCodeLifetimeSeconds: number;
  };
}

/** Overrides for {@link SandboxAccounts}, merged field by field over the defaults. */
export type SandboxAccountOverrides = { readonly [K in keyof SandboxAccounts]?: Partial<SandboxAccounts[K]> };

let serviceAccountKey: { privateKey: string; publicKey: string } | undefined;

function serviceAccountKeys(): { privateKey: string; publicKey: string } {
  serviceAccountKey ??= generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  return serviceAccountKey;
}

/** The defaults: fixed sandbox credentials, so demos and tests need no setup. */
export function defaultAccounts(): SandboxAccounts {
  const keys = serviceAccountKeys();
  return {
    smtp: { users: { sandbox: 'sandbox-password' } },
    ses: {
      region: 'us-east-1',
      accessKeyId: 'AKIASANDBOXEXAMPLE00',
      secretAccessKey: 'sandbox/Secret/Access/Key/EXAMPLE000000000',
      maxSendRate: 14,
      max24HourSend: 50_000,
      productionAccess: true,
      verifiedIdentities: ['example.com', 'example.net', 'example.org', 'shop.example', 'contoso.example', 'sandbox.example'],
      configurationSets: ['default'],
      templates: {},
      sendingEnabled: true,
      enforcementStatus: 'HEALTHY',
    },
    google: {
      clientId: 'sandbox-client-id.apps.googleusercontent.com',
      clientSecret: 'sandbox-client-secret',
      refreshTokens: { 'sandbox-google-refresh-token': 'user@example.com' },
      users: { 'user@example.com': { sendAs: ['user@example.com', 'alias@example.com'] } },
      serviceAccount: {
        clientEmail: 'mailport-sandbox@sandbox-project.iam.gserviceaccount.com',
        privateKeyId: 'sandbox-key-1',
        privateKey: keys.privateKey,
        publicKey: keys.publicKey,
      },
    },
    microsoft: {
      tenantId: 'a1b2c3d4-0000-4000-8000-00000000c0de',
      clientId: '11111111-2222-4333-8444-555555555555',
      clientSecret: 'sandbox~client~secret~0000',
      mailboxes: ['sender@contoso.example', 'other@contoso.example'],
      refreshToken: 'sandbox-microsoft-refresh-token-0',
      delegatedUser: 'sender@contoso.example',
      certificates: [],
      deviceCodeIntervalSeconds: 5,
      deviceCodeLifetimeSeconds: 900,
    },
  };
}

/** Merges overrides into the defaults. */
export function resolveAccounts(overrides: SandboxAccountOverrides = {}): SandboxAccounts {
  const defaults = defaultAccounts();
  return {
    smtp: { ...defaults.smtp, ...overrides.smtp },
    ses: { ...defaults.ses, ...overrides.ses },
    google: { ...defaults.google, ...overrides.google },
    microsoft: { ...defaults.microsoft, ...overrides.microsoft },
  };
}
