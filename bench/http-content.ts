/**
 * What the HTTP benchmark sends, to which provider, and how much of it. One module, so that the
 * three variants of a provider cannot drift apart in content or load.
 */
import { benchMessage } from './bench-content.ts';
import type { PlainMessage } from './http-protocol.ts';

/** The providers, in the order the benchmark runs them. */
export const httpProviders = ['ses', 'gmail', 'graph'] as const;

/** One of {@link httpProviders}. */
export type HttpProvider = (typeof httpProviders)[number];

/** Messages per round and variant, warm-up rounds included; the issue asks for 1,000. */
export const httpMessagesPerRound = 1_000;

/**
 * Unmeasured rounds per variant before the measured ones. Two, as in the SMTP benchmark: after
 * a single one the first measured round still ran slower (V8 still optimising and growing its
 * heaps, in the senders and in the sandbox).
 */
export const httpWarmUpRounds = 2;

/**
 * Measured rounds per variant, the order of the variants rotated each round; odd, so the median
 * is a real round. Five, as in the SMTP benchmark, which keeps the whole run at about four
 * minutes on two cores: the sequential Graph variant alone takes 14 s a round (the sandbox holds
 * every Graph request 10 ms, as Exchange takes tens of ms), a third of the run. Fewer rounds
 * would be the way to shorten it, never fewer messages.
 */
export const httpMeasuredRounds = 5;

/** The goal of the issue: mailport keeps at least this share of the raw SDK at the same concurrency. */
export const httpGoal = 0.9;

/** Per provider: the sends kept in flight by mailport and by the concurrent raw SDK variant, and why. */
export const httpConcurrency: Readonly<Record<HttpProvider, number>> = Object.freeze({
  // The SES transport's default `concurrency`; SES itself limits by MaxSendRate, which the sandbox does not enforce.
  ses: 10,
  // Gmail's transport defaults to 4 (Gmail allows about 2.5 sends a second per user); the sandbox has no such quota, so load it like SES.
  gmail: 10,
  // Outlook service limits: 4 concurrent requests per app per mailbox; the sandbox answers a fifth with 429.
  graph: 4,
});

/** The address every message goes to: one recipient, as the issue asks. */
export const httpRecipient = 'Ana Example <ana@example.com>';

/** The sender of each provider: an identity the sandbox accepts for it. */
export const httpSenders: Readonly<Record<HttpProvider, { readonly name: string; readonly address: string }>> = Object.freeze({
  // Any address of a verified SES identity; example.com is one of the sandbox's.
  ses: { name: 'The Shop', address: 'orders@example.com' },
  // The Gmail user the sandbox's refresh token belongs to (its primary send-as address).
  gmail: { name: 'The Shop', address: 'user@example.com' },
  // The mailbox the Graph app sends as.
  graph: { name: 'The Shop', address: 'sender@contoso.example' },
});

/** The message of one provider: the SMTP benchmark's order confirmation (5 KB, text and HTML) from that provider's sender. */
export function httpMessage(provider: HttpProvider): PlainMessage {
  const sender = httpSenders[provider];
  return Object.freeze({
    from: `${sender.name} <${sender.address}>`,
    to: httpRecipient,
    subject: benchMessage.subject,
    text: benchMessage.text,
    html: benchMessage.html,
  });
}
