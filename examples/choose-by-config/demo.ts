/**
 * The README's demo: the same sendWelcome() runs unchanged over three transports chosen by URL,
 * with no credentials and no network beyond 127.0.0.1. Set MAILPORT_URL to send through a
 * transport of your own instead (for example smtp://user:pass@smtp.example.com:587).
 */
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMailer, MailError, memoryTransport } from '@mailport/core';
import { simpleParser } from 'mailparser';
import { startEmbeddedSmtp } from './embedded-smtp.ts';
import { sendWelcome } from './send-welcome.ts';

const smtp = await startEmbeddedSmtp();
const outbox = join(tmpdir(), `mailport-demo-outbox-${process.pid}`);
const urls = process.env.MAILPORT_URL ? [process.env.MAILPORT_URL] : [smtp.url, 'memory://demo', `file://${outbox}`];

try {
  for (const url of urls) {
    await using mailer = createMailer({ transport: url, defaults: { from: 'The Shop <hello@shop.example>' } });
    try {
      const receipt = await sendWelcome(mailer, { name: 'Ana Núñez', email: 'ana@example.com' });
      console.log(`\n${url}`);
      console.log(`  sent       ${receipt.messageId} via ${receipt.transport} in ${receipt.elapsedMs.toFixed(1)} ms`);
      console.log(`  accepted   ${receipt.accepted.join(', ')}`);
      console.log(`  provider   ${receipt.providerMessageId ?? '(none)'}`);
      console.log(`  arrived    ${await describeArrival(url, receipt.providerMessageId)}`);
    } catch (error) {
      if (!MailError.isInstance(error)) throw error;
      console.error(`\n${url}\n  failed     ${error.code}: ${error.message}\n  what to do ${error.remediation ?? '-'}`);
      process.exitCode = 1;
    }
  }
} finally {
  await smtp.close();
}

/** Reads what actually arrived at each destination, with an independent parser. */
async function describeArrival(url: string, providerMessageId: string | undefined): Promise<string> {
  let raw: Buffer | undefined;
  if (url === smtp.url) raw = smtp.delivered.at(-1)?.raw;
  else if (url.startsWith('memory://')) raw = memoryTransport('demo').last()?.mime;
  else if (url.startsWith('file://') && providerMessageId !== undefined) raw = await readFile(providerMessageId);
  if (raw === undefined) return '(not inspected for this URL)';
  const parsed = await simpleParser(raw);
  return `"${parsed.subject}" for ${parsed.to && !Array.isArray(parsed.to) ? parsed.to.text : '?'}, ${raw.length} bytes`;
}
