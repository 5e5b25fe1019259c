import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { CheckResult } from './check-result';
import { outputLines, runTool } from '../tools/tool-process';

/** The overlays infra:check builds, relative to infra/k8s. */
export const OVERLAYS = ['overlays/k3s', 'overlays/dev'] as const;

/** A `secrets/X.env` file: real secrets, git-ignored, never read or copied by the checks. */
const SECRET_FILE = /(^|[\\/])secrets[\\/][^\\/]+\.env$/;

/**
 * A copy of the kustomize tree `k8sDir` in a new temporary directory, in which
 * every `secrets/X.env.example` stands in as `secrets/X.env`: the overlays'
 * secretGenerator needs those files, and the real ones (git-ignored, with
 * live passwords) are neither read nor touched. The build then also proves
 * that the examples list every key the Secrets need.
 */
export async function copyWithExampleSecrets(k8sDir: string): Promise<string> {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'shop-k8s-'));
  const copy = path.join(root, 'k8s');
  await fs.cp(k8sDir, copy, { recursive: true, filter: (source) => !SECRET_FILE.test(source) });
  for (const entry of await fs.readdir(copy, { recursive: true })) {
    const file = path.join(copy, entry);
    if (/(^|[\\/])secrets[\\/][^\\/]+\.env\.example$/.test(file)) await fs.copyFile(file, file.slice(0, -'.example'.length));
  }
  return copy;
}

export interface BuiltOverlay {
  /** e.g. `overlays/k3s`. */
  overlay: string;
  /** The rendered manifests (a multi-document YAML file) in the work directory. */
  file: string;
  yaml: string;
}

/**
 * `kustomize build` of each overlay of `k8sDir` (against a copy with the
 * example secrets), written to `workDir/<overlay>.yaml` for the checkers
 * after it. One CheckResult per overlay.
 */
export async function kustomizeBuild(options: { kustomize: string; k8sDir: string; workDir: string; overlays?: readonly string[] }): Promise<{ results: CheckResult[]; built: BuiltOverlay[] }> {
  const copy = await copyWithExampleSecrets(options.k8sDir);
  const results: CheckResult[] = [];
  const built: BuiltOverlay[] = [];
  try {
    for (const overlay of options.overlays ?? OVERLAYS) {
      const name = `k8s/${overlay}: kustomize build`;
      const output = await runTool(options.kustomize, ['build', path.join(copy, overlay)]);
      if (output.code !== 0) {
        // kustomize names files by their absolute path in the copy; show them as the repository's.
        results.push({ name, ok: false, problems: outputLines(output.stderr.split(copy).join(options.k8sDir)) });
        continue;
      }
      const file = path.join(options.workDir, `${overlay.replace(/[\\/]/g, '-')}.yaml`);
      await fs.writeFile(file, output.stdout);
      built.push({ overlay, file, yaml: output.stdout });
      results.push({ name, ok: true, problems: [] });
    }
  } finally {
    await fs.rm(path.dirname(copy), { recursive: true, force: true });
  }
  return { results, built };
}
