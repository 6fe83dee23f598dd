/**
 * Largest message SES v2 sends: "40 MB per message (after base64 encoding)" (SES quotas),
 * counted on the MIME message as delivered (Raw `Data` decoded from the request's base64).
 * AWS gives no byte count: the emulator takes the lower reading, 40,000,000 bytes, so that
 * whatever it accepts, SES accepts too.
 */
export const sesMaxMessageBytes: number = 40_000_000;
/** Recipients (To, Cc and Bcc together) per message (SES quotas). */
export const sesMaxRecipients: number = 50;
/** Entries per SendBulkEmail call. */
export const sesMaxBulkEntries: number = 50;

/** Largest request body read: a 40 MB message is about 56 MB once base64-encoded inside the JSON request. */
export const sesMaxRequestBytes: number = 64 * 1024 * 1024;
