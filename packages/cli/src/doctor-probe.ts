import { lookup as dnsLookup } from 'node:dns/promises';
import { isIP, type LookupFunction, Socket } from 'node:net';
import { hostname } from 'node:os';
import { type PeerCertificate, rootCertificates, type TLSSocket, connect as tlsConnect } from 'node:tls';
import { isCertificateError } from '@mailport/core';

/**
 * How a port is probed: `smtp` reads the greeting, says EHLO and upgrades with STARTTLS when
 * offered; `smtps` completes implicit TLS first; `https` completes a TLS handshake; `tcp` only
 * connects (a plain `http://` endpoint, such as the sandbox's).
 */
export type ProbeKind = 'smtp' | 'smtps' | 'https' | 'tcp';

/** One host and port to probe. */
export interface ProbeTarget {
  readonly host: string;
  readonly port: number;
  readonly kind: ProbeKind;
}

/**
 * What a probe found. `no-answer` is a connect that timed out: the SYN got no reply, which is
 * what a firewall that drops packets looks like (and a host that does not serve the port, behind
 * such a firewall). `refused` is an answer: the host is reachable and nothing listens, or a
 * firewall rejects the connection.
 */
export type ProbeOutcome =
  | 'ok'
  | 'dns-failed'
  | 'no-answer'
  | 'refused'
  | 'unreachable'
  | 'reset'
  | 'no-greeting'
  | 'stalled'
  | 'not-smtp'
  | 'smtp-refused'
  | 'no-starttls'
  | 'starttls-refused'
  | 'tls-untrusted'
  | 'tls-hostname'
  | 'tls-expired'
  | 'tls-failed'
  | 'error';

/** The TLS session a probe negotiated, verified or not. */
export interface ProbeTls {
  readonly protocol: string | undefined;
  /** True when the certificate chain and the host name verified. */
  readonly authorized: boolean;
  /** Node's verification error code (`SELF_SIGNED_CERT_IN_CHAIN`, `ERR_TLS_CERT_ALTNAME_INVALID`, ...). */
  readonly error: string | undefined;
  /** The certificate's subject common name. */
  readonly subject: string | undefined;
  /** The issuer's organisation or common name: tells a TLS-intercepting proxy apart from the real issuer. */
  readonly issuer: string | undefined;
  readonly validTo: string | undefined;
}

/** The result of probing one {@link ProbeTarget}. */
export interface ProbeResult extends ProbeTarget {
  readonly outcome: ProbeOutcome;
  readonly elapsedMs: number;
  /** The step the probe reached: `dns`, `connect`, `greeting`, `ehlo`, `starttls`, `tls`, `done`. */
  readonly stage: ProbeStage;
  /** The address connected to. */
  readonly address?: string | undefined;
  /** The server's first greeting line (`220 smtp.example.com ESMTP`), or the first bytes of whatever answered. */
  readonly greeting?: string | undefined;
  /** EHLO keywords, after TLS when the session was upgraded. */
  readonly extensions?: readonly string[] | undefined;
  /** Whether the server offered STARTTLS (smtp probes). */
  readonly starttls?: boolean | undefined;
  readonly tls?: ProbeTls | undefined;
  /** The system or TLS error code (`ECONNREFUSED`, `ENOTFOUND`, `ERR_SSL_WRONG_VERSION_NUMBER`, ...). */
  readonly errorCode?: string | undefined;
  /** The error's message or the server's refusal, for the explanation. */
  readonly message?: string | undefined;
}

/** How far a probe got. */
export type ProbeStage = 'dns' | 'connect' | 'greeting' | 'ehlo' | 'starttls' | 'tls' | 'done';

/** Options of {@link probeTarget}. */
export interface ProbeOptions {
  /** The probe's whole budget: DNS, connect, greeting, TLS and EHLO together. */
  readonly timeoutMs: number;
  /** Extra CA certificates (PEM) trusted besides the system's. */
  readonly ca?: readonly (string | Buffer)[] | undefined;
  /** Addresses already resolved for the host (see {@link resolveHost}), so that DNS is asked once per host. */
  readonly addresses?: readonly { address: string; family: number }[] | undefined;
  readonly signal?: AbortSignal | undefined;
}

/** The DNS answer for a host, or why there is none. */
export type HostResolution =
  | { readonly ok: true; readonly addresses: readonly { address: string; family: number }[] }
  | { readonly ok: false; readonly errorCode: string; readonly message: string };

/** Resolves a host name once (an IP address as it is), within `timeoutMs`. */
export async function resolveHost(host: string, timeoutMs: number): Promise<HostResolution> {
  const family = isIP(host);
  if (family !== 0) return { ok: true, addresses: [{ address: host, family }] };
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<HostResolution>((resolve) => {
    // getaddrinfo cannot be cancelled; the lookup finishes in the background and is ignored.
    timer = setTimeout(
      () => resolve({ ok: false, errorCode: 'ETIMEOUT', message: `no DNS answer for ${host} in ${timeoutMs} ms` }),
      timeoutMs,
    );
  });
  const lookup = dnsLookup(host, { all: true }).then(
    (addresses): HostResolution =>
      addresses.length > 0 ? { ok: true, addresses } : { ok: false, errorCode: 'ENODATA', message: `${host} has no address` },
    (error: NodeJS.ErrnoException): HostResolution => ({ ok: false, errorCode: error.code ?? 'EDNS', message: error.message }),
  );
  try {
    return await Promise.race([lookup, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

// What EHLO announces us as: the machine's name when it is a domain, else an address literal (RFC 5321 4.1.3).
function ehloName(): string {
  const name = hostname();
  return name.includes('.') ? name : '[127.0.0.1]';
}

/** The outcome of a TLS session that completed but did not verify: the certificate codes are core's one set. */
export function tlsOutcome(error: string): ProbeOutcome {
  if (error === 'CERT_HAS_EXPIRED' || error === 'CERT_NOT_YET_VALID') return 'tls-expired';
  if (error === 'ERR_TLS_CERT_ALTNAME_INVALID' || error === 'HOSTNAME_MISMATCH') return 'tls-hostname';
  if (isCertificateError(error)) return 'tls-untrusted';
  return 'tls-failed';
}

/** The outcome of a socket error at a given stage. */
export function errorOutcome(code: string | undefined, stage: ProbeStage): ProbeOutcome {
  if (stage === 'tls') return 'tls-failed';
  switch (code) {
    case 'ECONNREFUSED':
      return 'refused';
    case 'ENETUNREACH':
    case 'EHOSTUNREACH':
    case 'EADDRNOTAVAIL':
    case 'ENETDOWN':
    case 'EHOSTDOWN':
      return 'unreachable';
    case 'ETIMEDOUT':
      return stage === 'connect' ? 'no-answer' : 'stalled';
    case 'ECONNRESET':
    case 'EPIPE':
    case 'ECONNABORTED':
      return 'reset';
    default:
      return 'error';
  }
}

function errorCode(error: unknown): string | undefined {
  const candidate = error as { code?: string; errors?: { code?: string }[] };
  // Happy eyeballs (autoSelectFamily) reports every address's failure in an AggregateError.
  return candidate?.code ?? candidate?.errors?.find((inner) => inner.code !== undefined)?.code;
}

function certificateName(certificate: PeerCertificate | undefined, part: 'subject' | 'issuer'): string | undefined {
  const fields = certificate?.[part] as Record<string, string | string[] | undefined> | undefined;
  if (fields === undefined) return undefined;
  const pick = (value: string | string[] | undefined): string | undefined => (Array.isArray(value) ? value[0] : value);
  return part === 'issuer' ? (pick(fields.O) ?? pick(fields.CN)) : (pick(fields.CN) ?? pick(fields.O));
}

/** Thrown inside a probe to end it with an outcome. */
class ProbeEnd extends Error {
  readonly outcome: ProbeOutcome;
  readonly code: string | undefined;
  constructor(outcome: ProbeOutcome, message: string, code?: string) {
    super(message);
    this.outcome = outcome;
    this.code = code;
  }
}

/** Reads SMTP replies (RFC 5321 4.2: `250-...` continues, `250 ...` ends) from a socket. */
class ReplyReader {
  #buffer = '';
  #waiting: { resolve: (lines: string[]) => void; reject: (error: unknown) => void } | undefined;
  #failure: unknown;
  #socket: Socket | TLSSocket;
  readonly #onData = (chunk: Buffer): void => {
    this.#buffer += chunk.toString('latin1');
    this.#pump();
  };
  readonly #onEnd = (): void => this.#fail(new ProbeEnd('reset', 'the server closed the connection', 'ECONNRESET'));
  readonly #onError = (error: Error): void => this.#fail(error);

  constructor(socket: Socket | TLSSocket) {
    this.#socket = socket;
    socket.on('data', this.#onData);
    socket.on('end', this.#onEnd);
    socket.on('error', this.#onError);
  }

  /** Stops reading, so that the socket can be handed to TLS. */
  detach(): void {
    this.#socket.off('data', this.#onData);
    this.#socket.off('end', this.#onEnd);
    this.#socket.off('error', this.#onError);
  }

  /** Whatever arrived that is not a complete reply, for "this is not SMTP". */
  get pending(): string {
    return this.#buffer;
  }

  next(): Promise<string[]> {
    if (this.#failure !== undefined) return Promise.reject(this.#failure);
    return new Promise((resolve, reject) => {
      this.#waiting = { resolve, reject };
      this.#pump();
    });
  }

  #fail(error: unknown): void {
    this.#failure ??= error;
    const waiting = this.#waiting;
    this.#waiting = undefined;
    waiting?.reject(error);
  }

  #pump(): void {
    if (this.#waiting === undefined) return;
    // Anything that does not start like a reply is not SMTP (an SSH banner, TLS bytes, an HTTP proxy).
    if (this.#buffer.length >= 4 && !/^\d{3}[ -]/.test(this.#buffer)) {
      const first = this.#buffer.split(/\r?\n/)[0] ?? '';
      this.#fail(new ProbeEnd('not-smtp', first.replace(/[^\x20-\x7e]/g, '.').slice(0, 60)));
      return;
    }
    const lines: string[] = [];
    let rest = this.#buffer;
    for (;;) {
      const end = rest.indexOf('\n');
      if (end === -1) return;
      const line = rest.slice(0, end).replace(/\r$/, '');
      rest = rest.slice(end + 1);
      lines.push(line);
      if (!/^\d{3}-/.test(line)) break;
    }
    this.#buffer = rest;
    const waiting = this.#waiting;
    this.#waiting = undefined;
    waiting.resolve(lines);
  }
}

function replyCode(lines: readonly string[]): number {
  return Number((lines[lines.length - 1] ?? '').slice(0, 3));
}

/**
 * Probes one host and port within `timeoutMs`: connects over TCP, then, by kind, reads the SMTP
 * greeting, says EHLO, upgrades with STARTTLS (or completes implicit TLS) and checks the
 * certificate, or completes a TLS handshake. It never sends credentials or mail; it says QUIT.
 * Never throws: every failure is an outcome.
 */
export async function probeTarget(target: ProbeTarget, options: ProbeOptions): Promise<ProbeResult> {
  const started = performance.now();
  const found: {
    stage: ProbeStage;
    // A socket's remoteAddress and a reply's first line may be undefined.
    address?: string | undefined;
    greeting?: string | undefined;
    extensions?: string[];
    starttls?: boolean;
    tls?: ProbeTls;
  } = { stage: 'dns' };
  const sockets: Socket[] = [];
  const result = (outcome: ProbeOutcome, extra: { errorCode?: string | undefined; message?: string | undefined } = {}): ProbeResult => ({
    ...target,
    outcome,
    elapsedMs: Math.round(performance.now() - started),
    ...found,
    ...extra,
  });
  let addresses = options.addresses;
  if (addresses === undefined) {
    const resolution = await resolveHost(target.host, options.timeoutMs);
    if (!resolution.ok) return result('dns-failed', { errorCode: resolution.errorCode, message: resolution.message });
    addresses = resolution.addresses;
  }
  const known = addresses;
  const remaining = (): number => Math.max(1, options.timeoutMs - (performance.now() - started));
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new ProbeEnd('no-answer', 'deadline', 'ETIMEDOUT')), remaining());
    onAbort = () => reject(options.signal?.reason);
    options.signal?.addEventListener('abort', onAbort, { once: true });
  });
  deadline.catch(() => {});
  const ca = options.ca === undefined || options.ca.length === 0 ? undefined : [...rootCertificates, ...options.ca];

  const connect = (): Promise<Socket> =>
    new Promise((resolve, reject) => {
      found.stage = 'connect';
      // Resolved once per host: every port of the host uses the same answer.
      const lookup: LookupFunction = (_name, lookupOptions, callback) => {
        if ((lookupOptions as { all?: boolean }).all === true) (callback as (error: null, list: typeof known) => void)(null, known);
        else callback(null, (known[0] as { address: string }).address, (known[0] as { family: number }).family);
      };
      const socket = new Socket();
      sockets.push(socket);
      socket.once('error', reject);
      socket.connect({ host: target.host, port: target.port, lookup, autoSelectFamily: known.length > 1 }, () => {
        socket.off('error', reject);
        // Later errors reach whoever reads the socket (the reply reader, the TLS socket); never the process.
        socket.on('error', () => {});
        found.address = socket.remoteAddress;
        resolve(socket);
      });
    });

  const upgrade = (socket: Socket): Promise<TLSSocket> =>
    new Promise((resolve, reject) => {
      found.stage = 'tls';
      const servername = isIP(target.host) === 0 ? target.host : undefined;
      // Verification is read from the session rather than enforced, so that the probe can say why it failed.
      const secure = tlsConnect({ socket, host: target.host, servername, ca, rejectUnauthorized: false, minVersion: 'TLSv1.2' }, () => {
        secure.off('error', reject);
        const certificate = secure.getPeerCertificate();
        const error = secure.authorizationError === null ? undefined : String(secure.authorizationError);
        found.tls = {
          protocol: secure.getProtocol() ?? undefined,
          authorized: secure.authorized,
          error: secure.authorized ? undefined : error,
          subject: certificateName(certificate, 'subject'),
          issuer: certificateName(certificate, 'issuer'),
          validTo: certificate?.valid_to,
        };
        resolve(secure);
      });
      sockets.push(secure);
      secure.once('error', reject);
    });

  const converse = async (plain: Socket | TLSSocket, implicitTls: boolean): Promise<ProbeOutcome> => {
    // After STARTTLS every command goes through the TLS socket, never the plain one under it.
    let socket = plain;
    let reader = new ReplyReader(socket);
    found.stage = 'greeting';
    const greeting = await reader.next();
    found.greeting = greeting[0];
    if (replyCode(greeting) !== 220) throw new ProbeEnd('smtp-refused', greeting.join(' '));
    found.stage = 'ehlo';
    const ehlo = async (): Promise<string[]> => {
      socket.write(`EHLO ${ehloName()}\r\n`);
      const reply = await reader.next();
      if (replyCode(reply) !== 250) throw new ProbeEnd('smtp-refused', reply.join(' '));
      return reply.slice(1).map((line) => line.slice(4));
    };
    found.extensions = await ehlo();
    if (implicitTls) return found.tls?.authorized === true ? 'ok' : tlsOutcome(found.tls?.error ?? '');
    found.starttls = found.extensions.some((line) => /^STARTTLS\b/i.test(line));
    if (!found.starttls) {
      socket.write('QUIT\r\n');
      return 'no-starttls';
    }
    found.stage = 'starttls';
    socket.write('STARTTLS\r\n');
    const ready = await reader.next();
    if (replyCode(ready) !== 220) throw new ProbeEnd('starttls-refused', ready.join(' '));
    reader.detach();
    const secure = await upgrade(socket as Socket);
    socket = secure;
    reader = new ReplyReader(secure);
    found.stage = 'ehlo';
    // After STARTTLS the server forgets the first EHLO (RFC 3207 4.2); AUTH is often offered only now.
    found.extensions = await ehlo();
    secure.write('QUIT\r\n');
    return secure.authorized ? 'ok' : tlsOutcome(found.tls?.error ?? '');
  };

  const run = async (): Promise<ProbeOutcome> => {
    const socket = await connect();
    if (target.kind === 'tcp') return 'ok';
    if (target.kind === 'https') {
      const secure = await upgrade(socket);
      return secure.authorized ? 'ok' : tlsOutcome(found.tls?.error ?? '');
    }
    if (target.kind === 'smtps') return converse(await upgrade(socket), true);
    return converse(socket, false);
  };

  try {
    const outcome = await Promise.race([run(), deadline]);
    found.stage = 'done';
    return result(outcome);
  } catch (error) {
    if (options.signal?.aborted === true && error === options.signal.reason) throw error;
    if (error instanceof ProbeEnd) {
      if (error.message === 'deadline') {
        const outcome: ProbeOutcome = found.stage === 'connect' ? 'no-answer' : found.stage === 'greeting' ? 'no-greeting' : 'stalled';
        return result(outcome, { errorCode: 'ETIMEDOUT', message: `no answer in ${options.timeoutMs} ms` });
      }
      return result(error.outcome, { errorCode: error.code, message: error.message });
    }
    const code = errorCode(error);
    return result(errorOutcome(code, found.stage), { errorCode: code, message: (error as Error)?.message ?? String(error) });
  } finally {
    clearTimeout(timer);
    if (onAbort !== undefined) options.signal?.removeEventListener('abort', onAbort);
    // TLS sockets before the sockets under them: destroying a socket under a live TLS socket
    // first crashes Node 24 (SIGSEGV, seen with 24.21 after a completed handshake).
    for (const socket of sockets.reverse()) socket.destroy();
  }
}

/** Runs `task` over `items` with at most `limit` in flight; results in input order. */
export async function mapLimit<Item, Result>(
  items: readonly Item[],
  limit: number,
  task: (item: Item) => Promise<Result>,
): Promise<Result[]> {
  const results = new Array<Result>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      results[index] = await task(items[index] as Item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
