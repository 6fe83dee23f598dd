/**
 * The raw SDK variant for the Gmail API: what an application writes with `@googleapis/gmail`
 * and `google-auth-library` alone. One `OAuth2Client` per round (refresh token in, access token
 * fetched from the token endpoint on the first call and cached by the library), the Gmail
 * client built with it, and per message: the MIME built with nodemailer's MailComposer, then
 * `users.messages.send({ userId: 'me', requestBody: { raw } })` with `raw` in base64url.
 *
 * `rootUrl` goes on every call: googleapis ignores a client-level rootUrl for media uploads and
 * `google.options` entirely (observed; docs/provider-facts.md). So does a keep-alive `agent` of the
 * round's own, as mailport's transport does; gaxios sends through node-fetch, which takes it.
 */
import { Agent } from 'node:http';
import { gmail } from '@googleapis/gmail';
import { OAuth2Client } from 'google-auth-library';
import MailComposer from 'nodemailer/lib/mail-composer';
import type { CreateSdkSender } from './http-protocol.ts';

/** A fresh OAuth client and Gmail client for one round; `send` composes one MIME message and sends it. */
export const createGmailSdkSender: CreateSdkSender = (target, message) => {
  const auth = new OAuth2Client({
    clientId: target.google.clientId,
    clientSecret: target.google.clientSecret,
    endpoints: { oauth2TokenUrl: `${target.httpUrl}/token` },
  });
  auth.setCredentials({ refresh_token: target.google.refreshToken });
  const api = gmail({ version: 'v1', auth });
  const agent = new Agent({ keepAlive: true });
  const rootUrl = `${target.httpUrl}/`;
  return {
    async send(): Promise<void> {
      const mime = await new MailComposer({ ...message }).compile().build();
      await api.users.messages.send({ userId: 'me', requestBody: { raw: mime.toString('base64url') } }, { rootUrl, agent });
    },
    async close(): Promise<void> {
      agent.destroy();
    },
  };
};
