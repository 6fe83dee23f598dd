/** One request the sandbox answered (or faulted). */
export interface LoggedRequest {
  /** The fault endpoint name (`ses.SendEmail`), or `METHOD /path` for routes without one. */
  readonly endpoint: string;
  readonly method: string;
  readonly path: string;
  /** The status sent, or the fault action that replaced it (`stall`, `drop`, `reset`). */
  readonly outcome: number | 'stall' | 'drop' | 'reset';
  readonly at: number;
}

/** Every HTTP request and SMTP transaction the sandbox saw, to check what a client sent (or did not). */
export interface RequestLog {
  readonly entries: readonly LoggedRequest[];
  /** How many requests matched: an exact endpoint, a prefix ending in `*`, or all. */
  count(endpoint?: string): number;
  record(entry: Omit<LoggedRequest, 'at'>): void;
  clear(): void;
}

/** Creates an empty log. */
export function createRequestLog(): RequestLog {
  const entries: LoggedRequest[] = [];
  return {
    entries,
    count(endpoint) {
      if (endpoint === undefined || endpoint === '*') return entries.length;
      if (endpoint.endsWith('*')) return entries.filter((entry) => entry.endpoint.startsWith(endpoint.slice(0, -1))).length;
      return entries.filter((entry) => entry.endpoint === endpoint).length;
    },
    record(entry) {
      entries.push(Object.freeze({ ...entry, at: Date.now() }));
    },
    clear() {
      entries.length = 0;
    },
  };
}
