/**
 * The raw SDK variant for Amazon SES v2: what an application writes with
 * `@aws-sdk/client-sesv2` alone. One `SESv2Client` per round with `maxAttempts: 1` (as mailport:
 * a retried SendEmail can arrive twice) and the SDK's own request handler, whose agents keep
 * connections alive by default (`keepAlive: true`, 50 sockets, the same as mailport's).
 *
 * Content is **Simple**, as a hand-written app would send a subject with a text and an HTML
 * body: SES builds the MIME. mailport sends the same message as Simple too (it has no attachment,
 * custom header or anything else that needs Raw), so both make the same request.
 */
import { SESv2Client, SendEmailCommand } from '@aws-sdk/client-sesv2';
import type { CreateSdkSender } from './http-protocol.ts';

/** A fresh SES client for one round; `send` makes one SendEmail call with Simple content. */
export const createSesSdkSender: CreateSdkSender = (target, message) => {
  const client = new SESv2Client({
    region: target.ses.region,
    endpoint: target.httpUrl,
    credentials: { accessKeyId: target.ses.accessKeyId, secretAccessKey: target.ses.secretAccessKey },
    maxAttempts: 1,
  });
  return {
    async send(): Promise<void> {
      await client.send(
        new SendEmailCommand({
          FromEmailAddress: message.from,
          Destination: { ToAddresses: [message.to] },
          Content: {
            Simple: {
              Subject: { Data: message.subject, Charset: 'UTF-8' },
              Body: { Text: { Data: message.text, Charset: 'UTF-8' }, Html: { Data: message.html, Charset: 'UTF-8' } },
            },
          },
        }),
      );
    },
    async close(): Promise<void> {
      client.destroy();
    },
  };
};
