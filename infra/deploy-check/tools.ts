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
 * calls `ensureDeployCheckTools`; a second call finds everything cached.
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

const VENV_MARKER = 'shop-platform-pins.txt';

function pinLines(): string {
  return `${Object.entries(PYTHON_PINS)
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

/** The venv with the PyPI pins: reused when its marker lists the same pins, else (re)created with `python3 -m venv` and pip. */
export async function ensurePythonTools(log: (line: string) => void = () => undefined): Promise<{ kubernetesValidate: string; checkov: string }> {
  const dir = pythonVenvDir();
  const tools = { kubernetesValidate: path.join(dir, 'bin', 'kubernetes-validate'), checkov: path.join(dir, 'bin', 'checkov') };
  const marker = await fs.readFile(path.join(dir, VENV_MARKER), 'utf8').catch(() => undefined);
  if (marker === pinLines() && existsSync(tools.kubernetesValidate) && existsSync(tools.checkov)) return tools;

  const python = await run('python3', ['--version']).catch(() => undefined);
  if (!python) throw new ToolUnavailableError('there is no python3 to create the venv for kubernetes-validate and checkov: install Python 3.9+ with venv (Debian: python3-venv)');
  log(`installing ${pinLines().trim().replace(/\n/g, ', ')} into ${dir} (once, a few minutes)...`);
  await fs.rm(dir, { recursive: true, force: true });
  try {
    await run('python3', ['-m', 'venv', dir]);
    await run(path.join(dir, 'bin', 'pip'), ['install', '--quiet', '--disable-pip-version-check', ...pinLines().trim().split('\n')], {
      maxBuffer: 64 * 1024 * 1024,
    });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`installing the Python tools failed: ${(e.stderr ?? e.message).trim().split('\n').slice(-5).join(' / ')}`, { cause: err });
  }
  // Written last: a venv without it is incomplete and is rebuilt next time.
  await fs.writeFile(path.join(dir, VENV_MARKER), pinLines());
  return tools;
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
