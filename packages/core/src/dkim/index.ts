// @mailport/core/dkim: DKIM signing (RFC 6376, RFC 8463) on node:crypto, and the key records to
// publish. A mailer with `dkim` loads the signer itself, on its first signed message; import this
// entry point to sign bytes yourself, to print the DNS record of a key, or to check a published one.
export {
  type DkimAlgorithm,
  type DkimKey,
  type DkimKeyInput,
  type DkimOptions,
  defaultDkimHeaders,
  type ResolvedDkim,
  resolveDkimOptions,
  selectDkimKeys,
} from './dkim-keys.js';
export {
  compareDkimRecord,
  type DkimRecord,
  type DkimRecordComparison,
  dkimRecord,
  parseDkimRecord,
} from './dkim-record.js';
export { type DkimSignatureOptions, dkimSignatures, signRendering } from './dkim-sign.js';
