/**
 * The mailport transport contract, run against the Postbox transport and its fake: the whole
 * suite in one call. Each member of the harness tells the suite how to reach the backend.
 */
import { refusedPort } from '@mailport/core/testing';
import { describeTransportContract } from '@mailport/testkit';
import { startFakePostbox } from './fake-postbox.ts';
import { createPostboxTransport } from './index.ts';

describeTransportContract({
  name: 'postbox (example)',
  async setup() {
    const fake = await startFakePostbox();
    const nowhere = await refusedPort();
    return {
      transport: () => createPostboxTransport({ endpoint: fake.url, apiKey: fake.apiKey }),
      transportWithBadCredentials: () => createPostboxTransport({ endpoint: fake.url, apiKey: 'pbk_revoked' }),
      transportToNowhere: () => createPostboxTransport({ endpoint: `http://127.0.0.1:${nowhere}`, apiKey: fake.apiKey }),
      received: async () => fake.messages.map((message) => ({ recipients: message.to, raw: message.raw })),
      clear: async () => fake.clear(),
      inject: async (fault, count) => {
        switch (fault.kind) {
          case 'rate-limit':
            return fake.fail({ kind: 'respond', status: 429, code: 'rate_limited', retryAfter: fault.retryAfterSeconds }, count);
          case 'transient':
            // Postbox documents 503 as "nothing was queued": safe to retry.
            return fake.fail({ kind: 'respond', status: 503, code: 'unavailable' }, count);
          case 'permanent':
            return fake.fail({ kind: 'respond', status: 422, code: 'content_rejected', message: 'The message looks like spam.' }, count);
          case 'stall':
            return fake.fail({ kind: 'stall' }, count);
        }
      },
      secrets: [fake.apiKey, fake.clientSecret],
      close: () => fake.close(),
    };
  },
});
