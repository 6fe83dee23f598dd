import { generate } from 'selfsigned';

/** A key and certificate, PEM. */
export interface TlsIdentity {
  readonly key: string;
  readonly cert: string;
}

let generated: Promise<TlsIdentity> | undefined;

const dnsNames = [{ type: 2 as const, value: 'localhost' }];
const ipAddresses = [
  { type: 7 as const, ip: '127.0.0.1' },
  { type: 7 as const, ip: '::1' },
];

/**
 * A certificate for localhost, 127.0.0.1 and ::1, issued by a CA made for it: `cert` is the chain
 * (the server's certificate, then the CA's), so trusting `cert` (`ca_file`, `NODE_EXTRA_CA_CERTS`,
 * or a client's `ca` option) trusts the CA, and every TLS endpoint of the sandbox verifies. A real
 * leaf under a real CA, not a CA used as a server's certificate: strict TLS stacks (rustls, in
 * Deno) refuse the latter. Generated once per process; EC P-256 keeps that fast.
 */
export function sandboxCertificate(): Promise<TlsIdentity> {
  generated ??= (async () => {
    const notAfterDate = new Date(Date.now() + 365 * 24 * 3600 * 1000);
    const ca = await generate([{ name: 'commonName', value: 'mailport sandbox CA' }], {
      keyType: 'ec',
      curve: 'P-256',
      algorithm: 'sha256',
      notAfterDate,
      extensions: [
        { name: 'basicConstraints', cA: true, critical: true },
        { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
      ],
    });
    const leaf = await generate([{ name: 'commonName', value: 'mailport sandbox' }], {
      keyType: 'ec',
      curve: 'P-256',
      algorithm: 'sha256',
      notAfterDate,
      ca: { key: ca.private, cert: ca.cert },
      extensions: [
        { name: 'basicConstraints', cA: false, critical: true },
        { name: 'keyUsage', digitalSignature: true, critical: true },
        { name: 'extKeyUsage', serverAuth: true },
        { name: 'subjectAltName', altNames: [...dnsNames, ...ipAddresses] },
      ],
    });
    return { key: leaf.private, cert: `${leaf.cert.trim()}\n${ca.cert.trim()}\n` };
  })();
  return generated;
}
