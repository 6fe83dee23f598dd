/**
 * Google OAuth for mailport: token providers for the Gmail API transport and for SMTP XOAUTH2.
 * Loads google-auth-library only (never the Gmail API client).
 *
 * @module
 */
export {
  type GoogleCredentialSource,
  googleCredentialParameters,
  resolveGoogleCredentials,
  type TokenProviderFromUrlOptions,
  tokenProviderFromUrl,
} from './google-credentials.js';
export {
  type GoogleServiceAccountKey,
  type GoogleServiceAccountOptions,
  type GoogleTokenOptions,
  type GoogleUserOAuthOptions,
  gmailFullScope,
  gmailSendScope,
  gmailSettingsScope,
  googleServiceAccount,
  googleTokenUrl,
  googleUserOAuth,
} from './google-oauth.js';
export {
  type GoogleTokenContext,
  type GoogleTokenFailure,
  mapGoogleTokenError,
  reconsentRemediation,
  retryAfterMs,
  tokenFailureFrom,
} from './google-token-errors.js';
