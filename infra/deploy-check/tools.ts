import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { GoToolchainMissingError, buildGoBinary } from '../tools/go-build';
import { toolCacheDir } from '../tools/tool-cache';
import type { CheckResult } from './check-result';
import { buildComposeValidator } from './compose-validator';

/**
 * The pinned programs `npm run infra:check` runs, each fetched or built once
 * into its cache (`~/.cache/shop-platform/<name>`): two Go programs from the
 * Go module proxy, two Python ones from PyPI in one venv, and the
 * repository's own compose validator. `npm run infra:tools` (and `.ci/run`)
 * calls `ensureDeployCheckTools`, and `ensureSchemathesis` for the HTTP
 * fuzzer (a venv of its own); a second call finds everything cached.
 */

const run = promisify(execFile);

interface GoTool {
  name: string;
  /** The package `go install` builds. */
  pkg: string;
  version: string;
  /** Overrides the cache directory. */
  cacheEnv: string;
}

export const KUSTOMIZE: GoTool = { name: 'kustomize', pkg: 'sigs.k8s.io/kustomize/kustomize/v5', version: 'v5.8.1', cacheEnv: 'SHOP_KUSTOMIZE_CACHE' };
export const ACTIONLINT: GoTool = { name: 'actionlint', pkg: 'github.com/rhysd/actionlint/cmd/actionlint', version: 'v1.7.12', cacheEnv: 'SHOP_ACTIONLINT_CACHE' };

/** PyPI pins, installed together into one venv. kubernetes-validate ships the Kubernetes schemas (so it works offline). */
export const PYTHON_PINS = { 'kubernetes-validate': '1.37.0', checkov: '3.3.30' } as const;

export interface DeployCheckTools {
  kustomize: string;
  actionlint: string;
  kubernetesValidate: string;
  checkov: string;
  composeValidator: string;
}

export function goToolCacheDir(tool: GoTool): string {
  return toolCacheDir(tool.cacheEnv, `${tool.name}-${tool.version}`);
}

/** The venv: `$SHOP_DEPLOY_CHECK_VENV`, else `~/.cache/shop-platform/deploy-check-venv`. Its marker file says which pins it holds. */
export function pythonVenvDir(): string {
  return toolCacheDir('SHOP_DEPLOY_CHECK_VENV', 'deploy-check-venv');
}

/**
 * The HTTP fuzzer (`npm run fuzz`, infra/test/http-fuzz.int.spec.ts), in a
 * venv of its own: its dependencies (hypothesis, jsonschema, click) need not
 * agree with checkov's. Hypothesis is pinned too: it draws the cases, so a
 * fixed seed gives the same cases only with the same Hypothesis.
 */
export const SCHEMATHESIS_PINS = { schemathesis: '4.32.5', hypothesis: '6.170.17' } as const;

/** Its venv: `$SHOP_SCHEMATHESIS_VENV`, else `~/.cache/shop-platform/schemathesis-venv`. */
export function schemathesisVenvDir(): string {
  return toolCacheDir('SHOP_SCHEMATHESIS_VENV', 'schemathesis-venv');
}

const VENV_MARKER = 'shop-platform-pins.txt';

function pinLines(pins: Record<string, string>): string {
  return `${Object.entries(pins)
    .map(([name, version]) => `${name}==${version}`)
    .join('\n')}\n`;
}

/** A Go tool's binary: from its cache, or `go install <pkg>@<version>` into it once. */
export async function ensureGoTool(tool: GoTool, log: (line: string) => void = () => undefined): Promise<string> {
  const binary = path.join(goToolCacheDir(tool), tool.name);
  try {
    return await buildGoBinary({ label: `${tool.name} (${tool.pkg}@${tool.version})`, binary, build: { install: `${tool.pkg}@${tool.version}` } }, log);
  } catch (err) {
    if (err instanceof GoToolchainMissingError) throw new ToolUnavailableError(`${err.message}: install Go 1.24+ (https://go.dev/dl/)`);
    throw err;
  }
}

/**
 * A venv holding `pins` from PyPI, reused when its marker lists the same
 * pins and its programs exist, else (re)created with `python3 -m venv` and
 * pip (whose download cache, ~/.cache/pip, makes a rebuild quick).
 * Returns each program's path, by the program's name.
 */
async function ensureVenv<P extends string>(
  venv: { dir: string; pins: Record<string, string>; programs: readonly P[]; purpose: string },
  log: (line: string) => void,
): Promise<Record<P, string>> {
  const { dir, pins } = venv;
  const programs = Object.fromEntries(venv.programs.map((name) => [name, path.join(dir, 'bin', name)])) as Record<P, string>;
  const marker = await fs.readFile(path.join(dir, VENV_MARKER), 'utf8').catch(() => undefined);
  if (marker === pinLines(pins) && Object.values<string>(programs).every((file) => existsSync(file))) return programs;

  const python = await run('python3', ['--version']).catch(() => undefined);
  if (!python) throw new ToolUnavailableError(`there is no python3 to create the venv for ${venv.purpose}: install Python 3.10+ with venv (Debian: python3-venv)`);
  log(`installing ${pinLines(pins).trim().replace(/\n/g, ', ')} into ${dir} (once, a few minutes)...`);
  await fs.rm(dir, { recursive: true, force: true });
  try {
    await run('python3', ['-m', 'venv', dir]);
    await run(path.join(dir, 'bin', 'pip'), ['install', '--quiet', '--disable-pip-version-check', ...pinLines(pins).trim().split('\n')], {
      maxBuffer: 64 * 1024 * 1024,
    });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`installing ${venv.purpose} failed: ${(e.stderr ?? e.message).trim().split('\n').slice(-5).join(' / ')}`, { cause: err });
  }
  // Written last: a venv without it is incomplete and is rebuilt next time.
  await fs.writeFile(path.join(dir, VENV_MARKER), pinLines(pins));
  return programs;
}

/** The venv with the PyPI pins: reused when its marker lists the same pins, else (re)created with `python3 -m venv` and pip. */
export async function ensurePythonTools(log: (line: string) => void = () => undefined): Promise<{ kubernetesValidate: string; checkov: string }> {
  const programs = await ensureVenv(
    { dir: pythonVenvDir(), pins: PYTHON_PINS, programs: ['kubernetes-validate', 'checkov'], purpose: 'kubernetes-validate and checkov' },
    log,
  );
  return { kubernetesValidate: programs['kubernetes-validate'], checkov: programs.checkov };
}

/** Schemathesis's `st` program, from its venv (installed there once). */
export async function ensureSchemathesis(log: (line: string) => void = () => undefined): Promise<string> {
  const programs = await ensureVenv({ dir: schemathesisVenvDir(), pins: SCHEMATHESIS_PINS, programs: ['st'], purpose: 'schemathesis' }, log);
  return programs.st;
}

/** A prerequisite (Go, Python) is missing: the message says what to install. */
export class ToolUnavailableError extends Error {
  override readonly name = 'ToolUnavailableError';
}

/** Every tool, built or installed where missing (idempotent: cached ones are only looked up). */
export async function ensureDeployCheckTools(log: (line: string) => void = () => undefined): Promise<DeployCheckTools> {
  // One at a time: the builds share two cores with everything else.
  const kustomize = await ensureGoTool(KUSTOMIZE, log);
  const actionlint = await ensureGoTool(ACTIONLINT, log);
  const python = await ensurePythonTools(log);
  const composeValidator = await buildComposeValidator(log);
  return { kustomize, actionlint, ...python, composeValidator };
}

/**
 * The tools, or a skipped CheckResult naming what to install when one cannot
 * be built here. Counts as a failure in infra:check: a check that could not
 * run has not passed.
 */
export async function deployCheckTools(log: (line: string) => void = () => undefined): Promise<DeployCheckTools | CheckResult> {
  try {
    return await ensureDeployCheckTools(log);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    return { name: 'tools', ok: false, problems: [], skipped: `${message} (then npm run infra:tools)` };
  }
}

export function isCheckResult(value: DeployCheckTools | CheckResult): value is CheckResult {
  return 'ok' in value;
}
