import { createServer } from 'node:net';
import { createTransport } from '@mailport/core';
import { type Sandbox, startSandbox } from '@mailport/sandbox';
import { describeTransportContract } from '@mailport/testkit';

/** A port on 127.0.0.1 where nothing listens. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describeTransportContract({
  name: 'gmail',
  async setup() {
    const sandbox: Sandbox = await startSandbox({
      // The suite sends from sender@example.com: make it one of the mailbox's send-as aliases.
      accounts: { google: { users: { 'user@example.com': { sendAs: ['user@example.com', 'sender@example.com'] } } } },
    });
    const nowhere = await closedPort();
    const refreshToken = Object.keys(sandbox.accounts.google.refreshTokens)[0] ?? '';
    return {
      transport: () => createTransport(sandbox.urls.gmail),
      transportWithBadCredentials: () =>
        createTransport(sandbox.urls.gmail.replace(`refresh_token=${refreshToken}`, 'refresh_token=revoked-token')),
      transportToNowhere: () =>
        createTransport(
          sandbox.urls.gmail.replace(
            `endpoint=${encodeURIComponent(`${sandbox.httpUrl}/`)}`,
            `endpoint=${encodeURIComponent(`http://127.0.0.1:${nowhere}/`)}`,
          ),
        ),
      received: async () => sandbox.store.list({ api: 'gmail' }).map((message) => ({ recipients: message.envelope.to, raw: message.raw })),
      clear: async () => {
        sandbox.store.clear();
        sandbox.faults.clear();
      },
      inject: async (fault, count) => {
        const endpoint = 'gmail.messages.send';
        switch (fault.kind) {
          case 'rate-limit':
            return sandbox.faults.inject({ endpoint, count, status: 429, code: 'rateLimitExceeded', retryAfter: fault.retryAfterSeconds });
          case 'transient':
            // Gmail may have sent a message it answers 5xx to (unknown-outcome); a 5xx that provably
            // sent nothing is the one to the send-as list, read before each new transport's first send.
            return sandbox.faults.inject({ endpoint: 'gmail.sendAs.list', count, status: 503, code: 'backendError' });
          case 'permanent':
            return sandbox.faults.inject({ endpoint, count, status: 400, code: 'badRequest', message: 'Message rejected' });
          case 'stall':
            return sandbox.faults.inject({ endpoint, count, action: 'stall' });
        }
      },
      secrets: [sandbox.accounts.google.clientSecret, refreshToken],
      close: () => sandbox.close(),
    };
  },
});
