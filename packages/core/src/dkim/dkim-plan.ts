import { AsyncLocalStorage } from 'node:async_hooks';
import type { CapabilityProblem } from '../capabilities.js';
import { MailError } from '../errors.js';
import type { EmailMessage } from '../message.js';
import type { RenderedMime } from '../mime.js';
import type { DkimCapability } from '../transport.js';
import type { DkimKey, ResolvedDkim } from './dkim-keys.js';

// How a message asks for DKIM, and how the bytes of the transport that sends it get signed.
//
// The mailer picks the keys for a message and records them here, keyed by the message (which is
// frozen and carries no key material, so a queue serialising it never sees a private key). The
// transport shell (defineTransport) runs the adapter's send with the transport's signing profile
// in an AsyncLocalStorage; renderMimeParts, which every adapter calls for its bytes, then returns
// the rendering with the DKIM-Signature fields prepended. Adapters change nothing, and the
// signature is made for the transport that really sends: SES leaves Message-ID and Date out
// (it rewrites them), a failover's SMTP member signs them. This module is loaded with core and
// stays small; the signer itself (canonicalisation, hashing) loads on the first signed message.

/** What a transport that carries a client signature signs: every key, or the first without Message-ID and Date (SES). */
export type SigningProfile = 'any' | 'one-key-no-id-date';

interface DkimPlan {
  readonly keys: readonly DkimKey[];
  readonly settings: ResolvedDkim;
  /** Signed renderings by profile and Bcc variant; a retry or a second transport of the same profile reuses one. */
  readonly signed: Map<string, Promise<RenderedMime>>;
}

const plans = new WeakMap<EmailMessage, DkimPlan>();
const profiles = new AsyncLocalStorage<SigningProfile>();

type Signer = typeof import('./dkim-sign.js');
let signerLoading: Promise<Signer> | undefined;

/**
 * Records the keys that sign `message`, chosen by the mailer's `select`. Throws `configuration`
 * when `select` throws or returns keys that were not configured. Called by the mailer before
 * the capability check; no keys means the message goes unsigned.
 */
export function attachDkimPlan(message: EmailMessage, settings: ResolvedDkim): void {
  let keys: readonly DkimKey[];
  try {
    keys = settings.select(message, settings.keys);
  } catch (error) {
    if (MailError.isInstance(error)) throw error;
    throw new MailError('configuration', `dkim.select threw: ${(error as Error)?.message ?? String(error)}`, {
      field: 'dkim',
      cause: error,
    });
  }
  if (!Array.isArray(keys) || keys.some((key) => !settings.keys.includes(key))) {
    throw new MailError('configuration', 'dkim.select must return keys from the list it is given', {
      field: 'dkim',
      remediation: 'Filter the keys argument; do not build new key objects.',
    });
  }
  if (keys.length === 0) {
    plans.delete(message);
    return;
  }
  plans.set(message, { keys: Object.freeze([...keys]), settings, signed: new Map() });
}

/**
 * Whether `message` is to be DKIM-signed by mailport: a mailer with `dkim` chose keys for it. An
 * adapter that chooses between sending core's MIME and having the provider build it (SES Raw or
 * Simple) sends core's MIME when this is true.
 *
 * @example
 * ```ts
 * const kind = requestsDkim(message) || rawReason(message) !== undefined ? 'raw' : 'simple';
 * ```
 */
export function requestsDkim(message: EmailMessage): boolean {
  return plans.has(message);
}

/** The signing profile of a transport's `capabilities.dkim`, or undefined when its provider does not carry a client signature. */
export function signingProfile(capability: DkimCapability | undefined): SigningProfile | undefined {
  return capability === 'any' || capability === 'one-key-no-id-date' ? capability : undefined;
}

const defaultRemediation =
  'Send DKIM-signed mail through a transport that carries the signature (SMTP, SES, file, memory), for example with failover(), or leave dkim out for this transport.';

/** Why a transport with `capability` cannot carry `message`'s DKIM signature, or undefined when it can or none is asked for. */
export function dkimProblem(message: EmailMessage, capability: DkimCapability | undefined, id: string): CapabilityProblem | undefined {
  if (!plans.has(message) || signingProfile(capability) !== undefined) return undefined;
  const refusal = typeof capability === 'object' ? capability : undefined;
  return {
    code: 'unsupported',
    capability: 'dkim',
    field: 'dkim',
    reason: `a DKIM signature by mailport, which ${id} does not carry (the provider rebuilds the message and signs it itself)`,
    remediation: refusal?.remediation ?? defaultRemediation,
  };
}

/**
 * Runs `send` so that renderings of `message` made inside it are signed for a transport with
 * `capability`. Returns `send()` unchanged for a message that asks for no signature.
 */
export function withSigningProfile<T>(message: EmailMessage, capability: DkimCapability | undefined, send: () => T): T {
  const profile = signingProfile(capability);
  if (profile === undefined || !plans.has(message)) return send();
  return profiles.run(profile, send);
}

/**
 * The rendering a transport sends: `unsigned`, or, inside a send that signs `message`, the same
 * chunks behind the DKIM-Signature fields. Signed once per profile and Bcc variant, and not cached
 * when it fails.
 */
export function withDkim(message: EmailMessage, keepBcc: boolean, unsigned: Promise<RenderedMime>): Promise<RenderedMime> {
  const plan = plans.get(message);
  if (plan === undefined) return unsigned;
  const profile = profiles.getStore();
  if (profile === undefined) return unsigned;
  const variant = `${profile}:${keepBcc}`;
  let signed = plan.signed.get(variant);
  if (signed === undefined) {
    signerLoading ??= import('./dkim-sign.js');
    const loading = signerLoading;
    signed = (async () => {
      const [signer, rendered] = await Promise.all([loading, unsigned]);
      const keys = profile === 'one-key-no-id-date' ? plan.keys.slice(0, 1) : plan.keys;
      const headers =
        profile === 'one-key-no-id-date'
          ? plan.settings.headers.filter((name) => name !== 'message-id' && name !== 'date')
          : plan.settings.headers;
      return signer.signRendering(rendered, keys, { headers, timestamp: Math.floor(plan.settings.now() / 1000) });
    })();
    plan.signed.set(variant, signed);
    const cache = plan.signed;
    signed.catch(() => cache.delete(variant));
  }
  return signed;
}
