import type { Mailer, SendReceipt } from '@mailport/core';

/**
 * The application's code: it knows nothing about SMTP, files or providers. Which transport
 * carries the message is decided by configuration (a URL), never here.
 */
export async function sendWelcome(mailer: Mailer, user: { name: string; email: string }): Promise<SendReceipt> {
  return mailer.send({
    to: { name: user.name, address: user.email },
    subject: `Welcome, ${user.name}!`,
    text: `Hi ${user.name},\n\nyour account is ready.\n\n— The Shop`,
    html: `<p>Hi ${escapeHtml(user.name)},</p><p>your account is ready.</p><p>— The Shop</p>`,
    headers: { 'X-Welcome-Version': '1' },
  });
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}
