import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { HttpRequest } from '../http.js';

/** Why a request's credentials were refused, as AWS words it. */
export interface AuthProblem {
  readonly status: number;
  readonly code: string;
  readonly message: string;
}

/** The parts of an `AWS4-HMAC-SHA256` Authorization header. */
export interface ParsedAuthorization {
  readonly accessKeyId: string;
  readonly date: string;
  readonly region: string;
  readonly service: string;
  readonly signedHeaders: readonly string[];
  readonly signature: string;
}

// AWS allows 15 minutes of clock skew before a signature is "expired" (SigV4 documentation).
const maxSkewMs = 15 * 60 * 1000;

/**
 * Checks a request's SigV4 signature the way AWS does, in AWS's order: a missing header, a
 * malformed one, an unknown access key, a wrong credential scope, an expired date, then the
 * signature itself, recomputed with the known secret.
 */
export function checkSignature(
  request: HttpRequest,
  account: { readonly accessKeyId: string; readonly secretAccessKey: string; readonly region: string },
  now: number,
): AuthProblem | undefined {
  const header = request.headers.authorization;
  if (header === undefined || header === '') {
    return { status: 403, code: 'MissingAuthenticationTokenException', message: 'Missing Authentication Token' };
  }
  const parsed = parseAuthorization(header);
  if (typeof parsed === 'string') return { status: 400, code: 'IncompleteSignatureException', message: parsed };
  if (parsed.accessKeyId !== account.accessKeyId) {
    return { status: 403, code: 'UnrecognizedClientException', message: 'The security token included in the request is invalid.' };
  }
  if (parsed.service !== 'ses') {
    return { status: 403, code: 'SignatureDoesNotMatch', message: "Credential should be scoped to correct service: 'ses'." };
  }
  if (parsed.region !== account.region) {
    return {
      status: 403,
      code: 'SignatureDoesNotMatch',
      message: `Credential should be scoped to a valid region, not '${parsed.region}'.`,
    };
  }
  const amzDate = single(request.headers['x-amz-date']);
  if (amzDate === undefined || !/^\d{8}T\d{6}Z$/.test(amzDate)) {
    return {
      status: 400,
      code: 'IncompleteSignatureException',
      message: "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.",
    };
  }
  if (amzDate.slice(0, 8) !== parsed.date) {
    return {
      status: 403,
      code: 'SignatureDoesNotMatch',
      message: `Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '${parsed.date}' != '${amzDate.slice(0, 8)}', from '${amzDate}'.`,
    };
  }
  const signedAt = Date.parse(
    `${amzDate.slice(0, 4)}-${amzDate.slice(4, 6)}-${amzDate.slice(6, 8)}T${amzDate.slice(9, 11)}:${amzDate.slice(11, 13)}:${amzDate.slice(13, 15)}Z`,
  );
  if (!Number.isFinite(signedAt) || Math.abs(now - signedAt) > maxSkewMs) {
    return {
      status: 403,
      code: 'InvalidSignatureException',
      message: `Signature expired: ${amzDate} is now earlier than ${compactDate(now - maxSkewMs)} (${compactDate(now)} - 15 min.)`,
    };
  }
  if (!parsed.signedHeaders.includes('host')) {
    return { status: 400, code: 'IncompleteSignatureException', message: "'Host' must be a signed header." };
  }
  const expected = signature(request, parsed, amzDate, account.secretAccessKey);
  const given = Buffer.from(parsed.signature, 'hex');
  const wanted = Buffer.from(expected ?? '', 'hex');
  if (expected === undefined || given.length !== wanted.length || !timingSafeEqual(given, wanted)) {
    return {
      status: 403,
      code: 'SignatureDoesNotMatch',
      message:
        'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.',
    };
  }
  return undefined;
}

/** Parses the header, or returns AWS's complaint about it. */
export function parseAuthorization(header: string): ParsedAuthorization | string {
  const algorithm = 'AWS4-HMAC-SHA256 ';
  if (!header.startsWith(algorithm)) return `Authorization header requires the ${algorithm.trim()} algorithm.`;
  const fields = new Map<string, string>();
  for (const part of header.slice(algorithm.length).split(',')) {
    const equals = part.indexOf('=');
    if (equals === -1) continue;
    fields.set(part.slice(0, equals).trim(), part.slice(equals + 1).trim());
  }
  const missing = ['Credential', 'SignedHeaders', 'Signature'].filter((name) => !fields.get(name));
  if (missing.length > 0) {
    const complaints = missing.map((name) => `Authorization header requires '${name}' parameter.`);
    return `${complaints.join(' ')} Authorization=${algorithm.trim()}`;
  }
  const credential = (fields.get('Credential') as string).split('/');
  const [accessKeyId, date, region, service, terminator] = credential;
  if (credential.length !== 5 || terminator !== 'aws4_request' || !/^\d{8}$/.test(date ?? '') || !accessKeyId || !region || !service) {
    return (
      "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '" +
      credential.slice(1).join('/') +
      "'"
    );
  }
  const signatureHex = fields.get('Signature') as string;
  if (!/^[0-9a-f]{64}$/.test(signatureHex)) return 'Signature must be 64 lower-case hexadecimal characters.';
  return {
    accessKeyId,
    date: date as string,
    region,
    service,
    signedHeaders: (fields.get('SignedHeaders') as string).split(';'),
    signature: signatureHex,
  };
}

/** The signature the request should carry, or undefined when its declared payload hash is not its body's. */
function signature(request: HttpRequest, parsed: ParsedAuthorization, amzDate: string, secret: string): string | undefined {
  const canonicalHeaders = parsed.signedHeaders
    .map((name) => `${name}:${(single(request.headers[name]) ?? '').replace(/\s+/g, ' ').trim()}\n`)
    .join('');
  // The body's own hash, always: a client-sent x-amz-content-sha256 that differs (or says UNSIGNED-PAYLOAD) fails the comparison.
  const payloadHash = createHash('sha256').update(request.body).digest('hex');
  const declared = single(request.headers['x-amz-content-sha256']);
  if (declared !== undefined && declared !== payloadHash) return undefined;
  const canonicalRequest = [
    request.method,
    canonicalPath(request.url.pathname),
    canonicalQuery(request.url.searchParams),
    canonicalHeaders,
    parsed.signedHeaders.join(';'),
    payloadHash,
  ].join('\n');
  const scope = `${parsed.date}/${parsed.region}/${parsed.service}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, createHash('sha256').update(canonicalRequest).digest('hex')].join('\n');
  let key: Buffer = hmac(`AWS4${secret}`, parsed.date);
  for (const part of [parsed.region, parsed.service, 'aws4_request']) key = hmac(key, part);
  return hmac(key, stringToSign).toString('hex');
}

function hmac(key: string | Buffer, data: string): Buffer {
  return createHmac('sha256', key).update(data).digest();
}

// Every service but S3 signs the path URI-encoded a second time, after normalising "." and "..".
function canonicalPath(path: string): string {
  const segments: string[] = [];
  for (const segment of path.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') segments.pop();
    else segments.push(segment);
  }
  const normalised = `/${segments.join('/')}${segments.length > 0 && path.endsWith('/') ? '/' : ''}`;
  return escapeUri(normalised).replace(/%2F/g, '/');
}

function canonicalQuery(params: URLSearchParams): string {
  return [...params]
    .map(([name, value]) => [escapeUri(name), escapeUri(value)] as const)
    .sort(([a, x], [b, y]) => (a < b ? -1 : a > b ? 1 : x < y ? -1 : x > y ? 1 : 0))
    .map(([name, value]) => `${name}=${value}`)
    .join('&');
}

function escapeUri(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`);
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(',') : value;
}

function compactDate(ms: number): string {
  return new Date(ms)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
}
