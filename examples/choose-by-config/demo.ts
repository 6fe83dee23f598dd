/**
 * The README's demo: the same sendWelcome() runs unchanged over SMTP, Amazon SES, the Gmail API
 * and Microsoft Graph, then memory:// and file://, each chosen by a URL. Everything goes to the
 * mailport sandbox started in this process: no credentials, no network beyond 127.0.0.1.
 *
 * MAILPORT_URL (and MAILPORT_FROM) send through a transport of your own instead.
 */
import { readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMailer, MailError, memoryTransport } from '@mailport/core';
import { startSandbox } from '@mailport/sandbox';
import { simpleParser } from 'mailparser';
import { sendWelcome } from './send-welcome.ts';

/** What configuration decides: the transport URL, and a From the provider lets this account use. */
interface Destination {
  readonly label: string;
  readonly url: string;
  readonly from: string;
}

await using sandbox = await startSandbox();
const outbox = join(tmpdir(), `mailport-demo-outbox-${process.pid}`);
const destinations: Destination[] = process.env.MAILPORT_URL
  ? [{ label: 'MAILPORT_URL', url: process.env.MAILPORT_URL, from: process.env.MAILPORT_FROM ?? 'The Shop <hello@example.com>' }]
  : [
      { label: 'SMTP', url: sandbox.urls.smtp, from: 'The Shop <hello@example.com>' },
      { label: 'Amazon SES', url: sandbox.urls.ses, from: 'The Shop <hello@example.com>' },
      { label: 'Gmail API', url: sandbox.urls.gmail, from: 'The Shop <user@example.com>' },
      { label: 'Microsoft Graph', url: sandbox.urls.graph, from: 'The Shop <sender@contoso.example>' },
      { label: 'memory', url: 'memory://demo', from: 'The Shop <hello@example.com>' },
      { label: 'file', url: `file://${outbox}`, from: 'The Shop <hello@example.com>' },
    ];

try {
  for (const destination of destinations) {
    await using mailer = createMailer({ transport: destination.url, defaults: { from: destination.from } });
    try {
      const receipt = await sendWelcome(mailer, { name: 'Ana Núñez', email: 'ana@example.org' });
      console.log(`\n${destination.label}: ${receipt.transport}`);
      console.log(`  Message-ID   ${receipt.messageId}`);
      console.log(`  provider id  ${receipt.providerMessageId ?? '(none: the API returns none)'}`);
      console.log(`  accepted     ${receipt.accepted.join(', ')}  in ${receipt.elapsedMs.toFixed(0)} ms, ${receipt.attempts} attempt(s)`);
      console.log(`  arrived      ${await arrival(destination, receipt.providerMessageId)}`);
    } catch (error) {
      if (!MailError.isInstance(error)) throw error;
      console.error(`\n${destination.label}: failed with ${error.code}: ${error.message}\n  what to do: ${error.remediation ?? '-'}`);
      process.exitCode = 1;
    }
  }
} finally {
  await rm(outbox, { recursive: true, force: true });
}

/** What actually arrived, read back from where it landed and parsed with an independent parser. */
async function arrival(destination: Destination, providerMessageId: string | undefined): Promise<string> {
  let raw: Buffer | undefined;
  let via = '';
  if (destination.url.startsWith('memory://')) raw = memoryTransport('demo').last()?.mime;
  else if (destination.url.startsWith('file://') && providerMessageId !== undefined) raw = await readFile(providerMessageId);
  else {
    const stored = sandbox.store.last();
    raw = stored?.raw;
    via = stored === undefined ? '' : ` (sandbox: ${stored.api}, ${stored.operation})`;
  }
  if (raw === undefined) return '(not inspected for this URL)';
  const parsed = await simpleParser(raw);
  return `"${parsed.subject}" from ${parsed.from?.text} to ${parsed.to && !Array.isArray(parsed.to) ? parsed.to.text : '?'}, ${raw.length} bytes${via}`;
}
