/**
 * A team moves from SMTP AUTH with a password (which Exchange Online is switching off) to
 * Microsoft Graph with OAuth, by configuration only:
 *
 *   1. smtp://             works today;
 *   2. smtp://             basic auth is switched off: the error says what to do;
 *   3. failover(graph smtp) the safe switch-over: Graph first, SMTP kept as a fallback;
 *   4. graph://            SMTP retired.
 *
 * Runs against the mailport sandbox in this process (no credentials, no network).
 */
import { fileURLToPath } from 'node:url';
import { createMailer, MailError } from '@mailport/core';
import { type Sandbox, startSandbox } from '@mailport/sandbox';
import { notifyInvoice } from './notify.ts';

/** The four configurations of the migration, in order. */
export function migrationSteps(sandbox: Sandbox): { title: string; url: string; before?: () => void }[] {
  return [
    { title: '1. SMTP with a password', url: sandbox.urls.smtp },
    {
      title: '2. Exchange Online switches basic auth off',
      url: sandbox.urls.smtp,
      // What Microsoft 365 answers once SMTP AUTH is disabled for the tenant.
      before: () =>
        sandbox.faults.inject({
          endpoint: 'smtp.AUTH',
          count: 1_000,
          status: 535,
          message: '5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant.',
        }),
    },
    { title: '3. Switch-over: failover(graph smtp)', url: `failover(${sandbox.urls.graph} ${sandbox.urls.smtp})` },
    { title: '4. Graph only', url: sandbox.urls.graph },
  ];
}

/** Runs every step and returns one line per step. */
export async function migrate(sandbox: Sandbox): Promise<string[]> {
  const lines: string[] = [];
  for (const step of migrationSteps(sandbox)) {
    step.before?.();
    await using mailer = createMailer({ transport: step.url, defaults: { from: 'Billing <sender@contoso.example>' }, retry: false });
    try {
      const receipt = await notifyInvoice(mailer, { number: 'INV-1001', customer: 'ana@example.org' });
      const route = receipt.route?.map((hop) => `${hop.transport.split(':')[0]} ${hop.outcome}`).join(' -> ');
      lines.push(`${step.title}: sent via ${receipt.transport.split('?')[0]}${route === undefined ? '' : ` (${route})`}`);
    } catch (error) {
      if (!MailError.isInstance(error)) throw error;
      lines.push(`${step.title}: ${error.code}: ${error.message}\n   what to do: ${error.remediation}`);
    }
  }
  return lines;
}

// Run directly (not imported by the test).
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await using sandbox = await startSandbox();
  for (const line of await migrate(sandbox)) console.log(line);
}
