/**
 * Sends one rich message through a transport URL and prints what happened as one JSON line. Run by
 * runtimes.test.ts under Bun, Deno and (bundled) workerd; plain TypeScript that each runtime runs
 * as it is, importing the built packages, as an application would.
 *
 *   bun send.ts '{"url":"ses://...","retry":false}'
 */
import { createMailer, MailError } from '@mailport/core';
import { gmailAdapter } from '@mailport/transport-gmail-api';
import { graphAdapter } from '@mailport/transport-graph';
import { sesAdapter } from '@mailport/transport-ses';

interface Job {
  readonly url: string;
  /** Attempts in all; 1 = no retry. */
  readonly attempts?: number;
  /**
   * A Microsoft delegated refresh token, given in code as a Worker would from KV; the rotated one
   * comes back in the outcome, as `onRefreshToken` would put it back into KV.
   */
  readonly graphRefreshToken?: string;
  /** Leave the adapters out, so core imports the package by name (which a bundle cannot). */
  readonly byName?: boolean;
  /**
   * Adapter options with credentials in code, as a Worker gives them from its secrets:
   * `graph: { auth }` (app-only, a client secret or a certificate PEM) or `gmail: { auth }` (a service account key).
   */
  readonly adapters?: { readonly graph?: Record<string, unknown>; readonly gmail?: Record<string, unknown> };
  /** DKIM keys (PEM) to sign with, as `createMailer({ dkim: { keys } })`. */
  readonly dkim?: ReadonlyArray<{ readonly domain: string; readonly selector: string; readonly privateKey: string }>;
}

/** What the test reads back. */
export interface Outcome {
  readonly ok: boolean;
  readonly messageId?: string;
  readonly code?: string;
  readonly message?: string;
  readonly remediation?: string | undefined;
  readonly attempts?: number;
  readonly http: string;
  readonly rotatedRefreshToken?: string | undefined;
}

export async function sendOnce(job: Job): Promise<Outcome> {
  const http = await import('@mailport/core/http');
  // Which implementation the export conditions chose: the fetch one has no node:http agents.
  const implementation = String(http.createHttpClient).includes('AbortController') ? 'fetch' : 'node:http';
  let rotatedRefreshToken: string | undefined;
  const graph =
    job.graphRefreshToken === undefined
      ? {}
      : {
          refreshToken: job.graphRefreshToken,
          onRefreshToken: (token: string) => {
            rotatedRefreshToken = token;
          },
        };
  const mailer = createMailer({
    transport: job.url,
    // Explicit adapters: what a bundled program does, and it needs no import by name.
    transportOptions: {
      use: job.byName === true ? [] : [sesAdapter, gmailAdapter, graphAdapter],
      env: {},
      // Credentials in code are whatever the test sent as JSON: typed here by the adapters themselves.
      adapters: { graph: job.adapters?.graph ?? graph, gmail: job.adapters?.gmail ?? {} } as unknown as Record<string, never>,
    },
    retry: { maxAttempts: job.attempts ?? 1, initialDelayMs: 20, maxDelayMs: 50 },
    ...(job.dkim === undefined ? {} : { dkim: { keys: [...job.dkim] } }),
  });
  try {
    const receipt = await mailer.send({
      from: job.url.startsWith('graph:')
        ? 'sender@contoso.example'
        : job.url.startsWith('gmail:')
          ? 'user@example.com'
          : 'sender@example.com',
      to: ['Zoë Ünïcode <zoe@example.org>'],
      bcc: ['hidden@example.net'],
      subject: 'Grüße aus der Laufzeit ✉',
      text: 'Ein Brief mit Umlauten: äöü ß, und ein Anhang.',
      html: '<p>Ein Brief mit <b>Umlauten</b>: äöü ß</p>',
      attachments: [{ filename: 'bericht-ü.txt', content: new TextEncoder().encode('Anhang ✓\n'), contentType: 'text/plain' }],
    });
    return { ok: true, messageId: receipt.messageId, attempts: receipt.attempts, http: implementation, rotatedRefreshToken };
  } catch (error) {
    if (MailError.isInstance(error)) {
      return {
        ok: false,
        code: error.code,
        message: error.message,
        remediation: error.remediation,
        http: implementation,
        rotatedRefreshToken,
      };
    }
    return { ok: false, code: 'thrown', message: String((error as Error)?.stack ?? error), http: implementation, rotatedRefreshToken };
  } finally {
    await mailer.close();
  }
}

// Run as a script (Bun, Deno): the job is the first argument.
const runtime = globalThis as { Deno?: { args: string[] }; Bun?: unknown; process?: { argv: string[] } };
const argument = runtime.Deno?.args[0] ?? (runtime.Bun !== undefined ? runtime.process?.argv[2] : undefined);
if (argument !== undefined) console.log(`OUTCOME ${JSON.stringify(await sendOnce(JSON.parse(argument) as Job))}`);
