import fs, { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * Where a tool the scripts fetch or build once is kept (Kafka's jars, the
 * Temporal CLI, Jaeger): `$<envVariable>` when set, else
 * `~/.cache/shop-platform/<name>` (under `$XDG_CACHE_HOME` when set).
 */
export function toolCacheDir(envVariable: string, name: string): string {
  const override = process.env[envVariable];
  if (override) return path.resolve(override);
  const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(base, 'shop-platform', name);
}

/** The Go command: on the PATH, or where the official installer puts it when the PATH does not say. */
export function goCommand(): string {
  return existsSync('/usr/local/go/bin/go') ? '/usr/local/go/bin/go' : 'go';
}

/**
 * A program: `$<envVar>` when set, else the first `name` on PATH, else
 * `/usr/bin/<name>` (Debian's packages); undefined when none is executable.
 */
export function findExecutable(name: string, envVar: string): string | undefined {
  const candidates = [
    ...(process.env[envVar] ? [process.env[envVar]!] : []),
    ...(process.env.PATH ?? '').split(path.delimiter).filter(Boolean).map((dir) => path.join(dir, name)),
    `/usr/bin/${name}`,
  ];
  return candidates.find((file) => {
    try {
      fs.accessSync(file, fs.constants.X_OK);
      return fs.statSync(file).isFile();
    } catch {
      return false;
    }
  });
}
