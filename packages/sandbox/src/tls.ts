import { generate } from 'selfsigned';

/** A key and certificate, PEM. */
export interface TlsIdentity {
  readonly key: string;
  readonly cert: string;
}

let generated: Promise<TlsIdentity> | undefined;

/**
 * A self-signed certificate for localhost, 127.0.0.1 and ::1 that can also act as its own CA:
 * trust it (`ca_file`, `NODE_EXTRA_CA_CERTS`, or a client's `ca` option) and every TLS endpoint
 * of the sandbox verifies. Generated once per process; EC P-256 keeps that fast.
 */
export function sandboxCertificate(): Promise<TlsIdentity> {
  generated ??= generate([{ name: 'commonName', value: 'mailport sandbox' }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notAfterDate: new Date(Date.now() + 365 * 24 * 3600 * 1000),
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', digitalSignature: true, keyCertSign: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          { type: 2, value: 'localhost' },
          { type: 7, ip: '127.0.0.1' },
          { type: 7, ip: '::1' },
        ],
      },
    ],
  }).then((result) => ({ key: result.private, cert: result.cert }));
  return generated;
}
