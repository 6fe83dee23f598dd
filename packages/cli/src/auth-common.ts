/** What a completed sign-in yields, whichever the provider and the flow. */
export interface SignInResult {
  readonly refreshToken: string;
  /** The scopes granted, as the token endpoint lists them (or as asked, when it does not). */
  readonly scopes: readonly string[];
  /** The signed-in address, from the ID token, when there was one. */
  readonly account: string | undefined;
}

/** `5 minutes`, `1.5 s`, `300 ms`: a duration for messages. */
export function describeDuration(ms: number): string {
  if (ms >= 60_000 && ms % 60_000 === 0) return `${ms / 60_000} minute${ms === 60_000 ? '' : 's'}`;
  if (ms >= 1000) return `${Math.round(ms / 100) / 10} s`;
  return `${ms} ms`;
}

/** Parses `--timeout`: `90s`, `5m`, `1h`, `500ms`, or a number of seconds. Undefined when it is not one. */
export function parseTimeout(value: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(value.trim());
  if (match === null) return undefined;
  const amount = Number(match[1]);
  const unit = match[2] ?? 's';
  const ms = unit === 'h' ? amount * 3_600_000 : unit === 'm' ? amount * 60_000 : unit === 's' ? amount * 1000 : amount;
  return ms > 0 ? Math.round(ms) : undefined;
}
