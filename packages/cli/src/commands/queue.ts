import { parseArgs } from 'node:util';
import type { DeadLetter, DeadLetterKind, MailQueue } from '@mailport/queue-bullmq';
import { exitCodeFor, exitCodes, UsageError } from '../exit-codes.js';
import type { CliIo } from '../io.js';
import { printError } from '../output.js';
import { redactUrl, redisError } from '../worker-config.js';

export const queueHelp = `mailport queue: look at a mail queue (@mailport/queue-bullmq on Redis) and handle its dead letters

  mailport queue [status] [--json]         jobs by state, dead letters by kind, the limiter per key
  mailport queue show MESSAGE-ID|JOB-ID    one message: its job's state, the send ledger, its dead letter
  mailport queue dead [--kind KIND] [--limit N] [--json]
                                           the dead letters, newest first, with their last error
  mailport queue requeue ID... [--force]   dead letters back to the queue, with fresh attempts
  mailport queue purge (ID... | --kind KIND | --all)
                                           remove dead letters (and their jobs)

  --redis URL     Redis (default: $MAILPORT_REDIS_URL)
  --name NAME     the queue (default: mail)
  --prefix P      BullMQ's key prefix (default: bull)
  --json          JSON on stdout

Dead letter kinds: permanent (refused; retrying will not help), exhausted (every attempt failed
for a temporary reason), uncertain (it may have been sent: a worker died, or lost the answer, after
handing it over), expired (older than its maximum age).

An uncertain one is requeued only with --force, which also clears its send-ledger entry: first look
for its Message-ID in the recipient's mailbox or the provider's logs; --force sends it again.

Exit codes: 0 done, 2 usage, 3 no such dead letter, 4 configuration (Redis URL, a Redis that evicts
keys), 8 Redis unreachable, 9 refused to requeue an uncertain dead letter without --force.
`;

const kinds: readonly DeadLetterKind[] = ['permanent', 'exhausted', 'uncertain', 'expired'];

/** `mailport queue`. */
export async function runQueue(argv: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...argv],
    options: {
      redis: { type: 'string' },
      name: { type: 'string' },
      prefix: { type: 'string' },
      json: { type: 'boolean', default: false },
      kind: { type: 'string' },
      limit: { type: 'string' },
      force: { type: 'boolean', default: false },
      all: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
    allowPositionals: true,
  });
  if (values.help) {
    io.stdout.write(queueHelp);
    return exitCodes.ok;
  }
  const [action = 'status', ...ids] = positionals;
  if (!['status', 'show', 'dead', 'requeue', 'purge'].includes(action))
    throw new UsageError(`unknown action "${action}" (status, show, dead, requeue, purge)`);
  const kind = values.kind;
  if (kind !== undefined && !kinds.includes(kind as DeadLetterKind))
    throw new UsageError(`--kind must be one of ${kinds.join(', ')}, not ${kind}`);
  let limit = 100;
  if (values.limit !== undefined) {
    limit = Number(values.limit);
    if (!Number.isInteger(limit) || limit < 1) throw new UsageError(`--limit needs a whole number of at least 1, not ${values.limit}`);
  }
  if ((action === 'show' && ids.length !== 1) || (action === 'requeue' && ids.length === 0))
    throw new UsageError(
      action === 'show' ? 'give one MESSAGE-ID or JOB-ID' : 'give the JOB-ID (or Message-ID) of each dead letter to requeue',
    );
  if (action === 'purge' && [ids.length > 0, kind !== undefined, values.all].filter(Boolean).length !== 1)
    throw new UsageError('purge needs exactly one of: JOB-IDs, --kind KIND, --all');
  if ((action === 'status' || action === 'dead') && ids.length > 0) throw new UsageError(`"${action}" takes no arguments`);
  const url = values.redis ?? io.env.MAILPORT_REDIS_URL;
  if (url === undefined || url === '') throw new UsageError('give --redis URL or set MAILPORT_REDIS_URL');

  const json = values.json;
  const { createMailQueue, jobIdFor } = await import('@mailport/queue-bullmq');
  const queue = createMailQueue({
    connection: url,
    name: values.name,
    prefix: values.prefix,
    onWarning: (message) => io.stderr.write(`mailport queue: warning: ${message}\n`),
  });
  // A Message-ID is written with angle brackets; a job id is m + 32 hex digits.
  const jobIdOf = (id: string): string => (id.startsWith('<') ? jobIdFor(id) : id);
  try {
    switch (action) {
      case 'status':
        return await status(queue, io, json, url);
      case 'show': {
        const id = ids[0] as string;
        const messageId = id.startsWith('<') ? id : (await queue.deadLetters.get(id))?.messageId;
        if (messageId === undefined) {
          io.stderr.write(`mailport queue: no dead letter ${id}; give the Message-ID (with its angle brackets) to look up any message\n`);
          return exitCodes.invalidInput;
        }
        const found = await queue.status(messageId);
        io.stdout.write(json ? `${JSON.stringify(found)}\n` : describeStatus(found));
        return found.state === 'unknown' ? exitCodes.invalidInput : exitCodes.ok;
      }
      case 'dead': {
        const letters = await queue.deadLetters.list({ kind: kind as DeadLetterKind | undefined, limit });
        if (json) io.stdout.write(`${JSON.stringify(letters)}\n`);
        else if (letters.length === 0) io.stdout.write(`no dead letters${kind === undefined ? '' : ` of kind ${kind}`}\n`);
        else io.stdout.write(letters.map(describeLetter).join(''));
        return exitCodes.ok;
      }
      case 'requeue':
        return await requeue(queue, ids.map(jobIdOf), values.force, io, json);
      default: {
        const removed =
          ids.length > 0
            ? (await Promise.all(ids.map((id) => queue.deadLetters.purge({ jobId: jobIdOf(id) })))).reduce((a, b) => a + b, 0)
            : await queue.deadLetters.purge(kind === undefined ? {} : { kind: kind as DeadLetterKind });
        io.stdout.write(json ? `${JSON.stringify({ purged: removed })}\n` : `purged ${removed} dead letter${removed === 1 ? '' : 's'}\n`);
        return ids.length > removed ? exitCodes.invalidInput : exitCodes.ok;
      }
    }
  } catch (error) {
    printError(io, redisError(error, url), json);
    return exitCodeFor(redisError(error, url));
  } finally {
    await queue.close().catch(() => {});
  }
}

async function status(queue: MailQueue, io: CliIo, json: boolean, url: string): Promise<number> {
  const [counts, letters, limits] = await Promise.all([
    queue.counts(),
    queue.deadLetters.list({ limit: Number.MAX_SAFE_INTEGER }),
    queue.limits(),
  ]);
  const dead: Record<DeadLetterKind, number> = { permanent: 0, exhausted: 0, uncertain: 0, expired: 0 };
  for (const letter of letters) dead[letter.kind]++;
  if (json) {
    io.stdout.write(`${JSON.stringify({ queue: queue.name, counts, dead, limits })}\n`);
    return exitCodes.ok;
  }
  const line = (label: string, value: number | string) => `  ${label.padEnd(12)}${String(value).padStart(8)}\n`;
  let text = `queue "${queue.name}" on ${redactUrl(url)}\n`;
  text += line('waiting', counts.waiting) + line('delayed', counts.delayed) + line('active', counts.active);
  text += line('completed', counts.completed);
  text += `${line('dead', counts.dead).trimEnd()}${counts.dead === 0 ? '' : `   ${kinds.map((name) => `${dead[name]} ${name}`).join(', ')}`}\n`;
  if (limits.length > 0) {
    text += 'limits (by key):\n';
    for (const state of limits) {
      const parts = [
        state.throttledForMs > 0 ? `held by the provider for ${state.throttledForMs} ms` : undefined,
        state.nextSlotInMs > 0 ? `next send in ${state.nextSlotInMs} ms` : 'may send now',
        `${state.leases} in flight`,
        ...state.quotaUsed.map((used, index) => `quota ${index + 1}: ${used} used`),
      ].filter((part) => part !== undefined);
      text += `  ${state.key}: ${parts.join(', ')}\n`;
    }
  }
  if (dead.uncertain > 0) text += `${dead.uncertain} may have been sent: mailport queue dead --kind uncertain\n`;
  io.stdout.write(text);
  return exitCodes.ok;
}

async function requeue(queue: MailQueue, ids: readonly string[], force: boolean, io: CliIo, json: boolean): Promise<number> {
  let code: number = exitCodes.ok;
  const results: { jobId: string; requeued: boolean; reason?: string }[] = [];
  for (const jobId of ids) {
    const letter = await queue.deadLetters.get(jobId);
    if (letter === undefined) {
      results.push({ jobId, requeued: false, reason: 'no such dead letter' });
      if (code === exitCodes.ok) code = exitCodes.invalidInput;
      continue;
    }
    if (letter.kind === 'uncertain' && !force) {
      results.push({ jobId, requeued: false, reason: 'uncertain: it may have been sent; check, then --force' });
      code = exitCodes.unknownOutcome;
      continue;
    }
    await queue.deadLetters.requeue(jobId, { force });
    results.push({ jobId, requeued: true });
  }
  if (json) io.stdout.write(`${JSON.stringify(results)}\n`);
  else {
    for (const result of results) {
      if (result.requeued) io.stdout.write(`requeued ${result.jobId}\n`);
      else io.stderr.write(`mailport queue: not requeued ${result.jobId}: ${result.reason}\n`);
    }
  }
  return code;
}

function describeLetter(letter: DeadLetter): string {
  const lines = [
    `${letter.kind.padEnd(10)} ${letter.jobId} ${letter.messageId}`,
    `  died     ${new Date(letter.diedAt).toISOString()} after ${letter.attempts} attempt${letter.attempts === 1 ? '' : 's'}${letter.route === undefined ? '' : `, route ${letter.route}`}`,
  ];
  if (letter.summary.to.length > 0 || letter.summary.subject !== '')
    lines.push(`  message  to ${letter.summary.to.join(', ') || '(encrypted)'}: ${letter.summary.subject}`);
  lines.push(`  error    ${letter.error.code}: ${letter.error.message}`);
  if (letter.error.remediation !== undefined) lines.push(`  what to do: ${letter.error.remediation}`);
  return `${lines.join('\n')}\n`;
}

function describeStatus(status: Awaited<ReturnType<MailQueue['status']>>): string {
  const lines = [`${status.messageId}: ${status.state} (job ${status.jobId})`];
  if (status.ledger !== undefined)
    lines.push(`  ledger   ${status.ledger.state} at ${new Date(status.ledger.at).toISOString()} by ${status.ledger.worker}`);
  if (status.deadLetter !== undefined) lines.push(describeLetter(status.deadLetter).trimEnd().replace(/^/gm, '  '));
  return `${lines.join('\n')}\n`;
}
