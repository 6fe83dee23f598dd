import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { open, rename, unlink } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { MailError, Secret } from '@mailport/core';

/** What `mailport auth microsoft` saves, and what the transport keeps up to date. */
export interface RefreshTokenFile {
  readonly path: string;
  readonly clientId: string | undefined;
  readonly tenant: string | undefined;
  readonly authorityHost: string | undefined;
  readonly clientSecret: Secret | undefined;
  readonly refreshToken: Secret;
  /** Writes a rotated refresh token back, atomically and readable by the owner only. */
  store(refreshToken: string): Promise<void>;
}

/**
 * Reads a refresh token file written by `mailport auth microsoft` (`~/` is the home directory).
 * Microsoft rotates refresh tokens, so {@link RefreshTokenFile.store} replaces the file's token
 * with each new one: the next run starts from the newest.
 */
export function readRefreshTokenFile(pathParameter: string): RefreshTokenFile {
  const path = pathParameter.startsWith('~/') ? join(homedir(), pathParameter.slice(2)) : pathParameter;
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  } catch (error) {
    // Never quote the file's content: it holds the token.
    throw new MailError(
      'configuration',
      `Cannot read the refresh token file ${path}: ${(error as NodeJS.ErrnoException).code ?? 'not JSON'}`,
      {
        remediation: 'Run `mailport auth microsoft` to create it, or check the path.',
      },
    );
  }
  const text = (name: string): string | undefined =>
    typeof json[name] === 'string' && json[name] !== '' ? (json[name] as string) : undefined;
  const refreshToken = text('refresh_token');
  if (refreshToken === undefined) {
    throw new MailError('configuration', `The refresh token file ${path} has no refresh_token`, {
      remediation: 'Run `mailport auth microsoft --force --output <this file>` to sign in again.',
    });
  }
  const secret = text('client_secret');
  return {
    path,
    clientId: text('client_id'),
    tenant: text('tenant'),
    authorityHost: text('authority_host'),
    clientSecret: secret === undefined ? undefined : new Secret(secret),
    refreshToken: new Secret(refreshToken),
    async store(next: string) {
      const updated = { ...json, refresh_token: next, updated: new Date().toISOString() };
      json = updated;
      const temporary = join(dirname(path), `.${randomBytes(6).toString('hex')}.refresh-token.tmp`);
      const handle = await open(temporary, 'wx', 0o600);
      try {
        await handle.writeFile(`${JSON.stringify(updated, null, 2)}\n`);
        await handle.sync();
      } finally {
        await handle.close();
      }
      try {
        await rename(temporary, path);
      } catch (error) {
        await unlink(temporary).catch(() => {});
        throw error;
      }
    },
  };
}
