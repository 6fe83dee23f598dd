export { type MicrosoftAppOnlyOptions, microsoftAppOnly, microsoftAuthorityHosts } from './microsoft-app-only.js';
export { type MicrosoftAppOnlyFetchOptions, microsoftAppOnlyFetch } from './microsoft-app-only-fetch.js';
export { type MicrosoftDelegatedOptions, microsoftDelegated } from './microsoft-delegated.js';
export { type MicrosoftTokenFailure, mapMicrosoftTokenError } from './microsoft-errors.js';
export { type TokenProviderFromUrlOptions, tokenProviderFromUrl } from './microsoft-url.js';
