const inspectCustom = Symbol.for('nodejs.util.inspect.custom');

/**
 * A credential that never shows itself: `String()`, `JSON.stringify`, template literals and
 * `util.inspect` all print `[redacted]`. Call `reveal()` at the one place the value is needed.
 *
 * @example
 * ```ts
 * const password = new Secret(process.env.SMTP_PASSWORD ?? '');
 * console.log(`${password}`); // [redacted]
 * ```
 */
export class Secret {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  /** The credential itself. */
  reveal(): string {
    return this.#value;
  }

  toString(): string {
    return '[redacted]';
  }

  toJSON(): string {
    return '[redacted]';
  }
}

Object.defineProperty(Secret.prototype, inspectCustom, { value: () => '[redacted]' });

// URL parameters whose values are credentials, compared without "_" and "-" and case.
const secretParameters = new Set([
  'password',
  'pass',
  'secret',
  'clientsecret',
  'token',
  'accesstoken',
  'refreshtoken',
  'key',
  'privatekey',
  'secretaccesskey',
  'secretkey',
  'sessiontoken',
  'apikey',
  'certificatepassword',
  // The SMTP transport's VERP HMAC key.
  'verpsecret',
]);

/** True for a URL parameter name that carries a credential (`client_secret`, `refresh_token`, ...). */
export function isSecretParameter(name: string): boolean {
  return secretParameters.has(name.toLowerCase().replace(/[-_]/g, ''));
}

/**
 * Replaces the password and every credential parameter of a transport URL with `***`, also
 * inside `failover(...)` and `roundrobin(...)`. Anything that does not parse is reduced to its
 * scheme, so a malformed URL cannot leak a password either.
 */
export function redactUrl(url: string): string {
  const redacted = url.replace(/[a-z][a-z0-9+.-]*:\/\/\S*/gi, (token) => {
    // A ")" with no "(" of its own closes failover(...) or roundrobin(...); a balanced pair may be part of a password.
    const end = closingParenthesis(token);
    return `${redactSingle(token.slice(0, end))}${token.slice(end)}`;
  });
  // The parameters of failover(...)?... and roundrobin(...)?... themselves.
  return redacted.replace(/\)\?([^\s()]*)/g, (_match, query: string) => `)?${redactQuery(query)}`);
}

function closingParenthesis(token: string): number {
  let depth = 0;
  for (let index = 0; index < token.length; index++) {
    if (token[index] === '(') depth++;
    else if (token[index] === ')') {
      if (depth === 0) return index;
      depth--;
    }
  }
  return token.length;
}

function redactSingle(single: string): string {
  const schemeEnd = single.indexOf('://');
  const scheme = single.slice(0, schemeEnd);
  // A password with an unencoded "/", "?" or "#" stops the URL parsing: where it ends cannot be told.
  if (!URL.canParse(single)) return `${scheme}://***`;
  let rest = single.slice(schemeEnd + 3);
  const queryStart = rest.indexOf('?');
  let query = '';
  if (queryStart !== -1) {
    query = rest.slice(queryStart + 1);
    rest = rest.slice(0, queryStart);
  }
  const at = rest.lastIndexOf('@', rest.includes('/') ? rest.indexOf('/') : rest.length);
  if (at !== -1) {
    const userInfo = rest.slice(0, at);
    const colon = userInfo.indexOf(':');
    if (colon !== -1) rest = `${userInfo.slice(0, colon)}:***${rest.slice(at)}`;
  }
  return queryStart === -1 ? `${scheme}://${rest}` : `${scheme}://${rest}?${redactQuery(query)}`;
}

function redactQuery(query: string): string {
  return query
    .split('&')
    .map((pair) => {
      const equals = pair.indexOf('=');
      const name = decodeSafely(equals === -1 ? pair : pair.slice(0, equals));
      return equals !== -1 && isSecretParameter(name) ? `${pair.slice(0, equals)}=***` : pair;
    })
    .join('&');
}

function decodeSafely(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}
