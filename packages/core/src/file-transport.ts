import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { defineTransport, type SendResult } from './define-transport.js';
import { MailError } from './errors.js';
import type { EmailMessage } from './message.js';
import { renderMime } from './mime.js';
import type { SendOptions, Transport, VerifyReport } from './transport.js';

/** Options of {@link createFileTransport}. */
export interface FileTransportOptions {
  /** Where the `.eml` files go; created when missing. */
  directory: string;
}

/**
 * Writes each message as one `.eml` file (RFC 5322, CRLF) instead of sending it. The Bcc header
 * is kept so that the file records every recipient. The receipt's `providerMessageId` is the
 * file's path. URL form: `file://./outbox` (relative to the working directory) or `file:///var/mail/outbox`.
 *
 * @example
 * ```ts
 * const transport = createFileTransport({ directory: './outbox' });
 * ```
 */
export function createFileTransport(options: FileTransportOptions): Transport {
  const directory = resolve(options.directory);
  const id = `file://${directory}`;
  let counter = 0;
  let ready: Promise<unknown> | undefined;

  const send = async (message: EmailMessage, sendOptions: SendOptions): Promise<SendResult> => {
    const mime = await renderMime(message, { keepBcc: true });
    counter++;
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    const name = `${stamp}-${String(counter).padStart(4, '0')}-${message.messageId.slice(1, -1).replace(/[^A-Za-z0-9._-]/g, '_')}.eml`;
    const path = join(directory, name);
    try {
      ready ??= mkdir(directory, { recursive: true });
      await ready;
      // Write then rename, so a reader never sees half a message.
      await writeFile(`${path}.tmp`, mime, { signal: sendOptions.signal });
      await rename(`${path}.tmp`, path);
    } catch (error) {
      ready = undefined;
      throw new MailError('configuration', `Cannot write ${path}: ${(error as Error).message}`, {
        transport: id,
        cause: error,
        remediation: 'Check that the outbox directory is writable.',
      });
    }
    return { providerMessageId: path };
  };

  const verify = async (): Promise<VerifyReport> => {
    try {
      await mkdir(directory, { recursive: true });
    } catch (error) {
      throw new MailError('configuration', `Cannot create ${directory}: ${(error as Error).message}`, { transport: id, cause: error });
    }
    return { transport: id, checks: [{ name: 'directory', ok: true, detail: directory }], details: { directory } };
  };

  return defineTransport({
    id,
    name: 'FileTransport',
    capabilities: {
      maxMessageSize: undefined,
      maxRecipients: undefined,
      customHeaders: true,
      envelope: false,
      smtpUtf8: true,
      concurrency: 4,
      // The file holds the bytes as rendered: a signature in them verifies.
      dkim: 'any',
    },
    send,
    verify,
  });
}
