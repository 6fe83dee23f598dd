export { type Address, type AddressInput, formatAddress, parseAddress, requiresSmtpUtf8 } from './address.js';
export {
  assertCapabilities,
  type CapabilityCheckOptions,
  type CapabilityHolder,
  type CapabilityName,
  type CapabilityProblem,
  capabilityError,
  checkCapabilities,
  formatBytes,
  mimeSizeBound,
  sizeProblem,
} from './capabilities.js';
export { type FailoverOptions, failover, isFailoverError, type RoundRobinOptions, roundRobin } from './composite.js';
export {
  type AdapterOptions,
  type AdapterOptionsFor,
  adapterPackages,
  type CreateTransportOptions,
  createTransport,
  parseDuration,
  parseTransportUrl,
  registerTransport,
  registerTransportPackage,
  type TransportAdapter,
  type TransportFactory,
  type TransportFactoryContext,
  type TransportUrl,
  transportFromEnv,
  type UrlParams,
  type UrlParamsOptions,
  urlParams,
} from './config.js';
export { type DefinedTransport, defineTransport, type SendResult, type TransportDefinition } from './define-transport.js';
export type { DkimAlgorithm, DkimKey, DkimKeyInput, DkimOptions } from './dkim/dkim-keys.js';
export { requestsDkim } from './dkim/dkim-plan.js';
export {
  invalidMessage,
  isAbortFrom,
  MailError,
  type MailErrorCode,
  type MailErrorOptions,
  type RecipientError,
  withTransport,
} from './errors.js';
export { createFileTransport, type FileTransportOptions } from './file-transport.js';
export { isLoopback } from './loopback.js';
export {
  type AfterSendEvent,
  type BeforeSendEvent,
  createMailer,
  type Mailer,
  type MailerHooks,
  type MailerInput,
  type MailerOptions,
  type SendErrorEvent,
  type SendManyOptions,
  type SendOutcome,
} from './mailer.js';
export {
  createMemoryTransport,
  type MemoryTransport,
  type MemoryTransportOptions,
  memoryTransport,
  type SentMessage,
} from './memory-transport.js';
export {
  type Attachment,
  type AttachmentContent,
  type AttachmentInput,
  type AttachmentSource,
  type CreateMessageOptions,
  copyMessage,
  createMessage,
  type EmailMessage,
  type Envelope,
  type Header,
  type ListUnsubscribe,
  type ListUnsubscribeInput,
  type MessageInput,
} from './message.js';
export { type RenderedMime, type RenderMimeOptions, readAttachment, renderMime, renderMimeParts } from './mime.js';
export {
  beforeConnectCodes,
  certificateCodes,
  certificateRemediation,
  isBeforeConnect,
  isCertificateError,
  parseRetryAfter,
  readJson,
  safeCause,
} from './network.js';
export { type NoAnswer, type NoAnswerCase, type NoAnswerOptions, noAnswerError } from './no-answer.js';
export { toMailError } from './normalize-error.js';
export { type RetryOptions, raceAbort, sleep } from './retry.js';
export { isSecretParameter, redactUrl, Secret } from './secret.js';
export type { RecipientBlock, RecipientFilter, SendLogRecord, SendLogWriter } from './suppression.js';
export type { MailerTelemetryOptions } from './telemetry.js';
export { createTokenCache, type TokenCacheOptions } from './token.js';
export type {
  AccessToken,
  DkimCapability,
  DkimRefusal,
  GetAccessTokenOptions,
  HeaderRule,
  RouteStep,
  SendOptions,
  SendReceipt,
  SentLookup,
  TokenProvider,
  Transport,
  TransportCapabilities,
  VerifyCheck,
  VerifyReport,
} from './transport.js';
