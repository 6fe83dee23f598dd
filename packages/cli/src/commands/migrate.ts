import { parseArgs } from 'node:util';
import { MailError, parseTransportUrl, redactUrl } from '@mailport/core';
import { exitCodeFor, exitCodes, UsageError } from '../exit-codes.js';
import type { CliIo } from '../io.js';
import { carriesSecrets, type MigrationPlan, planMigration } from '../migrate-providers.js';
import { printError } from '../output.js';

/** `mailport migrate --help`. */
export const migrateHelp: string = `mailport migrate: from an SMTP URL to the equivalent HTTPS transport, with a safe switch-over

  mailport migrate SMTP_URL [--json] [--show-secrets]
  mailport migrate 'smtp://ana%40contoso.com:PASSWORD@smtp.office365.com:587'
  mailport migrate smtp.gmail.com

For a known provider it prints the HTTPS transport URL to use instead, how to create its
credentials at the provider step by step, what behaves differently, and a failover(NEW OLD)
URL that sends through the new transport and falls back to the old one. SMTP_URL may be a bare
host name. Known hosts:
  smtp.gmail.com, smtp-relay.gmail.com                    -> gmail://  (the Gmail API)
  smtp.office365.com, smtp-mail.outlook.com,
  *.mail.protection.outlook.com                           -> graph://  (Microsoft Graph)
  email-smtp.REGION.amazonaws.com                         -> ses://    (Amazon SES v2)
For another host it lists the options. Nothing is sent and no network is used.

  --show-secrets   keep the password and secret parameters in the printed URLs
                   (default: *** in their place, so the output can be pasted into a ticket)
  --json           print the plan as JSON

Exit codes: 0 plan printed, 2 usage, 4 the URL does not parse.
`;

/** `mailport migrate SMTP_URL`: the HTTPS transport to move to, the credentials to create, and a failover URL. */
export async function runMigrate(argv: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...argv],
    options: {
      json: { type: 'boolean', default: false },
      'show-secrets': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
    allowPositionals: true,
  });
  if (values.help) {
    io.stdout.write(migrateHelp);
    return exitCodes.ok;
  }
  if (positionals.length !== 1) {
    throw new UsageError(positionals.length === 0 ? 'give the SMTP URL to migrate from' : 'give one SMTP URL (quote it in the shell)');
  }
  const input = (positionals[0] as string).trim();
  const json = values.json;
  try {
    // A bare host name is the common question: "what do I use instead of smtp.office365.com?"
    const text = /^[a-z][a-z0-9+.-]*:\/\//i.test(input) || /^(failover|roundrobin)\(/i.test(input) ? input : `smtp://${input}`;
    if (/^(failover|roundrobin)\(/i.test(text)) {
      throw new MailError('configuration', `${redactUrl(text)} combines several transports`, {
        remediation: 'Run mailport migrate with the one SMTP URL inside it.',
      });
    }
    const url = parseTransportUrl(text);
    if (url.scheme === 'ses' || url.scheme === 'gmail' || url.scheme === 'graph') {
      const message = `${url.redacted} is already an HTTPS transport: nothing to migrate. Check it with: mailport verify --url '...'`;
      io.stdout.write(json ? `${JSON.stringify({ from: url.redacted, provider: null, alreadyHttps: true })}\n` : `${message}\n`);
      return exitCodes.ok;
    }
    if (url.scheme !== 'smtp' && url.scheme !== 'smtps') {
      throw new MailError('configuration', `${url.redacted} is not an SMTP URL`, {
        remediation: 'Give an smtp:// or smtps:// URL, or an SMTP host name such as smtp.office365.com.',
      });
    }
    const plan = planMigration(url, text, { showSecrets: values['show-secrets'] });
    io.stdout.write(json ? `${JSON.stringify(plan, null, 2)}\n` : describePlan(plan, carriesSecrets(url)));
    return exitCodes.ok;
  } catch (error) {
    printError(io, error, json);
    return exitCodeFor(error);
  }
}

const width = 100;

/** Wraps `text` at {@link width} columns, the first line after `first`, the others indented by `rest`. */
function wrap(text: string, first: string, rest: string): string {
  const lines: string[] = [];
  let line = first;
  let empty = true;
  for (const word of text.split(/\s+/)) {
    if (!empty && line.length + 1 + word.length > width) {
      lines.push(line);
      line = rest + word;
    } else {
      line += (empty ? '' : ' ') + word;
    }
    empty = false;
  }
  lines.push(line);
  return `${lines.join('\n')}\n`;
}

// Single quotes keep the shell away from the (, ?, & and * in transport URLs.
function shellQuote(text: string): string {
  return `'${text.replaceAll("'", "'\\''")}'`;
}

/** The plan as the terminal shows it. */
export function describePlan(plan: MigrationPlan, hadSecrets: boolean): string {
  const provider = plan.provider;
  if (provider === undefined || plan.transportUrl === undefined) {
    let out = wrap(`${plan.from} is not a provider mailport knows, so there is no one equivalent HTTPS transport. The options:`, '', '');
    for (const option of plan.options) out += wrap(option, '  - ', '    ');
    return out;
  }
  const apiName = { gmail: 'the Gmail API', graph: 'Microsoft Graph', ses: 'Amazon SES v2' }[provider.scheme];
  let out = wrap(`${plan.from} is ${provider.name}.`, '', '');
  out += `\nEquivalent HTTPS transport: ${apiName} (npm install ${plan.packageName})\n  ${plan.transportUrl}\n`;
  out += '\nWhy\n';
  for (const reason of plan.why) out += wrap(reason, '  - ', '    ');
  out += '\nCredentials it reads\n';
  for (const line of plan.environment) out += wrap(line, '  - ', '    ');
  for (const recipe of plan.credentials) {
    out += `\nCreate them: ${recipe.title}\n`;
    recipe.steps.forEach((step, index) => {
      out += wrap(step, `  ${index + 1}. `, '     ');
    });
  }
  out += '\nWhat changes\n';
  for (const change of plan.changes) out += wrap(change, '  - ', '    ');
  out += '\nSafe switch-over\n';
  out += `  1. Check the new transport: mailport verify --url ${shellQuote(plan.transportUrl)}\n`;
  out += '  2. Deploy the failover URL, new transport first and the old SMTP URL as the fallback:\n';
  out += `     MAILPORT_URL=${shellQuote(plan.failoverUrl as string)}\n`;
  out += wrap(
    `${apiName.charAt(0).toUpperCase()}${apiName.slice(1)} sends; an error raised before a message is handed over (auth, configuration, throttling, an outage) sends it through SMTP instead. Never an unknown outcome, so nothing is sent twice.`,
    '     ',
    '     ',
  );
  out += wrap(
    `Receipts name the transport that sent (receipt.transport and receipt.route, or mailport send --json): once only ${provider.scheme}:// appears for a while, set MAILPORT_URL to the ${provider.scheme}:// URL alone.`,
    '  3. ',
    '     ',
  );
  const notes: string[] = [];
  const placeholders = /\b(TENANT_ID|CLIENT_ID|ACCOUNT_ID|SENDERS_GROUP|SENDER@YOUR-DOMAIN)\b/;
  if (placeholders.test(`${plan.transportUrl} ${plan.credentials.flatMap((recipe) => recipe.steps).join(' ')}`)) {
    notes.push('UPPER_CASE words are placeholders: fill them in.');
  }
  if (hadSecrets && !plan.secretsShown) notes.push('Secrets are shown as ***: put yours back, or run with --show-secrets.');
  if (notes.length > 0) out += `\n${notes.join('\n')}\n`;
  return out;
}
