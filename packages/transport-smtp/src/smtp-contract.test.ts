import { createTransport } from '@mailport/core';
import { type Sandbox, startSandbox } from '@mailport/sandbox';
import { describeTransportContract } from '@mailport/testkit';
import { closedPort } from '../test/smtp-test-server.js';

describeTransportContract({
  name: 'smtp',
  async setup() {
    const sandbox: Sandbox = await startSandbox();
    const nowhere = await closedPort();
    const password = sandbox.accounts.smtp.users.sandbox ?? '';
    return {
      transport: () => createTransport(sandbox.urls.smtp),
      transportWithBadCredentials: () => createTransport(sandbox.urls.smtp.replace(`:${password}@`, ':wrong-password@')),
      transportToNowhere: () => createTransport(`smtp://127.0.0.1:${nowhere}`),
      received: async () => sandbox.store.list({ api: 'smtp' }).map((message) => ({ recipients: message.envelope.to, raw: message.raw })),
      clear: async () => {
        sandbox.store.clear();
        sandbox.faults.clear();
      },
      inject: async (fault, count) => {
        switch (fault.kind) {
          case 'rate-limit':
            return sandbox.faults.inject({
              endpoint: 'smtp.MAIL',
              count,
              status: 454,
              message: `4.7.0 Throttling failure: Maximum sending rate exceeded, try again in ${fault.retryAfterSeconds} seconds`,
            });
          case 'transient':
            return sandbox.faults.inject({ endpoint: 'smtp.MAIL', count, status: 451, message: '4.3.0 Temporary local problem' });
          case 'permanent':
            return sandbox.faults.inject({ endpoint: 'smtp.DATA', count, status: 554, message: '5.7.1 Message rejected by policy' });
          case 'stall':
            return sandbox.faults.inject({ endpoint: 'smtp.RCPT', count, action: 'stall' });
        }
      },
      secrets: [password],
      close: () => sandbox.close(),
    };
  },
});
