import { createTransport } from '@mailport/core';
import { type Sandbox, startSandbox } from '@mailport/sandbox';
import { describeTransportContract } from '@mailport/testkit';
import { closedPort } from '../test/ses-sandbox.js';

describeTransportContract({
  name: 'ses',
  async setup() {
    const sandbox: Sandbox = await startSandbox();
    const nowhere = await closedPort();
    const { accessKeyId, secretAccessKey } = sandbox.accounts.ses;
    const encodedSecret = encodeURIComponent(secretAccessKey);
    return {
      transport: () => createTransport(sandbox.urls.ses),
      transportWithBadCredentials: () => createTransport(sandbox.urls.ses.replace(`:${encodedSecret}@`, ':wrong%2Fsecret%2Fkey@')),
      transportToNowhere: () =>
        createTransport(sandbox.urls.ses.replace(/endpoint=[^&]+/, `endpoint=${encodeURIComponent(`http://127.0.0.1:${nowhere}`)}`)),
      received: async () => sandbox.store.list({ api: 'ses' }).map((message) => ({ recipients: message.envelope.to, raw: message.raw })),
      clear: async () => {
        sandbox.store.clear();
        sandbox.faults.clear();
      },
      inject: async (fault, count) => {
        switch (fault.kind) {
          case 'rate-limit':
            // SES itself sends no Retry-After; a hop in front of it may, and the adapter reads it when present.
            return sandbox.faults.inject({
              endpoint: 'ses.SendEmail',
              count,
              status: 429,
              code: 'TooManyRequestsException',
              message: 'Maximum sending rate exceeded.',
              retryAfter: fault.retryAfterSeconds,
            });
          case 'transient':
            return sandbox.faults.inject({ endpoint: 'ses.SendEmail', count, status: 500, code: 'InternalServiceErrorException' });
          case 'permanent':
            return sandbox.faults.inject({
              endpoint: 'ses.SendEmail',
              count,
              status: 400,
              code: 'MessageRejected',
              message: 'Message rejected: the message content was flagged as spam.',
            });
          case 'stall':
            return sandbox.faults.inject({ endpoint: 'ses.SendEmail', count, action: 'stall' });
        }
      },
      secrets: [secretAccessKey, encodedSecret, accessKeyId],
      close: () => sandbox.close(),
    };
  },
});
