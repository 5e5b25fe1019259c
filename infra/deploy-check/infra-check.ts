import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promtoolCheck, promtoolPath } from '../observability/promql-expressions';
import type { CheckResult } from './check-result';
import { checkovScan } from './checkov-scan';
import { checkCompose } from './compose-checks';
import { serviceDockerfileCheck, toolsDockerfileCheck } from './dockerfile-rules';
import { kubernetesSchemaCheck } from './kubernetes-schema';
import { kustomizeBuild } from './kustomize-build';
import { manifestRulesCheck } from './manifest-rules';
import type { DeployCheckTools } from './tools';
import { workflowLint } from './workflow-lint';

/**
 * Every static check of the deployment files, in groups `--only` can pick:
 * the K3s manifests, the compose file, the images' Dockerfiles, the
 * GitHub workflows and the secrets scan. Paths default to the repository's
 * files; the fixture tests point them at broken copies.
 */

export const REPO_ROOT = path.resolve(import.meta.dirname, '../..');

export const CHECK_GROUPS = ['k8s', 'compose', 'images', 'workflows', 'secrets'] as const;
export type CheckGroup = (typeof CHECK_GROUPS)[number];

export interface InfraCheckOptions {
  only?: readonly CheckGroup[];
  /** The kustomize tree (base, overlays, crds). */
  k8sDir?: string;
  composeFile?: string;
  /** The env file compose interpolates (the committed example: what a fresh clone has). */
  envFile?: string;
  /** The compose stack's Prometheus config, checked with promtool when it exists. */
  prometheusConfig?: string;
  workflowsDir?: string;
  dockerfiles?: readonly string[];
  log?: (line: string) => void;
}

/** `infra/images/*.Dockerfile`. */
export async function defaultDockerfiles(): Promise<string[]> {
  const dir = path.join(REPO_ROOT, 'infra', 'images');
  return (await fs.readdir(dir).catch(() => []))
    .filter((f) => f.endsWith('.Dockerfile') || f === 'Dockerfile')
    .sort()
    .map((f) => path.join(dir, f));
}

const shown = (file: string) => path.relative(REPO_ROOT, file) || file;

async function k8sChecks(tools: DeployCheckTools, k8sDir: string, workDir: string): Promise<CheckResult[]> {
  const { results, built } = await kustomizeBuild({ kustomize: tools.kustomize, k8sDir, workDir });
  for (const overlay of built) {
    const label = `k8s/${overlay.overlay}`;
    results.push(await kubernetesSchemaCheck({ kubernetesValidate: tools.kubernetesValidate, manifestsFile: overlay.file, crdDir: path.join(k8sDir, 'crds'), label }));
    // dev runs one replica of everything: its autoscalers are deleted.
    results.push(await manifestRulesCheck({ yaml: overlay.yaml, label, autoscalers: overlay.overlay.endsWith('dev') ? 'none' : 'required' }));
  }
  // checkov on k3s only: dev is k3s with fewer replicas and smaller numbers, the same objects.
  const k3s = built.find((b) => b.overlay.endsWith('k3s'));
  if (k3s) results.push(await checkovScan({ checkov: tools.checkov, framework: 'kubernetes', files: [k3s.file], label: `k8s/${k3s.overlay}`, root: REPO_ROOT, fileNames: { [k3s.file]: `kustomize build ${shown(path.join(k8sDir, k3s.overlay))}` } }));
  return results;
}

async function composeChecks(tools: DeployCheckTools, options: Required<Pick<InfraCheckOptions, 'composeFile' | 'envFile' | 'prometheusConfig'>>): Promise<CheckResult[]> {
  if (!existsSync(options.composeFile)) return [{ name: `${shown(options.composeFile)}`, ok: false, problems: [`${shown(options.composeFile)} does not exist`] }];
  const results = await checkCompose({ file: options.composeFile, envFile: options.envFile, validator: tools.composeValidator });
  if (existsSync(options.prometheusConfig)) {
    const name = `${shown(options.prometheusConfig)}: promtool check config`;
    if (!promtoolPath()) {
      results.push({ name, ok: false, problems: [], skipped: "promtool not found: install Debian's prometheus package (or set PROMTOOL)" });
    } else {
      const check = await promtoolCheck('config', options.prometheusConfig);
      results.push({ name, ok: check.ok, problems: check.ok ? [] : check.output.split('\n').filter((l) => l.trim() !== '') });
    }
  }
  return results;
}

/**
 * The secrets scan: checkov's secrets framework over the compose file, the
 * env example and infra/. checkov has no compose framework (its
 * docker-compose support is secrets only), so the compose file's structure
 * is the compose checks' job. In a directory scan checkov leaves `.env`
 * files out, so the committed `*.env.example` files are named one by one;
 * the real, git-ignored secret files are never scanned.
 */
async function secretsScan(tools: DeployCheckTools, options: { composeFile: string; envFile: string; k8sDir: string }): Promise<CheckResult> {
  const examples = (await fs.readdir(options.k8sDir, { recursive: true })).filter((f) => f.endsWith('.env.example')).map((f) => path.join(options.k8sDir, f));
  const files = [options.composeFile, options.envFile, ...examples].filter((f) => existsSync(f));
  return checkovScan({
    checkov: tools.checkov,
    framework: 'secrets',
    files,
    dirs: [path.join(REPO_ROOT, 'infra')],
    // The tests' fixtures hold made-up credentials on purpose (a compose service's DATABASE_URL, say).
    skipPaths: ['node_modules', '/\\.data/', 'secrets/[^/]+\\.env$', 'infra/test/fixtures/'],
    label: 'compose, .env.example, infra/',
    root: REPO_ROOT,
  });
}

export async function infraCheck(tools: DeployCheckTools, options: InfraCheckOptions = {}): Promise<CheckResult[]> {
  const only = new Set(options.only ?? CHECK_GROUPS);
  const k8sDir = path.resolve(options.k8sDir ?? path.join(REPO_ROOT, 'infra', 'k8s'));
  const composeFile = path.resolve(options.composeFile ?? path.join(REPO_ROOT, 'docker-compose.yml'));
  const envFile = path.resolve(options.envFile ?? path.join(path.dirname(composeFile), '.env.example'));
  const prometheusConfig = path.resolve(options.prometheusConfig ?? path.join(REPO_ROOT, 'infra', 'compose', 'prometheus.yml'));
  const workflowsDir = path.resolve(options.workflowsDir ?? path.join(REPO_ROOT, '.github', 'workflows'));
  const log = options.log ?? (() => undefined);
  const workDir = await fs.mkdtemp(path.join(os.tmpdir(), 'shop-infra-check-'));
  const results: CheckResult[] = [];
  try {
    if (only.has('k8s')) {
      log('k8s: kustomize build, schemas, rules, checkov');
      results.push(...(await k8sChecks(tools, k8sDir, workDir)));
    }
    if (only.has('compose')) {
      log('compose: schema and cross-checks');
      results.push(...(await composeChecks(tools, { composeFile, envFile, prometheusConfig })));
    }
    if (only.has('images')) {
      log('images: checkov and the image rules on the Dockerfiles');
      const dockerfiles = options.dockerfiles?.map((f) => path.resolve(f)) ?? (await defaultDockerfiles());
      results.push(await checkovScan({ checkov: tools.checkov, framework: 'dockerfile', files: dockerfiles, label: dockerfiles.map(shown).join(', ') || 'infra/images', root: REPO_ROOT }));
      for (const file of dockerfiles) {
        results.push(await (path.basename(file) === 'service.Dockerfile' ? serviceDockerfileCheck(file, shown(file)) : toolsDockerfileCheck(file, shown(file))));
      }
    }
    if (only.has('workflows')) {
      log('workflows: actionlint');
      results.push(await workflowLint({ actionlint: tools.actionlint, dir: workflowsDir, root: REPO_ROOT }));
    }
    if (only.has('secrets')) {
      log('secrets: checkov');
      results.push(await secretsScan(tools, { composeFile, envFile, k8sDir }));
    }
  } finally {
    await fs.rm(workDir, { recursive: true, force: true });
  }
  return results;
}
