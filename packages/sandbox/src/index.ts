export { defaultAccounts, resolveAccounts, type SandboxAccountOverrides, type SandboxAccounts } from './accounts.js';
export type { EmulatorContext } from './context.js';
export { describeMessage } from './control.js';
export { createFaultInjector, type FaultAction, type FaultInjector, type FaultSpec, faultEndpoints } from './faults.js';
export type { Emulator, HttpRequest, HttpResponse, Route } from './http.js';
export { type Sandbox, type SandboxOptions, type SandboxTransportUrls, startSandbox } from './sandbox.js';
export { createMessageStore, type MessageStore, type NewMessage, type SandboxApi, type StoredMessage } from './store.js';
export { sandboxCertificate, type TlsIdentity } from './tls.js';
export { createTokenRegistry, type IssuedToken, type TokenIssuer, type TokenProblem, type TokenRegistry } from './tokens.js';
