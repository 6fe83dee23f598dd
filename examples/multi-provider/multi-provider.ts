/**
 * Two providers at once, chosen per message by configuration:
 *
 * - failover(graph ses): Graph is the primary; when it throttles, messages go to SES, and Graph
 *   rests for the cooldown before it is tried again.
 * - failover(ses graph): SES first for cost, but a message SES cannot carry (over its 40 MB, or
 *   over 50 recipients) is routed to Graph, which takes up to 150 MB and 500 recipients.
 *
 * Runs against the mailport sandbox in this process (no credentials, no network).
 */
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { createMailer, type MailerInput, type SendReceipt } from '@mailport/core';
import { type Sandbox, startSandbox } from '@mailport/sandbox';

const from = 'Reports <sender@contoso.example>';

function route(receipt: SendReceipt): string {
  return (receipt.route ?? [])
    .map((hop) => `${hop.transport.split(':')[0]} ${hop.outcome}${hop.reason ? ` (${hop.reason.split(':')[0]})` : ''}`)
    .join(' -> ');
}

/** Sends the example's messages and returns a line per message. */
export async function runExample(sandbox: Sandbox, options: { largeAttachmentBytes?: number } = {}): Promise<string[]> {
  const lines: string[] = [];
  const report: MailerInput = { to: 'ana@example.org', subject: 'Weekly report', text: 'Attached.' };

  // Resilience: Graph first, SES when Graph is throttled.
  {
    await using mailer = createMailer({
      transport: `failover(${sandbox.urls.graph} ${sandbox.urls.ses})?cooldown=30s`,
      defaults: { from },
      retry: false,
    });
    lines.push(`graph healthy:    ${route(await mailer.send(report))}`);
    sandbox.faults.inject({
      endpoint: 'graph.sendMail',
      status: 429,
      code: 'ApplicationThrottled',
      message: 'Application is over its MailboxConcurrency limit.',
      retryAfter: 30,
    });
    lines.push(`graph throttled:  ${route(await mailer.send(report))}`);
    lines.push(`graph resting:    ${route(await mailer.send(report))}`);
  }

  // Capabilities: SES first, Graph for what SES cannot carry.
  {
    await using mailer = createMailer({
      transport: `failover(${sandbox.urls.ses} ${sandbox.urls.graph})`,
      defaults: { from },
      retry: false,
    });
    lines.push(`small message:    ${route(await mailer.send(report))}`);
    const large = randomBytes(options.largeAttachmentBytes ?? 31_000_000);
    lines.push(
      `large attachment: ${route(await mailer.send({ ...report, subject: 'Archive', attachments: [{ filename: 'archive.bin', content: large }] }))}`,
    );
    const everyone = Array.from({ length: 60 }, (_, index) => `member${index}@example.org`);
    lines.push(`60 recipients:    ${route(await mailer.send({ ...report, to: undefined, bcc: everyone, subject: 'Newsletter' }))}`);
  }
  return lines;
}

// Run directly (not imported by the test).
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await using sandbox = await startSandbox();
  for (const line of await runExample(sandbox)) console.log(line);
}
