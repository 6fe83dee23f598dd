import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { Suppression, SuppressionReason } from '@mailport/events';
import { exitCodeFor, exitCodes, isMailError, UsageError } from '../exit-codes.js';
import type { CliIo } from '../io.js';
import { printError } from '../output.js';
import { jsonLine, printable as terminalSafe } from './events.js';

export const suppressionHelp = `mailport suppression: the addresses mail is not sent to (a suppression file of @mailport/events)

  mailport suppression list   [--file FILE] [--json]
  mailport suppression add    ADDRESS [--scope STREAM] [--reason manual] [--expires 30d] [--detail TEXT] [--file FILE]
  mailport suppression remove ADDRESS [--scope STREAM] [--file FILE]

  --file FILE        the suppression file (JSON lines), as createFileSuppressionStore and
                     "suppression" of mailport events use it (default: $MAILPORT_SUPPRESSION_FILE)
  --json             list: one JSON object per line (address, scope, reason, createdAt, expiresAt, eventId, detail)
  --scope STREAM     the stream it applies to; * (default) is every stream
  --reason REASON    manual (default), hard-bounce, soft-bounces, complaint or unsubscribe
  --expires WHEN     a duration (90m, 12h, 30d, 2w) or an ISO 8601 date; default: never
  --detail TEXT      a note kept with the entry (who added it, why)

remove without --scope removes the address from every scope. Addresses compare lower-cased.
The file is shared safely with running processes (each change is one appended line).

Exit codes: 0 done (remove also when the address was not suppressed: it says so), 2 usage
(a malformed ADDRESS or option), 4 the file cannot be read or written.
`;

const reasons: readonly SuppressionReason[] = ['manual', 'hard-bounce', 'soft-bounces', 'complaint', 'unsubscribe'];

/** `mailport suppression list|add|remove`. */
export async function runSuppression(argv: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...argv],
    options: {
      file: { type: 'string' },
      json: { type: 'boolean', default: false },
      scope: { type: 'string' },
      reason: { type: 'string' },
      expires: { type: 'string' },
      detail: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
    allowPositionals: true,
  });
  if (values.help) {
    io.stdout.write(suppressionHelp);
    return exitCodes.ok;
  }
  const [action, address, ...extra] = positionals;
  if (action !== 'list' && action !== 'add' && action !== 'remove')
    throw new UsageError(
      action === undefined ? 'say what to do: list, add or remove' : `unknown action "${printable(action)}" (list, add, remove)`,
    );
  if (extra.length > 0) throw new UsageError(`one ADDRESS at a time; unexpected "${printable(extra[0] ?? '')}"`);
  const file = values.file ?? io.env.MAILPORT_SUPPRESSION_FILE;
  if (file === undefined || file === '') throw new UsageError('--file FILE is required (or set MAILPORT_SUPPRESSION_FILE)');
  const onlyFor = (flag: string, actions: string): void => {
    throw new UsageError(`${flag} goes with ${actions}`);
  };
  if (action === 'list') {
    if (address !== undefined) throw new UsageError(`list takes no ADDRESS ("${printable(address)}")`);
    for (const flag of ['scope', 'reason', 'expires', 'detail'] as const)
      if (values[flag] !== undefined) onlyFor(`--${flag}`, 'add or remove');
  } else {
    if (address === undefined) throw new UsageError(`${action} needs an ADDRESS`);
    if (values.json) onlyFor('--json', 'list');
    if (action === 'remove')
      for (const flag of ['reason', 'expires', 'detail'] as const) if (values[flag] !== undefined) onlyFor(`--${flag}`, 'add');
  }
  const scope = values.scope === undefined ? undefined : checkScope(values.scope);
  const reason = values.reason === undefined ? 'manual' : checkReason(values.reason);
  const expiresAt = values.expires === undefined ? undefined : parseExpiry(values.expires, Date.now());
  if (values.detail !== undefined && (values.detail.length > 1000 || /[\u0000-\u001f\u007f]/.test(values.detail)))
    throw new UsageError('--detail must be one line of at most 1000 characters');
  const { parseAddress } = await import('@mailport/core');
  const checkedAddress =
    address === undefined ? undefined : action === 'add' ? strictAddress(address, parseAddress) : removableAddress(address, parseAddress);

  const path = resolve(io.cwd, file);
  try {
    const { createFileSuppressionStore } = await import('@mailport/events');
    const store = createFileSuppressionStore(path);
    if (action === 'list') {
      let count = 0;
      const lines: string[] = [];
      for await (const entry of store.list()) {
        count++;
        lines.push(values.json ? jsonLine(jsonEntry(entry)) : textLine(entry));
        // Written in pieces: a list of a million addresses is not one string.
        if (lines.length >= 1000) io.stdout.write(`${lines.splice(0).join('\n')}\n`);
      }
      if (lines.length > 0) io.stdout.write(`${lines.join('\n')}\n`);
      if (!values.json) io.stderr.write(`${count} suppressed${count === 0 ? ` (${printable(file)} holds none)` : ''}\n`);
      return exitCodes.ok;
    }
    const target = checkedAddress as string;
    if (action === 'add') {
      const entry: Suppression = {
        address: target,
        scope: scope ?? '*',
        reason,
        createdAt: new Date().toISOString(),
        ...(expiresAt === undefined ? {} : { expiresAt }),
        detail: values.detail ?? 'added by mailport suppression add',
      };
      await store.add(entry);
      io.stdout.write(`suppressed ${target} (scope ${entry.scope}, ${reason}${expiresAt === undefined ? '' : `, until ${expiresAt}`})\n`);
      return exitCodes.ok;
    }
    const removed = await store.remove(target, scope);
    io.stdout.write(
      removed
        ? `removed ${target}${scope === undefined ? ' (every scope)' : ` (scope ${scope})`}\n`
        : `${target} was not suppressed${scope === undefined ? '' : ` in scope ${scope}`}: nothing to remove\n`,
    );
    return exitCodes.ok;
  } catch (error) {
    if (isMailError(error)) {
      printError(io, error);
      return exitCodeFor(error);
    }
    // The file: missing directory, permissions, a disk that is full. Anything else is a bug, and goes up.
    const code = (error as { code?: string }).code;
    if (typeof code !== 'string' || !/^E[A-Z]+$/.test(code)) throw error;
    io.stderr.write(`mailport suppression: the file ${printable(file)} cannot be used: ${printable((error as Error).message)}\n`);
    return exitCodes.configuration;
  }
}

/** An address as core parses it for sending (domain lower-cased, IDN as A-labels): never repaired into another. */
function strictAddress(input: string, parse: (input: string, field: string) => { name: string | undefined; address: string }): string {
  let parsed: { name: string | undefined; address: string };
  try {
    parsed = parse(input, 'ADDRESS');
  } catch (error) {
    throw new UsageError(
      `ADDRESS "${printable(input)}" is not an address: ${(error as Error).message.replace(/^Invalid message: ADDRESS /, '')}`,
    );
  }
  if (parsed.name !== undefined)
    throw new UsageError(`ADDRESS "${printable(input)}": give the bare address (${parsed.address}), without a name`);
  return parsed.address;
}

/** For remove, an entry that no longer parses (written by another tool) can still be named as it is stored. */
function removableAddress(input: string, parse: (input: string, field: string) => { name: string | undefined; address: string }): string {
  try {
    return strictAddress(input, parse);
  } catch (error) {
    if (input.trim() === '' || input.length > 320 || /[\s\u0000-\u001f\u007f]/.test(input.trim()) || !input.includes('@')) throw error;
    return input.trim();
  }
}

function checkScope(scope: string): string {
  if (scope === '' || scope.length > 128 || /[\u0000-\u001f\u007f]/.test(scope))
    throw new UsageError('--scope must be a stream name of 1 to 128 characters, or * for every stream');
  return scope;
}

function checkReason(reason: string): SuppressionReason {
  if (!(reasons as readonly string[]).includes(reason))
    throw new UsageError(`--reason must be one of ${reasons.join(', ')}, not "${printable(reason)}"`);
  return reason as SuppressionReason;
}

const units: Readonly<Record<string, number>> = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000 };

/** `30d`, `12h`, `90m`, `2w`, or an ISO 8601 date in the future; the expiry as ISO 8601. */
export function parseExpiry(value: string, now: number): string {
  const duration = /^\s*(\d{1,6})\s*([mhdw])\s*$/i.exec(value);
  let at: number;
  if (duration !== null) at = now + Number(duration[1]) * (units[(duration[2] as string).toLowerCase()] as number);
  else if (/^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(value.trim())) at = Date.parse(value.trim());
  else throw new UsageError(`--expires must be a duration (90m, 12h, 30d, 2w) or an ISO 8601 date, not "${printable(value)}"`);
  if (!Number.isFinite(at) || at > 8.64e15) throw new UsageError(`--expires "${printable(value)}" is not a date`);
  if (at <= now) throw new UsageError(`--expires "${printable(value)}" is in the past`);
  return new Date(at).toISOString();
}

function jsonEntry(entry: Suppression): Record<string, unknown> {
  return {
    address: entry.address,
    scope: entry.scope,
    reason: entry.reason,
    createdAt: entry.createdAt,
    expiresAt: entry.expiresAt ?? null,
    eventId: entry.eventId ?? null,
    detail: entry.detail ?? null,
  };
}

function textLine(entry: Suppression): string {
  const expires = entry.expiresAt === undefined ? 'never' : entry.expiresAt;
  return [printable(entry.address), printable(entry.scope), entry.reason, entry.createdAt, expires].join('\t');
}

/** Text from a file or an argument, safe for a terminal (mailport events' rule), at most 400 characters. */
function printable(text: string): string {
  return terminalSafe(text, 400);
}
