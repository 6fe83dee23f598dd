/**
 * Google OAuth for mailport: token providers for the Gmail API transport and for SMTP XOAUTH2.
 * Loads google-auth-library only (never the Gmail API client).
 *
 * @module
 */
export { type TokenProviderFromUrlOptions, tokenProviderFromUrl } from './google-credentials.js';
export {
  type GoogleServiceAccountKey,
  type GoogleServiceAccountOptions,
  type GoogleUserOAuthOptions,
  googleServiceAccount,
  googleUserOAuth,
} from './google-oauth.js';
export { type GoogleFetchGrant, type GoogleFetchOptions, googleTokensFetch } from './google-oauth-fetch.js';
