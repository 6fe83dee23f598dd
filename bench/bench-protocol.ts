/**
 * What the benchmark's processes say to each other over IPC. Kept apart from the child scripts,
 * which start working as soon as they are imported.
 */

/** The throughput variants, by id, in the order the first round runs them. */
export const senderVariants = ['mailport-pooled', 'nodemailer-pooled', 'nodemailer-per-message'] as const;

/** One of {@link senderVariants}. */
export type SenderVariant = (typeof senderVariants)[number];

/** The sink's first message. */
export interface SinkReady {
  readonly port: number;
  /** In `secure` mode: the PEM file to trust for its STARTTLS certificate, and the one user it accepts. */
  readonly tls?: SinkTls | undefined;
}

/** How to reach a `secure` sink: STARTTLS with this CA, then AUTH with this user. */
export interface SinkTls {
  readonly caFile: string;
  readonly user: string;
  readonly pass: string;
}

/** What the sink has received since it started; its answer to a `'counters'` request. */
export interface SinkCounters {
  /** Connections accepted. */
  readonly connections: number;
  readonly messages: number;
  readonly bytes: number;
  /** The size of the last message received, as the client rendered it (dot-stuffing undone). */
  readonly lastMessageBytes: number;
}

/** Asks a sender to send `messages` messages with `concurrency` in flight. */
export interface RoundRequest {
  readonly messages: number;
  readonly concurrency: number;
}

/** What one round of a sender did. */
export interface RoundReply {
  /** From creating the mailer or transporter until the last message was accepted and it was closed. */
  readonly elapsedMs: number;
  readonly sent: number;
  readonly failed: number;
  readonly firstError: string | undefined;
  /** The sender process's peak RSS so far, in bytes. */
  readonly peakRssBytes: number;
  /** CPU time (user and system, every thread) the sender process spent in the round, in ms. */
  readonly cpuMs: number;
}

/** The large-message child's only message. */
export interface LargeMessageReply {
  readonly attachmentBytes: number;
  /** RSS just before the attachment buffer was created, in bytes. */
  readonly baselineRssBytes: number;
  /** The process's peak RSS (maxRSS), in bytes. */
  readonly peakRssBytes: number;
  readonly elapsedMs: number;
}
