import type { Transport } from '@mailport/core';

/** A message as the backend received it. */
export interface ReceivedMail {
  /** The recipients the backend delivered to (the envelope), Bcc included. */
  readonly recipients: readonly string[];
  /** The RFC 5322 bytes as the recipients receive them: no Bcc header. */
  readonly raw: Buffer;
}

/**
 * A failure the backend can stage for the next sends, to check how the transport classifies it:
 * - `rate-limit`: the provider's throttling answer with a Retry-After (or its own hint) of `retryAfterSeconds`;
 * - `transient`: a temporary failure raised before the message was accepted (a 5xx, a 4yz reply);
 * - `permanent`: the provider refuses the message or its recipients for good;
 * - `stall`: the backend takes the request and never answers (the suite aborts the send).
 */
export type ContractFault =
  | { readonly kind: 'rate-limit'; readonly retryAfterSeconds: number }
  | { readonly kind: 'transient' }
  | { readonly kind: 'permanent' }
  | { readonly kind: 'stall' };

/** A running backend for one transport, as the contract suite drives it. */
export interface ContractBackend {
  /** A transport that sends to the backend with valid credentials. The suite closes it after each test. */
  transport(): Transport | Promise<Transport>;
  /** A transport whose credentials the backend refuses. */
  transportWithBadCredentials(): Transport | Promise<Transport>;
  /** A transport aimed at a port on 127.0.0.1 where nothing listens. */
  transportToNowhere(): Transport | Promise<Transport>;
  /** What the backend accepted since the last `clear()`, oldest first. */
  received(): Promise<readonly ReceivedMail[]>;
  clear(): Promise<void>;
  /** Makes the next `count` sends (default 1) fail the given way. */
  inject(fault: ContractFault, count?: number): Promise<void>;
  /** Credentials the transports use: none may appear in `String(transport)` or in any error. */
  readonly secrets: readonly string[];
  close(): Promise<void>;
}

/** Describes a transport to the contract suite. */
export interface ContractHarness {
  /** Shown in test names: `smtp`, `ses`, `my-provider`. */
  readonly name: string;
  /** Starts the backend; called once before the suite. */
  setup(): Promise<ContractBackend>;
  /**
   * Cases the transport cannot take part in, with the reason, shown as skipped. For example
   * `{ 'custom headers': 'this provider drops X- headers' }`. Keys are the case names.
   */
  readonly skip?: Readonly<Record<string, string>> | undefined;
}
