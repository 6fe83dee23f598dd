/**
 * A stand-in for SNS in tests: an RSA signing key with its certificate (and an expired and a
 * not-yet-valid one for the same key), served over https on 127.0.0.1 with a private CA, the
 * SubscribeURL endpoint, and a signer that builds SNS envelopes as AWS documents them.
 */
import { createSign, generateKeyPairSync, randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createServer as createHttpServer, type Server as HttpServer, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { generate } from 'selfsigned';

export interface SnsTestServer {
  /** `127.0.0.1:PORT` of the https listener. */
  readonly host: string;
  /** The https listener's certificate, which is also its CA. */
  readonly ca: string;
  /** `http://127.0.0.1:PORT` of a plain-http listener serving the same certificate. */
  readonly plainBase: string;
  readonly signingCertificate: string;
  /** SubscribeURL requests that arrived, as path and query. */
  readonly confirmations: string[];
  /** Certificate requests that arrived, by path. */
  readonly certificateRequests: string[];
  sign(fields: SnsFields, options?: SignOptions): Record<string, string>;
  close(): Promise<void>;
}

export interface SnsFields {
  readonly Type?: 'Notification' | 'SubscriptionConfirmation' | 'UnsubscribeConfirmation';
  readonly TopicArn: string;
  readonly Message: string;
  readonly Subject?: string;
  readonly MessageId?: string;
  readonly Timestamp?: string;
}

export interface SignOptions {
  readonly version?: '1' | '2';
  /** Path on the https listener (default `/SimpleNotificationService-test.pem`), or a whole URL. */
  readonly certificate?: string;
  readonly subscribeUrl?: string;
}

export async function startSnsTestServer(): Promise<SnsTestServer> {
  const keys = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  const keyPair = { privateKey: keys.privateKey, publicKey: keys.publicKey };
  const day = 24 * 3600 * 1000;
  const now = Date.now();
  const attributes = [{ name: 'commonName', value: 'sns.us-east-1.amazonaws.com' }];
  const [valid, expired, future, tls] = await Promise.all([
    generate(attributes, { keyPair, algorithm: 'sha256', notBeforeDate: new Date(now - day), notAfterDate: new Date(now + 30 * day) }),
    generate(attributes, { keyPair, algorithm: 'sha256', notBeforeDate: new Date(now - 60 * day), notAfterDate: new Date(now - day) }),
    generate(attributes, { keyPair, algorithm: 'sha256', notBeforeDate: new Date(now + 10 * day), notAfterDate: new Date(now + 60 * day) }),
    generate([{ name: 'commonName', value: 'sns test' }], {
      keyType: 'ec',
      curve: 'P-256',
      algorithm: 'sha256',
      extensions: [
        { name: 'basicConstraints', cA: true, critical: true },
        { name: 'keyUsage', digitalSignature: true, keyCertSign: true },
        { name: 'extKeyUsage', serverAuth: true },
        { name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }] },
      ],
    }),
  ]);
  const confirmations: string[] = [];
  const certificateRequests: string[] = [];
  const pending = new Set<ServerResponse>();

  const certificates: Record<string, string> = {
    '/SimpleNotificationService-test.pem': valid.cert,
    '/expired.pem': expired.cert,
    '/future.pem': future.cert,
    '/not-a-cert.pem': 'hello',
    '/huge.pem': `${valid.cert}\n${'x'.repeat(200_000)}`,
  };

  const routes = (path: string, response: ServerResponse): void => {
    if (path.endsWith('.pem')) certificateRequests.push(path);
    const pem = /^\/fresh-[a-z0-9-]+\.pem$/.test(path) ? valid.cert : certificates[path];
    if (pem !== undefined) {
      response.writeHead(200, { 'content-type': 'application/x-x509-ca-cert' });
      response.end(pem);
    } else if (path === '/redirect.pem') {
      response.writeHead(302, { location: '/SimpleNotificationService-test.pem' });
      response.end();
    } else if (path === '/slow.pem') {
      pending.add(response);
    } else if (path.startsWith('/?Action=ConfirmSubscription')) {
      confirmations.push(path);
      response.writeHead(200, { 'content-type': 'text/xml' });
      response.end(
        '<ConfirmSubscriptionResponse><ConfirmSubscriptionResult><SubscriptionArn>arn</SubscriptionArn></ConfirmSubscriptionResult></ConfirmSubscriptionResponse>',
      );
    } else {
      response.writeHead(404);
      response.end();
    }
  };

  const https: HttpsServer = createHttpsServer({ key: tls.private, cert: tls.cert }, (request, response) =>
    routes(request.url ?? '/', response),
  );
  https.listen(0, '127.0.0.1');
  await once(https, 'listening');
  const plain: HttpServer = createHttpServer((request, response) => routes(request.url ?? '/', response));
  plain.listen(0, '127.0.0.1');
  await once(plain, 'listening');
  const host = `127.0.0.1:${(https.address() as AddressInfo).port}`;

  const sign = (fields: SnsFields, options: SignOptions = {}): Record<string, string> => {
    const type = fields.Type ?? 'Notification';
    const version = options.version ?? '2';
    const certificate = options.certificate ?? '/SimpleNotificationService-test.pem';
    const envelope: Record<string, string> = {
      Type: type,
      MessageId: fields.MessageId ?? randomUUID(),
      TopicArn: fields.TopicArn,
      Message: fields.Message,
      Timestamp: fields.Timestamp ?? new Date().toISOString(),
      SignatureVersion: version,
      SigningCertURL: certificate.startsWith('/') ? `https://${host}${certificate}` : certificate,
    };
    if (fields.Subject !== undefined) envelope.Subject = fields.Subject;
    if (type !== 'Notification') {
      envelope.Token = 'token-1234';
      envelope.SubscribeURL =
        options.subscribeUrl ??
        `https://${host}/?Action=ConfirmSubscription&TopicArn=${encodeURIComponent(fields.TopicArn)}&Token=token-1234`;
    } else {
      envelope.UnsubscribeURL = `https://${host}/?Action=Unsubscribe&SubscriptionArn=arn`;
    }
    const signer = createSign(version === '1' ? 'RSA-SHA1' : 'RSA-SHA256');
    // Written out again here, not imported: the signer and the verifier must not share a mistake.
    const signed =
      type === 'Notification'
        ? ['Message', 'MessageId', 'Subject', 'Timestamp', 'TopicArn', 'Type']
        : ['Message', 'MessageId', 'SubscribeURL', 'Timestamp', 'Token', 'TopicArn', 'Type'];
    signer.update(
      signed
        .filter((key) => envelope[key] !== undefined)
        .map((key) => `${key}\n${envelope[key]}\n`)
        .join(''),
      'utf8',
    );
    envelope.Signature = signer.sign(keys.privateKey, 'base64');
    return envelope;
  };

  return {
    host,
    ca: tls.cert,
    plainBase: `http://127.0.0.1:${(plain.address() as AddressInfo).port}`,
    signingCertificate: valid.cert,
    confirmations,
    certificateRequests,
    sign,
    async close() {
      for (const response of pending) response.destroy();
      https.closeAllConnections();
      plain.closeAllConnections();
      await Promise.all([new Promise((resolve) => https.close(resolve)), new Promise((resolve) => plain.close(resolve))]);
    },
  };
}
