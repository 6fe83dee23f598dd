/**
 * `@mailport/sandbox/contract`: the testkit's contract harness for each emulator, so that a
 * built-in transport's contract test is one line:
 *
 * ```ts
 * describeTransportContract(sandboxContract('ses'));
 * ```
 *
 * The harness knows what only the sandbox knows: the accounts the suite's addresses need, its
 * transport URLs and how to spoil them, and which fault on which endpoint is each provider's rate
 * limit, transient failure, permanent refusal and stall. A subpath of its own: the sandbox's
 * command line never loads `@mailport/core`.
 */
import type { ContractBackend, ContractFault, ContractHarness } from '@mailport/testkit';
import type { FaultSpec } from './faults.js';
import { type Sandbox, type SandboxOptions, startSandbox } from './sandbox.js';

/** The emulators with a transport in mailport. */
export type SandboxApi = 'smtp' | 'ses' | 'gmail' | 'graph';

/** Options of {@link sandboxContract}. */
export interface SandboxContractOptions {
  /** Shown in test names. Default the API's name. */
  readonly name?: string | undefined;
  /** Cases to skip, with the reason (see `ContractHarness.skip`). */
  readonly skip?: Readonly<Record<string, string>> | undefined;
}

/** What differs between emulators: the accounts, the URL spoilt two ways, and the faults. */
interface Emulator {
  readonly options: SandboxOptions;
  /** The URL of `transport()`. Default the sandbox's URL for the API. */
  readonly url?: ((sandbox: Sandbox) => string) | undefined;
  readonly badCredentials: (sandbox: Sandbox) => string;
  readonly nowhere: (sandbox: Sandbox, port: number) => string;
  readonly fault: (fault: ContractFault, sandbox: Sandbox) => Omit<FaultSpec, 'count'> | 'token-outage';
  readonly secrets: (sandbox: Sandbox) => string[];
}

const encode = encodeURIComponent;

/** The URL with one parameter's value replaced (the sandbox's URLs write each parameter once). */
const withParameter = (url: string, name: string, value: string): string =>
  url.replace(new RegExp(`([?&]${name}=)[^&]*`), `$1${encode(value)}`);

// The suite sends from sender@example.com to @example.org and @example.net addresses.
const emulators: Readonly<Record<SandboxApi, Emulator>> = {
  smtp: {
    options: {},
    badCredentials: (sandbox) => sandbox.urls.smtp.replace(`:${encode(smtpPassword(sandbox))}@`, ':wrong-password@'),
    nowhere: (_sandbox, port) => `smtp://127.0.0.1:${port}`,
    fault: (fault) => {
      switch (fault.kind) {
        case 'rate-limit':
          return {
            endpoint: 'smtp.MAIL',
            status: 454,
            message: `4.7.0 Throttling failure: Maximum sending rate exceeded, try again in ${fault.retryAfterSeconds} seconds`,
          };
        case 'transient':
          return { endpoint: 'smtp.MAIL', status: 451, message: '4.3.0 Temporary local problem' };
        case 'permanent':
          return { endpoint: 'smtp.DATA', status: 554, message: '5.7.1 Message rejected by policy' };
        case 'stall':
          return { endpoint: 'smtp.RCPT', action: 'stall' };
      }
    },
    secrets: (sandbox) => [smtpPassword(sandbox)],
  },
  ses: {
    options: {},
    // rate_limit=auto reads GetAccount before a transport's first send: the read the transient fault hits.
    url: (sandbox) => `${sandbox.urls.ses}&rate_limit=auto`,
    badCredentials: (sandbox) => sandbox.urls.ses.replace(`:${encode(sandbox.accounts.ses.secretAccessKey)}@`, ':wrong%2Fsecret%2Fkey@'),
    nowhere: (sandbox, port) => withParameter(sandbox.urls.ses, 'endpoint', `http://127.0.0.1:${port}`),
    fault: (fault) => {
      switch (fault.kind) {
        case 'rate-limit':
          // SES itself sends no Retry-After; a hop in front of it may, and the adapter reads it when present.
          return {
            endpoint: 'ses.SendEmail',
            status: 429,
            code: 'TooManyRequestsException',
            message: 'Maximum sending rate exceeded.',
            retryAfter: fault.retryAfterSeconds,
          };
        case 'transient':
          // SES may have sent a message it answers 5xx to (unknown-outcome); a 5xx that provably
          // sent nothing is the one to GetAccount, read before each new transport's first send.
          return { endpoint: 'ses.GetAccount', status: 500, code: 'InternalServiceErrorException' };
        case 'permanent':
          return {
            endpoint: 'ses.SendEmail',
            status: 400,
            code: 'MessageRejected',
            message: 'Message rejected: the message content was flagged as spam.',
          };
        case 'stall':
          return { endpoint: 'ses.SendEmail', action: 'stall' };
      }
    },
    secrets: (sandbox) => {
      const { accessKeyId, secretAccessKey } = sandbox.accounts.ses;
      return [secretAccessKey, encode(secretAccessKey), accessKeyId];
    },
  },
  gmail: {
    // sender@example.com is one of the mailbox's send-as aliases.
    options: { accounts: { google: { users: { 'user@example.com': { sendAs: ['user@example.com', 'sender@example.com'] } } } } },
    badCredentials: (sandbox) => withParameter(sandbox.urls.gmail, 'refresh_token', 'revoked-token'),
    nowhere: (sandbox, port) => withParameter(sandbox.urls.gmail, 'endpoint', `http://127.0.0.1:${port}/`),
    fault: (fault) => {
      const endpoint = 'gmail.messages.send';
      switch (fault.kind) {
        case 'rate-limit':
          return { endpoint, status: 429, code: 'rateLimitExceeded', retryAfter: fault.retryAfterSeconds };
        case 'transient':
          // Gmail may have sent a message it answers 5xx to (unknown-outcome); a 5xx that provably
          // sent nothing is the one to the send-as list, read before each new transport's first send.
          return { endpoint: 'gmail.sendAs.list', status: 503, code: 'backendError' };
        case 'permanent':
          return { endpoint, status: 400, code: 'badRequest', message: 'Message rejected' };
        case 'stall':
          return { endpoint, action: 'stall' };
      }
    },
    secrets: (sandbox) => [sandbox.accounts.google.clientSecret, ...Object.keys(sandbox.accounts.google.refreshTokens)],
  },
  graph: {
    // The mailbox sends as itself: sender@example.com.
    options: { accounts: { microsoft: { mailboxes: ['sender@example.com'] } } },
    badCredentials: (sandbox) => withParameter(sandbox.urls.graph, 'client_secret', 'wrong-secret'),
    // The token endpoint answers; the Graph API is at a port where nothing listens.
    nowhere: (sandbox, port) => withParameter(sandbox.urls.graph, 'endpoint', `http://127.0.0.1:${port}/v1.0`),
    fault: (fault) => {
      switch (fault.kind) {
        case 'rate-limit':
          return { endpoint: 'graph.sendMail', status: 429, code: 'ApplicationThrottled', retryAfter: fault.retryAfterSeconds };
        case 'transient':
          // Graph may have sent a message it answers 5xx to; a failure that provably sent nothing is the token endpoint's.
          return 'token-outage';
        case 'permanent':
          return { endpoint: 'graph.sendMail', status: 400, code: 'ErrorInvalidRecipients' };
        case 'stall':
          return { endpoint: 'graph.sendMail', action: 'stall' };
      }
    },
    secrets: (sandbox) => [sandbox.accounts.microsoft.clientSecret],
  },
};

function smtpPassword(sandbox: Sandbox): string {
  return Object.values(sandbox.accounts.smtp.users)[0] ?? '';
}

/**
 * The contract harness for one emulator: `setup()` starts a sandbox of its own on ephemeral ports,
 * and the transports are made from its URLs by `@mailport/core`'s `createTransport`, so the
 * adapter is loaded as an application would load it.
 *
 * @example
 * ```ts
 * import { sandboxContract } from '@mailport/sandbox/contract';
 * import { describeTransportContract } from '@mailport/testkit';
 *
 * describeTransportContract(sandboxContract('graph', { name: 'graph (MIME mode)' }));
 * ```
 */
export function sandboxContract(api: SandboxApi, options: SandboxContractOptions = {}): ContractHarness {
  const emulator = emulators[api];
  return {
    name: options.name ?? api,
    skip: options.skip,
    async setup(): Promise<ContractBackend> {
      const { createTransport } = await import('@mailport/core');
      const { refusedPort } = await import('@mailport/core/testing');
      const sandbox = await startSandbox(emulator.options);
      const nowhere = await refusedPort();
      return {
        transport: () => createTransport(emulator.url?.(sandbox) ?? sandbox.urls[api]),
        transportWithBadCredentials: () => createTransport(emulator.badCredentials(sandbox)),
        transportToNowhere: () => createTransport(emulator.nowhere(sandbox, nowhere)),
        received: async () => sandbox.store.list({ api }).map((message) => ({ recipients: message.envelope.to, raw: message.raw })),
        clear: async () => {
          sandbox.store.clear();
          sandbox.faults.clear();
        },
        inject: async (fault, count = 1) => {
          const spec = emulator.fault(fault, sandbox);
          if (spec !== 'token-outage') return sandbox.faults.inject({ ...spec, count });
          sandbox.tokens.expireAll();
          sandbox.faults.inject({ endpoint: 'microsoft.token', status: 503, code: 'temporarily_unavailable', count });
        },
        secrets: emulator.secrets(sandbox),
        close: () => sandbox.close(),
      };
    },
  };
}
