/**
 * SES's mailbox simulator domain (SES developer guide, "Using the mailbox simulator"). The sandbox
 * honours its addresses in every emulator: SES event destinations (`success@`, `bounce@`,
 * `complaint@`, `ooto@`, `suppressionlist@`), and the bounce scenarios of SMTP, Gmail and Graph
 * (`bounce@`, `ooto@`, and the sandbox's own `delay@`).
 */
export const simulatorDomain = 'simulator.amazonses.com';

/** The local part of a simulator address, lower-cased and without its `+label`; undefined for any other address. */
export function simulatorMailbox(address: string): string | undefined {
  const trimmed = address.trim();
  const at = trimmed.lastIndexOf('@');
  if (at <= 0 || trimmed.slice(at + 1).toLowerCase() !== simulatorDomain) return undefined;
  return trimmed.slice(0, at).toLowerCase().split('+')[0];
}
