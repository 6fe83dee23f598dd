import type { SendReceipt } from '@mailport/core';
import { isMailError } from './exit-codes.js';
import type { CliIo } from './io.js';

/** Prints a failure the way every command does: what happened, then what to do. */
export function printError(io: CliIo, error: unknown, json = false): void {
  if (json) {
    const body = isMailError(error) ? error.toJSON() : { name: 'Error', message: (error as Error)?.message ?? String(error) };
    io.stderr.write(`${JSON.stringify({ error: body })}\n`);
    return;
  }
  if (isMailError(error)) {
    io.stderr.write(`mailport: ${error.code}: ${error.message}\n`);
    if (error.remediation !== undefined) io.stderr.write(`  what to do: ${error.remediation}\n`);
    for (const recipient of error.recipients) io.stderr.write(`  ${recipient.address}: ${recipient.message}\n`);
    return;
  }
  io.stderr.write(`mailport: ${(error as Error)?.message ?? String(error)}\n`);
}

/** A receipt in one readable block. */
export function describeReceipt(receipt: SendReceipt): string {
  const lines = [`sent ${receipt.messageId}`, `  via       ${receipt.transport}`, `  accepted  ${receipt.accepted.join(', ') || '(none)'}`];
  for (const rejected of receipt.rejected) lines.push(`  refused   ${rejected.address}: ${rejected.message}`);
  if (receipt.providerMessageId !== undefined) lines.push(`  provider  ${receipt.providerMessageId}`);
  if (receipt.route !== undefined && receipt.route.length > 1) {
    lines.push(`  route     ${receipt.route.map((step) => `${step.transport} ${step.outcome}`).join(' -> ')}`);
  }
  lines.push(`  took      ${receipt.elapsedMs.toFixed(0)} ms, ${receipt.attempts} attempt${receipt.attempts === 1 ? '' : 's'}`);
  return `${lines.join('\n')}\n`;
}
