import { type CapabilityName, type CapabilityProblem, checkCapabilities } from './capabilities.js';
import { defineTransport, type SendResult } from './define-transport.js';
import { isAbortFrom, MailError, type MailErrorCode, mailErrorOptions } from './errors.js';
import type { EmailMessage } from './message.js';
import { toMailError } from './normalize-error.js';
import type { RouteStep, SendOptions, Transport, TransportCapabilities, VerifyCheck, VerifyReport } from './transport.js';

/** Options of {@link failover} and {@link roundRobin}. */
export interface FailoverOptions {
  /** How long a transport that failed rests before it is tried again (half-open), in ms. Default 60 000. */
  cooldownMs?: number | undefined;
  /**
   * Whether an error moves the message on to the next transport. Default: {@link isFailoverError}
   * (errors raised before the message was handed over).
   */
  shouldFailover?: ((error: MailError) => boolean) | undefined;
  /** The clock, for tests. Default `Date.now`. */
  now?: (() => number) | undefined;
}

/** One member's outcome in the `details.members` of a composite's `verify()` report. */
export interface CompositeMemberOutcome {
  readonly transport: string;
  /** `not checked`: the member has no `verify()`. */
  readonly outcome: 'ok' | 'failed' | 'not checked';
  /** The error code, when it failed. */
  readonly code: MailErrorCode | undefined;
  /** How long its check took, in ms. */
  readonly elapsedMs: number;
}

/** Options of {@link roundRobin}. */
export interface RoundRobinOptions extends FailoverOptions {
  /** A weight per transport, same order; a transport with weight 3 gets three messages for every one of weight 1. Default all 1. */
  weights?: readonly number[] | undefined;
}

// Errors raised before the provider took the message: another transport can safely try it.
const failoverCodes: ReadonlySet<MailErrorCode> = new Set<MailErrorCode>([
  'configuration',
  'auth',
  'sender-rejected',
  'rate-limited',
  'quota-exceeded',
  'transient',
  'timeout',
  'unsupported',
]);

/**
 * The default failover rule: move on for errors raised before the message was handed over
 * (configuration, auth, sender refused, rate limits and quotas, transient failures, timeouts,
 * unsupported features). Never for `unknown-outcome` (it may have been sent), nor for
 * `invalid-message`, `recipient-rejected` or `message-rejected` (the message itself was refused).
 */
export function isFailoverError(error: MailError): boolean {
  return failoverCodes.has(error.code);
}

/**
 * Sends through the first transport that can carry the message and is not resting; on an error
 * raised before hand-over, tries the next. A transport that failed rests for `cooldownMs`.
 * Transports whose capabilities cannot carry a message are skipped for it, with the reason in the
 * receipt's `route`. When none can take the message now (each failed just now, or is resting), the
 * send fails at once, after one pass over the members, with a non-retryable error whose
 * `retryAfterMs` says when a member may be tried again: the mailer does not wait out a cooldown.
 * `verify()` checks every member and lists each one's outcome in `details.members`.
 *
 * @example
 * ```ts
 * const transport = failover([graphTransport, sesTransport], { cooldownMs: 30_000 });
 * ```
 */
export function failover(transports: readonly Transport[], options: FailoverOptions = {}): Transport {
  return createComposite('failover', transports, options, () => 0);
}

/**
 * Spreads messages over the transports in turn (smooth weighted round robin), moving on to the
 * next like {@link failover} when one fails before hand-over.
 *
 * @example
 * ```ts
 * const transport = roundRobin([primary, secondary], { weights: [3, 1] });
 * ```
 */
export function roundRobin(transports: readonly Transport[], options: RoundRobinOptions = {}): Transport {
  const weights = options.weights ?? transports.map(() => 1);
  if (weights.length !== transports.length || weights.some((weight) => !(weight > 0) || !Number.isFinite(weight))) {
    throw new MailError('configuration', 'roundRobin(): give one positive weight per transport', {
      remediation: 'Pass weights with the same length as the transports, each above zero.',
    });
  }
  const total = weights.reduce((sum, weight) => sum + weight, 0);
  const current = weights.map(() => 0);
  // nginx's smooth weighted round robin: spreads the heavier transport's turns out evenly.
  const next = (): number => {
    let best = 0;
    for (let index = 0; index < weights.length; index++) {
      current[index] = (current[index] as number) + (weights[index] as number);
      if ((current[index] as number) > (current[best] as number)) best = index;
    }
    current[best] = (current[best] as number) - total;
    return best;
  };
  return createComposite('roundrobin', transports, options, next);
}

function createComposite(
  kind: 'failover' | 'roundrobin',
  transports: readonly Transport[],
  options: FailoverOptions,
  start: () => number,
): Transport {
  if (transports.length === 0) {
    throw new MailError('configuration', `${kind}() needs at least one transport`, { remediation: 'Pass one or more transports.' });
  }
  const cooldownMs = options.cooldownMs ?? 60_000;
  const shouldFailover = options.shouldFailover ?? isFailoverError;
  const now = options.now ?? Date.now;
  const restingUntil = transports.map(() => 0);
  const id = `${kind}(${transports.map((transport) => transport.id).join(' ')})`;

  const send = async (message: EmailMessage, sendOptions: SendOptions): Promise<SendResult> => {
    const first = start();
    const route: RouteStep[] = [];
    const failures: MailError[] = [];
    const mismatches: CapabilityProblem[] = [];
    let soonest = Number.POSITIVE_INFINITY;
    for (let offset = 0; offset < transports.length; offset++) {
      const index = (first + offset) % transports.length;
      const transport = transports[index] as Transport;
      const mismatch = await checkCapabilities(message, transport);
      if (mismatch !== undefined) {
        route.push({ transport: transport.id, outcome: 'skipped', reason: mismatch.reason });
        mismatches.push(mismatch);
        continue;
      }
      const rest = restingUntil[index] as number;
      if (rest > now()) {
        route.push({
          transport: transport.id,
          outcome: 'resting',
          reason: `failed recently; tried again after ${new Date(rest).toISOString()}`,
        });
        soonest = Math.min(soonest, rest);
        continue;
      }
      try {
        const receipt = await transport.send(message, sendOptions);
        restingUntil[index] = 0;
        // A nested composite reports its own route: keep it, after the steps taken here.
        return { ...receipt, route: [...route, ...(receipt.route ?? [{ transport: transport.id, outcome: 'sent' as const }])] };
      } catch (caught) {
        if (isAbortFrom(sendOptions.signal, caught)) throw caught;
        const error = toMailError(caught, transport.id);
        if (!shouldFailover(error)) throw error;
        restingUntil[index] = now() + cooldownMs;
        route.push({ transport: transport.id, outcome: 'failed', reason: `${error.code}: ${error.message}` });
        failures.push(error);
      }
    }
    throw compositeError(id, route, failures, mismatches, soonest, now(), cooldownMs);
  };

  const capabilities = mergeCapabilities(transports.map((transport) => transport.capabilities));

  const verify = async (verifyOptions: SendOptions): Promise<VerifyReport> => {
    const checks: VerifyCheck[] = [];
    const details: Record<string, unknown> = {};
    // Each member's outcome, in order, so that a report (the CLI's) can say which one failed and how long it took.
    const members: CompositeMemberOutcome[] = [];
    for (const transport of transports) {
      const started = performance.now();
      const elapsedMs = (): number => Math.round(performance.now() - started);
      if (transport.verify === undefined) {
        checks.push({ name: transport.id, ok: true, detail: 'has no verify(); not checked' });
        members.push({ transport: transport.id, outcome: 'not checked', code: undefined, elapsedMs: 0 });
        continue;
      }
      try {
        const report = await transport.verify(verifyOptions);
        checks.push({ name: transport.id, ok: true, detail: report.checks.map((check) => `${check.name}: ${check.detail}`).join('; ') });
        details[transport.id] = report.details;
        members.push({ transport: transport.id, outcome: 'ok', code: undefined, elapsedMs: elapsedMs() });
      } catch (caught) {
        if (isAbortFrom(verifyOptions.signal, caught)) throw caught;
        const error = toMailError(caught, transport.id);
        checks.push({ name: transport.id, ok: false, detail: `${error.code}: ${error.message}` });
        members.push({ transport: transport.id, outcome: 'failed', code: error.code, elapsedMs: elapsedMs() });
      }
    }
    details.members = members;
    if (!checks.some((check) => check.ok)) {
      throw new MailError('configuration', `${id}: no transport could be verified: ${checks.map((check) => check.detail).join(' | ')}`, {
        transport: id,
        remediation: 'Run verify on each transport URL on its own to see what fails.',
      });
    }
    return { transport: id, checks, details };
  };

  const close = async (): Promise<void> => {
    await Promise.all(transports.map((transport) => transport.close?.()));
  };

  // Each member is checked on its own, so that one that cannot carry the message is skipped with
  // its reason in the route; the shell's check of the merged capabilities would only repeat it.
  return defineTransport({ id, capabilities, skip: everyCapability, send, verify, close });
}

const everyCapability: readonly CapabilityName[] = ['maxRecipients', 'smtpUtf8', 'customHeaders', 'envelope', 'dkim', 'maxMessageSize'];

function compositeError(
  id: string,
  route: readonly RouteStep[],
  failures: readonly MailError[],
  mismatches: readonly CapabilityProblem[],
  soonest: number,
  now: number,
  cooldownMs: number,
): MailError {
  const summary = route
    .map((step) => `${step.transport} ${step.outcome}${step.reason === undefined ? '' : ` (${step.reason})`}`)
    .join('; ');
  const last = failures.at(-1);
  // When no member can take the message now, every one that could was just tried or is resting;
  // a retry inside this send would only find them resting (the default cooldown is as long as the
  // mailer's longest wait), so the send ends here, after one pass over the members, each bounded
  // by its own timeouts. retryAfterMs says when a member may be tried again, for the caller to
  // schedule the message.
  if (last !== undefined && soonest === Number.POSITIVE_INFINITY) {
    return new MailError(last.code, `${id}: every transport failed: ${summary}`, {
      ...mailErrorOptions(last),
      retryable: false,
      retryAfterMs: failures.some((failure) => failure.retryable) ? cooldownMs : undefined,
      transport: id,
      cause: last,
    });
  }
  if (soonest !== Number.POSITIVE_INFINITY) {
    return new MailError('transient', `${id}: every transport that can carry this message failed recently: ${summary}`, {
      transport: id,
      retryable: false,
      retryAfterMs: Math.max(0, Math.min(soonest, last === undefined ? soonest : now + cooldownMs) - now),
      remediation:
        'Send it again after retryAfterMs, when the first transport has rested (mailport does not wait inside a send); check why they failed.',
      cause: last,
    });
  }
  return new MailError(
    mismatches.some((problem) => problem.code === 'invalid-message') ? 'invalid-message' : 'unsupported',
    `${id}: no transport can carry this message: ${summary}`,
    { transport: id, remediation: 'Add a transport that can carry this message, or make the message fit one.' },
  );
}

/**
 * What custom headers a composite can carry: any when a member takes any; else, when members
 * take some, the first such member's rule (each member is still checked on its own before a
 * send; this only describes the composite); else none.
 */
function mergeHeaderRules(rules: readonly TransportCapabilities['customHeaders'][]): TransportCapabilities['customHeaders'] {
  if (rules.includes(true)) return true;
  return rules.find((rule) => rule !== false) ?? false;
}

function mergeCapabilities(list: readonly TransportCapabilities[]): TransportCapabilities {
  const largest = (values: (number | undefined)[]): number | undefined =>
    values.some((value) => value === undefined) ? undefined : Math.max(...(values as number[]));
  return Object.freeze({
    maxMessageSize: largest(list.map((capabilities) => capabilities.maxMessageSize)),
    maxRecipients: largest(list.map((capabilities) => capabilities.maxRecipients)),
    customHeaders: mergeHeaderRules(list.map((capabilities) => capabilities.customHeaders)),
    envelope: list.some((capabilities) => capabilities.envelope),
    smtpUtf8: list.some((capabilities) => capabilities.smtpUtf8 === true)
      ? true
      : list.some((capabilities) => capabilities.smtpUtf8 === 'negotiated')
        ? 'negotiated'
        : false,
    concurrency: Math.max(...list.map((capabilities) => capabilities.concurrency)),
    // What the most capable member signs; each member is checked on its own before a send.
    dkim: list.some((capabilities) => capabilities.dkim === 'any')
      ? 'any'
      : list.some((capabilities) => capabilities.dkim === 'one-key-no-id-date')
        ? 'one-key-no-id-date'
        : false,
  });
}
