/**
 * The compose validator: `compose-validator-go/` (Go; not `compose-validator/`, which would shadow this module for tsx's resolver), which loads a Compose
 * file with compose-go, the loader of `docker compose config` (the Compose
 * Specification's JSON Schema, interpolation from an env file, normalisation),
 * and prints the normalised project as JSON. Built once from the Go module
 * proxy into a cache, as infra/jaeger builds Jaeger.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { goCommand, toolCacheDir } from '../tools/tool-cache';

const run = promisify(execFile);
const MODULE_DIR = path.join(import.meta.dirname, 'compose-validator-go');

/** compose-go's version, as `compose-validator-go/go.mod` pins it. */
export function composeGoVersion(): string {
  const match = /github\.com\/compose-spec\/compose-go\/v2 (v\S+)/.exec(readFileSync(path.join(MODULE_DIR, 'go.mod'), 'utf8'));
  if (!match) throw new Error('compose-validator-go/go.mod does not require github.com/compose-spec/compose-go/v2');
  return match[1]!;
}

/**
 * The cache's name: compose-go's version and a digest of the sources, so an
 * edit of main.go or a new go.sum builds a new binary instead of reusing a stale one.
 */
function validatorVersion(): string {
  const digest = createHash('sha256');
  for (const file of ['go.mod', 'go.sum', 'main.go']) digest.update(readFileSync(path.join(MODULE_DIR, file)));
  return `${composeGoVersion()}-${digest.digest('hex').slice(0, 10)}`;
}

/** The validator's binary: from `$SHOP_COMPOSE_VALIDATOR_CACHE` (or `~/.cache/shop-platform/compose-validator-<version>`), built there once. */
export async function buildComposeValidator(log: (line: string) => void = () => undefined): Promise<string> {
  const dir = toolCacheDir('SHOP_COMPOSE_VALIDATOR_CACHE', `compose-validator-${validatorVersion()}`);
  const binary = path.join(dir, 'compose-validator');
  if (existsSync(binary)) return binary;
  const go = await run(goCommand(), ['version']).catch(() => undefined);
  if (!go) throw new Error(`cannot build the compose validator: no Go toolchain (install Go 1.24+ from https://go.dev/dl/ or your package manager; it fetches compose-go ${composeGoVersion()} from the Go module proxy)`);
  log(`building the compose validator (compose-go ${composeGoVersion()}) into ${dir}...`);
  await fs.mkdir(dir, { recursive: true });
  const partial = `${binary}.partial-${process.pid}`;
  try {
    await run(goCommand(), ['build', '-o', partial, '.'], { cwd: MODULE_DIR, env: { ...process.env, CGO_ENABLED: '0' }, maxBuffer: 64 * 1024 * 1024 });
    await fs.rename(partial, binary);
  } catch (err) {
    await fs.rm(partial, { force: true });
    const e = err as { stderr?: string; message: string };
    throw new Error(`building the compose validator failed: ${(e.stderr ?? e.message).trim().split('\n').slice(-5).join(' / ')}`, { cause: err });
  }
  return binary;
}
