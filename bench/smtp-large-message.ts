/**
 * The memory benchmark's sender: one message of about 40 MB through mailport's SMTP transport,
 * in a fresh process so that its peak RSS belongs to this message alone. Started as
 * `smtp-large-message.ts <sink port>`; its only message is a {@link LargeMessageReply}.
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { createMailer } from '@mailport/core';
import { createSmtpTransport } from '@mailport/transport-smtp';
import { benchMessage, largeAttachmentBytes } from './bench-content.ts';
import { peakRssBytes, serveParent } from './bench-process.ts';
import type { LargeMessageReply } from './bench-protocol.ts';

const port = Number(process.argv[2]);
if (!Number.isInteger(port)) throw new Error(`usage: smtp-large-message.ts <port> (got ${process.argv[2]})`);

// One attempt: a retry would render and send the message again and blur what one send costs.
const mailer = createMailer({ transport: createSmtpTransport({ host: '127.0.0.1', port, maxConnections: 1 }), retry: false });

// A small message first loads the code that is only loaded on first use and opens the
// connection, so the baseline below holds everything but the large message itself.
await mailer.send({ ...benchMessage });

const baselineRssBytes = process.memoryUsage().rss;
const started = performance.now();
// Random bytes do not compress and make base64 emit full lines, like a real archive or photo.
const attachment = randomBytes(largeAttachmentBytes);
await mailer.send({
  ...benchMessage,
  subject: 'Your order #10042: the invoice archive',
  attachments: [{ filename: 'invoices-2025.zip', content: attachment, contentType: 'application/zip' }],
});
const elapsedMs = performance.now() - started;
await mailer.close();

serveParent({
  attachmentBytes: attachment.length,
  baselineRssBytes,
  peakRssBytes: peakRssBytes(),
  elapsedMs,
} satisfies LargeMessageReply);
