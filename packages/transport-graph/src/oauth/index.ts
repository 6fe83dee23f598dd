export { type MicrosoftAppOnlyOptions, microsoftAppOnly, microsoftAuthorityHosts, microsoftScopes } from './microsoft-app-only.js';
export { type MicrosoftDelegatedOptions, microsoftDelegated } from './microsoft-delegated.js';
export {
  type MicrosoftTokenFailure,
  mapMicrosoftTokenError,
  reconsentRemediation,
  tokenFailureFromIdentityError,
} from './microsoft-errors.js';
export {
  type MicrosoftUrlCredentials,
  microsoftCredentialsFromUrl,
  type TokenProviderFromUrlOptions,
  tokenProviderFromUrl,
} from './microsoft-url.js';
