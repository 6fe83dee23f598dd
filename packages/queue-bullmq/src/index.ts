export type {
  DeadLetter,
  DeadLetterError,
  DeadLetterKind,
  DeadLetters,
  EnqueueOptions,
  EnqueueResult,
  KeyLimits,
  LedgerBegin,
  LedgerEntry,
  LedgerState,
  Limiter,
  LimiterAnswer,
  LimitKeyState,
  MailQueue,
  MailWorker,
  MessageStatus,
  ProviderLookup,
  QueueCounts,
  Quota,
  RateLimit,
  SendLedger,
  SentRecord,
  UncertainPolicy,
  WaitReason,
} from './contract.js';
export { createRedisLedger } from './ledger.js';
export { createRedisLimiter } from './limiter.js';
export { defaultLimitKey, type LimitConfig, type LimitUnit, providerDefaults } from './limits.js';
export { type EncryptionKey, jobIdFor } from './message-codec.js';
export { createMailQueue, type MailQueueOptions, queueDefaults } from './queue.js';
export { checkRedis, type RedisConnection, type RedisReport } from './redis.js';
export type { TelemetryOptions } from './telemetry.js';
export {
  type AttemptEvent,
  createMailWorker,
  type MailWorkerOptions,
  type RouteOptions,
  type SettledEvent,
  type WorkerHooks,
} from './worker.js';
