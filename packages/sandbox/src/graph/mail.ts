import type { EmulatorContext } from '../context.js';
import type { Route } from '../http.js';
import { createGraphMailContext } from './mail-context.js';
import { draftRoutes } from './mail-drafts.js';
import { inboxRoutes } from './mail-inbox.js';
import { sendMailRoutes } from './mail-send.js';
import { sentItemsRoutes } from './mail-sent-items.js';
import { uploadRoutes } from './mail-uploads.js';
import { userRoutes } from './mail-users.js';

export { graphLimits } from './mail-limits.js';

/**
 * Microsoft Graph v1.0 mail: sendMail (JSON and MIME), drafts, small attachments, upload
 * sessions with a pre-authenticated upload URL, draft send, the user object, and Sent Items by
 * internetMessageId, the inbox (list, MIME, PATCH isRead) with the scenario reports; for
 * `/users/{id}` (app-only or delegated tokens) and `/me` (delegated).
 */
export function graphMailRoutes(context: EmulatorContext): Route[] {
  const mail = createGraphMailContext(context);
  return [
    ...sendMailRoutes(mail),
    ...draftRoutes(mail),
    ...uploadRoutes(mail),
    ...userRoutes(mail),
    // Before Sent Items: its /mailFolders/:folder/messages would take the inbox too.
    ...inboxRoutes(mail),
    ...sentItemsRoutes(mail),
  ];
}
