export type { SandboxAccountOverrides, SandboxAccounts } from './accounts.js';
export type { SandboxEvent, SandboxEventLog } from './events/event-log.js';
export type { FaultAction, FaultInjector, FaultSpec } from './faults.js';
export type { LoggedRequest, RequestLog } from './requests.js';
export { type Sandbox, type SandboxOptions, type SandboxTransportUrls, startSandbox } from './sandbox.js';
export type { SandboxSns, SesEventDestination, SnsSubscription, SnsSubscriptionState } from './ses/sns/index.js';
export type { MessageStore, SandboxApi, StoredMessage } from './store.js';
export { sandboxCertificate, type TlsIdentity } from './tls.js';
export type { TokenIssuer, TokenRegistry } from './tokens.js';
