import { createSign } from 'node:crypto';
import { generate } from 'selfsigned';

/** The RSA key SNS signs with and the certificate it serves at `SigningCertURL`, PEM. */
export interface SnsSigningIdentity {
  readonly key: string;
  readonly cert: string;
}

let generated: Promise<SnsSigningIdentity> | undefined;

/**
 * The sandbox's SNS signing identity: an RSA 2048 key and a self-signed certificate for it,
 * separate from the TLS certificate (that one is EC and a CA; SNS signs with RSA, and a verifier
 * only reads the certificate's public key). Generated once per process, on first use.
 */
export function snsSigningIdentity(): Promise<SnsSigningIdentity> {
  generated ??= generate([{ name: 'commonName', value: 'sns.amazonaws.com (mailport sandbox)' }], {
    keyType: 'rsa',
    keySize: 2048,
    algorithm: 'sha256',
    notAfterDate: new Date(Date.now() + 365 * 24 * 3600 * 1000),
    extensions: [
      { name: 'basicConstraints', cA: false, critical: true },
      { name: 'keyUsage', digitalSignature: true, critical: true },
    ],
  }).then((result) => ({ key: result.private, cert: result.cert }));
  return generated;
}

/** The fields of an SNS HTTP(S) message, as posted (JSON). */
export interface SnsMessageFields {
  readonly Type: 'Notification' | 'SubscriptionConfirmation' | 'UnsubscribeConfirmation';
  readonly MessageId: string;
  readonly TopicArn: string;
  readonly Message: string;
  readonly Timestamp: string;
  readonly Subject?: string | undefined;
  readonly Token?: string | undefined;
  readonly SubscribeURL?: string | undefined;
}

// SNS developer guide, "Verifying the signatures of Amazon SNS messages": the fields in this byte
// order, each as "Name\nvalue\n"; a Notification's Subject only when it has one.
const notificationFields = ['Message', 'MessageId', 'Subject', 'Timestamp', 'TopicArn', 'Type'] as const;
const subscriptionFields = ['Message', 'MessageId', 'SubscribeURL', 'Timestamp', 'Token', 'TopicArn', 'Type'] as const;

/** AWS's string to sign for one SNS message. */
export function snsStringToSign(message: SnsMessageFields): string {
  const names = message.Type === 'Notification' ? notificationFields : subscriptionFields;
  let text = '';
  for (const name of names) {
    const value = message[name];
    if (value !== undefined) text += `${name}\n${value}\n`;
  }
  return text;
}

/** The base64 `Signature`: SHA1withRSA for SignatureVersion 1, SHA256withRSA for 2. */
export function snsSignature(message: SnsMessageFields, version: '1' | '2', key: string): string {
  return createSign(version === '1' ? 'RSA-SHA1' : 'RSA-SHA256')
    .update(snsStringToSign(message), 'utf8')
    .sign(key, 'base64');
}
