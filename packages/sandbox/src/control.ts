import type { FaultInjector, FaultSpec } from './faults.js';
import type { Emulator, HttpResponse } from './http.js';
import type { MessageStore, StoredMessage } from './store.js';
import type { TokenRegistry } from './tokens.js';

const json = (status: number, body: object): HttpResponse => ({ status, body });

/** A message without its bytes, for listings. */
export function describeMessage(message: StoredMessage): Record<string, unknown> {
  return {
    id: message.id,
    api: message.api,
    operation: message.operation,
    receivedAt: message.receivedAt,
    from: message.envelope.from,
    to: message.envelope.to,
    size: message.size,
    providerMessageId: message.providerMessageId,
    metadata: message.metadata,
  };
}

/**
 * The sandbox's own HTTP API, under `/sandbox`: read and clear the store, inject faults, expire
 * tokens, and learn the URLs and credentials to use.
 */
export function createControlApi(options: {
  store: MessageStore;
  faults: FaultInjector;
  tokens: TokenRegistry;
  info: () => Record<string, unknown>;
}): Emulator {
  const { store, faults, tokens } = options;
  return {
    name: 'sandbox',
    errorResponse: (fault) => json(fault.status, { error: fault.code ?? 'error', message: fault.message }),
    tooLarge: (limit) => json(413, { error: 'too large', limit }),
    routes: [
      { method: 'GET', path: '/sandbox/info', handle: () => json(200, options.info()) },
      {
        method: 'GET',
        path: '/sandbox/messages',
        handle: (request) => {
          const api = request.url.searchParams.get('api') ?? undefined;
          return json(200, { messages: store.list({ api: api as StoredMessage['api'] | undefined }).map(describeMessage) });
        },
      },
      {
        method: 'GET',
        path: '/sandbox/messages/:id',
        handle: (request) => {
          const message = store.get(request.params.id ?? '');
          return message === undefined ? json(404, { error: 'no such message' }) : json(200, describeMessage(message));
        },
      },
      {
        method: 'GET',
        path: '/sandbox/messages/:id/raw',
        handle: (request) => {
          const message = store.get(request.params.id ?? '');
          if (message === undefined) return json(404, { error: 'no such message' });
          return { status: 200, headers: { 'content-type': 'message/rfc822' }, body: message.raw };
        },
      },
      {
        method: 'DELETE',
        path: '/sandbox/messages',
        handle: () => {
          store.clear();
          return { status: 204 };
        },
      },
      { method: 'GET', path: '/sandbox/faults', handle: () => json(200, { faults: faults.pending() }) },
      {
        method: 'POST',
        path: '/sandbox/faults',
        handle: (request) => {
          let spec: FaultSpec;
          try {
            spec = JSON.parse(request.body.toString('utf8')) as FaultSpec;
            faults.inject(spec);
          } catch (error) {
            return json(400, { error: (error as Error).message });
          }
          return json(201, { fault: spec });
        },
      },
      {
        method: 'DELETE',
        path: '/sandbox/faults',
        handle: () => {
          faults.clear();
          return { status: 204 };
        },
      },
      {
        method: 'POST',
        path: '/sandbox/tokens/expire',
        handle: () => {
          tokens.expireAll();
          return { status: 204 };
        },
      },
    ],
  };
}
