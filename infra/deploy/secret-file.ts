import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/** A random secret as hex: URL-safe, so it can stand inside a `postgres://user:<it>@host/db` URL unescaped. */
export function randomSecret(bytes = 24): string {
  return randomBytes(bytes).toString('hex');
}

/**
 * Writes a file of secrets readable by its owner only (0600), unless the
 * file exists: a secret already in use (a database initialised with that
 * password, tokens signed with that key) is never replaced. Returns whether
 * it wrote the file.
 */
export function writeSecretFile(file: string, content: string): 'written' | 'kept' {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  try {
    // wx: fails when the file exists, so two runs at once cannot both write it.
    fs.writeFileSync(file, content, { flag: 'wx', mode: 0o600 });
    return 'written';
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return 'kept';
    throw err;
  }
}
