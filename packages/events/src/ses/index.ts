/**
 * `@mailport/events/ses`: Amazon SES events. {@link createSesWebhook} receives them from an SNS
 * topic over HTTPS and verifies every message; {@link parseSesRecords} reads what arrives through
 * AWS itself (EventBridge, SQS, Lambda); {@link parseSesEvent} maps one SES record.
 */

export { parseSesEvent } from './ses-event.js';
export { parseSesRecords } from './ses-records.js';
export { createSesWebhook, type SesWebhook, type SesWebhookOptions } from './ses-webhook.js';
export {
  type SnsCertificateOptions,
  type SnsMessage,
  type SnsRejection,
  type SnsVerification,
  type SnsVerifyOptions,
  snsStringToSign,
  verifySnsMessage,
} from './sns-verify.js';
