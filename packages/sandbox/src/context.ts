import type { SandboxAccounts } from './accounts.js';
import type { SandboxEventLog } from './events/event-log.js';
import type { MessageStore } from './store.js';
import type { TokenRegistry } from './tokens.js';

/** What every emulator shares. */
export interface EmulatorContext {
  readonly accounts: SandboxAccounts;
  readonly store: MessageStore;
  readonly tokens: TokenRegistry;
  /** Base URLs of the sandbox's listeners, without a trailing slash; known once they listen. */
  readonly urls: { readonly http: string; readonly https: string };
  /** The clock (epoch ms). */
  readonly now: () => number;
  /** What the sandbox reported after accepting messages (SNS notifications, bounces). */
  readonly events: SandboxEventLog;
}
