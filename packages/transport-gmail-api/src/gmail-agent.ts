import { type ClientRequestArgs, Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent, type RequestOptions } from 'node:https';
import { Socket } from 'node:net';
import type { Duplex } from 'node:stream';

/** Keep-alive agents for one transport, with a connect timeout of their own. */
export interface GmailAgents {
  /** For gaxios's `agent` option: the agent for a URL. */
  readonly forUrl: (url: URL) => HttpAgent;
  /** Closes every socket, idle or not. */
  destroy(): void;
}

/**
 * A failed connect gets its own error code, `ECONNECT_TIMEOUT`, so that it can be told from a
 * request that was sent and never answered (which may have delivered the message).
 */
function armConnectTimeout(socket: Duplex | null | undefined, timeoutMs: number, secure: boolean): Duplex | null | undefined {
  if (!(socket instanceof Socket) || !socket.connecting) return socket;
  const timer = setTimeout(() => {
    socket.destroy(Object.assign(new Error(`connect timed out after ${timeoutMs} ms`), { code: 'ECONNECT_TIMEOUT' }));
  }, timeoutMs);
  timer.unref();
  const clear = (): void => clearTimeout(timer);
  socket.once(secure ? 'secureConnect' : 'connect', clear);
  socket.once('close', clear);
  return socket;
}

/** Creates the agents; sockets are reused across requests (keep-alive) and idle ones do not hold the process open. */
export function createGmailAgents(options: { connectionTimeoutMs: number }): GmailAgents {
  const { connectionTimeoutMs } = options;
  class TimedHttpAgent extends HttpAgent {
    override createConnection(
      args: ClientRequestArgs,
      callback?: (error: Error | null, stream: Duplex) => void,
    ): Duplex | null | undefined {
      return armConnectTimeout(super.createConnection(args, callback), connectionTimeoutMs, false);
    }
  }
  class TimedHttpsAgent extends HttpsAgent {
    override createConnection(args: RequestOptions, callback?: (error: Error | null, stream: Duplex) => void): Duplex | null | undefined {
      return armConnectTimeout(super.createConnection(args, callback), connectionTimeoutMs, true);
    }
  }
  const http = new TimedHttpAgent({ keepAlive: true });
  const https = new TimedHttpsAgent({ keepAlive: true });
  return {
    forUrl: (url) => (url.protocol === 'https:' ? https : http),
    destroy() {
      http.destroy();
      https.destroy();
    },
  };
}
