/**
 * `@mailport/core/jwt`: RS256 JWTs with WebCrypto (`crypto.subtle`), for the OAuth layers'
 * client assertions (Google's JWT bearer grant, Entra's certificate credentials) on runtimes where
 * the official Node libraries cannot run (Cloudflare Workers). Runtime-neutral: no Node modules.
 * A subpath of its own, so an application that never signs a JWT never loads it.
 */
import { decryptPkcs8 } from './pkcs8-decrypt.js';

/** Whether the official Node libraries work here: Node, Bun and Deno yes; Cloudflare Workers (workerd) and other fetch-only runtimes no. */
export function nodeLibrariesWork(): boolean {
  const runtime = globalThis as {
    Bun?: unknown;
    Deno?: unknown;
    navigator?: { userAgent?: string };
    process?: { versions?: { node?: string } };
  };
  // workerd with nodejs_compat has a process object too, but no node:https behind it.
  if (runtime.navigator?.userAgent === 'Cloudflare-Workers') return false;
  return runtime.Bun !== undefined || runtime.Deno !== undefined || typeof runtime.process?.versions?.node === 'string';
}

/** The DER bytes of every PEM block labelled `label` (`CERTIFICATE`, `PRIVATE KEY`, ...). */
export function pemBlocks(pem: string, label: string): Uint8Array[] {
  const pattern = new RegExp(`-----BEGIN ${label}-----([\\s\\S]*?)-----END ${label}-----`, 'g');
  return [...pem.matchAll(pattern)].map((match) => fromBase64((match[1] as string).replace(/\s+/g, '')));
}

function fromBase64(text: string): Uint8Array {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let index = 0; index < binary.length; index++) bytes[index] = binary.charCodeAt(index);
  return bytes;
}

/** base64url without padding, of bytes or of a string's UTF-8. */
export function base64url(input: Uint8Array | string): string {
  const bytes = typeof input === 'string' ? new TextEncoder().encode(input) : input;
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function derLength(length: number): number[] {
  if (length < 0x80) return [length];
  const bytes: number[] = [];
  for (let rest = length; rest > 0; rest >>= 8) bytes.unshift(rest & 0xff);
  return [0x80 | bytes.length, ...bytes];
}

function der(tag: number, content: Uint8Array): Uint8Array {
  return Uint8Array.from([tag, ...derLength(content.length), ...content]);
}

/** PKCS#1 `RSA PRIVATE KEY` wrapped as PKCS#8, which is the only RSA private key form WebCrypto imports. */
function pkcs1ToPkcs8(pkcs1: Uint8Array): Uint8Array {
  const version = Uint8Array.from([0x02, 0x01, 0x00]);
  // SEQUENCE { OID 1.2.840.113549.1.1.1 (rsaEncryption), NULL }
  const algorithm = Uint8Array.from([0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00]);
  const octets = der(0x04, pkcs1);
  return der(0x30, Uint8Array.from([...version, ...algorithm, ...octets]));
}

/**
 * Imports the RSA private key in `pem` (PKCS#8 `PRIVATE KEY`, PKCS#1 `RSA PRIVATE KEY`, or with
 * `password` an `ENCRYPTED PRIVATE KEY`: PBES2, PBKDF2 and AES-CBC, decrypted with WebCrypto) for
 * RS256 signing. Undefined when there is none. Throws when an encrypted key comes without a
 * password, or the password is wrong.
 */
export async function importRs256Key(pem: string, password?: string): Promise<CryptoKey | undefined> {
  let pkcs8 = pemBlocks(pem, 'PRIVATE KEY')[0] ?? pemBlocks(pem, 'RSA PRIVATE KEY').map(pkcs1ToPkcs8)[0];
  const encrypted = pemBlocks(pem, 'ENCRYPTED PRIVATE KEY')[0];
  if (pkcs8 === undefined && encrypted !== undefined) {
    if (password === undefined) throw new Error('the private key is encrypted and no password was given');
    pkcs8 = await decryptPkcs8(encrypted, password);
  }
  if (pkcs8 === undefined) return undefined;
  return crypto.subtle.importKey('pkcs8', pkcs8 as Uint8Array<ArrayBuffer>, { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, false, [
    'sign',
  ]);
}

/** A compact JWS (JWT) signed with RS256. */
export async function signRs256(header: Record<string, unknown>, claims: Record<string, unknown>, key: CryptoKey): Promise<string> {
  const input = `${base64url(JSON.stringify({ alg: 'RS256', typ: 'JWT', ...header }))}.${base64url(JSON.stringify(claims))}`;
  const signature = await crypto.subtle.sign('RSASSA-PKCS1-v1_5', key, new TextEncoder().encode(input));
  return `${input}.${base64url(new Uint8Array(signature))}`;
}

/** The SHA-1 thumbprint of a DER certificate, base64url: the `x5t` header Entra ID finds the registered certificate by. */
export async function x5t(certificate: Uint8Array): Promise<string> {
  return base64url(new Uint8Array(await crypto.subtle.digest('SHA-1', certificate as Uint8Array<ArrayBuffer>)));
}

export { decryptPkcs8 } from './pkcs8-decrypt.js';
