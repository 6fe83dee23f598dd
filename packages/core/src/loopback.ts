import { isIP } from 'node:net';

/**
 * True for a loopback host: `localhost`, 127.0.0.0/8 and `::1`, with or without IPv6 brackets,
 * in any case. The SMTP transport lets such a host go without STARTTLS, and the CLI's doctor
 * does not look for alternatives to it.
 *
 * @example
 * ```ts
 * isLoopback('[::1]'); // true
 * isLoopback('127.example.com'); // false
 * ```
 */
export function isLoopback(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '').toLowerCase();
  return bare === 'localhost' || bare === '::1' || (isIP(bare) === 4 && bare.startsWith('127.'));
}
