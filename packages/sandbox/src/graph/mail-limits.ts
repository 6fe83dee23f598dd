/** Limits the emulator enforces, with where each comes from. */
export const graphLimits: Readonly<{
  requestBytes: number;
  maxMessageBytes: number;
  minUploadSessionBytes: number;
  maxChunkBytes: number;
  maxRecipients: number;
  maxCustomHeaders: number;
  mailboxConcurrency: number;
}> = Object.freeze({
  // "The maximum request length supported is 4MB." (Graph, for sendMail and every mail write).
  requestBytes: 4 * 1024 * 1024,
  // Exchange Online's message size limit can be raised to 150 MB; the sandbox's mailboxes are set so.
  maxMessageBytes: 150 * 1024 * 1024,
  // attachment: createUploadSession: "between 3 MB and 150 MB"; smaller ones go to the attachments endpoint.
  minUploadSessionBytes: 3_000_000,
  // Upload ranges "up to 4 MB each time".
  maxChunkBytes: 4 * 1024 * 1024,
  // Exchange Online: 500 recipients per message.
  maxRecipients: 500,
  // internetMessageHeaders: at most 5, each named x-... (InvalidInternetMessageHeaderCollection).
  maxCustomHeaders: 5,
  // Outlook service limits: 4 concurrent requests per app per mailbox.
  mailboxConcurrency: 4,
});

// How long a mailbox request holds its slot, so that concurrent requests overlap as they do on
// Exchange (whose answers take tens of milliseconds) and the concurrency limit can be observed.
export const processingMs: number = 10;
