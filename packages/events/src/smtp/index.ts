/**
 * `@mailport/events/smtp`: a bounce receiver, the SMTP server for the bounce domain that the SMTP
 * transport's VERP envelope senders point at. Loaded only when imported (it brings `smtp-server`
 * and the report parsers).
 */
export {
  type BounceReceiver,
  type BounceReceiverOptions,
  type BounceReceiverReport,
  createBounceReceiver,
} from './bounce-receiver.js';
