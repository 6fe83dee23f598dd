import SMTPConnection from 'nodemailer/lib/smtp-connection';
import XOAuth2 from 'nodemailer/lib/xoauth2';

/** What a server offered in its EHLO reply (after STARTTLS, when used). */
export interface ServerFeatures {
  /** EHLO keywords with their parameters, such as `SIZE 10485760` or `AUTH PLAIN LOGIN`. */
  readonly extensions: readonly string[];
  /** Whether the session was upgraded with STARTTLS. */
  readonly starttls: boolean;
  /** The SIZE limit in bytes, when announced. */
  readonly size: number | undefined;
  readonly smtpUtf8: boolean;
  readonly pipelining: boolean;
  readonly authMethods: readonly string[];
  /** `TLSv1.3` and the like, or undefined for a plain session. */
  readonly tlsProtocol: string | undefined;
}

/** Reads the features from EHLO lines (without the reply codes and the server's name line). */
export function featuresFromEhlo(lines: readonly string[]): ServerFeatures {
  const keyword = (line: string): string => (line.split(/\s+/)[0] ?? '').toUpperCase();
  const sizeLine = lines.find((line) => keyword(line) === 'SIZE');
  const authLine = lines.find((line) => keyword(line) === 'AUTH');
  return {
    extensions: [...lines],
    starttls: false,
    size: sizeLine === undefined ? undefined : Number(sizeLine.split(/\s+/)[1]) || undefined,
    smtpUtf8: lines.some((line) => keyword(line) === 'SMTPUTF8'),
    pipelining: lines.some((line) => keyword(line) === 'PIPELINING'),
    authMethods:
      authLine === undefined
        ? []
        : authLine
            .split(/\s+/)
            .slice(1)
            .map((method) => method.toUpperCase()),
    tlsProtocol: undefined,
  };
}

/** nodemailer keeps the EHLO reply on the connection without a public accessor; read it defensively. */
interface ConnectionInternals {
  _ehloLines?: string[];
  _socket?: { getProtocol?: () => string | null } | false | null;
  secure: boolean;
}

/**
 * Opens one connection, negotiates TLS as configured, authenticates when asked, reads the
 * server's extensions and says QUIT. Rejects with nodemailer's error, for the caller to map.
 */
export function probeServer(
  connectionOptions: Record<string, unknown>,
  probe: { authenticate: boolean; signal?: AbortSignal | undefined },
): Promise<ServerFeatures> {
  return new Promise((resolve, reject) => {
    const connection = new SMTPConnection(connectionOptions);
    let settled = false;
    const finish = (error: unknown, features?: ServerFeatures): void => {
      if (settled) return;
      settled = true;
      probe.signal?.removeEventListener('abort', onAbort);
      if (error === undefined && features !== undefined) {
        connection.quit();
        resolve(features);
      } else {
        connection.close();
        reject(error);
      }
    };
    const onAbort = (): void => finish(probe.signal?.reason);
    probe.signal?.addEventListener('abort', onAbort, { once: true });
    if (probe.signal?.aborted === true) return onAbort();
    connection.on('error', (error: Error) => finish(error));
    connection.connect((error?: Error | null) => {
      if (error) return finish(error);
      const read = (): void => {
        const internals = connection as unknown as ConnectionInternals;
        const found = featuresFromEhlo(internals._ehloLines ?? []);
        const socket = internals._socket;
        const tlsProtocol = socket && typeof socket.getProtocol === 'function' ? (socket.getProtocol() ?? undefined) : undefined;
        finish(undefined, {
          ...found,
          starttls: internals.secure && connectionOptions.secure !== true,
          tlsProtocol,
        });
      };
      const auth = connectionOptions.auth as Record<string, unknown> | undefined;
      if (!probe.authenticate || auth === undefined) return read();
      connection.login(loginData(auth), (loginError?: Error | null) => (loginError ? finish(loginError) : read()));
    });
  });
}

function loginData(auth: Record<string, unknown>): Parameters<SMTPConnection['login']>[0] {
  if (auth.type === 'OAuth2') {
    const oauth2 = new XOAuth2({ user: auth.user as string, provisionCallback: auth.provisionCallback as never }, false as never);
    return { type: 'OAUTH2', user: auth.user as string, oauth2, method: 'XOAUTH2' };
  }
  return { credentials: { user: auth.user as string, pass: auth.pass as string }, user: auth.user as string };
}
