import type { Mailer, SendReceipt } from '@mailport/core';

/** The application's code, the same at every step of the migration. */
export function notifyInvoice(mailer: Mailer, invoice: { number: string; customer: string }): Promise<SendReceipt> {
  return mailer.send({
    to: invoice.customer,
    subject: `Invoice ${invoice.number}`,
    text: `Your invoice ${invoice.number} is ready.`,
    headers: { 'X-Invoice': invoice.number },
  });
}
