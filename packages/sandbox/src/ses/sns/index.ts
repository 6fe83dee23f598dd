export {
  createSnsHub,
  type SandboxSns,
  type SesEventDestination,
  type SnsHub,
  type SnsSubscription,
  type SnsSubscriptionState,
} from './sns-publisher.js';
export { type AcceptedSesMessage, type SesEventRecord, sesEventRecords, simulatorScenario } from './sns-records.js';
export { createSnsEmulator } from './sns-routes.js';
