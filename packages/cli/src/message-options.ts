import { readFile } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import type { AttachmentInput, MailerInput } from '@mailport/core';
import { MailError } from '@mailport/core';
import { UsageError } from './exit-codes.js';
import type { CliIo } from './io.js';

/** The message flags `send` shares with bulk sending, as parseArgs returns them. */
export interface MessageFlags {
  readonly to?: string[] | undefined;
  readonly cc?: string[] | undefined;
  readonly bcc?: string[] | undefined;
  readonly from?: string | undefined;
  readonly 'reply-to'?: string | undefined;
  readonly subject?: string | undefined;
  readonly text?: string | undefined;
  readonly 'text-file'?: string | undefined;
  readonly html?: string | undefined;
  readonly 'html-file'?: string | undefined;
  readonly attach?: string[] | undefined;
  readonly header?: string[] | undefined;
}

/** parseArgs options for {@link MessageFlags}. */
export const messageFlagOptions = {
  to: { type: 'string', multiple: true },
  cc: { type: 'string', multiple: true },
  bcc: { type: 'string', multiple: true },
  from: { type: 'string' },
  'reply-to': { type: 'string' },
  subject: { type: 'string' },
  text: { type: 'string' },
  'text-file': { type: 'string' },
  html: { type: 'string' },
  'html-file': { type: 'string' },
  attach: { type: 'string', multiple: true },
  header: { type: 'string', multiple: true },
} as const;

/**
 * Reads the files the flags name (bodies, attachments) and returns the message input. The CLI
 * reads attachment files itself and hands core their bytes: core's own file access stays off.
 */
export async function messageFromFlags(flags: MessageFlags, io: CliIo): Promise<MailerInput> {
  if (flags.text !== undefined && flags['text-file'] !== undefined) throw new UsageError('give --text or --text-file, not both');
  if (flags.html !== undefined && flags['html-file'] !== undefined) throw new UsageError('give --html or --html-file, not both');
  const text = flags['text-file'] === undefined ? flags.text : await readText(flags['text-file'], io, '--text-file');
  const html = flags['html-file'] === undefined ? flags.html : await readText(flags['html-file'], io, '--html-file');
  const attachments: AttachmentInput[] = [];
  for (const path of flags.attach ?? []) {
    attachments.push({ filename: basename(path), content: await readBytes(path, io, '--attach') });
  }
  const headers: Record<string, string[]> = {};
  for (const header of flags.header ?? []) {
    const colon = header.indexOf(':');
    if (colon <= 0) throw new UsageError(`--header needs "Name: value", got ${JSON.stringify(header)}`);
    const name = header.slice(0, colon).trim();
    const values = headers[name] ?? [];
    values.push(header.slice(colon + 1).trim());
    headers[name] = values;
  }
  return {
    from: flags.from,
    to: flags.to,
    cc: flags.cc,
    bcc: flags.bcc,
    replyTo: flags['reply-to'],
    subject: flags.subject,
    text,
    html,
    attachments: attachments.length > 0 ? attachments : undefined,
    headers: Object.keys(headers).length > 0 ? headers : undefined,
  };
}

async function readText(path: string, io: CliIo, flag: string): Promise<string> {
  return (await readBytes(path, io, flag)).toString('utf8');
}

async function readBytes(path: string, io: CliIo, flag: string): Promise<Buffer> {
  try {
    return await readFile(resolve(io.cwd, path));
  } catch (error) {
    throw new MailError('invalid-message', `${flag} ${path}: ${(error as Error).message}`, {
      field: flag,
      remediation: 'Check the path; it is relative to the current directory.',
    });
  }
}
