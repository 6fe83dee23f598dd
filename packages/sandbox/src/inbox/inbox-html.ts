import type { InboxAttachment } from './inbox-messages.js';

/**
 * The Content-Security-Policy of a message's HTML body. `sandbox` without `allow-scripts` or
 * `allow-same-origin` gives the document an opaque origin and no scripts even when it is opened
 * on its own, outside the inbox's iframe; images load only from data: URIs and the sandbox itself
 * (the inline parts), so opening a message never calls a tracker or any other remote host.
 */
export function messageHtmlPolicy(origin: string): string {
  return [
    'sandbox allow-popups allow-popups-to-escape-sandbox',
    "default-src 'none'",
    `img-src data: cid: ${origin}`,
    "style-src 'unsafe-inline'",
    'font-src data:',
    "base-uri 'none'",
    "form-action 'none'",
    `frame-ancestors ${origin}`,
  ].join('; ');
}

/**
 * A message's HTML as the inbox's iframe shows it: `cid:` references point at the parts' download
 * URLs (absolute, so a `<base href>` in the message cannot redirect them), and links open in a new
 * tab rather than inside the frame.
 */
export function htmlForFrame(html: string, attachments: readonly InboxAttachment[], origin: string): string {
  const byContentId = new Map<string, string>();
  for (const attachment of attachments) {
    if (attachment.contentId !== undefined) byContentId.set(attachment.contentId.toLowerCase(), `${origin}${attachment.url}`);
  }
  const rewritten = html.replace(/\bcid:([^"'\s)>]+)/gi, (reference, contentId: string) => {
    return byContentId.get(safeDecode(contentId).toLowerCase()) ?? reference;
  });
  // The first <base> with a target wins, so ours goes before anything the message has.
  const base = '<base target="_blank">';
  const head = /<head(?:\s[^>]*)?>/i.exec(rewritten) ?? /<html(?:\s[^>]*)?>/i.exec(rewritten);
  if (head === null) return `${base}${rewritten}`;
  const at = head.index + head[0].length;
  return `${rewritten.slice(0, at)}${base}${rewritten.slice(at)}`;
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
