/**
 * What every variant sends, and how much of it. One module, so the three variants cannot drift
 * apart in content or load.
 */

/** Messages per measured round; the issue asks for 1,000 in one run. */
export const messagesPerRound = 1_000;

/** Connections, and sends kept in flight, for every variant. */
export const concurrency = 5;

/**
 * Unmeasured rounds per variant before the measured ones. Two, because on a small machine the
 * first measured round still ran slower for every variant after a single one (V8 was still
 * growing its heap and optimising, in the senders and in the sink).
 */
export const warmUpRounds = 2;

/** Measured rounds per variant, after the warm-up. Odd, so the median is a real round. */
export const measuredRounds = 5;

/** Fresh processes that each send the large message once; odd, so the median is a real run. */
export const largeMessageRuns = 3;

/** Raw bytes of the large message's attachment: base64 and its line breaks make about 40 MB of MIME. */
export const largeAttachmentBytes = 29_000_000;

const items = Array.from({ length: 24 }, (_, index) => ({
  sku: `SKU-${String(10_400 + index * 7)}`,
  name: ['Linen shirt', 'Wool socks', 'Canvas tote', 'Ceramic mug', 'Notebook A5', 'Desk lamp'][index % 6] as string,
  quantity: 1 + (index % 3),
  price: 4.5 + index * 1.25,
}));

const total = items.reduce((sum, item) => sum + item.quantity * item.price, 0);

const text = [
  'Hello Ana,',
  '',
  'Thank you for your order #10042. Everything below is packed and on its way;',
  'the carrier expects to deliver it within two working days.',
  '',
  ...items.map(
    (item) => `  ${item.sku}  ${item.name.padEnd(14)} x${item.quantity}  ${(item.quantity * item.price).toFixed(2).padStart(8)} EUR`,
  ),
  '',
  `  Total${' '.repeat(31)}${total.toFixed(2).padStart(8)} EUR`,
  '',
  'Track the parcel at https://shop.example/orders/10042/tracking and reply to',
  'this message if anything is missing or damaged: a person reads every reply.',
  '',
  'The Shop team',
  '',
].join('\n');

const html = [
  '<!doctype html>',
  '<html><body style="font-family: sans-serif; color: #222">',
  '<p>Hello Ana,</p>',
  '<p>Thank you for your order <strong>#10042</strong>. Everything below is packed and on its way;',
  'the carrier expects to deliver it within two working days.</p>',
  '<table cellpadding="4" style="border-collapse: collapse">',
  ...items.map(
    (item) =>
      `<tr><td>${item.sku}</td><td>${item.name}</td><td>x${item.quantity}</td><td align="right">${(item.quantity * item.price).toFixed(2)} EUR</td></tr>`,
  ),
  `<tr><td colspan="3"><strong>Total</strong></td><td align="right"><strong>${total.toFixed(2)} EUR</strong></td></tr>`,
  '</table>',
  '<p>Track the parcel at <a href="https://shop.example/orders/10042/tracking">shop.example/orders/10042</a>',
  'and reply to this message if anything is missing or damaged: a person reads every reply.</p>',
  '<p>The Shop team</p>',
  '</body></html>',
  '',
].join('\n');

/** The message every variant sends, about 5 KB once rendered: the same fields for mailport and nodemailer. */
export const benchMessage: {
  readonly from: string;
  readonly to: string;
  readonly subject: string;
  readonly text: string;
  readonly html: string;
} = Object.freeze({
  from: 'The Shop <orders@shop.example>',
  to: 'Ana Example <ana@example.com>',
  subject: 'Your order #10042 has shipped',
  text,
  html,
});
