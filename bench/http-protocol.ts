/**
 * What the HTTP benchmark's processes say to each other over IPC. Kept apart from the child
 * scripts, which start working as soon as they are imported.
 */
import type { HttpProvider } from './http-content.ts';

/** The variants of every provider, by id, in the order the first round runs them. */
export const httpVariants = ['mailport', 'sdk-concurrent', 'sdk-sequential'] as const;

/** One of {@link httpVariants}. */
export type HttpVariant = (typeof httpVariants)[number];

/**
 * The sandbox child's first message: everything a sender needs to reach it. The credentials are
 * the sandbox's fixed defaults, which are no secret; they travel over IPC rather than in argv.
 */
export interface SandboxTarget {
  /** `http://127.0.0.1:PORT`: SES, the Gmail API, Google's token endpoint, Graph and the sandbox's own API. */
  readonly httpUrl: string;
  /** The sandbox's control token: its HTTP API (`/sandbox/...`) wants `Authorization: Bearer` it. */
  readonly controlToken: string;
  /** `https://127.0.0.1:PORT`: the same routes over TLS, for the Entra token endpoint (MSAL only talks to https). */
  readonly httpsUrl: string;
  /** The PEM file of the sandbox's certificate, to trust as a CA. */
  readonly caFile: string;
  /** mailport transport URLs that reach the sandbox, credentials included (`sandbox.urls`). */
  readonly urls: Readonly<Record<HttpProvider, string>>;
  readonly ses: { readonly region: string; readonly accessKeyId: string; readonly secretAccessKey: string };
  readonly google: { readonly clientId: string; readonly clientSecret: string; readonly refreshToken: string };
  readonly microsoft: { readonly tenantId: string; readonly clientId: string; readonly clientSecret: string };
}

/**
 * Asks the sandbox child to start a round (`'begin'`: collect garbage, clear the request log and
 * take the CPU baseline) or to end it (`'end'`: report what it did since `'begin'`).
 */
export type SandboxRequest = 'begin' | 'end';

/** What the sandbox did between `'begin'` and `'end'`; all zero in the answer to `'begin'`. */
export interface SandboxRoundStats {
  /** CPU time of the sandbox process (user + system, every thread), in ms. */
  readonly cpuMs: number;
  /** HTTP requests answered, token requests included. */
  readonly requests: number;
  /** Of those, the ones not answered with a 2xx (a 429 a variant retried, for example). */
  readonly refused: number;
  /** Endpoint and status of the first refused request. */
  readonly firstRefusal: string | undefined;
}

/** Asks a sender to send `messages` messages with `concurrency` in flight (the sequential variant ignores it). */
export interface HttpRoundRequest {
  readonly messages: number;
  readonly concurrency: number;
  readonly target: SandboxTarget;
}

/** What one round of a sender did. */
export interface HttpRoundReply {
  /** From creating the mailer or SDK client until the last message was accepted and it was closed. */
  readonly elapsedMs: number;
  readonly sent: number;
  readonly failed: number;
  readonly firstError: string | undefined;
  /** Messages that needed more than one attempt (mailport's retries); always 0 for the SDK variants. */
  readonly retried: number;
  /** CPU time of the sender process over the round (user + system, every thread), in ms. */
  readonly cpuMs: number;
  /** The sender process's peak RSS so far, in bytes. */
  readonly peakRssBytes: number;
}

/**
 * One raw SDK client, as `http-sdk-*.ts` builds it for a round: `send` sends one message the way
 * an application would with that SDK alone, `close` releases its connections.
 */
export interface SdkSender {
  send(): Promise<void>;
  close(): Promise<void>;
}

/** The message fields every variant starts from, per message. */
export interface PlainMessage {
  readonly from: string;
  readonly to: string;
  readonly subject: string;
  readonly text: string;
  readonly html: string;
}

/** What each `http-sdk-*.ts` module exports: a fresh client for one round. */
export type CreateSdkSender = (target: SandboxTarget, message: PlainMessage) => SdkSender;
