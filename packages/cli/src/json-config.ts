import { readFile } from 'node:fs/promises';
import { isSecretParameter, MailError } from '@mailport/core';

// What the JSON configurations of `mailport worker` and `mailport events` share: reading the
// file, `env:NAME` values, and the "this is a credential written in the file" note.

/** The parsed JSON of `--config FILE`; a missing file or bad JSON is a `configuration` error naming the flag. */
export async function readJsonConfig(path: string, display: string, command: 'worker' | 'events'): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new MailError('configuration', `--config ${display}: ${(error as Error).message}`, {
      remediation: `Give the path of the ${command} configuration (JSON); mailport ${command} --help shows its fields.`,
    });
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new MailError('configuration', `--config ${display}: not valid JSON: ${(error as Error).message}`, {
      remediation: `The ${command} configuration is JSON (no comments, no trailing commas).`,
    });
  }
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * A configuration string: `env:NAME` read from `env` (unset or empty is an error), anything else
 * as written. `fail(field, problem)` throws the caller's error.
 */
export function configString(
  field: string,
  input: unknown,
  env: Readonly<Record<string, string | undefined>>,
  fail: (field: string, problem: string) => never,
): string {
  if (typeof input !== 'string' || input === '') return fail(field, 'must be a non-empty string');
  if (!input.startsWith('env:')) return input;
  const name = input.slice(4);
  const found = env[name];
  if (found === undefined || found === '') return fail(field, `the environment variable ${name} is not set`);
  return found;
}

/** A URL with a password, or a parameter core redacts as a credential (client_secret, refresh_token; not refresh_token_file, a path). */
export function holdsCredential(url: string): boolean {
  if (!URL.canParse(url)) return false;
  const parsed = new URL(url);
  return parsed.password !== '' || [...parsed.searchParams.keys()].some(isSecretParameter);
}
