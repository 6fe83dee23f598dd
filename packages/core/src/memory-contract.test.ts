import { describeTransportContract } from '@mailport/testkit';
import { MailError } from './errors.js';
import { createMemoryTransport, type MemoryTransport } from './memory-transport.js';

// The memory transport is a stand-in for a provider: faults are staged with failNext, and the
// "bad credentials" and "nowhere" transports are memory transports that fail as those would.
describeTransportContract({
  name: 'memory',
  async setup() {
    const transport: MemoryTransport = createMemoryTransport({ id: 'memory://contract' });
    const failing = (code: 'auth' | 'transient', message: string): MemoryTransport => {
      const stand = createMemoryTransport({ id: `memory://${code}` });
      stand.failNext(1_000, () => new MailError(code, message, { remediation: 'This is a stand-in for the contract.' }));
      return stand;
    };
    let stalled = 0;
    // The memory transport has no network: a staged stall is a send that waits for the caller's abort.
    const stalling: MemoryTransport = Object.create(transport, {
      send: {
        value: (message: Parameters<MemoryTransport['send']>[0], options?: Parameters<MemoryTransport['send']>[1]) => {
          if (stalled === 0) return transport.send(message, options);
          stalled--;
          return new Promise((_resolve, reject) => {
            options?.signal?.addEventListener('abort', () => reject(options.signal?.reason), { once: true });
          });
        },
      },
    });
    return {
      transport: () => stalling,
      transportWithBadCredentials: () => failing('auth', 'memory: credentials refused'),
      transportToNowhere: () => failing('transient', 'memory: connection refused'),
      received: async () => transport.sent.map((sent) => ({ recipients: sent.envelope.to, raw: sent.mime })),
      clear: async () => transport.clear(),
      inject: async (fault, count = 1) => {
        if (fault.kind === 'stall') stalled += count;
        else if (fault.kind === 'rate-limit') {
          transport.failNext(count, new MailError('rate-limited', 'memory: slow down', { retryAfterMs: fault.retryAfterSeconds * 1000 }));
        } else if (fault.kind === 'transient') transport.failNext(count, 'transient');
        else transport.failNext(count, 'message-rejected');
      },
      secrets: [],
      close: async () => {},
    };
  },
});
