/**
 * What an injected fault does to a request:
 * - `respond`: answer with `status`, the provider's error `code` and `message`, and `retryAfter`;
 * - `stall`: read the request and never answer;
 * - `drop`: process the request as usual (a message is stored), then cut the connection instead of answering;
 * - `reset`: cut the connection as soon as the request has been read, without processing it.
 */
export type FaultAction = 'respond' | 'stall' | 'drop' | 'reset';

/** A fault for the next `count` requests to an endpoint. */
export interface FaultSpec {
  /**
   * The endpoint: one of {@link faultEndpoints} (`ses.SendEmail`, `gmail.messages.send`,
   * `graph.sendMail`, `smtp.RCPT`, ...). A trailing `*` matches a prefix (`graph.*`); `*` matches all.
   */
  readonly endpoint: string;
  /** How many requests it applies to. Default 1. */
  readonly count?: number | undefined;
  /** Default `respond`. */
  readonly action?: FaultAction | undefined;
  /** HTTP status, or the SMTP reply code for `smtp.*`. Default 500 (HTTP) or 451 (SMTP). */
  readonly status?: number | undefined;
  /** The provider's error code (`ThrottlingException`, `rateLimitExceeded`, `ApplicationThrottled`, ...). */
  readonly code?: string | undefined;
  readonly message?: string | undefined;
  /** Sent as Retry-After: seconds, or an HTTP date. */
  readonly retryAfter?: number | string | undefined;
}

/** The endpoints faults can target, by API. */
export const faultEndpoints: Readonly<Record<string, readonly string[]>> = Object.freeze({
  smtp: ['smtp.CONNECT', 'smtp.AUTH', 'smtp.MAIL', 'smtp.RCPT', 'smtp.DATA'],
  ses: ['ses.SendEmail', 'ses.SendBulkEmail', 'ses.GetAccount'],
  gmail: ['gmail.messages.send', 'gmail.messages.list', 'gmail.getProfile', 'gmail.sendAs.list', 'google.token', 'google.authorize'],
  graph: [
    'graph.sendMail',
    'graph.createMessage',
    'graph.addAttachment',
    'graph.createUploadSession',
    'graph.uploadChunk',
    'graph.send',
    'graph.getUser',
    'graph.listSentItems',
    'microsoft.token',
    'microsoft.devicecode',
  ],
});

/** Queue of pending faults; each request takes the first one that matches its endpoint. */
export interface FaultInjector {
  inject(fault: FaultSpec): void;
  /** Used by the emulators: removes and returns a fault for this request, if one is pending. */
  take(endpoint: string): FaultSpec | undefined;
  /** Pending faults with the count still left. */
  pending(): readonly FaultSpec[];
  clear(): void;
}

/** Creates an injector with no faults pending. */
export function createFaultInjector(): FaultInjector {
  const queue: { spec: FaultSpec; left: number }[] = [];
  const matches = (pattern: string, endpoint: string): boolean =>
    pattern === '*' || pattern === endpoint || (pattern.endsWith('*') && endpoint.startsWith(pattern.slice(0, -1)));
  return {
    inject(fault) {
      if (typeof fault.endpoint !== 'string' || fault.endpoint === '') throw new Error('a fault needs an endpoint');
      const count = fault.count ?? 1;
      if (!Number.isInteger(count) || count < 1) throw new Error('a fault count is a whole number of at least 1');
      queue.push({ spec: Object.freeze({ ...fault }), left: count });
    },
    take(endpoint) {
      const index = queue.findIndex((entry) => matches(entry.spec.endpoint, endpoint));
      if (index === -1) return undefined;
      const entry = queue[index] as { spec: FaultSpec; left: number };
      entry.left--;
      if (entry.left === 0) queue.splice(index, 1);
      return entry.spec;
    },
    pending: () => queue.map((entry) => ({ ...entry.spec, count: entry.left })),
    clear() {
      queue.length = 0;
    },
  };
}
