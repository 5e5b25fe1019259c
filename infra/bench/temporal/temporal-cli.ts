import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { GoToolchainMissingError, buildGoBinary } from '../../tools/go-build';
import { toolCacheDir } from '../../tools/tool-cache';

/** The Temporal CLI whose dev server `bench:saga --peer temporal` runs (MIT; built from the Go module proxy). */
export const TEMPORAL_CLI_VERSION = '1.5.1';
const MODULE = `github.com/temporalio/cli/cmd/temporal@v${TEMPORAL_CLI_VERSION}`;

export type TemporalCli = { path: string; version: string; built: boolean } | { skipped: string };

/** Where the built CLI is kept: `$SHOP_TEMPORAL_CACHE`, else `~/.cache/shop-platform/temporal-cli-<version>`. */
export function temporalCliDir(): string {
  return toolCacheDir('SHOP_TEMPORAL_CACHE', `temporal-cli-${TEMPORAL_CLI_VERSION}`);
}

/**
 * The Temporal CLI binary: from the cache, or built once into it with
 * `go install` (a few minutes and ~250 MB of module downloads the first
 * time). Without a Go toolchain the peer is skipped, with the reason, rather
 * than failing the benchmark.
 */
export async function ensureTemporalCli(log: (line: string) => void): Promise<TemporalCli> {
  const dir = temporalCliDir();
  const binary = path.join(dir, 'temporal');
  if (await isExecutable(binary)) return { path: binary, version: TEMPORAL_CLI_VERSION, built: false };
  try {
    await buildGoBinary({ label: `the Temporal CLI ${TEMPORAL_CLI_VERSION}`, binary, build: { install: MODULE } }, log);
  } catch (err) {
    return { skipped: err instanceof GoToolchainMissingError ? `${err.message} (go install ${MODULE})` : (err as Error).message };
  }
  return { path: binary, version: TEMPORAL_CLI_VERSION, built: true };
}

async function isExecutable(file: string): Promise<boolean> {
  try {
    await fs.access(file, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The cached CLI's path, or undefined when it has not been built yet (no build: see `ensureTemporalCli`). */
export function cachedTemporalCli(): string | undefined {
  const binary = path.join(temporalCliDir(), 'temporal');
  return existsSync(binary) ? binary : undefined;
}

// `npm run -s temporal:cli`: build the CLI into the cache now (CI does, before the tests), print its path.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const cli = await ensureTemporalCli((line) => process.stderr.write(`${line}\n`));
  if ('skipped' in cli) {
    process.stderr.write(`${cli.skipped}\n`);
    process.exit(1);
  }
  process.stdout.write(`${cli.path}\n`);
}
