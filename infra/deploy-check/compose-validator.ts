/**
 * The compose validator: `compose-validator-go/` (Go; not `compose-validator/`, which would shadow this module for tsx's resolver), which loads a Compose
 * file with compose-go, the loader of `docker compose config` (the Compose
 * Specification's JSON Schema, interpolation from an env file, normalisation),
 * and prints the normalised project as JSON. Built once from the Go module
 * proxy into a cache, as infra/jaeger builds Jaeger.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { GoToolchainMissingError, buildGoBinary } from '../tools/go-build';
import { toolCacheDir } from '../tools/tool-cache';

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
  const binary = path.join(toolCacheDir('SHOP_COMPOSE_VALIDATOR_CACHE', `compose-validator-${validatorVersion()}`), 'compose-validator');
  try {
    return await buildGoBinary({ label: `the compose validator (compose-go ${composeGoVersion()})`, binary, build: { cwd: MODULE_DIR, target: '.' } }, log);
  } catch (err) {
    if (err instanceof GoToolchainMissingError) throw new Error(`${err.message}: install Go 1.24+ (https://go.dev/dl/ or your package manager; it fetches compose-go from the Go module proxy)`, { cause: err });
    throw err;
  }
}
