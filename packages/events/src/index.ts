/**
 * `@mailport/events`: what happened after the send, as one event stream. The main entry holds the
 * model, the send log, suppression and one-click unsubscribe (only `node:crypto` and `node:fs`);
 * the sources load only when imported: `./ses` (SNS webhooks, EventBridge/SQS), `./reports`
 * (bounces and complaints that come back as mail), `./smtp` (a bounce receiver), `./mailbox`
 * (Gmail API and Graph mailbox readers).
 */
export * from './model.js';
export { type NodeListenerOptions, nodeListener } from './node-handler.js';
export { createEventPipeline, type EventPipeline, type EventPipelineOptions } from './pipeline.js';
export { createMemorySendLog, type MemorySendLog, type MemorySendLogOptions } from './send-log.js';
export { createFileSendLog, type FileSendLog, type FileSendLogOptions } from './send-log-file.js';
export { createMemorySuppressionStore, type SuppressionFilterOptions, suppressionFilter } from './suppression.js';
export { createFileSuppressionStore, type FileSuppressionStore } from './suppression-file.js';
export { createUnsubscribe, type Unsubscribe, type UnsubscribeOptions } from './unsubscribe.js';
