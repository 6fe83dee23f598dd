import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

// The names of `export { type X }`, `export type { X }` and `export interface X` in an entry point's source.
function typeExports(file: string): string[] {
  const source = readFileSync(new URL(file, import.meta.url), 'utf8');
  const listed = [...source.matchAll(/export (type )?\{([^}]*)\}/g)].flatMap(([, allTypes, names = '']) =>
    names
      .split(',')
      .map((name) => name.trim())
      .filter((name) => name !== '' && (allTypes !== undefined || name.startsWith('type ')))
      .map((name) => name.replace(/^type /, '')),
  );
  const declared = [...source.matchAll(/export (?:interface|type) (\w+)/g)].map(([, name = '']) => name);
  return [...listed, ...declared].sort();
}

// What the README and docs/writing-a-transport.md documents, and nothing else: a new export is a decision to make here, not an accident.
describe('the public surface', () => {
  it('@mailport/core', async () => {
    expect(Object.keys(await import('./index.js')).sort()).toEqual([
      'MailError',
      'Secret',
      'adapterPackages',
      'assertCapabilities',
      'beforeConnectCodes',
      'capabilityError',
      'certificateCodes',
      'certificateRemediation',
      'checkCapabilities',
      'copyMessage',
      'createFileTransport',
      'createMailer',
      'createMemoryTransport',
      'createMessage',
      'createTokenCache',
      'createTransport',
      'defineTransport',
      'failover',
      'formatAddress',
      'formatBytes',
      'invalidMessage',
      'isAbortFrom',
      'isBeforeConnect',
      'isCertificateError',
      'isFailoverError',
      'isLoopback',
      'isSecretParameter',
      'memoryTransport',
      'mimeSizeBound',
      'noAnswerError',
      'parseAddress',
      'parseDuration',
      'parseRetryAfter',
      'parseTransportUrl',
      'raceAbort',
      'readAttachment',
      'readJson',
      'redactUrl',
      'registerTransport',
      'registerTransportPackage',
      'renderMime',
      'renderMimeParts',
      'requestsDkim',
      'requiresSmtpUtf8',
      'roundRobin',
      'safeCause',
      'sizeProblem',
      'sleep',
      'toMailError',
      'transportFromEnv',
      'urlParams',
      'withTransport',
    ]);
    expect(typeExports('./index.ts')).toEqual([
      'AccessToken',
      'AdapterOptions',
      'AdapterOptionsFor',
      'Address',
      'AddressInput',
      'AfterSendEvent',
      'Attachment',
      'AttachmentContent',
      'AttachmentInput',
      'AttachmentSource',
      'BeforeSendEvent',
      'CapabilityCheckOptions',
      'CapabilityHolder',
      'CapabilityName',
      'CapabilityProblem',
      'CreateMessageOptions',
      'CreateTransportOptions',
      'DefinedTransport',
      'DkimAlgorithm',
      'DkimCapability',
      'DkimKey',
      'DkimKeyInput',
      'DkimOptions',
      'DkimRefusal',
      'EmailMessage',
      'Envelope',
      'FailoverOptions',
      'FileTransportOptions',
      'GetAccessTokenOptions',
      'Header',
      'HeaderRule',
      'ListUnsubscribe',
      'ListUnsubscribeInput',
      'MailErrorCode',
      'MailErrorOptions',
      'Mailer',
      'MailerHooks',
      'MailerInput',
      'MailerOptions',
      'MemoryTransport',
      'MemoryTransportOptions',
      'MessageInput',
      'NoAnswer',
      'NoAnswerCase',
      'NoAnswerOptions',
      'RecipientError',
      'RenderMimeOptions',
      'RenderedMime',
      'RetryOptions',
      'RoundRobinOptions',
      'RouteStep',
      'SendErrorEvent',
      'SendManyOptions',
      'SendOptions',
      'SendOutcome',
      'SendReceipt',
      'SendResult',
      'SentLookup',
      'SentMessage',
      'TokenCacheOptions',
      'TokenProvider',
      'Transport',
      'TransportAdapter',
      'TransportCapabilities',
      'TransportDefinition',
      'TransportFactory',
      'TransportFactoryContext',
      'TransportUrl',
      'UrlParams',
      'UrlParamsOptions',
      'VerifyCheck',
      'VerifyReport',
    ]);
  });
  it('@mailport/core/testing', async () => {
    expect(Object.keys(await import('./testing/index.js')).sort()).toEqual([
      'assertNothingSent',
      'assertSent',
      'createMemoryTransport',
      'createTestTransport',
      'findSent',
      'mailportMatchers',
    ]);
    expect(typeExports('./testing/index.ts')).toEqual(['MemoryTransport', 'MemoryTransportOptions', 'SentMatch', 'SentMessage']);
  });
  it('@mailport/core/dkim', async () => {
    expect(Object.keys(await import('./dkim/index.js')).sort()).toEqual([
      'compareDkimRecord',
      'defaultDkimHeaders',
      'dkimRecord',
      'dkimSignatures',
      'parseDkimRecord',
      'resolveDkimOptions',
      'selectDkimKeys',
      'signRendering',
    ]);
    expect(typeExports('./dkim/index.ts')).toEqual([
      'DkimAlgorithm',
      'DkimKey',
      'DkimKeyInput',
      'DkimOptions',
      'DkimRecord',
      'DkimRecordComparison',
      'DkimSignatureOptions',
      'ResolvedDkim',
    ]);
  });
  it('@mailport/core/jwt', async () => {
    expect(Object.keys(await import('./jwt/index.js')).sort()).toEqual([
      'base64url',
      'importRs256Key',
      'nodeLibrariesWork',
      'pemBlocks',
      'signRs256',
      'x5t',
    ]);
  });
  it('@mailport/core/http', async () => {
    expect(Object.keys(await import('./http/index.js')).sort()).toEqual([
      'HttpError',
      'beforeConnectCodes',
      'certificateCodes',
      'certificateRemediation',
      'createHttpClient',
      'fetchOver',
      'httpResponse',
      'isBeforeConnect',
      'isCertificateError',
      'parseRetryAfter',
      'readJson',
      'safeCause',
      'sendHttp',
      'trustedCas',
    ]);
    expect(typeExports('./http/index.ts')).toEqual([
      'CaInput',
      'HttpBody',
      'HttpClient',
      'HttpClientOptions',
      'HttpRequest',
      'HttpResponse',
    ]);
  });
});
