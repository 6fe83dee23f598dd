import { randomBytes } from 'node:crypto';
import { chmod, link, mkdir, open, rename, stat, unlink } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { MailError } from '@mailport/core';
import type { CliIo } from './io.js';

/**
 * Where `mailport auth` keeps credentials by default: `$XDG_CONFIG_HOME/mailport`, else
 * `%APPDATA%\mailport` on Windows, else `~/.config/mailport`.
 */
export function defaultCredentialsDirectory(env: CliIo['env']): string {
  // The XDG Base Directory spec ignores a relative XDG_CONFIG_HOME.
  const xdg = env.XDG_CONFIG_HOME;
  if (xdg !== undefined && xdg !== '' && isAbsolute(xdg)) return join(xdg, 'mailport');
  if (process.platform === 'win32' && env.APPDATA !== undefined && env.APPDATA !== '') return join(env.APPDATA, 'mailport');
  return join(env.HOME !== undefined && env.HOME !== '' ? env.HOME : homedir(), '.config', 'mailport');
}

/** The file to write: `--output` (relative to the working directory), else `<default directory>/<name>.json`. */
export function credentialsPath(io: CliIo, name: string, output: string | undefined): string {
  return output === undefined ? join(defaultCredentialsDirectory(io.env), `${name}.json`) : resolve(io.cwd, output);
}

function existsError(path: string): MailError {
  return new MailError('configuration', `${path} exists already; mailport auth does not overwrite it`, {
    remediation: 'Add --force to replace it, or choose another file with --output FILE.',
  });
}

/** Fails before anyone signs in when the file exists and `--force` was not given. */
export async function refuseToOverwrite(path: string, force: boolean): Promise<void> {
  if (force) return;
  try {
    await stat(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw writeError(path, error);
  }
  throw existsError(path);
}

function writeError(path: string, error: unknown): MailError {
  return new MailError('configuration', `Cannot write ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, {
    remediation: 'Check that the directory is writable, or choose another file with --output FILE.',
  });
}

/**
 * Writes `text` to a file only its owner can read or write (mode 0600; its directory, when
 * created, 0700), atomically: the content goes to a temporary file created with that mode in the
 * same directory, flushed, then linked into place (which fails if the file appeared meanwhile)
 * or, with `force`, renamed over the old one. A reader never sees half a file, and the secret is
 * never readable by others, not even for a moment.
 */
export async function writePrivateFile(path: string, text: string, force: boolean): Promise<void> {
  const directory = dirname(path);
  const temporary = join(directory, `.${randomBytes(6).toString('hex')}.mailport-auth.tmp`);
  try {
    await mkdir(directory, { recursive: true, mode: 0o700 });
    // `wx`: never follow or reuse something already there; the mode applies as the file is created.
    const handle = await open(temporary, 'wx', 0o600);
    try {
      await handle.writeFile(text, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    // A umask can only take bits away; this makes 0600 explicit even on odd file systems.
    await chmod(temporary, 0o600);
    if (force) {
      await rename(temporary, path);
      return;
    }
    try {
      await link(temporary, path);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') throw existsError(path);
      // File systems without hard links: check, then rename (no longer atomic against a racing writer).
      if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'ENOSYS') throw error;
      await refuseToOverwrite(path, false);
      await rename(temporary, path);
    }
  } catch (error) {
    if (MailError.isInstance(error)) throw error;
    throw writeError(path, error);
  } finally {
    await unlink(temporary).catch(() => undefined);
  }
}

/** `NAME=value` for a shell or a `.env` file, single-quoted when the value holds anything but safe characters. */
export function environmentLine(name: string, value: string): string {
  return `${name}=${shellQuote(value)}`;
}

/** A value as one shell word: unchanged when it is made of safe characters, else single-quoted. */
export function shellQuote(value: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}
