import { parseTransportUrl, type Transport } from '@mailport/core';
import { type Sandbox, startSandbox } from '@mailport/sandbox';
import { type ContractFault, describeTransportContract } from '@mailport/testkit';
import { createTransportFromUrl } from './index.js';

// The contract sends from sender@example.com: the sandbox's mailbox is that address.
const mailbox = 'sender@example.com';

const fromUrl = (url: string): Transport =>
  createTransportFromUrl(parseTransportUrl(url), { env: {}, options: {}, tokenProvider: undefined }) as Transport;

describeTransportContract({
  name: 'graph (MIME mode)',
  async setup() {
    const sandbox: Sandbox = await startSandbox({ accounts: { microsoft: { mailboxes: [mailbox] } } });
    const url = sandbox.urls.graph;
    const secret = sandbox.accounts.microsoft.clientSecret;
    return {
      transport: () => fromUrl(url),
      transportWithBadCredentials: () => fromUrl(url.replace(encodeURIComponent(secret), 'wrong-secret')),
      // The token endpoint answers; the Graph API is at a port where nothing listens.
      transportToNowhere: () =>
        fromUrl(url.replace(encodeURIComponent(`${sandbox.httpUrl}/v1.0`), encodeURIComponent('http://127.0.0.1:9/v1.0'))),
      received: async () => sandbox.store.list({ api: 'graph' }).map((message) => ({ recipients: message.envelope.to, raw: message.raw })),
      clear: async () => {
        sandbox.store.clear();
        sandbox.faults.clear();
      },
      inject: async (fault: ContractFault, count = 1) => {
        switch (fault.kind) {
          case 'rate-limit':
            sandbox.faults.inject({
              endpoint: 'graph.sendMail',
              status: 429,
              code: 'ApplicationThrottled',
              retryAfter: fault.retryAfterSeconds,
              count,
            });
            return;
          case 'transient':
            // Graph may have sent a message it answers 5xx to; a failure that provably sent nothing is the token endpoint's.
            sandbox.tokens.expireAll();
            sandbox.faults.inject({ endpoint: 'microsoft.token', status: 503, code: 'temporarily_unavailable', count });
            return;
          case 'permanent':
            sandbox.faults.inject({ endpoint: 'graph.sendMail', status: 400, code: 'ErrorInvalidRecipients', count });
            return;
          case 'stall':
            sandbox.faults.inject({ endpoint: 'graph.sendMail', action: 'stall', count });
            return;
        }
      },
      secrets: [secret],
      close: () => sandbox.close(),
    };
  },
});
